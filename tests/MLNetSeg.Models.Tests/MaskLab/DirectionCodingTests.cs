using MLNetSeg.Models.MaskLab;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.Tests.MaskLab;

/// <summary>
/// MaskLab's direction targets and direction pooling against small cases computed by hand (the maps in
/// the comments were worked out on paper from <see cref="DirectionCoding"/>'s definitions: vector from a
/// point to its box centre in the box's normalised frame, angle clockwise from +x in image axes, L∞ rings).
/// </summary>
[TestClass]
public class DirectionCodingTests
{
    private static long[,] AsGrid(long[] values, int height, int width)
    {
        var grid = new long[height, width];
        for (int i = 0; i < height; i++)
            for (int j = 0; j < width; j++)
                grid[i, j] = values[i * width + j];
        return grid;
    }

    private static void AssertGrid(long[,] expected, long[] actual, string what)
    {
        int height = expected.GetLength(0), width = expected.GetLength(1);
        Assert.AreEqual(height * width, actual.Length, what);
        for (int i = 0; i < height; i++)
            for (int j = 0; j < width; j++)
                Assert.AreEqual(expected[i, j], actual[i * width + j], $"{what}: row {i}, column {j}");
    }

    [TestMethod]
    public void FourDirectionsOneRingGiveTheQuadrants()
    {
        // 4×4 crop: the centre is below-right of the top-left quadrant (angle 45°, bin 0), below-left of the
        // top-right one (135°, bin 1), above-left of the bottom-right (225°, bin 2), above-right of the bottom-left (315°, bin 3).
        var coding = new DirectionCoding(directions: 4, distanceBins: 1);
        AssertGrid(new long[,] { { 0, 0, 1, 1 }, { 0, 0, 1, 1 }, { 3, 3, 2, 2 }, { 3, 3, 2, 2 } }, coding.PoolingChannels(4, 4), "pooling");
    }

    [TestMethod]
    public void DistanceBinsSplitEachDirectionIntoRings()
    {
        // Two rings on a 4×4 crop: the inner 2×2 cells are at L∞ distance 0.25 (ring 0), the outer ones at 0.75 (ring 1);
        // channel = direction × 2 + ring.
        var coding = new DirectionCoding(directions: 4, distanceBins: 2);
        AssertGrid(new long[,] { { 1, 1, 3, 3 }, { 1, 0, 2, 3 }, { 7, 6, 4, 5 }, { 7, 7, 5, 5 } }, coding.PoolingChannels(4, 4), "pooling");
        // The paper's 8 × 4 on a 5×5 crop: the centre cell (vector 0) is channel 0; the cell right of it points
        // left (180°, direction 4) from ring 1 (distance 0.4); the top-left corner points down-right on the
        // diagonal (45°, on the boundary: direction 1) from the outer ring (0.8 → ring 3).
        var paper = new DirectionCoding();
        var channels = paper.PoolingChannels(5, 5);
        Assert.AreEqual(32, paper.Channels);
        Assert.AreEqual(0, channels[2 * 5 + 2]);
        Assert.AreEqual(4 * 4 + 1, channels[2 * 5 + 3]);
        Assert.AreEqual(1 * 4 + 3, channels[0]);
    }

    [TestMethod]
    public void TargetsLabelEveryInstancePixelAndIgnoreTheRest()
    {
        // One 4×4 instance at columns 1..4 of a 5×6 image, rows 0..3; the rest is background (-1).
        var coding = new DirectionCoding(directions: 4, distanceBins: 1);
        var mask = new byte[5 * 6];
        for (int i = 0; i < 4; i++)
            for (int j = 1; j < 5; j++)
                mask[i * 6 + j] = 1;
        using var masks = Tensor.FromArray(mask, 1, 5, 6);
        using var targets = coding.Targets(masks);
        AssertGrid(new long[,]
        {
            { -1, 0, 0, 1, 1, -1 },
            { -1, 0, 0, 1, 1, -1 },
            { -1, 3, 3, 2, 2, -1 },
            { -1, 3, 3, 2, 2, -1 },
            { -1, -1, -1, -1, -1, -1 },
        }, targets.ToArray<long>(), "targets");
    }

    /// <summary>
    /// The paper's point: two overlapping instances of one class. A = columns 0–3, B = columns 2–5 of a 4×6
    /// image (equal areas, so the overlap belongs to B, the later one). With direction logits that predict the
    /// targets exactly (one-hot), pooling with A's box keeps A's visible pixels and rejects B's, and pooling with
    /// B's box keeps all of B — where the semantic channel alone (1 on both) could not tell them apart.
    /// </summary>
    [TestMethod]
    public void DirectionPoolingSeparatesOverlappingInstancesOfOneClass()
    {
        var coding = new DirectionCoding(directions: 4, distanceBins: 1);
        var mask = new byte[2 * 4 * 6];
        for (int i = 0; i < 4; i++)
        {
            for (int j = 0; j < 4; j++) mask[i * 6 + j] = 1;            // A
            for (int j = 2; j < 6; j++) mask[24 + i * 6 + j] = 1;       // B
        }
        using var scope = DisposeScope.Enter();
        var masks = Tensor.FromArray(mask, 2, 4, 6);
        var boxes = Tensor.FromArray(new double[] { 0, 0, 4, 4, 2, 0, 6, 4 }, 2, 4);
        var targets = coding.Targets(masks, boxes);
        // A's pixels (columns 0-1) measured from A's centre; B's (columns 2-5) from B's.
        AssertGrid(new long[,] { { 0, 0, 0, 0, 1, 1 }, { 0, 0, 0, 0, 1, 1 }, { 3, 3, 3, 3, 2, 2 }, { 3, 3, 3, 3, 2, 2 } }, targets.ToArray<long>(), "targets");

        // Perfect direction logits: channel c is 1 where the target is c.
        var oneHot = new float[4 * 4 * 6];
        var t = targets.ToArray<long>();
        for (int p = 0; p < t.Length; p++) oneHot[t[p] * 24 + p] = 1;
        var logits = Tensor.FromArray(oneHot, 1, 4, 4, 6);
        var rois = Tensor.FromArray(new float[] { 0, 0, 0, 4, 4, 0, 2, 0, 6, 4 }, 2, 5);
        var crops = VisionOps.CropAndResize(logits, rois, (4, 4));
        var pooled = coding.Pool(crops);
        CollectionAssert.AreEqual(new long[] { 2, 1, 4, 4 }, pooled.Shape);
        var values = pooled.ToArray<float>();
        float[] boxA = values[..16], boxB = values[16..];
        CollectionAssert.AreEqual(new float[] { 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0 }, boxA, "A's box keeps A's pixels only");
        CollectionAssert.AreEqual(Enumerable.Repeat(1f, 16).ToArray(), boxB, "B's box keeps all of B");
    }

    [TestMethod]
    public void OverlapsGoToTheSmallerInstance()
    {
        var coding = new DirectionCoding(directions: 4, distanceBins: 1);
        var mask = new byte[2 * 4 * 4];
        for (int p = 0; p < 16; p++) mask[p] = 1;                       // big: the whole 4×4
        mask[16 + 0] = mask[16 + 1] = mask[16 + 4] = mask[16 + 5] = 1;  // small: the top-left 2×2
        using var masks = Tensor.FromArray(mask, 2, 4, 4);
        using var targets = coding.Targets(masks);
        // The small instance's 2×2 quadrants around its own centre (1, 1); the big one's elsewhere.
        AssertGrid(new long[,] { { 0, 1, 1, 1 }, { 3, 2, 1, 1 }, { 3, 3, 2, 2 }, { 3, 3, 2, 2 } }, targets.ToArray<long>(), "targets");
    }

    [TestMethod]
    public void PoolingIsAGatherWithGradientsToTheChosenChannelsOnly()
    {
        var coding = new DirectionCoding(directions: 4, distanceBins: 1);
        using var scope = DisposeScope.Enter();
        var crops = Tensor.Randn(new long[] { 3, 4, 4, 4 }, DType.Float64).RequiresGrad_();
        var pooled = coding.Pool(crops);
        pooled.Sum().Backward();
        var grad = crops.Grad!.ToArray<double>();
        var channels = coding.PoolingChannels(4, 4);
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++)
                for (int p = 0; p < 16; p++)
                    Assert.AreEqual(channels[p] == c ? 1.0 : 0.0, grad[((r * 4) + c) * 16 + p], $"roi {r}, channel {c}, cell {p}");
        Assert.ThrowsException<ArgumentException>(() => coding.Pool(Tensor.Zeros(new long[] { 1, 5, 4, 4 })));
    }
}
