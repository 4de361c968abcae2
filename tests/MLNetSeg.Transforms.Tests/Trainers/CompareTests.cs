using Microsoft.ML;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.MaskLab;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Trainers;
using MLNetSeg.Training;
using MLNetSeg.Training.Comparison;

namespace MLNetSeg.Transforms.Tests.Trainers;

/// <summary><c>mlContext.Segmentation().Trainers.Compare</c>: two families compared on annotated IDataViews, the best returned as a working transformer.</summary>
[TestClass]
public sealed class CompareTests
{
    [TestMethod]
    public void CompareRanksTwoFamiliesOnDataViewsAndReturnsTheBestAsATransformer()
    {
        var ml = new MLContext(seed: 1);
        var log = new List<string>();
        ml.Log += (_, e) => { if (e.Source.StartsWith("MLNetSeg", StringComparison.Ordinal)) lock (log) log.Add(e.Message); };
        var train = EstimatorTests.Annotated(ml, TinyDataset.Shared.Train());
        var validation = EstimatorTests.Annotated(ml, TinyDataset.Shared.Validation());
        var settings = new RcnnOptions { MinSize = 64, MaxSize = 128, RpnPostNmsTopNTrain = 100, BoxBatchSizePerImage = 32, RpnPreNmsTopNTest = 100, RpnPostNmsTopNTest = 50 };
        using var dir = new TempDir();
        var options = new ComparisonOptions
        {
            Candidates =
            [
                new("maskrcnn", new MaskRcnnOptions { Backbone = ResNetDepth.ResNet18, Norm = BackboneNorm.BatchNorm, Widths = DetectorWidths.Compact, Settings = settings }),
                new("masklab", new MaskLabOptions { Backbone = ResNetDepth.ResNet18, Norm = BackboneNorm.BatchNorm, Widths = DetectorWidths.Compact, Settings = settings, CropSize = 21 }),
            ],
            Budget = TimeSpan.FromSeconds(30),
            Directory = dir.Path,
            Optimizer = new OptimizerOptions { LearningRate = 0.01, GradientClipNorm = 10 },
            Data = new DataOptions { BatchSize = 2, LoaderWorkers = 1 },
            Runtime = new RuntimeOptions { Threads = 2, Progress = ConsoleTrainingProgress.Silent },
            WarmupIterations = 2,
            TimingImages = 2,
        };
        var columns = new SegmentationTrainerOptions { Training = new TrainingOptions { Model = options.Candidates[0].Model }, ImageColumnName = "ImagePath" };
        using var result = ml.Segmentation().Trainers.Compare(train, validation, options, columns);

        Assert.AreEqual(2, result.Leaderboard.Rows.Count);
        CollectionAssert.AreEquivalent(new[] { "maskrcnn", "masklab" }, result.Leaderboard.Rows.Select(r => r.Family).ToArray());
        Assert.AreEqual("segm/AP", result.Comparison.Metric);
        Assert.IsTrue(log.Any(m => m.Contains("comparing 2 candidates by segm/AP", StringComparison.Ordinal)), string.Join("\n", log));
        Assert.IsTrue(log.Any(m => m.Contains("round 2/2: ", StringComparison.Ordinal)), "each trial reaches MLContext.Log:\n" + string.Join("\n", log));

        // The best model is the leaderboard's first row, and as a transformer it scores as the typed predictor of its file does.
        Assert.AreEqual(result.Leaderboard.Best.Family, result.BestModel.Model.Family.Name);
        var rows = Scoring.TransformerTests.ReadOutputs(result.BestModel.Transform(validation));
        using var typedModel = TrainedModel.Load(result.Comparison.BestModelPath);
        var typed = Scoring.TransformerTests.Typed(typedModel, TinyDataset.Shared.Validation().ImagePath(0));
        rows[0].AssertEqual(typed, "row 0");

        // The validation set as the comparison read it (for ComparisonReport): every row, with its ground truth.
        var expected = TinyDataset.Shared.Validation();
        Assert.AreEqual(expected.Count, result.ValidationSet.Count);
        Assert.AreEqual(expected.GetTarget(0).Count, result.ValidationSet.GetTarget(0).Count);
    }
}
