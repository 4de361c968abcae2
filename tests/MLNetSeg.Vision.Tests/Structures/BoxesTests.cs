using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Vision.Tests.Structures;

/// <summary>
/// Boxes against torchvision.ops 0.14 on float32 inputs (fixture boxes_torchvision.json).
/// Tolerance: 1e-6 relative (plus 1e-6 absolute near zero). Both sides do the same float32
/// operations in the same order, so results are normally bit-identical; the tolerance only absorbs
/// a possible fused multiply-add or vectorised reduction on either side.
/// </summary>
[TestClass]
public class BoxesTests
{
    private const float Tolerance = 1e-6f;

    [TestMethod]
    public void IouMatchesTorchvisionBoxIou()
    {
        var cases = RleFixtures.Load("boxes_torchvision.json").GetProperty("iou").EnumerateArray().ToList();
        Assert.AreEqual(4, cases.Count);
        foreach (var c in cases)
        {
            var a = Boxes.FromXyxy(RleFixtures.FlatFloats(c.GetProperty("a_xyxy")));
            var b = Boxes.FromXyxy(RleFixtures.FlatFloats(c.GetProperty("b_xyxy")));
            var expected = c.GetProperty("iou").EnumerateArray().Select(RleFixtures.Floats).ToArray();
            var iou = Boxes.Iou(a, b);
            Assert.AreEqual(a.Count, iou.GetLength(0));
            Assert.AreEqual(b.Count, iou.GetLength(1));
            for (int i = 0; i < a.Count; i++)
                for (int j = 0; j < b.Count; j++)
                    AssertClose(expected[i][j], iou[i, j], $"iou[{i},{j}]");
        }
    }

    [TestMethod]
    public void ConversionsAreaAndClipMatchTorchvision()
    {
        var c = RleFixtures.Load("boxes_torchvision.json").GetProperty("conversions");
        var boxes = Boxes.FromXyxy(RleFixtures.FlatFloats(c.GetProperty("xyxy")));
        AssertAllClose(RleFixtures.FlatFloats(c.GetProperty("xywh")), boxes.ToXywh(), "box_convert xyxy->xywh");
        AssertAllClose(RleFixtures.FlatFloats(c.GetProperty("cxcywh")), boxes.ToCxcywh(), "box_convert xyxy->cxcywh");
        AssertAllClose(RleFixtures.FlatFloats(c.GetProperty("xywh_to_xyxy")),
            Boxes.FromXywh(RleFixtures.FlatFloats(c.GetProperty("xywh"))).ToXyxy(), "box_convert xywh->xyxy");
        AssertAllClose(RleFixtures.FlatFloats(c.GetProperty("cxcywh_to_xyxy")),
            Boxes.FromCxcywh(RleFixtures.FlatFloats(c.GetProperty("cxcywh"))).ToXyxy(), "box_convert cxcywh->xyxy");
        AssertAllClose(RleFixtures.Floats(c.GetProperty("area")), boxes.Area(), "box_area");
        var clipped = Boxes.FromXyxy(RleFixtures.FlatFloats(c.GetProperty("clip_source_xyxy")))
            .Clip(c.GetProperty("clip_height").GetInt32(), c.GetProperty("clip_width").GetInt32());
        AssertAllClose(RleFixtures.FlatFloats(c.GetProperty("clipped")), clipped.ToXyxy(), "clip_boxes_to_image");
    }

    [TestMethod]
    public void SelectByIndicesAndByFlagsKeepsRowsInOrder()
    {
        var boxes = Boxes.FromXyxy(new float[] { 0, 0, 1, 1, 10, 10, 12, 13, 20, 21, 22, 23 });
        CollectionAssert.AreEqual(new float[] { 20, 21, 22, 23, 0, 0, 1, 1, 20, 21, 22, 23 }, boxes.Select(new[] { 2, 0, 2 }).ToXyxy());
        CollectionAssert.AreEqual(new float[] { 10, 10, 12, 13 }, boxes.Select(new[] { false, true, false }).ToXyxy());
        Assert.AreEqual(0, boxes.Select(Array.Empty<int>()).Count);
        Assert.AreEqual(new Box(10, 10, 12, 13), boxes[1]);
        CollectionAssert.AreEqual(new[] { new Box(0, 0, 1, 1), new Box(10, 10, 12, 13), new Box(20, 21, 22, 23) }, boxes.ToArray());
        Assert.AreEqual((2f, 3f, 6f), (boxes[1].Width, boxes[1].Height, boxes[1].Area));
    }

    [TestMethod]
    public void BadShapesAndIndicesAreRejectedWithTheirNumbers()
    {
        var rows = Assert.ThrowsException<ArgumentException>(() => Boxes.FromXyxy(new float[] { 1, 2, 3 }));
        StringAssert.Contains(rows.Message, "got 3 numbers");
        var boxes = Boxes.FromXyxy(new float[] { 0, 0, 1, 1 });
        var index = Assert.ThrowsException<ArgumentOutOfRangeException>(() => boxes.Select(new[] { 0, 1 }));
        StringAssert.Contains(index.Message, "indices[1] = 1");
        var flags = Assert.ThrowsException<ArgumentException>(() => boxes.Select(new[] { true, false }));
        StringAssert.Contains(flags.Message, "keep has 2 flags");
    }

    private static void AssertAllClose(float[] expected, float[] actual, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, what);
        for (int i = 0; i < expected.Length; i++) AssertClose(expected[i], actual[i], $"{what}[{i}]");
    }

    private static void AssertClose(float expected, float actual, string what)
    {
        if (float.IsNaN(expected))
        {
            Assert.IsTrue(float.IsNaN(actual), $"{what}: expected NaN, got {actual}");
            return;
        }
        Assert.AreEqual(expected, actual, Tolerance * Math.Max(1f, Math.Abs(expected)), what);
    }
}
