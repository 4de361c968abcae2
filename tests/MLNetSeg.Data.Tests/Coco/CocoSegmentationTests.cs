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
}
