using MLNetSeg.Onnx.PostProcessing;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Onnx.Tests.PostProcessing;

/// <summary>
/// <see cref="MaskPasting.PasteDetectron2ToRle"/> (the C# paste of TensorMask's window masks) against libtorch's
/// <see cref="VisionOps.PasteMasksInImage"/> in detectron2 mode (grid_sample): masks of several sides inside one padded
/// stride, boxes inside, across and outside the image, fractional and degenerate.
/// </summary>
[TestClass]
public sealed class Detectron2PasteTests
{
    [TestMethod]
    public void WindowMasksPasteAsGridSampleDoes()
    {
        const int stride = 15, height = 70, width = 90;
        var rng = new Random(5);
        var sides = new long[] { 15, 11, 7, 15, 11, 1, 15, 11 };
        var boxes = new float[]
        {
            10.3f, 5.7f, 60.1f, 55.2f,      // inside
            -20f, -12.5f, 40f, 47.5f,      // across the top-left corner
            70.25f, 30f, 130f, 90f,        // across the bottom-right
            0f, 0f, 90f, 70f,              // the whole image
            33f, 20f, 34.5f, 21f,          // under two pixels
            5f, 5f, 25f, 25f,              // a 1×1 mask
            100f, 80f, 140f, 120f,         // outside
            44.4f, 12.6f, 52.9f, 66.1f,    // thin
        };
        int n = sides.Length;
        var masks = new float[n * stride * stride];
        for (int d = 0; d < n; d++)
            for (int y = 0; y < sides[d]; y++)
                for (int x = 0; x < sides[d]; x++)
                    masks[(d * stride + y) * stride + x] = (float)rng.NextDouble();

        var rles = MaskPasting.PasteDetectron2ToRle(masks, stride, sides, boxes, height, width, 0.5);

        using var scope = DisposeScope.Enter();
        int compared = 0, set = 0;
        for (int d = 0; d < n; d++)
        {
            int s = (int)sides[d];
            var own = new float[s * s];
            for (int y = 0; y < s; y++) Array.Copy(masks, (d * stride + y) * stride, own, y * s, s);
            var soft = VisionOps.PasteMasksInImage(Tensor.FromArray(own, new long[] { 1, 1, s, s }), Tensor.FromArray(boxes[(4 * d)..(4 * d + 4)], new long[] { 1, 4 }),
                height, width, MaskPasteMode.Detectron2).Reshape(height, width).ToArray<float>();
            var mine = rles[d].Decode();
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    float expected = soft[y * width + x];
                    bool bit = mine[y, x];
                    if (expected > 0.5f) set++;
                    if (bit != expected > 0.5f && Math.Abs(expected - 0.5f) > 1e-5f)
                        Assert.Fail($"mask {d} (side {s}) pixel ({y}, {x}): libtorch {expected:R}, C# {(bit ? "set" : "clear")}");
                    compared++;
                }
        }
        Assert.AreEqual(n * height * width, compared);
        Assert.IsTrue(set > 2000, $"the cases set only {set} pixels");
        Assert.AreEqual(0, rles[6].Area, "a window outside the image pastes nothing");
    }

    [TestMethod]
    public void BadSidesAndCountsAreRefusedByName()
    {
        var masks = new float[2 * 4 * 4];
        var boxes = new float[] { 0, 0, 4, 4, 1, 1, 3, 3 };
        var e = Assert.ThrowsException<ArgumentException>(() => MaskPasting.PasteDetectron2ToRle(masks, 4, new long[] { 4, 5 }, boxes, 8, 8));
        StringAssert.Contains(e.Message, "mask 1 has side 5");
        e = Assert.ThrowsException<ArgumentException>(() => MaskPasting.PasteDetectron2ToRle(masks, 4, new long[] { 4 }, boxes, 8, 8));
        StringAssert.Contains(e.Message, "mask sides");
    }
}
