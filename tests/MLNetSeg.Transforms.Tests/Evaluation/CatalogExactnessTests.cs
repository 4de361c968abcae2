using Microsoft.ML;
using MLNetSeg.Data.Coco;
using MLNetSeg.Data.Semantic;
using MLNetSeg.Evaluation;
using MLNetSeg.Evaluation.Coco;
using MLNetSeg.Evaluation.Semantic;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Transforms.Tests.Evaluation;

/// <summary>
/// The catalog on an IDataView gives the same numbers, bit for bit, as the typed
/// <see cref="SegmentationEvaluator"/> on the json the columns were made from (the reference: the
/// engine is itself checked against pycocotools in MLNetSeg.Evaluation.Tests).
/// </summary>
[TestClass]
public sealed class CatalogExactnessTests
{
    private static readonly MLContext Ml = new(seed: 1);
    private const SegmentationTasks Instances = SegmentationTasks.Boxes | SegmentationTasks.Masks | SegmentationTasks.Keypoints;

    private static (SegmentationEvaluation Boxes, SegmentationEvaluation Keypoints) Typed(ScoredSynthetic s, CocoDataset persons) =>
        (SegmentationEvaluator.Evaluate(s.Coco, s.Results, s.ImageIds, s.LabelToCategoryId, SegmentationTasks.Boxes | SegmentationTasks.Masks),
         SegmentationEvaluator.Evaluate(persons, s.Results, s.ImageIds, s.LabelToCategoryId, SegmentationTasks.Keypoints));

    [TestMethod]
    public void InstanceMetricsEqualTheTypedEvaluatorBitForBit()
    {
        var s = ScoredSynthetic.Shared;
        AssertFloatExactBoxes(s);
        // Ground-truth keypoints are 2-decimal doubles in the json; a Vector<Single> column holds them
        // rounded to float32, so the reference is the json with its keypoints rounded the same way
        // (KeypointsRoundedToFloat32ChangeNoStatOnThisData measures what the rounding does).
        var (typed, typedKeypoints) = Typed(s, s.PersonsAsFloat);

        var metrics = Ml.Segmentation().Evaluate(s.View(Ml), tasks: Instances);

        Assert.AreEqual(Instances, metrics.Tasks);
        AssertSame(typed.Bbox!, metrics.Box!.Result);
        AssertSame(typed.Segm!, metrics.Mask!.Result);
        AssertSame(typedKeypoints.Keypoints!, metrics.Keypoints!.Result);
        Assert.AreEqual(s.ImageIds.Length, metrics.ImageCount);
        // Not a vacuous comparison: the predictions are neither perfect nor worthless.
        foreach (var m in new[] { metrics.Box, metrics.Mask, metrics.Keypoints })
            Assert.IsTrue(m.AP is > 0.1 and < 0.9 && m.AP50 > m.AP, $"{m.IouType}: AP {m.AP}, AP50 {m.AP50}");
        Assert.AreEqual(s.ClassNames.Length, metrics.Box.PerClass.Count);
        CollectionAssert.AreEqual(s.ClassNames, metrics.Box.PerClass.Select(c => c.Name).ToArray());
        Assert.AreEqual(1, metrics.Keypoints.PerClass.Count, "keypoint AP is over the class with labelled keypoints (person)");
        Assert.AreEqual("person", metrics.Keypoints.PerClass[0].Name);
        Assert.AreEqual(metrics.Box.AP, metrics.Metrics["bbox/AP"]);
        Assert.IsNull(metrics.Keypoints.APSmall);
        Assert.IsNotNull(metrics.Box.APSmall);
        Console.WriteLine(metrics.ToTable());
    }

    [TestMethod]
    public void DefaultTasksAreThePredictionColumnsPresent()
    {
        var s = ScoredSynthetic.Shared;
        var options = new SegmentationEvaluationOptions { ClassNames = s.SemanticClassNames };
        var all = Ml.Segmentation().Evaluate(s.View(Ml), options: options);
        Assert.AreEqual(Instances | SegmentationTasks.Semantic, all.Tasks);
        var boxesOnly = Ml.Segmentation().Evaluate(s.View(Ml, null, "PredictedMasks", "PredictedKeypoints", "PredictedSemanticLabels"));
        Assert.AreEqual(SegmentationTasks.Boxes, boxesOnly.Tasks);
        Assert.AreEqual(all.Box!.AP, boxesOnly.Box!.AP);
        Assert.IsNull(boxesOnly.Mask);
        Assert.IsNull(boxesOnly.Semantic);
    }

    /// <summary>Without Area the areas are the masks' (the json's areas are mask areas), without ImageId the ids
    /// are row + 1 (the json's are 1..16 in order), without BoundingBoxes OKS takes the masks' boxes (the json's
    /// boxes are the masks'): the same numbers.</summary>
    [TestMethod]
    public void OptionalColumnsFallBackToWhatTheJsonHolds()
    {
        var s = ScoredSynthetic.Shared;
        CollectionAssert.AreEqual(Enumerable.Range(1, s.ImageIds.Length).Select(i => (long)i).ToArray(), s.ImageIds, "precondition: ids are 1..N in row order");
        foreach (var a in s.Coco.Annotations)
        {
            var mask = a.Segmentation!.ToRle(s.Coco.GetImage(a.ImageId).Height, s.Coco.GetImage(a.ImageId).Width);
            Assert.AreEqual((double)mask.Area, a.Area, $"precondition: annotation {a.Id}'s area is its mask's");
            CollectionAssert.AreEqual(mask.ToBbox(), a.Bbox, $"precondition: annotation {a.Id}'s box is its mask's");
        }
        var (typed, typedKeypoints) = Typed(s, s.PersonsAsFloat);

        var withoutArea = Ml.Segmentation().Evaluate(s.View(Ml, null, "Area", "ImageId"), tasks: Instances);
        AssertSame(typed.Bbox!, withoutArea.Box!.Result);
        AssertSame(typed.Segm!, withoutArea.Mask!.Result);
        AssertSame(typedKeypoints.Keypoints!, withoutArea.Keypoints!.Result);
        Assert.IsTrue(withoutArea.Warnings.Any(w => w.Contains("mask areas")), string.Join("\n", withoutArea.Warnings));

        var keypointsWithoutBoxes = Ml.Segmentation().Evaluate(s.View(Ml, null, "BoundingBoxes"), tasks: SegmentationTasks.Keypoints);
        AssertSame(typedKeypoints.Keypoints!, keypointsWithoutBoxes.Keypoints!.Result);
    }

    [TestMethod]
    public void SemanticMetricsFromLabelMapPathsEqualTheTypedEvaluator()
    {
        var s = ScoredSynthetic.Shared;
        var options = new SegmentationEvaluationOptions { ClassNames = s.SemanticClassNames };
        var truth = new SegmentationGroundTruth { SemanticMaps = id => SemanticLabelMapPng.Read(s.SemanticPaths[Array.IndexOf(s.ImageIds, id)]) };
        var typed = SegmentationEvaluator.Evaluate(truth, s.SemanticPredictions.Select(p => new SegmentationResult(null, p)).ToArray(), s.ImageIds,
            Enumerable.Range(0, s.SemanticClassNames.Length).ToArray(), SegmentationTasks.Semantic, options);

        var metrics = Ml.Segmentation().Evaluate(s.View(Ml), tasks: SegmentationTasks.Semantic, options: options);

        AssertSame(typed.Semantic!, metrics.Semantic!);
        Assert.IsTrue(metrics.MeanIou is > 0.3 and < 0.99, $"mIoU {metrics.MeanIou}");
        Assert.AreEqual(metrics.Semantic!.MeanBoundaryIou, metrics.BoundaryIou);
        // Without the size columns the prediction takes its ground-truth map's size.
        var unsized = Ml.Segmentation().Evaluate(s.View(Ml, null, "Width", "Height"), tasks: SegmentationTasks.Semantic, options: options);
        AssertSame(typed.Semantic!, unsized.Semantic!);
    }

    [TestMethod]
    public void SemanticMetricsPaintedFromMasksEqualTheTypedEvaluator()
    {
        var s = ScoredSynthetic.Shared;
        var typed = SegmentationEvaluator.Evaluate(s.Coco, s.DerivedSemanticPredictions.Select(p => new SegmentationResult(null, p)).ToArray(), s.ImageIds,
            s.LabelToCategoryId, SegmentationTasks.Semantic);

        var metrics = Ml.Segmentation().Evaluate(s.View(Ml, s.Rows(derivedSemantic: true), "SemanticLabels"), tasks: SegmentationTasks.Semantic);

        AssertSame(typed.Semantic!, metrics.Semantic!);
        CollectionAssert.AreEqual(new[] { "__background__" }.Concat(s.ClassNames).ToArray(), metrics.Semantic!.ClassNames.ToArray());
        Assert.IsTrue(metrics.MeanIou is > 0.3 and < 0.99, $"mIoU {metrics.MeanIou}");
    }

    /// <summary>
    /// What a float32 keypoint column changes: the json's 2-decimal coordinates move by at most half a
    /// float ulp (3.8e-6 px below 128); OKS moves by at most ~1e-6 here, and no OKS lies that close to
    /// a threshold, so pycocotools' matches and every stat are the same.
    /// </summary>
    [TestMethod]
    public void KeypointsRoundedToFloat32ChangeNoStatOnThisData()
    {
        var s = ScoredSynthetic.Shared;
        double maxShift = s.Persons.Annotations.Zip(s.PersonsAsFloat.Annotations)
            .SelectMany(p => p.First.Keypoints!.Zip(p.Second.Keypoints!, (a, b) => Math.Abs(a - b))).Max();
        Assert.IsTrue(maxShift is > 0 and <= 3.82e-6, $"max coordinate change {maxShift}");

        var (_, original) = Typed(s, s.Persons);
        var (_, rounded) = Typed(s, s.PersonsAsFloat);
        var (maxOksChange, closest) = OksSensitivity(s);
        Console.WriteLine($"max |Δx| {maxShift:E2} px, max |ΔOKS| {maxOksChange:E2}, closest OKS to a threshold: {closest:E2}");
        Assert.IsTrue(maxOksChange < closest, "an OKS moved across a threshold");
        CollectionAssert.AreEqual(original.Keypoints!.Stats.ToArray(), rounded.Keypoints!.Stats.ToArray());
    }

    /// <summary>
    /// What a float32 box column changes when the json's boxes are not exact in float32 (COCO's own
    /// files have 2-decimal boxes): x1 = x + w is rounded to float and w comes back as x1 − x0, off by
    /// up to ~1e-5 px here; IoU moves by ~1e-7, no IoU lies that close to a threshold, so the stats are equal.
    /// </summary>
    [TestMethod]
    public void TwoDecimalBoxesRoundedToFloat32ChangeNoStatOnThisData()
    {
        var s = ScoredSynthetic.Shared;
        var truth = new CocoDataset(s.Coco.Images, s.Coco.Categories, s.Coco.Annotations.Select(a => new CocoAnnotation
        {
            Id = a.Id, ImageId = a.ImageId, CategoryId = a.CategoryId, Area = a.Area, IsCrowd = a.IsCrowd, Segmentation = a.Segmentation,
            Bbox = [a.Bbox![0] + 0.13, a.Bbox[1] + 0.27, a.Bbox[2] + 0.41, a.Bbox[3] + 0.19],
        }), "2-decimal boxes");
        var rows = s.Rows();
        for (int i = 0; i < rows.Length; i++)
            rows[i].BoundingBoxes = truth.Annotations.Where(a => a.ImageId == rows[i].ImageId)
                .SelectMany(a => new[] { (float)a.Bbox![0], (float)a.Bbox[1], (float)(a.Bbox[0] + a.Bbox[2]), (float)(a.Bbox[1] + a.Bbox[3]) }).ToArray();

        var typed = SegmentationEvaluator.Evaluate(truth, s.Results, s.ImageIds, s.LabelToCategoryId, SegmentationTasks.Boxes);
        var metrics = Ml.Segmentation().Evaluate(s.View(Ml, rows), tasks: SegmentationTasks.Boxes);

        double maxWidthChange = 0, maxIouChange = 0, closest = double.PositiveInfinity;
        var thresholds = typed.Bbox!.Params.IouThresholds;
        foreach (var row in rows)
        {
            var anns = truth.Annotations.Where(a => a.ImageId == row.ImageId).ToArray();
            var p = s.Results[Array.IndexOf(s.ImageIds, row.ImageId)].Instances!;
            for (int g = 0; g < anns.Length; g++)
            {
                var json = anns[g].Bbox!;
                double[] column = [row.BoundingBoxes[4 * g], row.BoundingBoxes[4 * g + 1],
                                   (double)row.BoundingBoxes[4 * g + 2] - row.BoundingBoxes[4 * g], (double)row.BoundingBoxes[4 * g + 3] - row.BoundingBoxes[4 * g + 1]];
                maxWidthChange = Math.Max(maxWidthChange, Math.Max(Math.Abs(column[2] - json[2]), Math.Abs(column[3] - json[3])));
                for (int d = 0; d < p.Count; d++)
                {
                    var b = p.Boxes[d];
                    double[] det = [b.X1, b.Y1, b.X2 - b.X1, b.Y2 - b.Y1];
                    double a = BoxIou(det, json, anns[g].IsCrowd), c = BoxIou(det, column, anns[g].IsCrowd);
                    maxIouChange = Math.Max(maxIouChange, Math.Abs(a - c));
                    if (a > 0) foreach (var t in thresholds) closest = Math.Min(closest, Math.Abs(a - t));
                }
            }
        }
        Console.WriteLine($"max |Δw|, |Δh| {maxWidthChange:E2} px, max |ΔIoU| {maxIouChange:E2}, closest IoU to a threshold {closest:E2}");
        Assert.IsTrue(maxWidthChange is > 0 and < 1e-4, $"width change {maxWidthChange}");
        Assert.IsTrue(maxIouChange < closest, "an IoU moved across a threshold");
        CollectionAssert.AreEqual(typed.Bbox.Stats.ToArray(), metrics.Box!.Result.Stats.ToArray());
    }

    // ---- helpers ----------------------------------------------------------------------------------

    /// <summary>maskApi.c's bbIou for one pair ([x, y, w, h]).</summary>
    private static double BoxIou(double[] d, double[] g, bool crowd)
    {
        double w = Math.Min(d[0] + d[2], g[0] + g[2]) - Math.Max(d[0], g[0]);
        if (w <= 0) return 0;
        double h = Math.Min(d[1] + d[3], g[1] + g[3]) - Math.Max(d[1], g[1]);
        if (h <= 0) return 0;
        double i = w * h, da = d[2] * d[3];
        return i / (crowd ? da : da + g[2] * g[3] - i);
    }

    /// <summary>The json's boxes [x, y, w, h] survive x0, y0, x1 = x + w, y1 = y + h in float32 exactly (they are integers).</summary>
    private static void AssertFloatExactBoxes(ScoredSynthetic s)
    {
        foreach (var a in s.Coco.Annotations)
        {
            var b = a.Bbox!;
            float x0 = (float)b[0], y0 = (float)b[1], x1 = (float)(b[0] + b[2]), y1 = (float)(b[1] + b[3]);
            Assert.IsTrue(x0 == b[0] && y0 == b[1] && (double)x1 - x0 == b[2] && (double)y1 - y0 == b[3], $"annotation {a.Id}'s box is not exact in float32");
        }
    }

    private static void AssertSame(CocoEvalResult expected, CocoEvalResult actual)
    {
        string what = expected.IouType.ToString();
        CollectionAssert.AreEqual(expected.Stats.ToArray(), actual.Stats.ToArray(), $"{what} stats");
        CollectionAssert.AreEqual(expected.ImageIds.ToArray(), actual.ImageIds.ToArray(), $"{what} images");
        CollectionAssert.AreEqual(expected.CategoryIds.ToArray(), actual.CategoryIds.ToArray(), $"{what} categories");
        CollectionAssert.AreEqual(expected.PerCategoryAp.ToArray(), actual.PerCategoryAp.ToArray(), $"{what} per-category AP");
        CollectionAssert.AreEqual(expected.Precision.Cast<double>().ToArray(), actual.Precision.Cast<double>().ToArray(), $"{what} precision");
        CollectionAssert.AreEqual(expected.Recall.Cast<double>().ToArray(), actual.Recall.Cast<double>().ToArray(), $"{what} recall");
    }

    private static void AssertSame(SemanticSegmentationMetrics expected, SemanticSegmentationMetrics actual)
    {
        Assert.AreEqual(expected.MeanIou, actual.MeanIou);
        Assert.AreEqual(expected.FrequencyWeightedIou, actual.FrequencyWeightedIou);
        Assert.AreEqual(expected.MeanAccuracy, actual.MeanAccuracy);
        Assert.AreEqual(expected.PixelAccuracy, actual.PixelAccuracy);
        Assert.AreEqual(expected.MeanBoundaryIou, actual.MeanBoundaryIou);
        CollectionAssert.AreEqual(expected.ClassIou.ToArray(), actual.ClassIou.ToArray());
        CollectionAssert.AreEqual(expected.ClassAccuracy.ToArray(), actual.ClassAccuracy.ToArray());
        CollectionAssert.AreEqual(expected.ClassBoundaryIou!.ToArray(), actual.ClassBoundaryIou!.ToArray());
        CollectionAssert.AreEqual(expected.ClassNames.ToArray(), actual.ClassNames.ToArray());
    }

    /// <summary>
    /// OKS of every (person detection, person) pair of an image with the json's and with the rounded
    /// keypoints (pycocotools' computeOks, written out here independently): the largest change, and
    /// the smallest distance of any OKS to one of the thresholds 0.50, 0.55, …, 0.95.
    /// </summary>
    private static (double MaxChange, double Closest) OksSensitivity(ScoredSynthetic s)
    {
        var sigmas = CocoEvalParams.CocoPersonKeypointSigmas;
        double maxChange = 0, closest = double.PositiveInfinity;
        var thresholds = Enumerable.Range(0, 10).Select(i => 0.5 + 0.05 * i).ToArray();
        foreach (var (truth, rounded) in s.Persons.Annotations.Zip(s.PersonsAsFloat.Annotations))
        {
            int i = Array.IndexOf(s.ImageIds, truth.ImageId);
            var p = s.Results[i].Instances!;
            for (int j = 0; j < p.Count; j++)
            {
                if (p.Labels[j] != 1) continue;
                double a = Oks(truth, p, j, sigmas), b = Oks(rounded, p, j, sigmas);
                maxChange = Math.Max(maxChange, Math.Abs(a - b));
                foreach (var t in thresholds) closest = Math.Min(closest, Math.Abs(a - t));
            }
        }
        return (maxChange, closest);
    }

    private static double Oks(CocoAnnotation g, Instances p, int j, IReadOnlyList<double> sigmas)
    {
        var kp = g.Keypoints!;
        var box = g.Bbox!;
        int k = sigmas.Count, labelled = 0;
        for (int q = 0; q < k; q++) if (kp[3 * q + 2] > 0) labelled++;
        double x0 = box[0] - box[2], x1 = box[0] + 2 * box[2], y0 = box[1] - box[3], y1 = box[1] + 2 * box[3];
        double sum = 0;
        int count = 0;
        for (int q = 0; q < k; q++)
        {
            double xd = p.Keypoints!.X(j, q), yd = p.Keypoints.Y(j, q);
            double dx, dy;
            if (labelled > 0) { dx = xd - kp[3 * q]; dy = yd - kp[3 * q + 1]; }
            else { dx = Math.Max(0, x0 - xd) + Math.Max(0, xd - x1); dy = Math.Max(0, y0 - yd) + Math.Max(0, yd - y1); }
            double variance = (2 * sigmas[q]) * (2 * sigmas[q]);
            double e = (dx * dx + dy * dy) / variance / (g.Area!.Value + 2.220446049250313e-16) / 2; // np.spacing(1);
            if (labelled > 0 && kp[3 * q + 2] <= 0) continue;
            sum += Math.Exp(-e);
            count++;
        }
        return sum / count;
    }
}
