using System.Globalization;
using MLNetSeg.Training.Tests.Training;

namespace MLNetSeg.Training.Tests.Metrics;

/// <summary>
/// metrics.jsonl without training: exact round trip of the numbers, invariant formatting, the
/// resume truncation (atomic, byte-preserving) and errors that name file and line. Expected values are
/// the inputs themselves or hand-written lines.
/// </summary>
[TestClass]
public sealed class MetricsLogTests
{
    private static TrainingProgress IterationReport(long iteration, double loss, double lr = 0.01) => new()
    {
        Event = TrainingEvent.Iteration,
        Iteration = iteration,
        TotalIterations = 100,
        Losses = new Dictionary<string, double> { ["loss_mask"] = loss / 2, ["loss_classifier"] = loss / 2, ["loss"] = loss },
        LearningRate = lr,
        ImagesPerSecond = 3.25,
        Elapsed = TimeSpan.FromSeconds(iteration * 1.5),
    };

    private static TrainingProgress ValidationReport(long iteration, double segmAp) => new()
    {
        Event = TrainingEvent.Validation,
        Iteration = iteration,
        TotalIterations = 100,
        ValidationLosses = new Dictionary<string, double> { ["loss"] = 1.25, ["loss_mask"] = 0.5 },
        Metrics = new Dictionary<string, double> { ["bbox/AP"] = 0.125, ["segm/AP"] = segmAp, ["segm/APs"] = -1 },
        Elapsed = TimeSpan.FromSeconds(iteration * 2),
    };

    [TestMethod]
    public void NumbersRoundTripBitForBitInInvariantFormWithNullForNonFinite()
    {
        using var dir = new TempDir();
        var path = dir.Sub(MetricsLog.FileName);
        double awkward = 0.1 + 0.2, tiny = 4.9406564584124654E-324, big = 1.7976931348623157E+308;
        var previous = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");  // decimal comma: must not leak into the file
        try
        {
            var log = MetricsLog.Open(path, 0);
            log.Report(new TrainingProgress
            {
                Event = TrainingEvent.Iteration, Iteration = 7, TotalIterations = 10, LearningRate = awkward, ImagesPerSecond = 12.3456,
                Losses = new Dictionary<string, double> { ["loss"] = big, ["loss_a"] = tiny, ["loss_b"] = double.PositiveInfinity },
                Elapsed = TimeSpan.FromMilliseconds(2500.4),
            });
            log.Report(new TrainingProgress { Event = TrainingEvent.Saved, Iteration = 7, TotalIterations = 10, Path = "x" });  // not logged
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }

        var text = File.ReadAllText(path);
        Assert.AreEqual(
            "{\"iteration\":7,\"elapsed_s\":2.5,\"lr\":0.30000000000000004,\"images_per_s\":12.346,\"loss\":1.7976931348623157E+308," +
            "\"loss_a\":5E-324,\"loss_b\":null}\n", text);
        var record = MetricsLog.Read(path).Single();
        Assert.AreEqual(7, record.Iteration);
        Assert.AreEqual(2.5, record.ElapsedSeconds);
        Assert.AreEqual(BitConverter.DoubleToInt64Bits(awkward), BitConverter.DoubleToInt64Bits(record.Values["lr"]));
        Assert.AreEqual(BitConverter.DoubleToInt64Bits(big), BitConverter.DoubleToInt64Bits(record.Values["loss"]));
        Assert.AreEqual(BitConverter.DoubleToInt64Bits(tiny), BitConverter.DoubleToInt64Bits(record.Values["loss_a"]));
        Assert.IsTrue(double.IsNaN(record.Values["loss_b"]), "a non-finite value is written as null and reads back as NaN");
    }

    [TestMethod]
    public void ValidationLinesCarryTheValidationLossesAndTheCocoMetricsUnderTheirKeys()
    {
        using var dir = new TempDir();
        var path = dir.Sub(MetricsLog.FileName);
        var log = MetricsLog.Open(path, 0);
        log.Report(ValidationReport(20, 0.25));
        Assert.AreEqual(
            "{\"iteration\":20,\"elapsed_s\":40,\"validation_loss\":1.25,\"validation_loss_mask\":0.5,\"bbox/AP\":0.125,\"segm/AP\":0.25,\"segm/APs\":-1}\n",
            File.ReadAllText(path));
        Assert.IsFalse(MetricsLog.Read(path).Single().IsTraining);
    }

    [TestMethod]
    public void ResumingDropsLaterLinesAndATornLastLineAtomicallyKeepingTheRestByteForByte()
    {
        using var dir = new TempDir();
        var path = dir.Sub(MetricsLog.FileName);
        string[] kept =
        {
            "{\"iteration\":1,\"elapsed_s\":0.5,\"lr\":0.001,\"images_per_s\":4,\"loss\":3.5,\"loss_mask\":0.75}",
            "{\"iteration\": 2, \"elapsed_s\": 1.0, \"lr\": 0.002, \"images_per_s\": 4, \"loss\": 2.5, \"loss_mask\": 0.7}",  // spacing kept as is
            "{\"iteration\":2,\"elapsed_s\":1.5,\"segm/AP\":0.03}",
        };
        string[] dropped =
        {
            "{\"iteration\":3,\"elapsed_s\":2,\"lr\":0.003,\"images_per_s\":4,\"loss\":2.25,\"loss_mask\":0.6}",
            "{\"iteration\":4,\"elapsed_s\":2.5,\"lr\":0.004,\"images_per_s\":4,\"loss\":2.0,\"loss_mask\":0.5}",
            "{\"iteration\":4,\"elapsed_s\":3,\"segm/AP\":0.05}",
        };
        File.WriteAllText(path, string.Join("\n", kept.Concat(dropped)) + "\n{\"iteration\":5,\"elaps");  // killed mid-write
        var messages = new List<string>();

        var log = MetricsLog.Open(path, 2, log: messages.Add);

        Assert.AreEqual(string.Concat(kept.Select(l => l + "\n")), File.ReadAllText(path));
        CollectionAssert.AreEqual(new[] { MetricsLog.FileName }, Directory.GetFiles(dir.Path).Select(Path.GetFileName).ToArray(), "no temporary file is left");
        Assert.IsTrue(messages.Any(m => m.Contains("incomplete last line")), string.Join(" | ", messages));
        Assert.IsTrue(messages.Any(m => m.Contains("dropped 3 line(s)")), string.Join(" | ", messages));

        // The resumed run continues the file; its re-evaluation of iteration 2 (a finished run rerun) is not written twice.
        log.Report(ValidationReport(2, 0.03));
        log.Report(IterationReport(3, 2.0));
        log.Report(ValidationReport(4, 0.06));
        var records = MetricsLog.Read(path);
        CollectionAssert.AreEqual(new long[] { 1, 2, 2, 3, 4 }, records.Select(r => r.Iteration).ToArray());
        CollectionAssert.AreEqual(new[] { true, true, false, true, false }, records.Select(r => r.IsTraining).ToArray());
        Assert.AreEqual(0.06, records[^1].Values["segm/AP"]);
    }

    [TestMethod]
    public void AFreshStartEmptiesAnOldLogAndAnUpToDateLogIsNotRewritten()
    {
        using var dir = new TempDir();
        var path = dir.Sub(MetricsLog.FileName);
        File.WriteAllText(path, "{\"iteration\":1,\"elapsed_s\":0.5,\"loss\":3.5}\n");
        var stamp = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(path, stamp);

        MetricsLog.Open(path, 1);
        Assert.AreEqual(stamp, File.GetLastWriteTimeUtc(path), "nothing to drop: the file is left alone");

        MetricsLog.Open(path, 0);
        Assert.AreEqual("", File.ReadAllText(path));

        MetricsLog.Open(dir.Sub("absent.jsonl"), 0);
        Assert.IsFalse(File.Exists(dir.Sub("absent.jsonl")), "opening does not create the file; the first line does");
    }

    [DataTestMethod]
    [DataRow("{\"iteration\":3,\"elapsed_s\":1,\"loss\":", 2, "not valid json")]
    [DataRow("[1, 2]", 2, "expected a json object, found array")]
    [DataRow("{\"elapsed_s\":1,\"loss\":2}", 2, "no \"iteration\"")]
    [DataRow("{\"iteration\":3,\"loss\":2}", 2, "no \"elapsed_s\"")]
    [DataRow("{\"iteration\":2.5,\"elapsed_s\":1}", 2, "\"iteration\" must be an integer ≥ 0, found 2.5")]
    [DataRow("{\"iteration\":-1,\"elapsed_s\":1}", 2, "\"iteration\" must be an integer ≥ 0, found -1")]
    [DataRow("{\"iteration\":3,\"elapsed_s\":1,\"loss\":\"0.5\"}", 2, "\"loss\" must be a number or null, found \"0.5\"")]
    [DataRow("{\"iteration\":3,\"elapsed_s\":1,\"loss\":1e999}", 2, "\"loss\" must be a number or null, found 1e999")]
    [DataRow("{\"iteration\":3,\"elapsed_s\":1,\"loss\":1,\"loss\":2}", 2, "the key \"loss\" appears twice")]
    public void MalformedLinesAreNamedByFileAndLine(string badLine, int lineNumber, string what)
    {
        using var dir = new TempDir();
        var path = dir.Sub(MetricsLog.FileName);
        File.WriteAllText(path, "{\"iteration\":1,\"elapsed_s\":0.5,\"loss\":3.5}\n" + badLine + "\n{\"iteration\":4,\"elapsed_s\":2,\"loss\":1}\n");

        var ex = Assert.ThrowsException<InvalidDataException>(() => MetricsLog.Read(path));
        StringAssert.StartsWith(ex.Message, $"{path}:{lineNumber}: ");
        StringAssert.Contains(ex.Message, what);

        // A bad complete line also stops a resume (the log would otherwise be silently lost), with the same message.
        var resume = Assert.ThrowsException<InvalidDataException>(() => MetricsLog.Open(path, 1));
        Assert.AreEqual(ex.Message, resume.Message);
    }

    [TestMethod]
    public void BlankLinesAndWindowsLineEndsAreAccepted()
    {
        using var dir = new TempDir();
        var path = dir.Sub(MetricsLog.FileName);
        File.WriteAllText(path, "{\"iteration\":1,\"elapsed_s\":0.5,\"loss\":3.5}\r\n\r\n{\"iteration\":2,\"elapsed_s\":1,\"loss\":null}\r\n");
        var records = MetricsLog.Read(path);
        CollectionAssert.AreEqual(new long[] { 1, 2 }, records.Select(r => r.Iteration).ToArray());
        Assert.AreEqual(3.5, records[0].Values["loss"]);
        Assert.IsTrue(double.IsNaN(records[1].Values["loss"]));
    }
}
