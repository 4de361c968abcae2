using MLNetSeg.Data.Coco;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace MLNetSeg.Data.Tests.Coco;

/// <summary>
/// Reading and writing COCO dataset json. Expected values are the literal contents of the
/// hand-written tests/fixtures/coco/sample.json.
/// </summary>
[TestClass]
public sealed class CocoDatasetTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "coco", name);

    [TestMethod]
    public void Load_ReadsImagesCategoriesAnnotationsAndEverySegmentationKind()
    {
        var ds = CocoDataset.Load(Fixture("sample.json"));

        Assert.AreEqual(2, ds.Images.Count);
        Assert.AreEqual(53, ds.GetImage(3).Width);
        Assert.AreEqual(37, ds.GetImage(3).Height);
        Assert.AreEqual("000008.jpg", ds.GetImage(8).FileName);

        var person = ds.GetCategory(1);
        CollectionAssert.AreEqual(new[] { "nose", "left_eye", "right_eye" }, person.Keypoints!.ToArray());
        CollectionAssert.AreEqual(new[] { 1, 3 }, person.Skeleton![1]);
        Assert.AreEqual("vehicle", ds.GetCategory(5).Supercategory);
        Assert.IsNull(ds.GetCategory(5).Keypoints);

        var a = ds.Annotations[0];
        Assert.AreEqual(17, a.Id);
        Assert.AreEqual(3, a.ImageId);
        CollectionAssert.AreEqual(new[] { 10.5, 4, 20, 30.25 }, a.Bbox);
        Assert.AreEqual(412.5, a.Area);
        Assert.IsFalse(a.IsCrowd);
        var polygons = (CocoPolygons)a.Segmentation!;
        Assert.AreEqual(2, polygons.Polygons.Count);
        CollectionAssert.AreEqual(new[] { 1.0, 1, 2, 1, 2, 2 }, polygons.Polygons[1]);
        CollectionAssert.AreEqual(new[] { 12, 5, 2, 14.5, 6, 1, 0, 0, 0 }, a.Keypoints);
        Assert.AreEqual(2, a.NumKeypoints);

        var crowd = ds.Annotations[1];
        Assert.IsTrue(crowd.IsCrowd);
        var uncompressed = (CocoUncompressedRle)crowd.Segmentation!;
        Assert.AreEqual((3, 4), (uncompressed.Height, uncompressed.Width));
        CollectionAssert.AreEqual(new uint[] { 2, 3, 4, 2, 1 }, uncompressed.Counts);

        var compressed = (CocoCompressedRle)ds.Annotations[2].Segmentation!;
        Assert.AreEqual("0Ym1", compressed.Counts);
        Assert.AreEqual((37, 53), (compressed.Height, compressed.Width));
        Assert.AreEqual("CC-BY", ds.Licenses!.Value[0].GetProperty("name").GetString());
    }

    [TestMethod]
    public void SaveThenLoad_RoundTripsEveryField()
    {
        var original = CocoDataset.Load(Fixture("sample.json"));
        string path = Path.Combine(Path.GetTempPath(), $"mlnetseg-coco-{Guid.NewGuid():N}.json");
        try
        {
            original.Save(path);
            var reloaded = CocoDataset.Load(path);
            Assert.AreEqual(original.ToJson(), reloaded.ToJson());
            CollectionAssert.AreEqual(original.Annotations[0].Keypoints, reloaded.Annotations[0].Keypoints);
            Assert.AreEqual("0Ym1", ((CocoCompressedRle)reloaded.Annotations[2].Segmentation!).Counts);
            Assert.AreEqual(2024, reloaded.Info!.Value.GetProperty("year").GetInt32());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void MissingFile_RaisesFileNotFoundNamingThePath()
    {
        var e = Assert.ThrowsException<FileNotFoundException>(() => CocoDataset.Load("/no/such/train.json"));
        StringAssert.Contains(e.Message, "/no/such/train.json");
    }

    private const string Images = """
        "images": [{"id": 3, "width": 40, "height": 30}, {"id": 4, "width": 40, "height": 30}],
        "categories": [{"id": 1, "name": "a", "keypoints": ["p", "q"]}, {"id": 2, "name": "b"}]
        """;

    private static string Fails(string json) =>
        Assert.ThrowsException<CocoFormatException>(() => CocoDataset.Parse(json, "train.json")).Message;

    private static string FailsWithAnnotation(string annotationFields) =>
        Fails("{" + Images + ", \"annotations\": [{\"id\": 17, \"image_id\": 3, \"category_id\": 2, " + annotationFields + "}]}");

    [TestMethod]
    public void BoxWithThreeNumbers() => Assert.AreEqual(
        "train.json: annotation 17 (image 3): 'bbox' must have 4 numbers [x, y, width, height], got 3",
        FailsWithAnnotation("\"bbox\": [1, 2, 3]"));

    [TestMethod]
    public void BoxOfWrongType() => Assert.AreEqual(
        "train.json: annotation 17 (image 3): 'bbox' must be a list of numbers, got \"1,2,3,4\"",
        FailsWithAnnotation("\"bbox\": \"1,2,3,4\""));

    [TestMethod]
    public void NegativeBoxSize() => Assert.AreEqual(
        "train.json: annotation 17 (image 3): 'bbox' width and height must be non-negative, got width -2, height 4",
        FailsWithAnnotation("\"bbox\": [1, 2, -2, 4]"));

    [TestMethod]
    public void NegativeArea() => Assert.AreEqual(
        "train.json: annotation 17 (image 3): 'area' must be a non-negative number, got -1",
        FailsWithAnnotation("\"area\": -1"));

    [TestMethod]
    public void UnknownImage() => Assert.AreEqual(
        "train.json: annotation 17 (image 99): 'image_id' 99 does not match any image",
        Fails("{" + Images + ", \"annotations\": [{\"id\": 17, \"image_id\": 99, \"category_id\": 2}]}"));

    [TestMethod]
    public void UnknownCategory() => Assert.AreEqual(
        "train.json: annotation 17 (image 3): 'category_id' 7 does not match any category",
        Fails("{" + Images + ", \"annotations\": [{\"id\": 17, \"image_id\": 3, \"category_id\": 7}]}"));

    [TestMethod]
    public void DuplicateAnnotationId() => Assert.AreEqual(
        "train.json: duplicate annotation id 17",
        Fails("{" + Images + ", \"annotations\": [{\"id\": 17, \"image_id\": 3, \"category_id\": 2}, {\"id\": 17, \"image_id\": 4, \"category_id\": 2}]}"));

    [TestMethod]
    public void DuplicateImageId() => Assert.AreEqual(
        "train.json: duplicate image id 3",
        Fails("""{"images": [{"id": 3, "width": 4, "height": 3}, {"id": 3, "width": 5, "height": 3}]}"""));

    [TestMethod]
    public void DuplicateCategoryId() => Assert.AreEqual(
        "train.json: duplicate category id 1",
        Fails("""{"images": [], "categories": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]}"""));

    [TestMethod]
    public void NegativeImageWidth() => Assert.AreEqual(
        "train.json: image 3: 'width' must be a positive integer, got -5",
        Fails("""{"images": [{"id": 3, "width": -5, "height": 3}]}"""));

    [TestMethod]
    public void MissingId() => Assert.AreEqual(
        "train.json: annotations[0]: 'id' is missing",
        Fails("{" + Images + ", \"annotations\": [{\"image_id\": 3, \"category_id\": 2}]}"));

    [TestMethod]
    public void RleSizeDifferentFromImage() => Assert.AreEqual(
        "train.json: annotation 17 (image 3): 'segmentation' RLE size [30, 41] does not match the image size [30, 40] (height, width)",
        FailsWithAnnotation("\"segmentation\": {\"size\": [30, 41], \"counts\": \"0f9\"}"));

    [TestMethod]
    public void UncompressedRleCountsNotCoveringTheMask() => Assert.AreEqual(
        "train.json: annotation 17 (image 3): 'segmentation' RLE 'counts' add up to 1199 pixels, but 'size' [30, 40] has 1200",
        FailsWithAnnotation("\"segmentation\": {\"size\": [30, 40], \"counts\": [1000, 199]}"));

    [TestMethod]
    public void PolygonWithOddCoordinateCount() => Assert.AreEqual(
        "train.json: annotation 17 (image 3): 'segmentation' polygon 1 must have an even number of coordinates (x, y pairs), got 7",
        FailsWithAnnotation("\"segmentation\": [[1, 1, 5, 1, 5, 5], [1, 1, 5, 1, 5, 5, 9]]"));

    [TestMethod]
    public void KeypointCountDifferentFromCategory() => Assert.AreEqual(
        "train.json: annotation 5 (image 3): 'keypoints' must have 6 numbers (2 keypoints of category 1 × (x, y, v)), got 9",
        Fails("{" + Images + ", \"annotations\": [{\"id\": 5, \"image_id\": 3, \"category_id\": 1, \"keypoints\": [1, 1, 2, 2, 2, 2, 3, 3, 2]}]}"));

    [TestMethod]
    public void KeypointVisibilityOutOfRange() => Assert.AreEqual(
        "train.json: annotation 5 (image 3): 'keypoints' visibility of keypoint 1 must be 0, 1 or 2, got 3",
        Fails("{" + Images + ", \"annotations\": [{\"id\": 5, \"image_id\": 3, \"category_id\": 1, \"keypoints\": [1, 1, 2, 2, 2, 3]}]}"));

    [TestMethod]
    public void MalformedJson_ReportsLineAndByte()
    {
        string message = Fails("{\n  \"images\": [\n    {\"id\": 3, \"width\": 4 \"height\": 3}\n  ]\n}");
        StringAssert.StartsWith(message, "train.json: malformed JSON at line 3, byte 26: ");
    }

    [TestMethod]
    public void ResultsFileGivenAsDataset() => Assert.AreEqual(
        "train.json: expected a COCO dataset object with 'images', got a list (is this a results file?)",
        Fails("""[{"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.5}]"""));

    [TestMethod]
    public void MissingImagesList() => Assert.AreEqual(
        "train.json: missing 'images' list",
        Fails("""{"annotations": []}"""));
}
