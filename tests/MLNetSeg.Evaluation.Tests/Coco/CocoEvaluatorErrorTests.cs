using MLNetSeg.Data.Coco;
using MLNetSeg.Evaluation.Coco;

namespace MLNetSeg.Evaluation.Tests.Coco;

/// <summary>Inputs pycocotools crashes on (or silently mishandles) fail here with messages naming file, id and field.</summary>
[TestClass]
public sealed class CocoEvaluatorErrorTests
{
    private const string Gt = """
        {"images": [{"id": 1, "width": 40, "height": 30}, {"id": 2, "width": 40, "height": 30}],
         "categories": [{"id": 1, "name": "a"}],
         "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10], "area": 100, "iscrowd": 0,
                          "segmentation": [[1, 1, 11, 1, 11, 11, 1, 11]]}]}
        """;

    private static CocoDataset GroundTruth() => CocoDataset.Parse(Gt, "gt.json");

    private static CocoFormatException Fails(string resultsJson, CocoIouType type, CocoDataset? gt = null, CocoEvalOptions? options = null) =>
        Assert.ThrowsException<CocoFormatException>(() =>
            CocoEvaluator.Evaluate(gt ?? GroundTruth(), CocoResults.Parse(resultsJson, "dt.json"), type, options));

    [TestMethod]
    public void DetectionOnImageAbsentFromGroundTruth_FailsNamingResultAndImage()
    {
        var e = Fails("""
            [{"image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.5},
            {"image_id": 9, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.4}]
            """, CocoIouType.Bbox);
        Assert.AreEqual("dt.json: result 1 (image 9): 'image_id' 9 is not an image of the ground truth gt.json", e.Message);
    }

    [TestMethod]
    public void ResultsReadAsBoxResults_ALaterResultWithoutBoxFails()
    {
        var e = Fails("""
            [{"image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.5},
            {"image_id": 2, "category_id": 1, "segmentation": {"size": [30, 40], "counts": "0`U1"}, "score": 0.4}]
            """,
                      CocoIouType.Segm);
        StringAssert.StartsWith(e.Message, "dt.json: result 1 (image 2): has no 'bbox', but all results are read as box results");
    }

    [TestMethod]
    public void MaskResultWithWrongSize_FailsNamingBothSizes()
    {
        var e = Fails("""[{"image_id": 1, "category_id": 1, "segmentation": {"size": [30, 41], "counts": "0^V1"}, "score": 0.5}]""",
                      CocoIouType.Segm);
        Assert.AreEqual("dt.json: result 0 (image 1): 'segmentation' RLE size [30, 41] does not match the image size [30, 40] (height, width)", e.Message);
    }

    [TestMethod]
    public void KeypointEvaluationOfBoxGroundTruth_FailsNamingTheAnnotation()
    {
        var e = Fails("""[{"image_id": 1, "category_id": 1, "keypoints": [1, 1, 2], "score": 0.5}]""", CocoIouType.Keypoints);
        StringAssert.StartsWith(e.Message, "gt.json: annotation 5 (image 1): 'keypoints' is missing; keypoints evaluation needs it");
    }

    [TestMethod]
    public void KeypointCountDifferentFromSigmas_Fails()
    {
        var gt = CocoDataset.Parse("""
            {"images": [{"id": 1, "width": 40, "height": 30}],
             "categories": [{"id": 1, "name": "p", "keypoints": ["a", "b"]}],
             "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10], "area": 100,
                              "keypoints": [2, 2, 2, 5, 5, 2], "num_keypoints": 2}]}
            """, "gt.json");
        // The category names two keypoints, so the default 17 sigmas are refused before reading annotations.
        var e = Assert.ThrowsException<ArgumentException>(() => CocoEvaluator.Evaluate(
            gt, CocoResults.Parse("""[{"image_id": 1, "category_id": 1, "keypoints": [1, 1, 2, 4, 4, 2], "score": 0.5}]""", "dt.json"), CocoIouType.Keypoints));
        StringAssert.StartsWith(e.Message, "category 1 ('p') of gt.json has 2 keypoints but no OKS sigmas are given");
        // With sigmas for the two keypoints the same files evaluate.
        var result = CocoEvaluator.Evaluate(gt, CocoResults.Parse("""[{"image_id": 1, "category_id": 1, "keypoints": [1, 1, 2, 4, 4, 2], "score": 0.5}]"""),
                                            CocoIouType.Keypoints, new CocoEvalOptions { KeypointSigmas = [0.05, 0.05] });
        Assert.AreEqual(10, result.Stats.Count);
    }

    [TestMethod]
    public void GroundTruthWithoutArea_Fails()
    {
        var gt = CocoDataset.Parse("""
            {"images": [{"id": 1, "width": 40, "height": 30}], "categories": [{"id": 1, "name": "a"}],
             "annotations": [{"id": 8, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10]}]}
            """, "gt.json");
        var e = Fails("""[{"image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.5}]""", CocoIouType.Bbox, gt);
        Assert.AreEqual("gt.json: annotation 8 (image 1): 'area' is missing; COCO evaluation's area ranges need it", e.Message);
    }

    [TestMethod]
    public void EmptyResults_GiveZeroWherePycocotoolsCrashes()
    {
        // pycocotools' loadRes reads anns[0] and raises IndexError on an empty list. Without
        // detections every recall point has precision 0 and recall is 0 (the accumulate rules),
        // while settings without ground truth stay -1 (here: medium and large).
        var result = CocoEvaluator.Evaluate(GroundTruth(), CocoResults.Parse("[]", "dt.json"), CocoIouType.Bbox);
        CollectionAssert.AreEqual(new double[] { 0, 0, 0, 0, -1, -1, 0, 0, 0, 0, -1, -1 }, result.Stats.ToArray());
    }
}
