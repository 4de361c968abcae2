using MLNetSeg.Models.MaskLab;
using MLNetSeg.Torch;

namespace MLNetSeg.Models.Tests.MaskLab;

/// <summary>MaskLab's semantic targets, stride sampling and losses against hand-computed values.</summary>
[TestClass]
public class MaskLabLossesTests
{
    [TestMethod]
    public void SemanticTargetsPutInstancesOverStuffAndTheSmallerInstanceOnTop()
    {
        using var scope = DisposeScope.Enter();
        // 3×4 image: stuff class 7 on the top row, unknown (255) bottom-right, background elsewhere;
        // instance A (class 2) columns 0-2 of rows 1-2, instance B (class 5) the single pixel (1, 2).
        var stuff = Tensor.FromArray(new long[] { 7, 7, 7, 7, 0, 0, 0, 0, 0, 0, 0, 255 }, 3, 4);
        var masks = Tensor.FromArray(new byte[]
        {
            0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0,
            0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0,
        }, 2, 3, 4);
        var labels = Tensor.FromArray(new long[] { 2, 5 }, 2);
        CollectionAssert.AreEqual(new long[] { 7, 7, 7, 7, 2, 2, 5, 0, 2, 2, 2, 255 }, MaskLabLosses.SemanticTargets(masks, labels, stuff).ToArray<long>());
        CollectionAssert.AreEqual(new long[] { 0, 0, 0, 0, 2, 2, 5, 0, 2, 2, 2, 0 }, MaskLabLosses.SemanticTargets(masks, labels).ToArray<long>(), "no stuff: background 0");
    }

    [TestMethod]
    public void AtStrideSamplesTheCentrePixelOfEachCell()
    {
        using var scope = DisposeScope.Enter();
        var map = Tensor.Arange(0, 30, 1).Reshape(5, 6);  // value = 6·row + column
        // Stride 2: rows 1, 3 and the last (4: clamped), columns 1, 3, 5.
        CollectionAssert.AreEqual(new long[] { 7, 9, 11, 19, 21, 23, 25, 27, 29 }, MaskLabLosses.AtStride(map, 2).ToArray<long>());
        // Stride 4 on a batch: rows 2 and 4 (clamped from 6), columns 2 and 5 (clamped from 6).
        var batched = MaskLabLosses.AtStride(map.Unsqueeze(0), 4);
        CollectionAssert.AreEqual(new long[] { 1, 2, 2 }, batched.Shape);
        CollectionAssert.AreEqual(new long[] { 14, 17, 26, 29 }, batched.ToArray<long>());
    }

    [TestMethod]
    public void CrossEntropiesLeaveIgnoredPixelsOutAndAreZeroWithoutAny()
    {
        using var scope = DisposeScope.Enter();
        // Four pixels, two classes; two pixels count: pixel 0 has logits (0, ln 3) and target 1, pixel 1 has
        // (ln 3, 0) and target 0, each −ln(3/4); the mean is ln(4/3). Pixels 2 and 3 are ignored.
        double l3 = Math.Log(3);
        var channel0 = new double[] { 0, l3, 9, 9 };
        var channel1 = new double[] { l3, 0, 0, 0 };
        var logits = Tensor.FromArray(channel0.Concat(channel1).ToArray(), 1, 2, 1, 4).RequiresGrad_();
        var direction = Tensor.FromArray(new long[] { 1, 0, -1, -1 }, 1, 1, 4);
        var loss = MaskLabLosses.Direction(logits, direction);
        Assert.AreEqual(Math.Log(4.0 / 3), loss.ItemDouble(), 1e-12);
        var semantic = Tensor.FromArray(new long[] { 1, 0, 255, 255 }, 1, 1, 4);
        Assert.AreEqual(Math.Log(4.0 / 3), MaskLabLosses.Semantic(logits, semantic).ItemDouble(), 1e-12);
        var none = MaskLabLosses.Direction(logits, Tensor.Full(new long[] { 1, 1, 4 }, -1, DType.Int64));
        Assert.AreEqual(0.0, none.ItemDouble());
        none.Backward();
        Assert.IsNotNull(logits.Grad, "an image without instances still gives a (zero) gradient");
    }

    [TestMethod]
    public void TheMaskLossComparesWithTheCroppedGroundTruth()
    {
        using var scope = DisposeScope.Enter();
        // Ground truth: the left half of a 4×4 image. A RoI on the whole image at crop size 2 sees (1, 0 / 1, 0).
        var gt = Tensor.FromArray(new byte[] { 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0 }, 1, 4, 4);
        var rois = Tensor.FromArray(new float[] { 0, 0, 0, 4, 4 }, 1, 5);
        var perfect = Tensor.FromArray(new float[] { 20, -20, 20, -20 }, 1, 1, 2, 2);
        var wrong = Tensor.FromArray(new float[] { -20, 20, -20, 20 }, 1, 1, 2, 2);
        var zero = Tensor.Zeros(new long[] { 1, 1, 2, 2 });
        Assert.IsTrue(MaskLabLosses.Mask(perfect, gt, rois).ItemDouble() < 1e-6);
        Assert.AreEqual(20.0, MaskLabLosses.Mask(wrong, gt, rois).ItemDouble(), 1e-6);
        Assert.AreEqual(Math.Log(2), MaskLabLosses.Mask(zero, gt, rois).ItemDouble(), 1e-6);
        Assert.AreEqual(0.0, MaskLabLosses.Mask(Tensor.Zeros(new long[] { 0, 1, 2, 2 }), gt, Tensor.Zeros(new long[] { 0, 5 })).ItemDouble());
    }
}
