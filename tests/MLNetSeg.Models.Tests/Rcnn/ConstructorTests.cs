using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Geometry;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.Tests.Rcnn;

/// <summary>
/// The parts of an R-CNN are given to its constructors, torchvision-style (GeneralizedRCNN(backbone,
/// rpn, roi_heads, transform); RoIHeads(box_roi_pool, box_head, box_predictor, ..., mask_roi_pool,
/// mask_head, mask_predictor, ...)); these are the checks on what is given.
/// </summary>
[TestClass]
public sealed class ConstructorTests
{
    private static readonly RcnnOptions Options = new() { NumClasses = 3, MinSize = 64, MaxSize = 96 };

    [TestMethod]
    public void TheGivenPartsAreTheModelsParts()
    {
        using var scope = DisposeScope.Enter();
        var (backbone, rpn, roiHeads) = SmallParts(Options);
        var boxRoiPool = roiHeads.BoxRoiPool;
        var transform = GeneralizedRcnn.CreateTransform(Options);
        using var model = new MaskRcnn(backbone, rpn, roiHeads, transform, Options);
        Assert.AreSame(backbone, model.Backbone);
        Assert.AreSame(rpn, model.Rpn);
        Assert.AreSame(roiHeads, model.RoiHeads);
        Assert.AreSame(transform, model.Transform);
        Assert.AreSame(boxRoiPool, model.RoiHeads.BoxRoiPool);
        Assert.AreEqual((14, 14), model.RoiHeads.MaskRoiPool!.OutputSize);
        Assert.AreEqual((64, 96, 32), (transform.MinSize, transform.MaxSize, transform.SizeDivisible));
    }

    [TestMethod]
    public void AnRpnHeadPredictingAnotherAnchorCountThanTheGeneratorMakesIsRefused()
    {
        using var scope = DisposeScope.Enter();
        var sizes = new[] { new[] { 32.0 }, new[] { 64.0 } };
        var ratios = new[] { new[] { 0.5, 1.0, 2.0 }, new[] { 0.5, 1.0, 2.0 } };
        using var head = new RpnHead(16, numAnchors: 2);
        var e = Assert.ThrowsException<ArgumentException>(() => new RegionProposalNetwork(new AnchorGenerator(sizes, ratios), head));
        StringAssert.Contains(e.Message, "predicts 2 anchors per location but the anchor generator makes [3, 3]");
        using var fits = new RpnHead(16, numAnchors: 3);
        using var rpn = new RegionProposalNetwork(new AnchorGenerator(sizes, ratios), fits);
        Assert.AreSame(fits, rpn.Head);
    }

    [TestMethod]
    public void ATransformThatDisagreesWithTheOptionsIsRefusedByName()
    {
        using var scope = DisposeScope.Enter();
        var (backbone, rpn, roiHeads) = SmallParts(Options);
        // The constructor refuses the parts, so they remain the caller's to dispose.
        using (backbone)
        using (rpn)
        using (roiHeads)
        {
            var other = GeneralizedRcnn.CreateTransform(Options with { MinSize = 80 });
            var e = Assert.ThrowsException<ArgumentException>(() => new MaskRcnn(backbone, rpn, roiHeads, other, Options));
            StringAssert.Contains(e.Message, "MinSize (80) is not the options' (64)");
            var std = GeneralizedRcnn.CreateTransform(Options with { ImageStd = new[] { 1.0, 1, 1 } });
            e = Assert.ThrowsException<ArgumentException>(() => new MaskRcnn(backbone, rpn, roiHeads, std, Options));
            StringAssert.Contains(e.Message, "ImageStd (1, 1, 1)");
        }
    }

    [TestMethod]
    public void ABranchNeedsItsPoolerHeadAndPredictorTogether()
    {
        using var scope = DisposeScope.Enter();
        // The refused parts remain the caller's to dispose.
        using var maskHead = new MaskRcnnHeads(16, new long[] { 8 });
        using var maskPredictor = new MaskRcnnPredictor(8, 8, 3);
        using var boxHead = new TwoMlpHead(16 * 7 * 7, 32);
        using var boxPredictor = new FastRcnnPredictor(32, 3);
        var e = Assert.ThrowsException<ArgumentException>(() => new RoiHeads(new MultiScaleRoiAlign(7, 2), boxHead,
            boxPredictor, maskHead: maskHead, maskPredictor: maskPredictor));
        StringAssert.Contains(e.Message, "mask RoI pool, a mask head and a mask predictor");
        e = Assert.ThrowsException<ArgumentException>(() => new RoiHeads(new MultiScaleRoiAlign(7, 2), boxHead,
            boxPredictor, keypointRoiPool: new MultiScaleRoiAlign(14, 2)));
        StringAssert.Contains(e.Message, "keypoint RoI pool, a keypoint head and a keypoint predictor");
        Assert.ThrowsException<ArgumentNullException>(() => new RoiHeads(null!, boxHead, boxPredictor));
    }

    /// <summary>A ResNet-18 with a 16-channel FPN, its RPN and a mask-branch RoI heads.</summary>
    private static (BackboneWithFpn Backbone, RegionProposalNetwork Rpn, RoiHeads RoiHeads) SmallParts(RcnnOptions options)
    {
        var backbone = ResNetFpn.Create(ResNetDepth.ResNet18, baseWidth: 8, fpnChannels: 16);
        var roiHeads = new RoiHeads(new MultiScaleRoiAlign(7, 2), GeneralizedRcnn.CreateBoxHead(16, 1, 32), new FastRcnnPredictor(32, 3), null,
            maskRoiPool: new MultiScaleRoiAlign(14, 2), maskHead: new MaskRcnnHeads(16, new long[] { 8 }), maskPredictor: new MaskRcnnPredictor(8, 8, 3));
        return (backbone, GeneralizedRcnn.CreateRpn(16, convDepth: 1, options), roiHeads);
    }
}
