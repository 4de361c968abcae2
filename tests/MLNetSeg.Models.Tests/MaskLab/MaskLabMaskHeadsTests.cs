using MLNetSeg.Models.MaskLab;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.Tests.MaskLab;

/// <summary>MaskLab's coarse mask and refinement modules: the paper's initialisation, what each feature
/// contributes (checked against the ops composed by hand), the ablation switches, shapes and gradients.</summary>
[TestClass]
public class MaskLabMaskHeadsTests
{
    [TestMethod]
    public void TheCoarseMaskStartsAsHalfTheSemanticChannelPlusThePooledDirections()
    {
        using var scope = DisposeScope.Enter();
        var coding = new DirectionCoding(directions: 4, distanceBins: 1);
        using var head = new MaskLabCoarseMask(coding: coding, cropSize: 4);
        CollectionAssert.AreEqual(new[] { 0.5f, 1f }, head.Fuse.Weight.ToArray<float>(), "§4.1: weights (0.5, 1)");
        Assert.AreEqual(0f, head.Fuse.Bias!.ToArray<float>()[0]);

        var semantic = Tensor.Randn(new long[] { 2, 3, 8, 10 });
        var direction = Tensor.Randn(new long[] { 2, 4, 8, 10 });
        var rois = Tensor.FromArray(new float[] { 0, 1, 2, 9, 7, 1, 0, 0, 16, 12, 1, 4, 1, 12, 9 }, 3, 5);
        var labels = Tensor.FromArray(new long[] { 2, 1, 2 }, 3);
        var coarse = head.Forward(semantic, direction, rois, labels, spatialScale: 0.5);
        CollectionAssert.AreEqual(new long[] { 3, 1, 4, 4 }, coarse.Shape);

        // By hand: the label's channel of the semantic crop, the pooled direction crop.
        var semanticCrops = VisionOps.CropAndResize(semantic, rois, (4, 4), 0.5);
        var pooled = coding.Pool(VisionOps.CropAndResize(direction, rois, (4, 4), 0.5));
        long[] l = { 2, 1, 2 };
        for (int r = 0; r < 3; r++)
        {
            var expected = semanticCrops.Select(0, r).Select(0, l[r]) * 0.5 + pooled.Select(0, r).Select(0, 0);
            Assert.IsTrue(coarse.Select(0, r).Select(0, 0).AllClose(expected, 1e-5, 1e-6), $"roi {r}");
        }
    }

    [TestMethod]
    public void EachFeatureCanBeSwitchedOffForTheAblation()
    {
        using var scope = DisposeScope.Enter();
        var coding = new DirectionCoding(directions: 4, distanceBins: 1);
        using var semanticOnly = new MaskLabCoarseMask(direction: false, coding: coding, cropSize: 4);
        using var directionOnly = new MaskLabCoarseMask(semantic: false, coding: coding, cropSize: 4);
        CollectionAssert.AreEqual(new[] { 0.5f }, semanticOnly.Fuse.Weight.ToArray<float>());
        CollectionAssert.AreEqual(new[] { 1f }, directionOnly.Fuse.Weight.ToArray<float>());
        var semantic = Tensor.Randn(new long[] { 1, 3, 8, 8 });
        var direction = Tensor.Randn(new long[] { 1, 4, 8, 8 });
        var rois = Tensor.FromArray(new float[] { 0, 0, 0, 8, 8 }, 1, 5);
        var labels = Tensor.FromArray(new long[] { 1 }, 1);
        CollectionAssert.AreEqual(new long[] { 1, 1, 4, 4 }, semanticOnly.Forward(semantic, null, rois, labels, 1).Shape);
        CollectionAssert.AreEqual(new long[] { 1, 1, 4, 4 }, directionOnly.Forward(null, direction, rois, labels, 1).Shape);
        Assert.ThrowsException<ArgumentNullException>(() => semanticOnly.Forward(null, direction, rois, labels, 1));
        Assert.ThrowsException<ArgumentException>(() => new MaskLabCoarseMask(semantic: false, direction: false));
    }

    [TestMethod]
    public void RefinementMapsCoarseLogitsAndHypercolumnsToOneLogitAndTrains()
    {
        using var scope = DisposeScope.Enter();
        using var refine = new MaskLabRefinement(hypercolumnChannels: 5, width: 8);
        var coarse = Tensor.Randn(new long[] { 3, 1, 12, 12 }).RequiresGrad_();
        var hyper = Tensor.Randn(new long[] { 3, 5, 12, 12 });
        var refined = refine.Forward(coarse, hyper);
        CollectionAssert.AreEqual(new long[] { 3, 1, 12, 12 }, refined.Shape);
        refined.Sum().Backward();
        Assert.IsTrue(coarse.Grad!.Abs().Sum().ItemDouble() > 0, "gradients reach the coarse logits");
        Assert.AreEqual(3 * 2 + 2, refine.Parameters().Count(), "three 5×5 convs and the 1×1 predictor, with biases");
        CollectionAssert.AreEqual(new long[] { 8, 6, 5, 5 }, refine.Parameters().First().Shape);
    }
}
