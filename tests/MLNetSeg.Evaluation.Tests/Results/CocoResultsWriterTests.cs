using System.Text.Json;
using MLNetSeg.Data.Coco;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Evaluation.Tests.Results;

/// <summary>
/// Instances → COCO results: field by field against hand-computed values (box corners to
/// [x, y, w, h], labels to category ids, keypoints with v = 1 as torchvision writes them), the mask
/// as the compressed RLE string of the same mask (Rle.ToCompressedString, itself checked against
/// pycocotools in the Vision tests), and the written json readable by CocoResults.
/// </summary>
[TestClass]
public sealed class DetectionResultsTests
{
    private static readonly int[] LabelToCategoryId = { 0, 7, 3 };

    private static Instances TwoInstances()
    {
        var first = new BitMask(6, 8);
        first[1, 2] = first[2, 2] = first[2, 3] = true;
        var second = new BitMask(6, 8);
        second[5, 7] = true;
        return new Instances(6, 8,
            Boxes.FromXyxy(new[] { 1.5f, 0.25f, 4.75f, 3.5f, 0f, 2f, 8f, 6f }),
            new[] { 2, 1 },
            new[] { 0.875f, 0.3f },
            new[] { Rle.Encode(first), Rle.Encode(second) },
            new Keypoints(2, 2, new[] { 2.5f, 1.5f, 1f, 3.25f, 2f, 1f, 7f, 5f, 1f, 0.5f, 4f, 1f }),
            new[] { 3.1f, 2.0f, 0.5f, 1.5f });
    }

    [TestMethod]
    public void EveryInstanceBecomesOneResultWithEachField()
    {
        var instances = TwoInstances();
        var results = CocoResultsWriter.ToCocoResults(new[] { Instances.Empty(6, 8), instances }, new long[] { 5, 42 }, LabelToCategoryId);

        Assert.AreEqual(2, results.Items.Count, "the empty image adds nothing");
        var r = results.Items[0];
        Assert.AreEqual(42L, r.ImageId);
        Assert.AreEqual(3L, r.CategoryId, "label 2 → category 3");
        Assert.AreEqual(0.875, r.Score);
        CollectionAssert.AreEqual(new[] { 1.5, 0.25, 3.25, 3.25 }, r.Bbox, "xyxy (1.5, 0.25, 4.75, 3.5) → xywh");
        var rle = (CocoCompressedRle)r.Segmentation!;
        Assert.AreEqual((6, 8), (rle.Height, rle.Width));
        Assert.AreEqual(instances.Masks![0].ToCompressedString(), rle.Counts);
        CollectionAssert.AreEqual(new[] { 2.5, 1.5, 1, 3.25, 2, 1 }, r.Keypoints);

        var s = results.Items[1];
        Assert.AreEqual(7L, s.CategoryId, "label 1 → category 7");
        Assert.AreEqual((double)0.3f, s.Score, "the float32 score widened exactly");
        CollectionAssert.AreEqual(new[] { 0.0, 2, 8, 4 }, s.Bbox);
        CollectionAssert.AreEqual(new[] { 7, 5, 1, 0.5, 4, 1 }, s.Keypoints, "v = 1 whatever the instance says");
    }

    [TestMethod]
    public void TheJsonHasCocoFieldsAndLoadsBack()
    {
        var results = CocoResultsWriter.ToCocoResults(new[] { TwoInstances() }, new long[] { 42 }, LabelToCategoryId);
        string path = Path.Combine(Path.GetTempPath(), $"mlnetseg-results-{Guid.NewGuid():N}.json");
        try
        {
            results.Save(path);
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var first = doc.RootElement[0];
            Assert.AreEqual(42, first.GetProperty("image_id").GetInt64());
            Assert.AreEqual(3, first.GetProperty("category_id").GetInt64());
            CollectionAssert.AreEqual(new[] { 6, 8 }, first.GetProperty("segmentation").GetProperty("size").EnumerateArray().Select(e => e.GetInt32()).ToArray());
            Assert.AreEqual(JsonValueKind.String, first.GetProperty("segmentation").GetProperty("counts").ValueKind, "compressed RLE");
            Assert.AreEqual(6, first.GetProperty("keypoints").GetArrayLength());

            var loaded = CocoResults.Load(path);
            Assert.AreEqual(2, loaded.Items.Count);
            Assert.AreEqual(TwoInstances().Masks![1], loaded.Items[1].Segmentation!.ToRle(6, 8));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void BadInputIsNamed()
    {
        var instances = TwoInstances();
        var e = Assert.ThrowsException<ArgumentException>(() => CocoResultsWriter.ToCocoResults(new[] { instances }, new long[] { 9 }, new[] { 0, 7 }));
        StringAssert.Contains(e.Message, "prediction 0 (image 9): instance 0 has label 2, outside the 2 labels");

        e = Assert.ThrowsException<ArgumentException>(() => CocoResultsWriter.ToCocoResults(new[] { instances }, new long[] { 1, 2 }, LabelToCategoryId));
        StringAssert.Contains(e.Message, "1 predictions but 2 image ids");

        var unscored = new Instances(6, 8, instances.Boxes, instances.Labels.ToArray());
        e = Assert.ThrowsException<ArgumentException>(() => CocoResultsWriter.ToCocoResults(new[] { unscored }, new long[] { 3 }, LabelToCategoryId));
        StringAssert.Contains(e.Message, "prediction 0 (image 3) has no scores");
    }
}
