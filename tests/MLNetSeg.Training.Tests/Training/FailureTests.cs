using MLNetSeg.Data.Loading;
using static MLNetSeg.Training.Tests.Training.TrainingFixtures;

namespace MLNetSeg.Training.Tests.Training;

/// <summary>
/// What training does when things go wrong: a non-finite loss (injected through the test seam, and
/// a real one from an absurd learning rate), a corrupt image, cancellation. Each test checks the
/// error names what it should and that the files on disk are as promised.
/// </summary>
[TestClass]
public sealed class FailureTests
{
    private static TinyDataset _data => TinyDataset.Shared;

    [TestMethod]
    public void NonFiniteLossStopsNamingTheIterationAndLeavesTheLastCheckpointUntouched()
    {
        using var dir = new TempDir();
        var hashes = new Dictionary<string, string>();
        var log = new HashingLog(hashes);
        var fast = FastOptions(dir.Path, 5, log);
        var options = fast with
        {
            Checkpoints = fast.Checkpoints with { Period = 2 },
            Runtime = fast.Runtime with { LossHook = (iteration, loss) => iteration == 3 ? loss * double.NaN : loss },
        };
        var checkpoint = Path.Combine(dir.Path, TrainingCheckpoint.FileName(2));

        var ex = Assert.ThrowsException<TrainingDivergedException>(() => new MaskRcnnTrainer(options).Fit(_data.Train()));

        Assert.AreEqual(3, ex.Iteration);
        StringAssert.Contains(ex.Message, "diverged at iteration 3");
        StringAssert.Contains(ex.Message, "loss_classifier = ");
        StringAssert.Contains(ex.Message, "loss_mask = ");
        Assert.IsTrue(double.IsNaN(ex.Losses["loss"]));
        Assert.IsTrue(ex.Losses.Where(kv => kv.Key != "loss").All(kv => double.IsFinite(kv.Value)), "the components themselves were finite");
        Assert.AreEqual(checkpoint, ex.LastCheckpoint);
        Assert.IsTrue(hashes.ContainsKey(checkpoint), "the checkpoint of iteration 2 was written before the failure");
        Assert.AreEqual(hashes[checkpoint], Sha256(checkpoint), "the last good checkpoint is unchanged");
        CollectionAssert.AreEquivalent(new[] { TrainingCheckpoint.FileName(2), MetricsLog.FileName }, Directory.GetFiles(dir.Path).Select(Path.GetFileName).ToArray(),
            "nothing else (no checkpoint of the diverged state, no model file, no temporary file) was written");
        CollectionAssert.AreEqual(new long[] { 1, 2 }, MetricsLog.Read(Path.Combine(dir.Path, MetricsLog.FileName)).Select(r => r.Iteration).ToArray(),
            "the metrics log ends with the last good iteration");
        Assert.AreEqual(2, log.Losses.Keys.Max(), "no iteration after the failure was reported");
    }

    [TestMethod]
    public void AnExplodingLearningRateIsReportedAsDivergence()
    {
        var fast = FastOptions(null, 6);
        var options = fast with
        {
            Optimizer = fast.Optimizer with { LearningRate = 1e8, GradientClipNorm = null },
            Schedule = fast.Schedule with { WarmupIterations = 0 },
        };
        var ex = Assert.ThrowsException<TrainingDivergedException>(() => new MaskRcnnTrainer(options).Fit(_data.Train()));
        Assert.IsTrue(ex.Iteration is >= 2 and <= 6, $"diverged at {ex.Iteration}");
        StringAssert.Contains(ex.Message, $"iteration {ex.Iteration}");
    }

    [TestMethod]
    public void ACorruptImageStopsTrainingWithAnErrorNamingTheFile()
    {
        using var dir = new TempDir();
        var (json, images, bad) = DamagedSubset(dir);
        var ex = Assert.ThrowsException<BadSampleException>(() =>
            new MaskRcnnTrainer(FastOptions(null, 2)).Fit(DetectionDataset.Load(json, images)));
        StringAssert.Contains(ex.Message, bad);
        Assert.AreEqual(bad, ex.ImagePath);
    }

    [TestMethod]
    public void WithSkipBadSamplesACorruptImageIsLoggedAndTrainingContinues()
    {
        using var dir = new TempDir();
        var (json, images, bad) = DamagedSubset(dir);
        var log = new ProgressLog();
        var fast = FastOptions(null, 2, log);
        var options = fast with { Data = fast.Data with { SkipBadSamples = true } };
        using var detector = new MaskRcnnTrainer(options).Fit(DetectionDataset.Load(json, images));
        Assert.AreEqual(2, detector.Summary!.Iterations, "both iterations ran (the damaged image's batch with its other image)");
        var warning = log.Warnings.SingleOrDefault(w => w.Contains(bad));
        Assert.IsNotNull(warning, $"a warning names {bad}; got: {string.Join(" | ", log.Warnings)}");
        StringAssert.Contains(warning, "skipping");
    }

    /// <summary>Four Tiny images (one epoch = the 2 batches of the 2 iterations), the third overwritten with bytes that are no image.</summary>
    private static (string Json, string Images, string Bad) DamagedSubset(TempDir dir)
    {
        var (json, images) = _data.SubsetCopy(dir.Path, 4);
        var bad = Directory.GetFiles(images).OrderBy(f => f, StringComparer.Ordinal).ElementAt(2);
        File.WriteAllBytes(bad, "this is not a PNG file"u8.ToArray());
        return (json, images, bad);
    }

    [TestMethod]
    public void CancellationStopsAfterTheIterationInProgressAndLeavesALoadableCheckpoint()
    {
        using var dir = new TempDir();
        using var cts = new CancellationTokenSource();
        var log = new ProgressLog { CancelAt = cts, CancelIteration = 1 };
        var ex = Assert.ThrowsException<TrainingCanceledException>(() =>
            new MaskRcnnTrainer(FastOptions(dir.Path, 20, log)).Fit(_data.Train(), cancellationToken: cts.Token));

        Assert.AreEqual(1, ex.Iteration, "no further iteration started after the token was cancelled");
        Assert.AreEqual(1, log.Losses.Keys.Max());
        var path = Path.Combine(dir.Path, TrainingCheckpoint.FileName(1));
        Assert.AreEqual(path, ex.Checkpoint);
        StringAssert.Contains(ex.Message, path);
        var position = TrainingCheckpoint.ReadInfo(path).Position;
        Assert.AreEqual(new TrainingPosition(1, 0, 1), position with { TrainingSeconds = 0 });
        Assert.IsTrue(position.TrainingSeconds > 0, "the checkpoint records the training time spent");
        Assert.AreEqual(0, Directory.GetFiles(dir.Path, "*.tmp").Length + Directory.GetFiles(dir.Path, ".*").Length, "no temporary file is left");

        // Loadable: a new run picks it up and continues.
        var resumedLog = new ProgressLog();
        using var resumed = new MaskRcnnTrainer(FastOptions(dir.Path, 2, resumedLog)).Fit(_data.Train());
        Assert.AreEqual(1, resumed.Summary!.ResumedFrom);
        Assert.AreEqual(path, resumed.Summary.ResumedCheckpoint);
        CollectionAssert.AreEquivalent(new long[] { 2 }, resumedLog.Losses.Keys.ToArray());
    }

    [TestMethod]
    public void TheTimeLimitEndsTrainingEarlyLikeANormalEnd()
    {
        using var dir = new TempDir();
        var fast = FastOptions(dir.Path, 5);
        var options = fast with { Schedule = fast.Schedule with { MaxTrainingTime = TimeSpan.FromTicks(1) } };
        using var detector = new MaskRcnnTrainer(options).Fit(_data.Train());
        var summary = detector.Summary!;
        Assert.IsTrue(summary.StoppedByTimeLimit);
        Assert.AreEqual(1, summary.Iterations, "the limit is checked after each iteration");
        Assert.AreEqual(5, summary.PlannedIterations);
        Assert.AreEqual(Path.Combine(dir.Path, TrainingCheckpoint.FileName(1)), summary.FinalCheckpoint);
        Assert.IsTrue(File.Exists(Path.Combine(dir.Path, "model_final.mlseg")));
    }

    /// <summary>Hashes every file the trainer reports as saved, at the moment it is reported.</summary>
    private sealed class HashingLog(Dictionary<string, string> hashes) : IProgress<TrainingProgress>
    {
        private readonly ProgressLog _inner = new();

        public IReadOnlyDictionary<long, IReadOnlyDictionary<string, double>> Losses => _inner.Losses;

        public void Report(TrainingProgress value)
        {
            _inner.Report(value);
            if (value.Event == TrainingEvent.Saved && value.Path is { } path) hashes[path] = Sha256(path);
        }
    }
}
