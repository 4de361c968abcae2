using System.Text.Json;
using MLNetSeg.Data.Coco;
using MLNetSeg.Evaluation.Coco;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Training.Tests.Evaluation;

/// <summary>
/// The evaluation bridge against pycocotools: the fixtures under fixtures/cocoeval were written by
/// tools/fixtures/gen_cocoeval.py with real pycocotools. Stats are compared exactly (our
/// evaluator reproduces pycocotools' arithmetic; the json doubles round-trip).
/// </summary>
[TestClass]
public sealed class DetectionEvaluatorTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "cocoeval", name);

    private static double[] PycocotoolsStats(string expectedCase)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixture(expectedCase + ".expected.json")));
        return doc.RootElement.GetProperty("stats").EnumerateArray().Select(e => e.GetDouble()).ToArray();
    }

    [TestMethod]
    public void MaskResultsAreEvaluatedAsPycocotoolsEvaluatesMaskOnlyResults()
    {
        var gt = CocoDataset.Load(Fixture("medium.gt.json"));
        // Results with a box and a mask each: segm must use the mask area for small/medium/large,
        // as torchvision (separate lists) and detectron2 (box dropped) evaluate them.
        var evaluation = DetectionEvaluator.Evaluate(gt, CocoResults.Load(Fixture("medium_with_boxes.dt.json")), masks: true, keypoints: false);
        CollectionAssert.AreEqual(PycocotoolsStats("medium.segm"), evaluation.Segm!.Stats.ToArray());
        CollectionAssert.AreNotEqual(PycocotoolsStats("medium_with_boxes.segm"), evaluation.Segm.Stats.ToArray(),
            "pycocotools on the results as they are (box area) differs in APs; the bridge must not give that");
        Assert.IsNull(evaluation.Keypoints);

        // Mask-only results: bbox takes the masks' bounding boxes, as loadRes does.
        var maskOnly = DetectionEvaluator.Evaluate(gt, CocoResults.Load(Fixture("medium_masks.dt.json")), masks: true, keypoints: false);
        CollectionAssert.AreEqual(PycocotoolsStats("medium.bbox"), maskOnly.Bbox.Stats.ToArray());
        CollectionAssert.AreEqual(PycocotoolsStats("medium.segm"), maskOnly.Segm!.Stats.ToArray());
    }

    [TestMethod]
    public void KeypointResultsAreEvaluatedWithoutTheirBoxes()
    {
        var gt = CocoDataset.Load(Fixture("keypoints.gt.json"));
        var evaluation = DetectionEvaluator.Evaluate(gt, CocoResults.Load(Fixture("keypoints_with_boxes.dt.json")), masks: false, keypoints: true);
        CollectionAssert.AreEqual(PycocotoolsStats("keypoints.keypoints"), evaluation.Keypoints!.Stats.ToArray(),
            "torchvision evaluates keypoints from keypoint-only results (area = keypoint extent)");
        Assert.IsNull(evaluation.Segm);
    }

    [TestMethod]
    public void PerfectPredictionsOfTheGroundTruthScoreApOne()
    {
        var gt = CocoDataset.Load(Fixture("medium.gt.json"));
        var (predictions, imageIds, labelToCategory) = PerfectPredictions(gt);
        Assert.IsTrue(predictions.Sum(p => p.Count) > 50, "the case has many objects");
        var results = DetectionResults.ToCocoResults(predictions, imageIds, labelToCategory);

        var evaluation = DetectionEvaluator.Evaluate(gt, results, masks: true, keypoints: false);
        Assert.AreEqual(1.0, evaluation.Bbox.Stats[0], "bbox AP");
        Assert.AreEqual(1.0, evaluation.Segm!.Stats[0], "segm AP");
        Assert.AreEqual(0, evaluation.Warnings.Count, string.Join("\n", evaluation.Warnings));
    }

    [TestMethod]
    public void PerfectKeypointPredictionsScoreApOne()
    {
        var gt = CocoDataset.Load(Fixture("medium_keypoints.gt.json"));
        var (predictions, imageIds, labelToCategory) = PerfectPredictions(gt);
        var evaluation = DetectionEvaluator.Evaluate(gt, DetectionResults.ToCocoResults(predictions, imageIds, labelToCategory), masks: false, keypoints: true);
        // (Ground truth without visible keypoints is left out, so bbox AP is below 1 here and not checked.)
        Assert.AreEqual(1.0, evaluation.Keypoints!.Stats[0], "keypoints AP");
    }

    [TestMethod]
    public void TheTableHasOneRowPerEvaluationInPercentWithOneDecimal()
    {
        var medium = DetectionEvaluator.Evaluate(CocoDataset.Load(Fixture("medium.gt.json")), CocoResults.Load(Fixture("medium_masks.dt.json")),
            masks: true, keypoints: false);
        var keypoints = DetectionEvaluator.Evaluate(CocoDataset.Load(Fixture("keypoints.gt.json")), CocoResults.Load(Fixture("keypoints_with_boxes.dt.json")),
            masks: false, keypoints: true);
        var table = new DetectionEvaluation(medium.Bbox, medium.Segm, keypoints.Keypoints).ToTable();
        // pycocotools' stats for these cases (fixtures medium.bbox, medium.segm, keypoints.keypoints) × 100, by hand;
        // −1 (no large objects) shows as nan, keypoints have no APs.
        string expected =
            "| iou type  |   AP | AP50 | AP75 |  APs |  APm |  APl |\n" +
            "|-----------|-----:|-----:|-----:|-----:|-----:|-----:|\n" +
            "| bbox      | 22.4 | 35.2 | 27.3 | 22.2 | 30.0 |  nan |\n" +
            "| segm      | 17.3 | 36.3 | 16.8 | 17.1 | 30.0 |  nan |\n" +
            "| keypoints | 44.6 | 65.4 | 52.6 |    - | 48.1 | 48.3 |\n";
        Assert.AreEqual(expected, table);
    }

    [TestMethod]
    public void AResultWithoutTheEvaluatedFieldIsNamed()
    {
        var gt = CocoDataset.Load(Fixture("medium.gt.json"));
        var boxesOnly = new CocoResults(new[] { new CocoResult { ImageId = 1, CategoryId = 1, Score = 0.5, Bbox = new[] { 1.0, 2, 3, 4 } } }, "boxes.json");
        var e = Assert.ThrowsException<ArgumentException>(() => DetectionEvaluator.Evaluate(gt, boxesOnly, masks: true, keypoints: false));
        StringAssert.Contains(e.Message, "boxes.json: result 0 (image 1) has no 'segmentation' for the segm evaluation");
    }

    /// <summary>Every non-crowd ground truth (with visible keypoints, where the dataset has keypoints) as a
    /// detection of score 1: boxes, masks and keypoints taken from the annotation.</summary>
    private static (Instances[] Predictions, long[] ImageIds, int[] LabelToCategory) PerfectPredictions(CocoDataset gt)
    {
        var categoryIds = gt.Categories.Select(c => (int)c.Id).OrderBy(id => id).ToArray();
        var labelToCategory = categoryIds.Prepend(0).ToArray();
        var predictions = new List<Instances>();
        foreach (var image in gt.Images)
        {
            var annotations = gt.Annotations.Where(a => a.ImageId == image.Id && !a.IsCrowd && a.NumKeypoints is null or > 0).ToList();
            var xywh = annotations.SelectMany(a => a.Bbox!.Select(v => (float)v)).ToArray();
            var labels = annotations.Select(a => Array.IndexOf(labelToCategory, (int)a.CategoryId)).ToArray();
            var masks = annotations.All(a => a.Segmentation is not null)
                ? annotations.Select(a => a.Segmentation!.ToRle(image.Height, image.Width)).ToArray() : null;
            var keypoints = annotations.Count > 0 && annotations.All(a => a.Keypoints is not null)
                ? new Keypoints(annotations.Count, annotations[0].Keypoints!.Length / 3, annotations.SelectMany(a => a.Keypoints!.Select(v => (float)v)).ToArray())
                : null;
            predictions.Add(new Instances(image.Height, image.Width, Boxes.FromXywh(xywh), labels,
                Enumerable.Repeat(1f, annotations.Count).ToArray(), masks, keypoints));
        }
        return (predictions.ToArray(), gt.Images.Select(i => i.Id).ToArray(), labelToCategory);
    }
}
