using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.TorchSharp;
using Microsoft.ML.TorchSharp.AutoFormerV2;
using MLNetSeg.Data.Synthetic;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Transforms.Tests.Evaluation;

/// <summary>
/// The same scored view through ML.NET's own object-detection evaluation
/// (<c>mlContext.MulticlassClassification.EvaluateObjectDetection</c>, Microsoft.ML.TorchSharp 0.24.0)
/// and through the catalog; every difference between its MAP50 / MAP50_95 and our bbox AP50 / AP
/// is accounted for by flipping one convention at a time in an independent reference
/// (<see cref="DetectionApReference"/>). Figures: docs/mlnet-evaluation.md.
/// </summary>
[TestClass]
public sealed class ObjectDetectionInteropTests
{
    private static readonly MLContext Ml = new(seed: 1);

    /// <summary>ML.NET's evaluator wants text labels: MapKeyToValue on both key columns.</summary>
    private static ObjectDetectionMetrics MlNetEvaluate(IDataView scored)
    {
        var text = Ml.Transforms.Conversion.MapKeyToValue([new InputOutputColumnPair("LabelText", "Label"), new InputOutputColumnPair("PredictedLabelText", "PredictedLabel")])
            .Fit(scored).Transform(scored);
        return Ml.MulticlassClassification.EvaluateObjectDetection(text, text.Schema["LabelText"], text.Schema["BoundingBoxes"],
            text.Schema["PredictedLabelText"], text.Schema["PredictedBoundingBoxes"], text.Schema["Score"]);
    }

    private static BoxImage[] Boxes(ScoredRow[] rows) => rows.Select(r => new BoxImage(
        r.Label.Select((k, j) => new BoxObject((int)k, r.BoundingBoxes[4 * j], r.BoundingBoxes[4 * j + 1], r.BoundingBoxes[4 * j + 2], r.BoundingBoxes[4 * j + 3], 1, r.IsCrowd[j])).ToArray(),
        r.PredictedLabel.Select((k, j) => new BoxObject((int)k, r.PredictedBoundingBoxes[4 * j], r.PredictedBoundingBoxes[4 * j + 1], r.PredictedBoundingBoxes[4 * j + 2], r.PredictedBoundingBoxes[4 * j + 3], r.Score[j])).ToArray()))
        .ToArray();

    private static TempDir? _largerDir;

    [ClassCleanup]
    public static void RemoveLargerSet() => _largerDir?.Dispose();

    [TestMethod]
    public void EveryDifferenceFromEvaluateObjectDetectionIsAccountedForOnTiny() => AccountForEveryDifference(ScoredSynthetic.Shared);

    /// <summary>The same on 200 synthetic images (about 800 detections), for figures less at the mercy of a few objects.</summary>
    [TestMethod]
    public void EveryDifferenceFromEvaluateObjectDetectionIsAccountedForOn200Images()
    {
        _largerDir = new TempDir();
        SyntheticDatasetGenerator.Generate(SyntheticOptions.Tiny with { Name = "tiny-200", TrainImages = 200, ValImages = 0, MaxDegreeOfParallelism = 1 }, _largerDir.Path);
        AccountForEveryDifference(new ScoredSynthetic(_largerDir.Path));
    }

    private static void AccountForEveryDifference(ScoredSynthetic s)
    {
        var rows = s.Rows();
        var images = Boxes(rows);
        // Preconditions of the comparison: ML.NET throws on a predicted class absent from the ground truth
        // (PredictedClassMissingFromTheTruthBreaksEvaluateObjectDetection); no image reaches maxDets 100.
        var truthClasses = images.SelectMany(i => i.Truth).Select(g => g.Key).ToHashSet();
        Assert.IsTrue(images.SelectMany(i => i.Detections).All(d => truthClasses.Contains(d.Key)));
        Assert.IsTrue(images.All(i => i.Detections.Count <= 100));
        Assert.IsTrue(images.SelectMany(i => i.Truth).Any(g => g.IsCrowd), "the data should have crowd regions");
        Assert.IsTrue(images.SelectMany(i => i.Detections).Any(d => d.Score < 0.05f), "the data should have detections under 0.05");

        var view = s.View(Ml, rows);
        var mlnet = MlNetEvaluate(view);
        var ours = Ml.Segmentation().Evaluate(view, tasks: SegmentationTasks.Boxes).Box!;
        var p = ours.Result.Params;

        // The reference reproduces each end: ML.NET (to its float32 arithmetic) and our engine (to rounding).
        var atMlNet = DetectionApReference.Compute(images, ApConvention.MlNet, p.IouThresholds, p.RecallThresholds);
        var atCoco = DetectionApReference.Compute(images, ApConvention.Coco, p.IouThresholds, p.RecallThresholds);
        Console.WriteLine($"{s.ImageIds.Length} images, {images.Sum(i => i.Truth.Count)} objects ({images.Sum(i => i.Truth.Count(g => g.IsCrowd))} crowd), " +
                          $"{images.Sum(i => i.Detections.Count)} detections ({images.Sum(i => i.Detections.Count(d => d.Score < 0.05f))} under 0.05); " +
                          $"reference − ML.NET: {atMlNet.Ap50 - mlnet.MAP50:E1} (MAP50), {atMlNet.Ap - mlnet.MAP50_95:E1} (MAP50_95); " +
                          $"reference − ours: {atCoco.Ap50 - ours.AP50:E1} (AP50), {atCoco.Ap - ours.AP:E1} (AP)");
        Assert.AreEqual(mlnet.MAP50, atMlNet.Ap50, 1e-6, "the reference at ML.NET's conventions vs EvaluateObjectDetection's MAP50");
        Assert.AreEqual(mlnet.MAP50_95, atMlNet.Ap, 1e-6, "the reference at ML.NET's conventions vs EvaluateObjectDetection's MAP50_95");
        Assert.AreEqual(ours.AP50, atCoco.Ap50, 1e-12, "the reference at COCO's conventions vs our AP50");
        Assert.AreEqual(ours.AP, atCoco.Ap, 1e-12, "the reference at COCO's conventions vs our AP");

        // From ML.NET's conventions to COCO's, one switch at a time.
        var steps = new (string What, Func<ApConvention, ApConvention> Flip)[]
        {
            ("box size x1 − x0 (not + 1)", c => c with { PlusOne = false }),
            ("keep detections under 0.05", c => c with { ScoreThreshold = float.NegativeInfinity }),
            ("IoU thresholds linspace (not the float loop)", c => c with { FloatThresholds = false }),
            ("pycocotools matching and ranking", c => c with { MlNetMatching = false }),
            ("crowd regions ignored (not objects)", c => c with { CrowdAsObject = false }),
            ("101-point interpolation (not all-point)", c => c with { AllPointInterpolation = false }),
        };
        var lines = new List<string>
        {
            "| step | MAP50 / AP50 | MAP50_95 / AP |", "|---|---:|---:|",
            $"| EvaluateObjectDetection (ML.NET 0.24.0) | {mlnet.MAP50:F4} | {mlnet.MAP50_95:F4} |",
            $"| reference, ML.NET's conventions | {atMlNet.Ap50:F4} | {atMlNet.Ap:F4} |",
        };
        var convention = ApConvention.MlNet;
        var previous = atMlNet;
        int changed = 0;
        foreach (var (what, flip) in steps)
        {
            convention = flip(convention);
            var next = DetectionApReference.Compute(images, convention, p.IouThresholds, p.RecallThresholds);
            lines.Add($"| + {what} | {next.Ap50:F4} ({next.Ap50 - previous.Ap50:+0.0000;-0.0000;0}) | {next.Ap:F4} ({next.Ap - previous.Ap:+0.0000;-0.0000;0}) |");
            if (next != previous) changed++;
            previous = next;
        }
        Assert.AreEqual(ApConvention.Coco, convention);
        lines.Add($"| catalog bbox (pycocotools-exact engine) | {ours.AP50:F4} | {ours.AP:F4} |");
        // The same switches one at a time from COCO's side: what each ML.NET convention alone does to our numbers.
        var alone = new (string What, ApConvention Convention)[]
        {
            ("box size + 1", ApConvention.Coco with { PlusOne = true }),
            ("drop detections under 0.05", ApConvention.Coco with { ScoreThreshold = 0.05f }),
            ("float-loop thresholds", ApConvention.Coco with { FloatThresholds = true }),
            ("ML.NET matching and ranking", ApConvention.Coco with { MlNetMatching = true, CrowdAsObject = true }),
            ("crowd regions as objects", ApConvention.Coco with { CrowdAsObject = true }),
            ("all-point interpolation", ApConvention.Coco with { AllPointInterpolation = true }),
        };
        lines.Add("");
        lines.Add("| COCO with only this ML.NET convention | AP50 | AP |");
        lines.Add("|---|---:|---:|");
        foreach (var (what, c) in alone)
        {
            var r = DetectionApReference.Compute(images, c, p.IouThresholds, p.RecallThresholds);
            lines.Add($"| {what} | {r.Ap50:F4} ({r.Ap50 - atCoco.Ap50:+0.0000;-0.0000;0}) | {r.Ap:F4} ({r.Ap - atCoco.Ap:+0.0000;-0.0000;0}) |");
        }
        Console.WriteLine(string.Join("\n", lines));
        Assert.IsTrue(changed >= 4, $"only {changed} of the {steps.Length} conventions change a number on this data; the comparison explains too little");
        AssertTorchSharpNativeNotLoaded();
    }

    /// <summary>ML.NET's evaluator indexes its per-class lists by the ground truth's labels: a detection
    /// of a class no image has raises KeyNotFoundException; ours scores that class −1 (no ground truth) and leaves it out.</summary>
    [TestMethod]
    public void PredictedClassMissingFromTheTruthBreaksEvaluateObjectDetection()
    {
        var rows = new[]
        {
            new ScoredRow
            {
                ImageId = 1, Width = 20, Height = 16, Label = [1], BoundingBoxes = [2, 2, 10, 10], IsCrowd = [false], Area = [64],
                PredictedLabel = [1, 2], Score = [0.9f, 0.8f], PredictedBoundingBoxes = [2, 2, 10, 10, 12, 2, 18, 8],
            },
        };
        var view = Ml.Data.LoadFromEnumerable(rows, ScoredSynthetic.SchemaDefinitionFor(["a", "b"], null));
        Assert.ThrowsException<KeyNotFoundException>(() => MlNetEvaluate(view));
        var ours = Ml.Segmentation().Evaluate(view, tasks: SegmentationTasks.Boxes).Box!;
        Assert.AreEqual(1.0, ours.AP, 1e-15, "pycocotools' precision tp / (tp + fp + eps): 1 / (1 + 2.2e-16) here");
        Assert.AreEqual(-1.0, ours.PerClass.Single(c => c.Name == "b").AP);
        AssertTorchSharpNativeNotLoaded();
    }

    /// <summary>ML.NET's evaluator is managed code: neither TorchSharp nor its native library gets loaded.</summary>
    private static void AssertTorchSharpNativeNotLoaded()
    {
        var loaded = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name).ToArray();
        CollectionAssert.Contains(loaded, "Microsoft.ML.TorchSharp");
        CollectionAssert.DoesNotContain(loaded, "TorchSharp");
        if (File.Exists("/proc/self/maps"))
        {
            var maps = File.ReadAllText("/proc/self/maps");
            Assert.IsFalse(maps.Contains("LibTorchSharp", StringComparison.Ordinal), "TorchSharp's native library was loaded");
        }
    }
}
