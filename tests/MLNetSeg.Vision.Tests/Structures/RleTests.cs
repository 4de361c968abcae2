using System.Text.Json;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Vision.Tests.Structures;

/// <summary>
/// Rle against pycocotools (fixtures from tools/fixtures/gen_rle.py). Strings are compared byte for
/// byte; areas, boxes and IoUs exactly: maskApi computes them from the same integer run lengths with
/// the same single IEEE double operations, so any difference would be a porting bug, not rounding.
/// </summary>
[TestClass]
public class RleTests
{
    private static IEnumerable<JsonElement> Masks() => RleFixtures.Load("masks.json").GetProperty("masks").EnumerateArray();

    private static BitMask MaskOf(JsonElement c)
    {
        int h = c.GetProperty("height").GetInt32(), w = c.GetProperty("width").GetInt32();
        return BitMask.FromRowMajor(h, w, RleFixtures.UnpackBits(c.GetProperty("bits").GetString()!, h * w));
    }

    private static Rle RleOf(string counts, JsonElement sized) =>
        Rle.FromCompressedString(counts, sized.GetProperty("height").GetInt32(), sized.GetProperty("width").GetInt32());

    [TestMethod]
    public void TwoEncodingsOfOneMaskAreEqualEvenWithEmptyRunsInside()
    {
        // 2x3 mask, column-major: 3 zeros then 3 ones. [3, 0, 0, 3] and [3, 3, 0] say the same with empty runs.
        var canonical = new Rle(2, 3, new uint[] { 3, 3 });
        foreach (var other in new[] { new Rle(2, 3, new uint[] { 3, 0, 0, 3 }), new Rle(2, 3, new uint[] { 3, 3, 0 }), new Rle(2, 3, new uint[] { 1, 0, 2, 3 }) })
        {
            CollectionAssert.AreEqual(canonical.Decode().Pixels.ToArray(), other.Decode().Pixels.ToArray(), "the same pixels");
            Assert.AreEqual(canonical, other, string.Join(",", other.Counts));
            Assert.AreEqual(canonical.GetHashCode(), other.GetHashCode());
        }
        Assert.AreNotEqual(canonical, new Rle(2, 3, new uint[] { 2, 4 }), "different pixels stay different");
        Assert.AreNotEqual(new Rle(1, 6, new uint[] { 3, 3 }), canonical, "different sizes stay different");
    }

    [TestMethod]
    public void EncodeGivesPycocotoolsCompressedStringByteForByte()
    {
        int n = 0;
        foreach (var c in Masks())
        {
            var name = c.GetProperty("name").GetString();
            var rle = Rle.Encode(MaskOf(c));
            Assert.AreEqual(c.GetProperty("counts").GetString(), rle.ToCompressedString(), name);
            n++;
        }
        Assert.IsTrue(n >= 16, "fixture lost its cases");
    }

    [TestMethod]
    public void FromColumnMajorGivesPycocotoolsCompressedStringByteForByte()
    {
        int n = 0;
        foreach (var c in Masks())
        {
            var name = c.GetProperty("name").GetString();
            int h = c.GetProperty("height").GetInt32(), w = c.GetProperty("width").GetInt32();
            var rowMajor = RleFixtures.UnpackBits(c.GetProperty("bits").GetString()!, h * w);
            var columnMajor = new byte[h * w];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    columnMajor[x * h + y] = rowMajor[y * w + x];
            var rle = Rle.FromColumnMajor(columnMajor, h, w);
            Assert.AreEqual(c.GetProperty("counts").GetString(), rle.ToCompressedString(), name);
            n++;
        }
        Assert.IsTrue(n >= 16, "fixture lost its cases");
    }

    [TestMethod]
    public void FromColumnMajorRejectsBytesOtherThanZeroAndOneAndWrongLengths()
    {
        // A 2 after a run of 0s, and a 2 after a run of 1s: both end a run with something other than the other value.
        var afterZeros = Assert.ThrowsException<ArgumentException>(() => Rle.FromColumnMajor(new byte[] { 0, 0, 2, 1, 0, 0 }, 3, 2));
        StringAssert.Contains(afterZeros.Message, "pixel 2 (column-major) is 2");
        var afterOnes = Assert.ThrowsException<ArgumentException>(() => Rle.FromColumnMajor(new byte[] { 1, 255, 0, 0, 0, 0 }, 3, 2));
        StringAssert.Contains(afterOnes.Message, "pixel 1 (column-major) is 255");
        var length = Assert.ThrowsException<ArgumentException>(() => Rle.FromColumnMajor(new byte[5], 3, 2));
        StringAssert.Contains(length.Message, "5 bytes for a 3x2 mask");
        CollectionAssert.AreEqual(new uint[] { 0 }, Rle.FromColumnMajor(ReadOnlySpan<byte>.Empty, 0, 0).Counts.ToArray(), "an empty mask, as Encode");
    }

    [TestMethod]
    public void DecodeOfPycocotoolsStringGivesTheOriginalMask()
    {
        int n = 0;
        foreach (var c in Masks())
        {
            n++;
            var name = c.GetProperty("name").GetString();
            var mask = MaskOf(c);
            var rle = RleOf(c.GetProperty("counts").GetString()!, c);
            Assert.AreEqual(mask, rle.Decode(), name);
            Assert.AreEqual(rle, Rle.Encode(mask), name);
            Assert.AreEqual(c.GetProperty("counts").GetString(), rle.ToCompressedString(), name);
        }
        Assert.IsTrue(n >= 16, "fixture lost its cases");
    }

    [TestMethod]
    public void AreaAndBboxMatchPycocotools()
    {
        int n = 0;
        foreach (var c in Masks())
        {
            n++;
            var name = c.GetProperty("name").GetString();
            var rle = RleOf(c.GetProperty("counts").GetString()!, c);
            var mask = MaskOf(c);
            long area = c.GetProperty("area").GetInt64();
            var bbox = RleFixtures.Doubles(c.GetProperty("bbox_xywh"));
            Assert.AreEqual(area, rle.Area, name);
            Assert.AreEqual(area, mask.Area, name);
            CollectionAssert.AreEqual(bbox, rle.ToBbox(), name);
            // BitMask.ToBox is the same box as corners.
            var xyxy = new float[] { (float)bbox[0], (float)bbox[1], (float)(bbox[0] + bbox[2]), (float)(bbox[1] + bbox[3]) };
            CollectionAssert.AreEqual(xyxy, mask.ToBox(), name);
        }
        Assert.IsTrue(n >= 16, "fixture lost its cases");
    }

    [TestMethod]
    public void MergeUnionAndIntersectionMatchPycocotools()
    {
        var cases = RleFixtures.Load("merge_iou.json").GetProperty("merge").EnumerateArray().ToList();
        Assert.IsTrue(cases.Count >= 10);
        foreach (var c in cases)
        {
            var inputs = RleFixtures.Strings(c.GetProperty("inputs")).Select(s => RleOf(s, c)).ToList();
            Assert.AreEqual(c.GetProperty("union").GetString(), Rle.Merge(inputs).ToCompressedString());
            Assert.AreEqual(c.GetProperty("intersection").GetString(), Rle.Merge(inputs, intersect: true).ToCompressedString());
        }
    }

    [TestMethod]
    public void MaskIouWithAndWithoutCrowdMatchesPycocotools()
    {
        int n = 0;
        foreach (var c in RleFixtures.Load("merge_iou.json").GetProperty("rle_iou").EnumerateArray())
        {
            n++;
            var dt = RleFixtures.Strings(c.GetProperty("dt")).Select(s => RleOf(s, c)).ToList();
            var gt = RleFixtures.Strings(c.GetProperty("gt")).Select(s => RleOf(s, c)).ToList();
            var crowd = RleFixtures.Crowd(c.GetProperty("iscrowd"));
            AssertMatrix(RleFixtures.DoubleRows(c.GetProperty("iou_no_crowd")), Rle.Iou(dt, gt, new bool[gt.Count]));
            AssertMatrix(RleFixtures.DoubleRows(c.GetProperty("iou")), Rle.Iou(dt, gt, crowd));
        }
        Assert.IsTrue(n > 0, "merge_iou.json: no rle_iou cases");
    }

    [TestMethod]
    public void BoxIouWithCrowdMatchesPycocotoolsBbIou()
    {
        int n = 0;
        foreach (var c in RleFixtures.Load("merge_iou.json").GetProperty("bb_iou").EnumerateArray())
        {
            n++;
            var dt = RleFixtures.DoubleRows(c.GetProperty("dt_xywh"));
            var gt = RleFixtures.DoubleRows(c.GetProperty("gt_xywh"));
            AssertMatrix(RleFixtures.DoubleRows(c.GetProperty("iou")), Rle.BoxIou(dt, gt, RleFixtures.Crowd(c.GetProperty("iscrowd"))));
        }
        Assert.IsTrue(n > 0, "merge_iou.json: no bb_iou cases");
    }

    [TestMethod]
    public void PolygonsRasteriseLikePycocotoolsFrPyObjects()
    {
        var cases = RleFixtures.Load("polygons.json").GetProperty("polygons").EnumerateArray().ToList();
        Assert.IsTrue(cases.Count >= 20);
        foreach (var c in cases)
        {
            var name = c.GetProperty("name").GetString();
            int h = c.GetProperty("height").GetInt32(), w = c.GetProperty("width").GetInt32();
            var polygons = RleFixtures.DoubleRows(c.GetProperty("polygons"));
            var each = RleFixtures.Strings(c.GetProperty("each"));
            for (int i = 0; i < polygons.Length; i++)
                Assert.AreEqual(each[i], Rle.FromPolygons(new[] { polygons[i] }, h, w).ToCompressedString(), $"{name} part {i}");
            var merged = Rle.FromPolygons(polygons, h, w);
            Assert.AreEqual(c.GetProperty("merged").GetString(), merged.ToCompressedString(), name);
            Assert.AreEqual(c.GetProperty("area").GetInt64(), merged.Area, name);
        }
    }

    [TestMethod]
    public void BoxesRasteriseLikePycocotoolsFrBbox()
    {
        int n = 0;
        foreach (var c in RleFixtures.Load("polygons.json").GetProperty("boxes").EnumerateArray())
        {
            n++;
            var box = RleFixtures.Doubles(c.GetProperty("xywh"));
            var rle = Rle.FromBox(box, c.GetProperty("height").GetInt32(), c.GetProperty("width").GetInt32());
            var label = string.Join(",", box);
            Assert.AreEqual(c.GetProperty("counts").GetString(), rle.ToCompressedString(), label);
            Assert.AreEqual(c.GetProperty("area").GetInt64(), rle.Area, label);
        }
        Assert.IsTrue(n > 0, "polygons.json: no box cases");
    }

    [TestMethod]
    public void SingleRunsEncodeAsDocumentedInPycocotoolsMaskPy()
    {
        // mask.py's own examples: M=[0 0 1 1 1 0 1] -> [2 3 1 1]; M=[1 1 1 1 1 1 0] -> [0 6 1].
        var a = Rle.Encode(BitMask.FromRowMajor(7, 1, new byte[] { 0, 0, 1, 1, 1, 0, 1 }));
        CollectionAssert.AreEqual(new uint[] { 2, 3, 1, 1 }, a.Counts.ToArray());
        var b = Rle.Encode(BitMask.FromRowMajor(7, 1, new byte[] { 1, 1, 1, 1, 1, 1, 0 }));
        CollectionAssert.AreEqual(new uint[] { 0, 6, 1 }, b.Counts.ToArray());
    }

    [TestMethod]
    public void CountsThatDoNotCoverTheImageAreRejected()
    {
        var e = Assert.ThrowsException<ArgumentException>(() => new Rle(3, 4, new uint[] { 5, 6 }));
        StringAssert.Contains(e.Message, "11");
        StringAssert.Contains(e.Message, "3x4");
        Assert.ThrowsException<FormatException>(() => Rle.FromCompressedString("52", 4, 5));
    }

    [TestMethod]
    public void MalformedCompressedStringsNameTheProblem()
    {
        var bad = Assert.ThrowsException<FormatException>(() => Rle.FromCompressedString("52~0003", 4, 5));
        StringAssert.Contains(bad.Message, "'~' at character 2");
        var truncated = Assert.ThrowsException<FormatException>(() => Rle.FromCompressedString("5P", 4, 5));
        StringAssert.Contains(truncated.Message, "ends inside a number");
    }

    [TestMethod]
    public void OperationsOnMasksOfDifferentSizesAreRejected()
    {
        var a = Rle.Encode(new BitMask(4, 5));
        var b = Rle.Encode(new BitMask(5, 4));
        var merge = Assert.ThrowsException<ArgumentException>(() => Rle.Merge(new[] { a, b }));
        StringAssert.Contains(merge.Message, "rles[1] is 5x4");
        Assert.ThrowsException<ArgumentException>(() => Rle.Merge(Array.Empty<Rle>()));
        var full = Rle.Encode(BitMask.FromRowMajor(4, 5, Enumerable.Repeat((byte)1, 20).ToArray()));
        var fullOther = Rle.Encode(BitMask.FromRowMajor(5, 4, Enumerable.Repeat((byte)1, 20).ToArray()));
        var iou = Assert.ThrowsException<ArgumentException>(() => Rle.Iou(new[] { full }, new[] { fullOther }, new[] { false }));
        StringAssert.Contains(iou.Message, "gt[0] is 5x4");
        var crowd = Assert.ThrowsException<ArgumentException>(() => Rle.Iou(new[] { full }, new[] { full }, new[] { false, true }));
        StringAssert.Contains(crowd.Message, "isCrowd has 2 entries");
    }

    [TestMethod]
    public void PolygonsWithTooFewOrOddCoordinatesAreRejected()
    {
        // Two-point (and one-point) parts are legal and rasterised like rleFrPoly (polygons.json);
        // an empty list of coordinates is not.
        var few = Assert.ThrowsException<ArgumentException>(() => Rle.FromPolygons(new[] { new double[] { 1, 1, 5, 5, 3, 9 }, new double[0] }, 10, 10));
        StringAssert.Contains(few.Message, "polygons[1] has 0 coordinates");
        var odd = Assert.ThrowsException<ArgumentException>(() =>
            Rle.FromPolygons(new[] { new double[] { 1, 1, 5, 5, 3, 9 }, new double[] { 1, 1, 5, 5, 3, 9, 4 } }, 10, 10));
        StringAssert.Contains(odd.Message, "polygons[1] has 7 coordinates");
        var nan = Assert.ThrowsException<ArgumentException>(() => Rle.FromPolygons(new[] { new double[] { 1, 1, double.NaN, 5, 3, 9 } }, 10, 10));
        StringAssert.Contains(nan.Message, "coordinate 2");
    }

    [TestMethod]
    public void PolygonsFarOutsideTheImageRasteriseLikeTheFullWalkWithoutWalkingIt()
    {
        // Edges of 10 million upsampled steps: maskApi walks and stores every point (pycocotools' port
        // allocated 300 MiB and took a second for this one polygon; fuzzing found 900 MiB for a 250-byte
        // file). Only the columns inside the image are visited now; the counts are the full walk's.
        long before = GC.GetAllocatedBytesForCurrentThread();
        var rle = Rle.FromPolygons(new[] { new[] { -1e6, 2, 1e6, 3, 20, 25 } }, 30, 40);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var expected = new List<uint> { 3 };
        for (int column = 0; column < 39; column++) expected.AddRange(new uint[] { 22, 8 });
        expected.AddRange(new uint[] { 22, 5 });
        CollectionAssert.AreEqual(expected, rle.Counts.ToList());
        Assert.IsTrue(allocated < 1 << 20, $"allocated {allocated} bytes");
    }

    [TestMethod]
    public void PolygonsIntoAMaskOfMoreThanIntMaxValuePixelsAreRejected()
    {
        var huge = Assert.ThrowsException<ArgumentOutOfRangeException>(() => Rle.FromPolygons(new[] { new double[] { 1, 1, 5, 5, 3, 9 } }, 50000, 50000));
        StringAssert.Contains(huge.Message, "50000x50000");
        Assert.ThrowsException<ArgumentOutOfRangeException>(() => Rle.FromPolygons(new[] { new double[] { 1, 1, 5, 5, 3, 9 } }, -3, 10));
    }

    private static void AssertMatrix(double[][] expected, double[,] actual)
    {
        Assert.AreEqual(expected.Length, actual.GetLength(0), "detections");
        for (int d = 0; d < expected.Length; d++)
        {
            Assert.AreEqual(expected[d].Length, actual.GetLength(1), "ground truths");
            for (int g = 0; g < expected[d].Length; g++)
                Assert.AreEqual(expected[d][g], actual[d, g], $"[dt {d}, gt {g}]");
        }
    }
}
