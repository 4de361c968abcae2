using MLNetSeg.Evaluation.Semantic;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Evaluation.Tests.Semantic;

/// <summary>
/// SemanticSegmentationEvaluator against detectron2's SemSegEvaluator run on the same random label
/// maps (tests/fixtures/semseg/metrics_*.json). The confusion matrix must be identical; metrics are
/// compared on detectron2's percent scale within 1e-9: both sides compute the same few IEEE double
/// divisions and sums over ≤ 6 classes, so only summation order (numpy pairwise vs sequential) can
/// differ, by ~1e-14. Boundary IoU per class is compared within 1e-12 against boundary-iou-api's
/// mask_to_boundary applied class by class (each value is one division of two exact pixel counts).
/// </summary>
[TestClass]
public class SemanticSegmentationEvaluatorTests
{
    private const double PercentTolerance = 1e-9;

    [DataTestMethod]
    [DataRow("metrics_mixed_sizes.json")]
    [DataRow("metrics_no_ignore.json")]
    [DataRow("metrics_large.json")]
    public void MatchesDetectron2AndBoundaryIouApi(string file)
    {
        var fx = SemanticFixtures.Load("semseg", file);
        int c = fx.GetProperty("num_classes").GetInt32();
        var names = fx.GetProperty("class_names").EnumerateArray().Select(e => e.GetString()!).ToArray();
        var evaluator = new SemanticSegmentationEvaluator(c, names, fx.GetProperty("ignore_label").GetInt32());
        foreach (var img in fx.GetProperty("images").EnumerateArray())
        {
            int h = img.GetProperty("height").GetInt32(), w = img.GetProperty("width").GetInt32();
            evaluator.Add(new SemanticLabelMap(h, w, SemanticFixtures.Bytes(img.GetProperty("pred"))),
                          new SemanticLabelMap(h, w, SemanticFixtures.Bytes(img.GetProperty("gt"))));
        }
        Assert.IsTrue(evaluator.ImageCount > 0 && c > 0, $"{file}: {evaluator.ImageCount} images and {c} classes to compare");
        Assert.AreEqual(fx.GetProperty("images").GetArrayLength(), evaluator.ImageCount, $"{file}: images added");

        var expectedMatrix = fx.GetProperty("confusion_matrix").EnumerateArray()
            .Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
        var matrix = evaluator.ConfusionMatrix();
        for (int r = 0; r <= c; r++)
            for (int col = 0; col <= c; col++)
                Assert.AreEqual(expectedMatrix[r][col], matrix[r, col], $"confusion[{r}, {col}]");

        var m = evaluator.Compute();
        var d2 = fx.GetProperty("d2");
        SemanticFixtures.AreClose(d2.GetProperty("mIoU").GetDouble(), 100 * m.MeanIou, PercentTolerance, "mIoU");
        SemanticFixtures.AreClose(d2.GetProperty("fwIoU").GetDouble(), 100 * m.FrequencyWeightedIou, PercentTolerance, "fwIoU");
        SemanticFixtures.AreClose(d2.GetProperty("mACC").GetDouble(), 100 * m.MeanAccuracy, PercentTolerance, "mACC");
        SemanticFixtures.AreClose(d2.GetProperty("pACC").GetDouble(), 100 * m.PixelAccuracy, PercentTolerance, "pACC");
        var iou = d2.GetProperty("IoU").EnumerateArray().Select(SemanticFixtures.Number).ToArray();
        var acc = d2.GetProperty("ACC").EnumerateArray().Select(SemanticFixtures.Number).ToArray();
        var bIou = fx.GetProperty("boundary").GetProperty("iou").EnumerateArray().Select(SemanticFixtures.Number).ToArray();
        for (int k = 0; k < c; k++)
        {
            SemanticFixtures.AreClose(iou[k], 100 * m.ClassIou[k], PercentTolerance, $"IoU-{names[k]}");
            SemanticFixtures.AreClose(acc[k], 100 * m.ClassAccuracy[k], PercentTolerance, $"ACC-{names[k]}");
            SemanticFixtures.AreClose(bIou[k], m.ClassBoundaryIou![k], 1e-12, $"BoundaryIoU-{names[k]}");
        }
        SemanticFixtures.AreClose(SemanticFixtures.Number(fx.GetProperty("boundary").GetProperty("mean_iou")), m.MeanBoundaryIou!.Value, 1e-12, "mean boundary IoU");
        Assert.AreEqual(100 * m.MeanIou, m.ToDetectron2Dictionary()["mIoU"]);
    }

    [TestMethod]
    public void ClassesAbsentFromGroundTruthAreNaNAndLeftOutOfMeans()
    {
        // mixed_sizes: "unused" (5) occurs nowhere, "car" (4) only in predictions (see gen_semseg.py);
        // detectron2 gives both NaN IoU and accuracy, boundary-iou-api gives car 0 and unused NaN.
        var fx = SemanticFixtures.Load("semseg", "metrics_mixed_sizes.json");
        Assert.AreEqual(System.Text.Json.JsonValueKind.Null, fx.GetProperty("d2").GetProperty("IoU")[4].ValueKind, "fixture covers a prediction-only class");
        var evaluator = new SemanticSegmentationEvaluator(fx.GetProperty("num_classes").GetInt32());
        foreach (var img in fx.GetProperty("images").EnumerateArray())
            evaluator.Add(SemanticFixtures.Bytes(img.GetProperty("pred")), SemanticFixtures.Bytes(img.GetProperty("gt")),
                img.GetProperty("height").GetInt32(), img.GetProperty("width").GetInt32());
        Assert.IsTrue(evaluator.ImageCount > 0, "metrics_mixed_sizes.json: no images");
        var m = evaluator.Compute();
        Assert.IsTrue(double.IsNaN(m.ClassIou[4]) && double.IsNaN(m.ClassIou[5]));
        Assert.IsTrue(double.IsNaN(m.ClassAccuracy[4]) && double.IsNaN(m.ClassAccuracy[5]));
        Assert.AreEqual(0.0, m.ClassBoundaryIou![4]);
        Assert.IsTrue(double.IsNaN(m.ClassBoundaryIou[5]));
        Assert.AreEqual(m.ClassIou.Take(4).Average(), m.MeanIou, 1e-15, "mIoU averages the four gt classes only");
        Assert.AreEqual(m.ClassBoundaryIou.Take(5).Average(), m.MeanBoundaryIou!.Value, 1e-15, "mean B-IoU skips only the NaN class");
    }

    [TestMethod]
    public void UnlabelledPredictionsAreMissesOfTheirGroundTruthOnly()
    {
        // Ground truth 0 0 1 1 / 1 1 2 255; prediction 0 255 1 255 / 1 0 255 2 (255: unlabelled).
        var evaluator = new SemanticSegmentationEvaluator(3, computeBoundaryIou: true);
        evaluator.Add([0, 255, 1, 255, 1, 0, 255, 2], [0, 0, 1, 1, 1, 1, 2, 255], 2, 4, "unlabelled.png");
        var m = evaluator.Compute();
        // Class 0: tp 1, gt 2, predicted 2 (the second at a class-1 pixel): IoU 1 / 3, accuracy 1 / 2.
        // Class 1: tp 2, gt 4, predicted 2: IoU 2 / 4. Class 2: tp 0, gt 1 (unlabelled), predicted 0 (the ignored pixel is out): IoU 0.
        Assert.AreEqual(1.0 / 3, m.ClassIou[0], 1e-15);
        Assert.AreEqual(0.5, m.ClassIou[1], 1e-15);
        Assert.AreEqual(0.0, m.ClassIou[2], 1e-15);
        Assert.AreEqual(0.5, m.ClassAccuracy[0], 1e-15);
        Assert.AreEqual(3.0 / 7, m.PixelAccuracy, 1e-15, "3 of the 7 scored pixels are right; unlabelled ones count as wrong");
        Assert.AreEqual(3, evaluator.ConfusionMatrix()[3, 0] + evaluator.ConfusionMatrix()[3, 1] + evaluator.ConfusionMatrix()[3, 2],
            "the spare row holds the three unlabelled pixels with a ground truth");
    }

    [TestMethod]
    public void ErrorsNameTheImageAndPixel()
    {
        var evaluator = new SemanticSegmentationEvaluator(3);
        var e = Assert.ThrowsException<ArgumentException>(() => evaluator.Add([0, 1, 3, 0], [0, 1, 2, 255], 2, 2, "frame_007.png"));
        StringAssert.Contains(e.Message, "frame_007.png");
        StringAssert.Contains(e.Message, "predicted label 3 at (y=1, x=0)");
        e = Assert.ThrowsException<ArgumentException>(() => evaluator.Add([0, 1, 2, 0], [0, 7, 2, 255], 2, 2, "b.png"));
        StringAssert.Contains(e.Message, "ground-truth label 7 at (y=0, x=1)");
        e = Assert.ThrowsException<ArgumentException>(() => evaluator.Add(new SemanticLabelMap(2, 3, new int[6]), new SemanticLabelMap(3, 2, new int[6]), "c.png"));
        StringAssert.Contains(e.Message, "c.png: prediction is 2x3 but ground truth is 3x2");
        Assert.AreEqual(0, evaluator.ImageCount, "rejected images leave no trace");
        Assert.IsTrue(evaluator.ConfusionMatrix().Cast<long>().All(v => v == 0));
    }

    [TestMethod]
    public void ResetClearsAccumulatedCounts()
    {
        var evaluator = new SemanticSegmentationEvaluator(2, computeBoundaryIou: false);
        evaluator.Add([0, 1, 1, 0], [0, 1, 0, 255], 2, 2);
        Assert.AreEqual(1, evaluator.ImageCount);
        // Hand count: pixel 0 (p0,g0), 1 (p1,g1), 2 (p1,g0), 3 ignored → pAcc = 2/3.
        Assert.AreEqual(2.0 / 3.0, evaluator.Compute().PixelAccuracy, 1e-15);
        Assert.IsNull(evaluator.Compute().ClassBoundaryIou);
        evaluator.Reset();
        Assert.AreEqual(0, evaluator.ImageCount);
        Assert.IsTrue(double.IsNaN(evaluator.Compute().MeanIou));
    }
}
