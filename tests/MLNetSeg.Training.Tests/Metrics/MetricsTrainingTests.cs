using MLNetSeg.Training.Tests.Training;
using static MLNetSeg.Training.Tests.Training.TrainingFixtures;

namespace MLNetSeg.Training.Tests.Metrics;

/// <summary>
/// metrics.jsonl written by real (tiny) training runs: one line per Iteration report holding exactly
/// the values the report carried (compared bit for bit: the file keeps doubles in round-trip form),
/// a line per validation, each on disk before the report reaches the caller's sink, and a resume
/// from an earlier checkpoint that drops the later lines so iterations stay strictly increasing.
/// </summary>
[TestClass]
public sealed class MetricsTrainingTests
{
    private static TinyDataset _data => TinyDataset.Shared;

    /// <summary>Records every report and, at each, the log's last line as it is on disk at that moment.</summary>
    private sealed class Recorder(string logPath) : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Reports { get; } = new();
        public Dictionary<TrainingProgress, string> LastLineOnDisk { get; } = new();

        public void Report(TrainingProgress value)
        {
            Reports.Add(value);
            if (value.Event is TrainingEvent.Iteration or TrainingEvent.Validation)
                LastLineOnDisk[value] = File.ReadAllLines(logPath)[^1];
        }
    }

    private static void AssertBitEqual(double expected, double actual, string what) =>
        Assert.AreEqual(BitConverter.DoubleToInt64Bits(expected), BitConverter.DoubleToInt64Bits(actual), $"{what}: reported {expected:R}, logged {actual:R}");

    [TestMethod]
    public void EveryLoggedIterationAndValidationIsALineWithTheReportedValues()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, MetricsLog.FileName);
        var recorder = new Recorder(path);
        // LogPeriod 2 over 3 iterations: reports at 2 and at the last (3); validation (losses and COCO) at the end.
        var fast = FastOptions(dir.Path, 3);
        var options = fast with
        {
            Runtime = fast.Runtime with { Progress = recorder, LogPeriod = 2 },
            Evaluation = fast.Evaluation with { AtEnd = true, ValidationLoss = true },
        };
        using (new MaskRcnnTrainer(options).Fit(_data.Train(), _data.Validation())) { }

        var records = MetricsLog.Read(path);
        var iterationReports = recorder.Reports.Where(r => r.Event == TrainingEvent.Iteration).ToArray();
        var validationReports = recorder.Reports.Where(r => r.Event == TrainingEvent.Validation).ToArray();
        CollectionAssert.AreEqual(new long[] { 2, 3 }, iterationReports.Select(r => r.Iteration).ToArray());
        Assert.AreEqual(1, validationReports.Length);
        var training = records.Where(r => r.IsTraining).ToArray();
        CollectionAssert.AreEqual(new long[] { 2, 3 }, training.Select(r => r.Iteration).ToArray(), "one line per Iteration report, none for the other events");

        foreach (var (report, line) in iterationReports.Zip(training))
        {
            CollectionAssert.AreEquivalent(report.Losses.Keys.Concat(new[] { "lr", "images_per_s" }).ToArray(), line.Values.Keys.ToArray());
            CollectionAssert.IsSubsetOf(new[] { "loss", "loss_classifier", "loss_box_reg", "loss_mask", "loss_objectness", "loss_rpn_box_reg" }, line.Values.Keys.ToArray());
            foreach (var (name, value) in report.Losses) AssertBitEqual(value, line.Values[name], $"iteration {report.Iteration} {name}");
            AssertBitEqual(report.LearningRate, line.Values["lr"], $"iteration {report.Iteration} lr");
            // Rounded to 1 ms and 0.001 image/s in the file.
            Assert.AreEqual(report.Elapsed.TotalSeconds, line.ElapsedSeconds, 0.0005);
            Assert.AreEqual(report.ImagesPerSecond, line.Values["images_per_s"], 0.0005);
        }
        Assert.AreNotEqual(training[0].Values["loss"], training[1].Values["loss"], "the two windows have different losses, so a mix-up would show");

        var validation = records.Single(r => !r.IsTraining);
        var v = validationReports[0];
        Assert.AreEqual(3, validation.Iteration);
        AssertBitEqual(v.ValidationLosses!["loss"], validation.Values["validation_loss"], "validation loss");
        AssertBitEqual(v.ValidationLosses["loss_mask"], validation.Values["validation_loss_mask"], "validation loss_mask");
        Assert.AreEqual(v.Metrics!.Count + v.ValidationLosses.Count, validation.Values.Count);
        foreach (var (name, value) in v.Metrics) AssertBitEqual(value, validation.Values[name], name);
        CollectionAssert.IsSubsetOf(new[] { "bbox/AP", "segm/AP", "segm/AP50" }, validation.Values.Keys.ToArray());

        // Each line was on disk (flushed, readable by another handle) before the report reached this sink.
        foreach (var (report, lastLine) in recorder.LastLineOnDisk)
            StringAssert.StartsWith(lastLine, $"{{\"iteration\":{report.Iteration},", $"{report.Event} at {report.Iteration}");
    }

    [TestMethod]
    public void ResumingFromAnEarlierCheckpointDropsTheLaterLinesAndContinuesTheLog()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, MetricsLog.FileName);
        var fast = FastOptions(dir.Path, 4);
        var options = fast with { Checkpoints = fast.Checkpoints with { Period = 2, Keep = 0 } };
        using (new MaskRcnnTrainer(options).Fit(_data.Train())) { }
        var first = File.ReadAllLines(path);
        var uninterrupted = MetricsLog.Read(path);
        CollectionAssert.AreEqual(new long[] { 1, 2, 3, 4 }, uninterrupted.Select(r => r.Iteration).ToArray());

        // As if the process was killed after logging iteration 4 (half-way through a fifth line) but
        // before its checkpoint: the run goes on from the checkpoint of iteration 2.
        File.AppendAllText(path, "{\"iteration\":5,\"elapsed_s\":9.1,\"lr\":0.0");
        var log = new ProgressLog();
        var resumed = options with
        {
            Checkpoints = options.Checkpoints with { ResumeFrom = Path.Combine(dir.Path, TrainingCheckpoint.FileName(2)) },
            Runtime = options.Runtime with { Progress = log, Log = log.Warn },
        };
        using (var detector = new MaskRcnnTrainer(resumed).Fit(_data.Train()))
            Assert.AreEqual(2, detector.Summary!.ResumedFrom);

        var lines = File.ReadAllLines(path);
        var records = MetricsLog.Read(path);
        CollectionAssert.AreEqual(new long[] { 1, 2, 3, 4 }, records.Select(r => r.Iteration).ToArray(), "strictly increasing, no duplicates");
        CollectionAssert.AreEqual(first.Take(2).ToArray(), lines.Take(2).ToArray(), "the lines up to the checkpoint are kept byte for byte");
        CollectionAssert.AreEquivalent(new long[] { 3, 4 }, log.Losses.Keys.ToArray());
        foreach (var record in records.Skip(2))
        {
            // Written by the resumed run: its reported losses. Resume is exact, so they are also the uninterrupted run's.
            foreach (var (name, value) in log.Losses[record.Iteration])
            {
                AssertBitEqual(value, record.Values[name], $"iteration {record.Iteration} {name}");
                AssertBitEqual(uninterrupted[(int)record.Iteration - 1].Values[name], record.Values[name], $"uninterrupted iteration {record.Iteration} {name}");
            }
        }
        Assert.IsTrue(log.Warnings.Any(w => w.Contains("incomplete last line")), string.Join(" | ", log.Warnings));
        Assert.IsTrue(log.Warnings.Any(w => w.Contains("dropped 2 line(s) of later iterations")), string.Join(" | ", log.Warnings));
        Assert.AreEqual(0, Directory.GetFiles(dir.Path, ".*").Length, "no temporary file is left");
    }
}
