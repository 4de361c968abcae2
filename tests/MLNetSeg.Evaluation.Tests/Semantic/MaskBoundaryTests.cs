using MLNetSeg.Evaluation.Semantic;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Evaluation.Tests.Semantic;

/// <summary>MaskBoundary against boundary-iou-api's mask_to_boundary (cv2 erosion), pixel for pixel
/// (tests/fixtures/semseg/boundary.json).</summary>
[TestClass]
public class MaskBoundaryTests
{
    [TestMethod]
    public void BinaryMaskBoundaryEqualsMaskToBoundary()
    {
        int cases = 0;
        foreach (var c in SemanticFixtures.Load("semseg", "boundary.json").GetProperty("masks").EnumerateArray())
        {
            int h = c.GetProperty("height").GetInt32(), w = c.GetProperty("width").GetInt32();
            var mask = BitMask.FromRowMajor(h, w, SemanticFixtures.Bytes(c.GetProperty("mask")).Select(v => (byte)v).ToArray());
            var expected = SemanticFixtures.Bytes(c.GetProperty("boundary"));
            var actual = MaskBoundary.Of(mask).Pixels;
            Assert.AreEqual(h * w, expected.Length, $"{h}x{w} mask: fixture boundary size");
            Assert.AreEqual(expected.Length, actual.Length, $"{h}x{w} mask: boundary size");
            for (int i = 0; i < expected.Length; i++)
                Assert.AreEqual(expected[i], actual[i], $"{h}x{w} mask, pixel (y={i / w}, x={i % w})");
            cases++;
        }
        Assert.AreEqual(6, cases);
    }

    [TestMethod]
    public void LabelMapBoundaryIsTheUnionOfPerClassBoundaries()
    {
        int cases = 0;
        foreach (var c in SemanticFixtures.Load("semseg", "boundary.json").GetProperty("label_maps").EnumerateArray())
        {
            int h = c.GetProperty("height").GetInt32(), w = c.GetProperty("width").GetInt32();
            var expected = SemanticFixtures.Bytes(c.GetProperty("boundary"));
            var actual = MaskBoundary.OfLabelMap(SemanticFixtures.Bytes(c.GetProperty("labels")), h, w, MaskBoundary.Dilation(h, w));
            Assert.AreEqual(h * w, expected.Length, $"{h}x{w} label map: fixture boundary size");
            Assert.AreEqual(expected.Length, actual.Length, $"{h}x{w} label map: boundary size");
            for (int i = 0; i < expected.Length; i++)
                Assert.AreEqual(expected[i], (int)actual[i], $"{h}x{w} label map, pixel (y={i / w}, x={i % w})");
            cases++;
        }
        Assert.IsTrue(cases > 0, "boundary.json: no label maps");
    }

    [DataTestMethod]
    [DataRow(10, 12, 1)]   // 0.02·15.6 = 0.31 → 0 → at least 1
    [DataRow(150, 200, 5)] // 0.02·250 = 5
    [DataRow(300, 400, 10)]
    [DataRow(200, 240, 6)] // 0.02·312.4 = 6.25
    public void DilationIsTwoPercentOfTheDiagonal(int h, int w, int expected) =>
        Assert.AreEqual(expected, MaskBoundary.Dilation(h, w));
}
