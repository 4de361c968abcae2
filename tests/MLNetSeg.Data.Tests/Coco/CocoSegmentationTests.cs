using System.Text.Json;
using MLNetSeg.Data.Coco;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace MLNetSeg.Data.Tests.Coco;

/// <summary>
/// CocoSegmentation.ToRle against pycocotools' COCO.annToRLE (tests/fixtures/coco/ann_to_rle.json,
/// made by tools/fixtures/gen_cocoeval.py): polygons, multi-part polygons reaching outside the image,
/// and uncompressed RLE. Compressed strings, areas and boxes must be identical.
/// </summary>
[TestClass]
public sealed class CocoSegmentationTests
{
    [TestMethod]
    public void ToRle_MatchesPycocotoolsAnnToRle()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "fixtures", "coco", "ann_to_rle.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var ds = CocoDataset.Parse(doc.RootElement.GetProperty("dataset").GetRawText(), "ann_to_rle.json");
        var expected = doc.RootElement.GetProperty("expected").EnumerateArray().ToList();
        Assert.AreEqual(ds.Annotations.Count, expected.Count);

        for (int i = 0; i < expected.Count; i++)
        {
            var ann = ds.Annotations[i];
            var image = ds.GetImage(ann.ImageId);
            var rle = ann.Segmentation!.ToRle(image.Height, image.Width);
            var e = expected[i];
            Assert.AreEqual(e.GetProperty("id").GetInt64(), ann.Id);
            Assert.AreEqual(e.GetProperty("counts").GetString(), rle.ToCompressedString(), $"annotation {ann.Id}");
            Assert.AreEqual(e.GetProperty("area").GetInt64(), rle.Area, $"annotation {ann.Id}");
            CollectionAssert.AreEqual(e.GetProperty("bbox").EnumerateArray().Select(v => v.GetDouble()).ToArray(), rle.ToBbox(), $"annotation {ann.Id}");
        }
    }

    [TestMethod]
    public void EmptyPolygonList_CannotBecomeAMask()
    {
        var e = Assert.ThrowsException<InvalidOperationException>(() => new CocoPolygons([]).ToRle(10, 10));
        StringAssert.Contains(e.Message, "empty");
    }

    [TestMethod]
    public void BoxListWithALaterListNotOfFourNumbers_IsRejectedNotAnIndexError()
    {
        // The first list has 4 numbers, so all are boxes (frPyObjects); [1, 2] used to throw IndexOutOfRangeException.
        var e = Assert.ThrowsException<InvalidOperationException>(() => new CocoPolygons([[1, 2, 3, 4], [1, 2]]).ToRle(10, 10));
        StringAssert.Contains(e.Message, "list 1 has 2");
    }

    [TestMethod]
    public void AnnotationToRle_MatchesToRleAndNamesFileAndAnnotationOnBadPolygons()
    {
        var ds = CocoDataset.Parse("""
            {"images": [{"id": 1, "height": 10, "width": 12}], "categories": [{"id": 1, "name": "x"}], "annotations": [
              {"id": 5, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 8, 1, 4, 7]]},
              {"id": 6, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 2e6, 1, 4, 7]]},
              {"id": 7, "image_id": 1, "category_id": 1}]}
            """, "polys.json");
        Assert.AreEqual(ds.Annotations[0].Segmentation!.ToRle(10, 12), ds.AnnotationToRle(ds.Annotations[0]));
        var bad = Assert.ThrowsException<CocoFormatException>(() => ds.AnnotationToRle(ds.Annotations[1]));
        StringAssert.Contains(bad.Message, "polys.json: annotation 6 (image 1): 'segmentation' cannot be converted to a mask");
        var missing = Assert.ThrowsException<CocoFormatException>(() => ds.AnnotationToRle(ds.Annotations[2]));
        StringAssert.Contains(missing.Message, "polys.json: annotation 7 (image 1): 'segmentation' is missing");
    }
}
