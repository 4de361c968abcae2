using MLNetSeg.Models;
using MLNetSeg.Tests.Shared;
using MLNetSeg.Training.Tests.Training;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Training.Tests.TinySemanticFamily;

/// <summary>
/// A family defined only in this folder goes through every generic path: the trainer (losses,
/// checkpoints, metrics, best model by its own metric), model files, the predictor and the command line.
/// </summary>
[TestClass]
public sealed class TinySemanticFamilyTests
{
    private static TinyDataset Data => TinyDataset.Shared;

    [ClassInitialize]
    public static void Register(TestContext _) => TinySemanticFamily.Register();

    private static TrainingOptions Options(string? directory, int iterations) => new()
    {
        Model = new TinySemanticOptions { Hidden = 8 },
        Optimizer = new OptimizerOptions { LearningRate = 0.1 },
        Schedule = new ScheduleOptions { Iterations = iterations, WarmupIterations = 0 },
        Data = new DataOptions { BatchSize = 2, LoaderWorkers = 1 },
        Checkpoints = new CheckpointOptions { Directory = directory, Period = 5 },
        Evaluation = new EvaluationOptions { ValidationLoss = true },
        Runtime = new RuntimeOptions { Threads = 2, LogPeriod = 1, Progress = ConsoleTrainingProgress.Silent, Log = _ => { } },
        Seed = 3,
    };

    [TestMethod]
    public void TrainsSavesLoadsAndPredictsThroughTheGenericPaths()
    {
        using var dir = new TempDir();
        var log = new ProgressLog();
        var options = Options(dir.Path, 12) with { Runtime = Options(null, 1).Runtime with { Progress = log } };
        using var trained = new SegmentationTrainer(options).Fit(Data.Train(), Data.Validation());

        Assert.AreEqual(TinySemanticFamily.Instance, trained.Family);
        var losses = log.Losses;
        Assert.AreEqual(12, losses.Count, "one report per iteration");
        CollectionAssert.AreEquivalent(new[] { "loss_sem_seg", "loss" }, losses[1].Keys.ToArray());
        double first = losses[1]["loss"], last = losses.Where(kv => kv.Key > 8).Average(kv => kv.Value["loss"]);
        Assert.IsTrue(last < first, $"the per-pixel classifier learns: loss {first:F3} at iteration 1, {last:F3} over iterations 9-12");
        var files = Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        CollectionAssert.AreEqual(new[] { "best.mlseg", TrainingCheckpoint.FileName(10), TrainingCheckpoint.FileName(12), MetricsLog.FileName, "model_final.mlseg" }, files);

        // Validation chose the family's evaluation (semantic metrics against maps rasterised from the COCO
        // instances) and ranked best.mlseg by mIoU; evaluating the returned model again gives the same numbers.
        var evaluation = trained.Summary!.Evaluation!;
        Assert.AreEqual(SegmentationTasks.Semantic, evaluation.Tasks);
        Assert.IsNull(evaluation.Bbox, "no COCO evaluation for a model without instances");
        double miou = evaluation.Metrics["sem_seg/mIoU"];
        Assert.IsTrue(miou > 0 && miou <= 1, $"mIoU {miou}");
        Assert.AreEqual("sem_seg/mIoU", trained.Summary.Best!.Metric);
        Assert.AreEqual(miou, trained.Evaluate(Data.Validation(), workers: 1).Metrics["sem_seg/mIoU"]);
        StringAssert.Contains(evaluation.ToTable(), "mIoU");

        // The model file names the family and rebuilds the net from its own section.
        var path = Path.Combine(dir.Path, "model_final.mlseg");
        Assert.AreEqual(TinySemanticFamily.FamilyName, ModelFile.ReadInfo(path).Family);
        using var loaded = TrainedModel.Load(path);
        Assert.IsInstanceOfType(loaded.Model, typeof(TinySemanticNet));
        Assert.AreEqual(8, ((TinySemanticNet)loaded.Model).Hidden);
        var image = ImageIO.Read(Data.Validation().ImagePath(0));
        var before = trained.Predict(image);
        var after = loaded.Predict(image);
        Assert.IsNull(after.Instances);
        Assert.AreEqual(SegmentationTasks.Semantic, after.Tasks);
        Assert.AreEqual(image.Height, after.Semantic!.Height);
        CollectionAssert.AreEqual(before.Semantic!.Labels.ToArray(), after.Semantic.Labels.ToArray(), "the loaded model predicts what the trained one does");
        using (var scope = MLNetSeg.Torch.DisposeScope.Enter())
        {
            var trainedWeights = trained.Model.Module.StateDict();
            var loadedWeights = loaded.Model.Module.StateDict();
            CollectionAssert.AreEqual(trainedWeights.Keys.ToArray(), new[] { "hidden.weight", "hidden.bias", "classifier.weight", "classifier.bias" });
            foreach (var (name, tensor) in trainedWeights)
                Assert.IsTrue(tensor.Equal(loadedWeights[name]), $"{name} round-trips exactly");
        }

        // Resuming the finished run in the same directory trains nothing more and gives the same model.
        using var resumed = new SegmentationTrainer(options with { Runtime = Options(null, 1).Runtime }).Fit(Data.Train(), Data.Validation());
        Assert.AreEqual(12, resumed.Summary!.ResumedFrom);
        CollectionAssert.AreEqual(before.Semantic.Labels.ToArray(), resumed.Predict(image).Semantic!.Labels.ToArray());
    }

    [TestMethod]
    public void TheCommandLineTrainsAndPredictsWithTheFamily()
    {
        using var dir = new TempDir();
        var (code, stdout, stderr) = CliRunner.Run("train", "--family", "tinysemantic", "--set", "Hidden=4", "--train-json", Data.TrainJson,
            "--train-images", Data.TrainImages, "--out", dir.Path, "--iterations", "2", "--lr", "0.1", "--threads", "2", "--workers", "1");
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "training Tiny semantic net (test family) (Hidden 4; 6 classes) from scratch: 2 iterations");
        using var model = TrainedModel.Load(Path.Combine(dir.Path, "model_final.mlseg"));
        Assert.AreEqual(4, ((TinySemanticNet)model.Model).Hidden);

        (code, stdout, stderr) = CliRunner.Run("families", "--family", "tinysemantic");
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "tinysemantic: Tiny semantic net (test family) — outputs Semantic");
        StringAssert.Contains(stdout, "\"Hidden\": 8");

        (code, stdout, stderr) = CliRunner.Run("predict", "--model", Path.Combine(dir.Path, "model_final.mlseg"), "--images", Data.TrainImages,
            "--out", dir.Sub("predictions"));
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "Tiny semantic net (test family), 6 classes");
    }
}
