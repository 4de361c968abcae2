using MLNetSeg.Data.Coco;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace MLNetSeg.Data.Tests.Coco;

/// <summary>Reading and writing COCO results lists; expected values are the literal json given.</summary>
[TestClass]
public sealed class CocoResultsTests
{
    private const string Results = """
        [{"image_id": 3, "category_id": 1, "bbox": [1.5, 2, 10, 20.25], "score": 0.9},
         {"image_id": 3, "category_id": 2, "segmentation": {"size": [37, 53], "counts": "0Ym1"}, "score": 0.25},
         {"image_id": 4, "category_id": 1, "keypoints": [1, 2, 1, 3, 4, 2], "score": 0.125}]
        """;

    [TestMethod]
    public void Parse_KeepsFileOrderAndEveryGeometry()
    {
        var results = CocoResults.Parse(Results, "dt.json");

        Assert.AreEqual(3, results.Items.Count);
        CollectionAssert.AreEqual(new[] { 1.5, 2, 10, 20.25 }, results.Items[0].Bbox);
        Assert.AreEqual(0.9, results.Items[0].Score);
        Assert.AreEqual("0Ym1", ((CocoCompressedRle)results.Items[1].Segmentation!).Counts);
        Assert.IsNull(results.Items[1].Bbox);
        CollectionAssert.AreEqual(new[] { 1.0, 2, 1, 3, 4, 2 }, results.Items[2].Keypoints);
        Assert.AreEqual(4, results.Items[2].ImageId);
    }

    [TestMethod]
    public void ToJson_WritesRleCharactersPlainlyLikePycocotools()
    {
        // '<', '>' and the backslash are legal RLE characters; they must not come out as \u003C-style escapes.
        // (The string decodes to runs 12, 14, 12: 38 pixels, a 2 x 19 mask; Parse decodes RLEs.)
        var results = CocoResults.Parse("""[{"image_id": 1, "category_id": 1, "segmentation": {"size": [2, 19], "counts": "<>\\0"}, "score": 1}]""", "dt.json");
        string json = results.ToJson();
        StringAssert.Contains(json, "\"counts\":\"<>\\\\0\"");
        Assert.IsFalse(json.Contains("\\u003", StringComparison.Ordinal), json);
    }

    [TestMethod]
    public void SaveThenLoad_RoundTrips()
    {
        var original = CocoResults.Parse(Results, "dt.json");
        string path = Path.Combine(Path.GetTempPath(), $"mlnetseg-results-{Guid.NewGuid():N}.json");
        try
        {
            original.Save(path);
            var reloaded = CocoResults.Load(path);
            Assert.AreEqual(original.ToJson(), reloaded.ToJson());
            Assert.AreEqual(0.125, reloaded.Items[2].Score);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string Fails(string json) =>
        Assert.ThrowsException<CocoFormatException>(() => CocoResults.Parse(json, "dt.json")).Message;

    [TestMethod]
    public void MissingScore() => Assert.AreEqual(
        "dt.json: result 1 (image 3): 'score' is missing",
        Fails("""
            [{"image_id": 3, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.9},
             {"image_id": 3, "category_id": 1, "bbox": [1, 2, 3, 4]}]
            """));

    [TestMethod]
    public void NoGeometry() => Assert.AreEqual(
        "dt.json: result 0 (image 3): needs one of 'bbox', 'segmentation' or 'keypoints'",
        Fails("""[{"image_id": 3, "category_id": 1, "score": 0.9}]"""));

    [TestMethod]
    public void BoxWithFiveNumbers() => Assert.AreEqual(
        "dt.json: result 0 (image 3): 'bbox' must have 4 numbers [x, y, width, height], got 5",
        Fails("""[{"image_id": 3, "category_id": 1, "bbox": [1, 2, 3, 4, 5], "score": 0.9}]"""));

    [TestMethod]
    public void KeypointsNotInTriplets() => Assert.AreEqual(
        "dt.json: result 0 (image 3): 'keypoints' must be (x, y, v) triplets, got 4 numbers",
        Fails("""[{"image_id": 3, "category_id": 1, "keypoints": [1, 2, 3, 4], "score": 0.9}]"""));

    [TestMethod]
    public void DatasetGivenAsResults() => Assert.AreEqual(
        "dt.json: expected a list of results, got a dataset object with 'annotations' (is this a ground-truth file?)",
        Fails("""{"images": [], "annotations": []}"""));

    [TestMethod]
    public void Parse_RejectsAnRleStringThatDoesNotDecode_NamingTheResult()
    {
        // pycocotools' loadRes decodes RLEs on load (for their area); so does Parse now, instead of a
        // FormatException surfacing later from evaluation.
        var e = Assert.ThrowsException<CocoFormatException>(() => CocoResults.Parse(
            """[{"image_id": 3, "category_id": 1, "score": 0.5, "segmentation": {"size": [4, 5], "counts": "1203:0"}}]""", "res.json"));
        StringAssert.Contains(e.Message, "res.json: result 0 (image 3): 'segmentation' cannot be converted to a mask");
    }
}
