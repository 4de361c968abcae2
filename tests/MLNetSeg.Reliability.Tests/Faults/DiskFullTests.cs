using MLNetSeg.Models;
using MLNetSeg.Onnx.Export;
using MLNetSeg.Training;

namespace MLNetSeg.Reliability.Tests.Faults;

/// <summary>
/// A full disk (a small tmpfs, mounted for the test) while writing a checkpoint, a model file and an
/// ONNX graph: a clear <see cref="IOException"/> naming the file and "No space left on device", the
/// previous file intact (same SHA-256) and loadable, no temporary file left, metrics.jsonl well-formed.
/// The tmpfs is sized from the files' real sizes so that one copy fits and a second does not.
/// </summary>
[TestClass]
public sealed class DiskFullTests
{
    private const string NoSpace = "No space left on device";
    private static TinyDataset _data => TinyDataset.Shared;

    private static TempDir? _reference;

    /// <summary>Two iterations on an ordinary disk: the sizes of a checkpoint and a model file, and a model to save and export.</summary>
    private static string Reference
    {
        get
        {
            if (_reference is null)
            {
                _reference = new TempDir();
                using var trained = new SegmentationTrainer(FaultFixtures.Options(_reference.Path, 2)).Fit(_data.Train());
            }
            return _reference.Path;
        }
    }

    [ClassCleanup]
    public static void Cleanup() => _reference?.Dispose();

    private static long CheckpointBytes => new FileInfo(Path.Combine(Reference, TrainingCheckpoint.FileName(2))).Length;

    private static string ModelPath => Path.Combine(Reference, "model_final.mlseg");

    private static void AssertNoSpaceError(Exception e, string file)
    {
        Assert.IsInstanceOfType<IOException>(e);
        StringAssert.Contains(e.Message, file, "the message names the file being written");
        StringAssert.Contains(e.Message, NoSpace, "the message says why");
    }

    [TestMethod]
    public void ACheckpointIntoAFullDiskStopsTrainingWithANamedErrorAndTheLastCheckpointIntact()
    {
        // Room for one checkpoint and the metrics log, not for a second checkpoint beside it.
        using var disk = new SmallTmpfs(CheckpointBytes * 3 / 2);
        string? firstHash = null;
        // As long as the reference run (the schedule depends on the length), so the resumed run must end where it ended.
        var options = FaultFixtures.Options(disk.Path, 2);
        var watch = new Progress(p =>
        {
            // Hashed as soon as it is written: the reference for "intact" after the failed write.
            if (p.Event == TrainingEvent.Saved && p.Path == disk.File(TrainingCheckpoint.FileName(1))) firstHash = FaultFixtures.Sha256(p.Path);
        });
        options = options with { Runtime = options.Runtime with { Progress = watch } };

        var e = Assert.ThrowsException<IOException>(() => new SegmentationTrainer(options).Fit(_data.Train()));
        var second = disk.File(TrainingCheckpoint.FileName(2));
        AssertNoSpaceError(e, second);
        StringAssert.Contains(e.Message, "training stopped at iteration 2");
        StringAssert.Contains(e.Message, $"the last complete checkpoint, {disk.File(TrainingCheckpoint.FileName(1))}, is intact");
        Assert.IsNotNull(e.InnerException, "the original error is kept");

        var first = disk.File(TrainingCheckpoint.FileName(1));
        Assert.IsNotNull(firstHash, "checkpoint 1 was written before the disk filled");
        Assert.AreEqual(firstHash, FaultFixtures.Sha256(first), "the previous checkpoint is untouched");
        Assert.IsFalse(File.Exists(second), "no partial checkpoint under the final name");
        CollectionAssert.AreEqual(Array.Empty<string>(), FaultFixtures.Temporaries(disk.Path), "no temporary file left");
        CollectionAssert.AreEqual(new[] { first }, TrainingCheckpoint.List(disk.Path).Select(c => c.Path).ToArray());
        Assert.AreEqual(1, TrainingCheckpoint.ReadInfo(first).Position.Iteration);
        var log = MetricsLog.Read(disk.File(MetricsLog.FileName));
        CollectionAssert.AreEqual(new long[] { 1, 2 }, log.Select(r => r.Iteration).ToArray(), "well-formed: the lines of iterations 1 and 2 (2 logged before its checkpoint failed)");

        // The same as the uninterrupted reference's checkpoint 1 (the run is deterministic).
        FaultFixtures.AssertSameTensors(Path.Combine(Reference, TrainingCheckpoint.FileName(1)), first);

        // Loadable and resumable: with room again (a copy on an ordinary disk) the run resumes from checkpoint 1 and ends
        // where the uninterrupted reference ended.
        using var moved = new TempDir();
        File.Copy(first, Path.Combine(moved.Path, Path.GetFileName(first)));
        File.Copy(disk.File(MetricsLog.FileName), Path.Combine(moved.Path, MetricsLog.FileName));
        using (var resumed = new SegmentationTrainer(FaultFixtures.Options(moved.Path, 2)).Fit(_data.Train()))
            Assert.AreEqual(1, resumed.Summary!.ResumedFrom);
        FaultFixtures.AssertSameTensors(Path.Combine(Reference, TrainingCheckpoint.FileName(2)), Path.Combine(moved.Path, TrainingCheckpoint.FileName(2)));
    }

    [TestMethod]
    public void TheCommandLineReportsAFullDiskAsANamedError()
    {
        using var disk = new SmallTmpfs(CheckpointBytes * 3 / 2);
        var args = new[] { "train", "--train-json", _data.TrainJson, "--train-images", _data.TrainImages, "--out", disk.Path,
                           "--iterations", "4", "--threads", "1", "--workers", "1", "--lr", "0.01", "--warmup", "2", "--checkpoint-period", "1" }
            .Concat(FaultFixtures.ModelSets.SelectMany(s => new[] { "--set", s })).ToArray();
        var (code, _, stderr) = CliRunner.Run(args);
        Assert.AreEqual(2, code, stderr);
        StringAssert.Contains(stderr, $"mlnetseg train: error: training stopped at iteration 2: cannot write {disk.File(TrainingCheckpoint.FileName(2))}: {NoSpace}");
        Assert.IsFalse(stderr.Contains("   at ", StringComparison.Ordinal), "no stack trace: " + stderr);
        CollectionAssert.AreEqual(Array.Empty<string>(), FaultFixtures.Temporaries(disk.Path));
        Assert.AreEqual(1, TrainingCheckpoint.ReadInfo(disk.File(TrainingCheckpoint.FileName(1))).Position.Iteration);
    }

    [TestMethod]
    public void AModelFileIntoAFullDiskFailsNamedAndTheEarlierFileStays()
    {
        var (model, info) = ModelFile.Load(ModelPath);
        using var _ = model;
        long size = new FileInfo(ModelPath).Length;
        using var disk = new SmallTmpfs(size * 3 / 2);
        var target = disk.File("model.mlseg");
        ModelFile.Save(model, info, target);
        var before = FaultFixtures.Sha256(target);

        // A second save needs room for the new file beside the old until the rename.
        var e = Assert.ThrowsException<IOException>(() => ModelFile.Save(model, info, target));
        AssertNoSpaceError(e, target);
        Assert.AreEqual(before, FaultFixtures.Sha256(target));
        CollectionAssert.AreEqual(Array.Empty<string>(), FaultFixtures.Temporaries(disk.Path));
        var (again, _) = ModelFile.Load(target);
        using (again) Assert.AreEqual(model.NumClasses, again.NumClasses);
    }

    [TestMethod]
    public void AnOnnxExportIntoAFullDiskFailsNamedAndTheEarlierGraphStays()
    {
        using var sizing = new TempDir();
        long size = OnnxExporter.Export(ModelPath, sizing.Sub("m.onnx")).Bytes;
        using var disk = new SmallTmpfs(size * 3 / 2);
        var target = disk.File("model.onnx");
        OnnxExporter.Export(ModelPath, target);
        var before = FaultFixtures.Sha256(target);

        var e = Assert.ThrowsException<IOException>(() => OnnxExporter.Export(ModelPath, target));
        AssertNoSpaceError(e, target);
        Assert.AreEqual(before, FaultFixtures.Sha256(target));
        Assert.AreEqual(FaultFixtures.Sha256(sizing.Sub("m.onnx")), before, "the graph on the full disk is the complete one");
        CollectionAssert.AreEqual(Array.Empty<string>(), FaultFixtures.Temporaries(disk.Path));
    }

    private sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
