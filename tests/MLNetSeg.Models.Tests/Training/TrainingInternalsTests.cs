using MLNetSeg.Models.Rcnn;
using MLNetSeg.Models.Tests;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Geometry;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.Tests.Training;

/// <summary>
/// The training internals against torchvision 0.14 on small hand-made inputs (fixture assign.json,
/// tools/fixtures/gen_training.py): the transform with targets, RPN anchor assignment, sampling and
/// losses, RoI proposal selection, the Fast R-CNN, mask and keypoint losses. Indices, labels and
/// heatmap cells must be equal; float32 values computed by the same sequence of libtorch ops are
/// compared at 1e-6 (coordinates, ≤ 128 px) or 1e-5 (encoded targets and RoIAligned masks, which go
/// through divisions and logs), losses at 1e-5 relative.
/// </summary>
[TestClass]
public sealed class TrainingInternalsTests
{
    private const double LossTolerance = 1e-5;
    private static TrainingFixture fx = null!;

    [ClassInitialize]
    public static void Setup(TestContext _) => fx = TrainingFixture.Load("assign.json");

    private static (int Height, int Width)[] Sizes(string section, string name) =>
        fx.Param(section).GetProperty(name).EnumerateArray().Select(s => (s[0].GetInt32(), s[1].GetInt32())).ToArray();

    [TestMethod]
    public void TransformResizesImagesBoxesMasksAndKeypointsAsTorchvision()
    {
        using var scope = DisposeScope.Enter();
        var p = fx.Param("transform");
        var minSizes = p.GetProperty("min_sizes").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        // torchvision's eval size is min_size[-1]; training draws from the whole tuple.
        var transform = new GeneralizedRcnnTransform(minSizes[^1], p.GetProperty("max_size").GetInt32(),
            new[] { 0.485, 0.456, 0.406 }, new[] { 0.229, 0.224, 0.225 }) { TrainMinSizes = minSizes };
        var shapes = p.GetProperty("image_shapes").EnumerateArray().Select(s => s.EnumerateArray().Select(e => e.GetInt64()).ToArray()).ToArray();
        var images = shapes.Select((s, i) => DeterministicWeights.Uniform($"training.transform.image{i}", s)).ToArray();
        var targets = shapes.Select((s, i) => new RcnnTarget(fx.Output($"transform.in.{i}.boxes"), Tensor.FromArray(new long[] { 1, 2 }, 2),
            fx.Masks($"transform.in.{i}.masks", (int)s[1], (int)s[2]), fx.Output($"transform.in.{i}.keypoints"))).ToArray();

        TorchRuntime.ManualSeed((ulong)p.GetProperty("seed").GetInt32());
        var (batch, resized) = transform.Transform(images, targets, training: true);

        var expectedSizes = Sizes("transform", "resized");
        CollectionAssert.AreEqual(expectedSizes, batch.ImageSizes.ToArray(), "resized sizes (the drawn short sides)");
        TrainingAssert.Close(fx.Output("transform.batch"), batch.Tensors, 1e-6, "normalised, resized, padded batch");
        for (int i = 0; i < resized.Length; i++)
        {
            TrainingAssert.Close(fx.Output($"transform.out.{i}.boxes"), resized[i].Boxes, 1e-6, $"image {i} boxes");
            TrainingAssert.Close(fx.Output($"transform.out.{i}.keypoints"), resized[i].Keypoints!, 1e-6, $"image {i} keypoints");
            Assert.AreEqual(DType.UInt8, resized[i].Masks!.DType);
            TrainingAssert.Equal(fx.Masks($"transform.out.{i}.masks", expectedSizes[i].Height, expectedSizes[i].Width), resized[i].Masks!, $"image {i} masks");
            Assert.AreSame(targets[i].Labels, resized[i].Labels, "labels pass through");
        }
    }

    private static RegionProposalNetwork SmallRpn() => new(AnchorGenerator.FpnDefault(), new RpnHead(8, 3), new RpnSettings());

    /// <summary>FPN anchors for the fixture's padded batch, one list per image.</summary>
    private static Tensor[] RpnAnchors()
    {
        var p = fx.Param("rpn");
        var padded = p.GetProperty("padded").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        var grids = p.GetProperty("grids").EnumerateArray().Select(g => (g[0].GetInt64(), g[1].GetInt64())).ToArray();
        var anchors = Tensor.Cat(AnchorGenerator.FpnDefault().GenerateLevels(padded[0], padded[1], grids));
        return new[] { anchors, anchors };
    }

    private static Tensor[] RpnGt() => new[]
    {
        Tensor.FromArray(fx.Param("rpn").GetProperty("gt").EnumerateArray().SelectMany(b => b.EnumerateArray().Select(v => (float)v.GetDouble())).ToArray(), 4, 4),
        Tensor.Zeros(new long[] { 0, 4 }),
    };

    [TestMethod]
    public void RpnAnchorAssignmentEqualsTorchvision()
    {
        using var scope = DisposeScope.Enter();
        using var rpn = SmallRpn();
        var anchors = RpnAnchors();
        var targets = RegionProposalNetwork.AssignTargetsToAnchors(anchors, RpnGt(), rpn.CreateMatcher());
        for (int i = 0; i < 2; i++)
        {
            Assert.AreEqual(DType.Float32, targets.Labels[i].DType);
            TrainingAssert.Equal(fx.Output($"rpn.labels.{i}"), targets.Labels[i], $"image {i} anchor labels");
        }
        TrainingAssert.Equal(fx.Output("rpn.matched.0"), targets.MatchedIdxs[0], "image 0 matched ground truth (Matcher with low-quality matches)");
        Assert.IsTrue(TrainingAssert.Longs(targets.MatchedIdxs[1]).All(v => v == Matcher.BelowLowThreshold), "an empty image's anchors are all below the low threshold");
        Assert.AreEqual(0.0, TrainingAssert.Floats(targets.MatchedGtBoxes[1]).Select(Math.Abs).Max(), "an empty image's matched boxes are zeros");

        var fg = fx.Output("rpn.fg.0");
        var regression = rpn.BoxCoder.Encode(targets.MatchedGtBoxes, anchors);
        TrainingAssert.Close(fx.Output("rpn.regression.0"), regression[0].Index(fg), 1e-5, "image 0 foreground regression targets");
    }

    [TestMethod]
    public void RpnSamplingAndLossesEqualTorchvisionWithTheSameSeed()
    {
        using var scope = DisposeScope.Enter();
        using var rpn = SmallRpn();
        var anchors = RpnAnchors();
        var targets = RegionProposalNetwork.AssignTargetsToAnchors(anchors, RpnGt(), rpn.CreateMatcher());
        ulong seed = (ulong)fx.Param("rpn").GetProperty("seed").GetInt32();

        TorchRuntime.ManualSeed(seed);
        var (pos, neg) = rpn.CreateSampler().Sample(targets.Labels);
        TrainingAssert.Equal(fx.Output("rpn.sampled_pos"), Tensor.Cat(pos).NonzeroAsTuple()[0], "sampled positive anchors (randperm with the same seed)");
        TrainingAssert.Equal(fx.Output("rpn.sampled_neg"), Tensor.Cat(neg).NonzeroAsTuple()[0], "sampled negative anchors");

        long n = 2 * anchors[0].Size(0);
        var objectness = DeterministicWeights.Uniform("training.rpn.objectness", new[] { n, 1L }) * 4.0 - 2.0;
        var deltas = DeterministicWeights.Uniform("training.rpn.deltas", new[] { n, 4L }) * 2.0 - 1.0;
        var regression = rpn.BoxCoder.Encode(targets.MatchedGtBoxes, anchors);
        TorchRuntime.ManualSeed(seed);
        var (lo, lb) = RegionProposalNetwork.ComputeLoss(objectness, deltas, targets.Labels, regression, rpn.CreateSampler());
        TrainingAssert.Relative(fx.Output("rpn.loss_objectness").ItemDouble(), lo.ItemDouble(), LossTolerance, "loss_objectness");
        TrainingAssert.Relative(fx.Output("rpn.loss_rpn_box_reg").ItemDouble(), lb.ItemDouble(), LossTolerance, "loss_rpn_box_reg");
    }

    private static RoiHeads SmallRoiHeads()
    {
        var p = fx.Param("roi");
        int classes = p.GetProperty("num_classes").GetInt32();
        return new RoiHeads(new MultiScaleRoiAlign(7, 2), new TwoMlpHead(8 * 7 * 7, 16), new FastRcnnPredictor(16, classes), new RoiHeadsSettings
        {
            BatchSizePerImage = p.GetProperty("batch_size_per_image").GetInt32(),
            PositiveFraction = p.GetProperty("positive_fraction").GetDouble(),
        });
    }

    private static (Tensor[] Boxes, Tensor[] Labels) RoiGt()
    {
        var p = fx.Param("roi");
        var boxes = p.GetProperty("gt").EnumerateArray().SelectMany(b => b.EnumerateArray().Select(v => (float)v.GetDouble())).ToArray();
        var labels = p.GetProperty("gt_labels").EnumerateArray().Select(v => v.GetInt64()).ToArray();
        return (new[] { Tensor.FromArray(boxes, labels.Length, 4), Tensor.Zeros(new long[] { 0, 4 }) },
                new[] { Tensor.FromArray(labels, labels.Length), Tensor.Zeros(new long[] { 0 }, DType.Int64) });
    }

    private static RoiTrainingSamples SelectSamples(RoiHeads heads)
    {
        var (gtBoxes, gtLabels) = RoiGt();
        var proposals = new[] { fx.Output("roi.proposals_in.0"), fx.Output("roi.proposals_in.1") };
        TorchRuntime.ManualSeed((ulong)fx.Param("roi").GetProperty("seed").GetInt32());
        return heads.SelectTrainingSamples(proposals, gtBoxes, gtLabels);
    }

    [TestMethod]
    public void RoiSelectTrainingSamplesEqualsTorchvisionWithTheSameSeed()
    {
        using var scope = DisposeScope.Enter();
        using var heads = SmallRoiHeads();
        var samples = SelectSamples(heads);
        for (int i = 0; i < 2; i++)
        {
            TrainingAssert.Equal(fx.Output($"roi.labels.{i}"), samples.Labels[i], $"image {i} sampled labels");
            TrainingAssert.Equal(fx.Output($"roi.matched.{i}"), samples.MatchedIdxs[i], $"image {i} matched ground truth");
            TrainingAssert.Close(fx.Output($"roi.proposals.{i}"), samples.Proposals[i], 1e-6, $"image {i} sampled proposals (gt appended)");
        }
        TrainingAssert.Close(fx.Output("roi.regression.0"), samples.RegressionTargets[0], 1e-5, "image 0 regression targets (weights 10, 10, 5, 5)");
        // The empty image is encoded against a zero box as torchvision does: dw, dh are −inf, dx, dy finite.
        TrainingAssert.Close(fx.Output("roi.regression.1.dxdy"), samples.RegressionTargets[1].Slice(1, 0, 2), 1e-5, "image 1 dx, dy");
        Assert.IsTrue(TrainingAssert.Floats(samples.RegressionTargets[1].Slice(1, 2)).All(double.IsNegativeInfinity), "image 1 dw, dh are −inf");
    }

    [TestMethod]
    public void FastRcnnMaskAndKeypointLossesEqualTorchvision()
    {
        using var scope = DisposeScope.Enter();
        using var heads = SmallRoiHeads();
        var samples = SelectSamples(heads);
        var p = fx.Param("roi");
        int classes = p.GetProperty("num_classes").GetInt32();
        long s = samples.Labels.Sum(l => l.Size(0));
        var classLogits = DeterministicWeights.Uniform("training.roi.class_logits", new[] { s, classes }) * 4.0 - 2.0;
        var boxRegression = DeterministicWeights.Uniform("training.roi.box_regression", new[] { s, 4L * classes }) * 2.0 - 1.0;
        var (lc, lb) = RoiHeads.FastRcnnLoss(classLogits, boxRegression, samples.Labels, samples.RegressionTargets);
        TrainingAssert.Relative(fx.Output("roi.loss_classifier").ItemDouble(), lc.ItemDouble(), LossTolerance, "loss_classifier");
        TrainingAssert.Relative(fx.Output("roi.loss_box_reg").ItemDouble(), lb.ItemDouble(), LossTolerance, "loss_box_reg");

        // The positives, as the mask and keypoint branches take them.
        var positives = Enumerable.Range(0, 2).Select(i => samples.Labels[i].Gt(0).NonzeroAsTuple()[0]).ToArray();
        var posProposals = positives.Select((pos, i) => samples.Proposals[i].Index(pos)).ToArray();
        var posMatched = positives.Select((pos, i) => samples.MatchedIdxs[i].Index(pos)).ToArray();
        long numPos = posProposals.Sum(b => b.Size(0));
        Assert.IsTrue(posProposals[0].Size(0) > 0 && posProposals[1].Size(0) == 0, "fixture: positives in image 0 only");

        var sizes = Sizes("roi", "image_sizes");
        var (gtBoxes, gtLabels) = RoiGt();
        var gtMasks = new[] { fx.Masks("roi.gt_masks.0", sizes[0].Height, sizes[0].Width), Tensor.Zeros(new long[] { 0, sizes[1].Height, sizes[1].Width }, DType.UInt8) };
        TrainingAssert.Close(fx.Output("roi.projected.0"), RoiHeads.ProjectMasksOnBoxes(gtMasks[0], posProposals[0], posMatched[0], 28), 1e-5,
            "projected 28×28 mask targets (RoIAlign, aligned=False, adaptive sampling)");
        var maskLogits = DeterministicWeights.Uniform("training.roi.mask_logits", new[] { numPos, classes, 28L, 28L }) * 4.0 - 2.0;
        TrainingAssert.Relative(fx.Output("roi.loss_mask").ItemDouble(), RoiHeads.MaskRcnnLoss(maskLogits, posProposals, gtMasks, gtLabels, posMatched).ItemDouble(),
            LossTolerance, "loss_mask");

        var gtKeypoints = new[] { fx.Output("roi.gt_keypoints.0"), Tensor.Zeros(new long[] { 0, 17, 3 }) };
        var (heatmaps, valid) = RoiHeads.KeypointsToHeatmap(gtKeypoints[0].Index(posMatched[0]), posProposals[0], 56);
        TrainingAssert.Equal(fx.Output("roi.heatmaps.0"), heatmaps, "keypoint heatmap cells of the positives");
        TrainingAssert.Equal(fx.Output("roi.valid.0"), valid, "keypoint validity of the positives");
        var keypointLogits = DeterministicWeights.Uniform("training.roi.keypoint_logits", new[] { numPos, 17L, 56L, 56L }) * 4.0 - 2.0;
        TrainingAssert.Relative(fx.Output("roi.loss_keypoint").ItemDouble(),
            RoiHeads.KeypointRcnnLoss(keypointLogits, posProposals, gtKeypoints, posMatched).ItemDouble(), LossTolerance, "loss_keypoint");
    }

    [TestMethod]
    public void KeypointsOnTheRightAndBottomEdgeMapToTheLastCell()
    {
        using var scope = DisposeScope.Enter();
        var (heatmaps, valid) = RoiHeads.KeypointsToHeatmap(fx.Output("edge.keypoints"), fx.Output("edge.rois"), 56);
        TrainingAssert.Equal(fx.Output("edge.heatmaps"), heatmaps, "edge-case heatmap cells");
        TrainingAssert.Equal(fx.Output("edge.valid"), valid, "edge-case validity");
        // Keypoint 0 of RoI 0 sits exactly on (x2, y2): cell (55, 55).
        Assert.AreEqual(55L * 56 + 55, TrainingAssert.Longs(heatmaps)[0]);
    }

    [TestMethod]
    public void WithoutPositivesTheMaskAndKeypointLossesAreZeroAndKeepTheGraph()
    {
        using var scope = DisposeScope.Enter();
        var maskLogits = Tensor.Zeros(new long[] { 0, 5, 28, 28 }).RequiresGrad_();
        var noBoxes = new[] { Tensor.Zeros(new long[] { 0, 4 }) };
        var noIdx = new[] { Tensor.Zeros(new long[] { 0 }, DType.Int64) };
        var mask = RoiHeads.MaskRcnnLoss(maskLogits, noBoxes, new[] { Tensor.Zeros(new long[] { 0, 10, 10 }, DType.UInt8) }, noIdx, noIdx);
        Assert.AreEqual(0.0, mask.ItemDouble());
        Assert.IsTrue(mask.RequiresGrad, "torchvision returns mask_logits.sum() * 0, attached to the graph");

        // Keypoints present but none visible: no valid target either.
        var keypointLogits = DeterministicWeights.Uniform("training.test.kp", new long[] { 1, 17, 56, 56 }).RequiresGrad_();
        var invisible = Tensor.Zeros(new long[] { 1, 17, 3 }) + 5.0;
        invisible.Select(-1, 2).Fill_(0);
        var box = Tensor.FromArray(new float[] { 0, 0, 10, 10 }, 1, 4);
        var keypoint = RoiHeads.KeypointRcnnLoss(keypointLogits, new[] { box }, new[] { invisible }, new[] { Tensor.Zeros(new long[] { 1 }, DType.Int64) });
        Assert.AreEqual(0.0, keypoint.ItemDouble());
        keypoint.Backward();
        Assert.AreEqual(0.0, TrainingAssert.Floats(keypointLogits.Grad!).Select(Math.Abs).Max(), "a zero loss sends zero gradients");
    }
}
