using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.Tests.Rcnn;

/// <summary>
/// The RPN and RoI heads alone, against torchvision 0.14's on the same deterministic FPN
/// features and weights (fixtures heads_*.json, see tools/fixtures/gen_detection.py): no
/// backbone, so a difference here is in the detection code itself.
/// Tolerances: proposals and boxes 1e-3 px and scores 1e-5 / 1e-4 (float32 results of the same
/// kernels; any reordering of equal-cost arithmetic stays far below), mask probabilities 1e-4,
/// keypoints 0.5 px (an argmax cell is 1/56 of a box, so any real difference is larger), keypoint
/// scores (heatmap logits) 1e-3.
/// </summary>
[TestClass]
public sealed class HeadsParityTests
{
    private const double ProposalTolerance = 1e-3, ProposalScoreTolerance = 1e-5;
    private const double BoxTolerance = 1e-3, ScoreTolerance = 1e-4, MaskTolerance = 1e-4;
    private const double KeypointTolerance = 0.5, KeypointScoreTolerance = 1e-3;

    /// <summary>"rpn" and "roi_heads" under a detector's names, so the deterministic weights (seeded
    /// by the full names) are the ones torchvision's model gets.</summary>
    private sealed class Heads : Module
    {
        public Heads(RegionProposalNetwork rpn, RoiHeads roiHeads)
        {
            Rpn = RegisterModule("rpn", rpn);
            RoiHeads = RegisterModule("roi_heads", roiHeads);
        }

        public RegionProposalNetwork Rpn { get; }
        public RoiHeads RoiHeads { get; }
    }

    [TestMethod]
    public void MaskRcnnHeadsMatchTorchvision() => Run("heads_maskrcnn_resnet50_fpn.json", keypoints: false, version: 1);

    /// <summary>The v2 recipe's own heads: two-conv RPN head, 4-conv + FC box head and mask head with BatchNorm.</summary>
    [TestMethod]
    public void MaskRcnnV2HeadsMatchTorchvision() => Run("heads_maskrcnn_resnet50_fpn_v2.json", keypoints: false, version: 2);

    [TestMethod]
    public void KeypointRcnnHeadsMatchTorchvision() => Run("heads_keypointrcnn_resnet50_fpn.json", keypoints: true, version: 1);

    private static void Run(string fixtureName, bool keypoints, int version)
    {
        var fx = DetectionFixture.Load(fixtureName);
        using var scope = DisposeScope.Enter();
        using var noGrad = NoGradScope.Enter();
        var options = new RcnnOptions { RpnPreNmsTopNTest = fx.Int("rpn_pre_nms_top_n_test"), RpnPostNmsTopNTest = fx.Int("rpn_post_nms_top_n_test") };
        var settings = new RoiHeadsSettings { DetectionsPerImage = fx.Int("box_detections_per_img") };
        var rpn = GeneralizedRcnn.CreateRpn(256, convDepth: version, options);
        var roiHeads = keypoints
            ? new RoiHeads(new MultiScaleRoiAlign(7, 2), GeneralizedRcnn.CreateBoxHead(256, 1), new FastRcnnPredictor(1024, 2), settings,
                keypointRoiPool: new MultiScaleRoiAlign(14, 2), keypointHead: new KeypointRcnnHeads(256, Enumerable.Repeat(512L, 8).ToArray()), keypointPredictor: new KeypointRcnnPredictor(512, 17))
            : new RoiHeads(new MultiScaleRoiAlign(7, 2), GeneralizedRcnn.CreateBoxHead(256, version), new FastRcnnPredictor(1024, 91), settings,
                maskRoiPool: new MultiScaleRoiAlign(14, 2), maskHead: new MaskRcnnHeads(256, new long[] { 256, 256, 256, 256 }, batchNorm: version == 2),
                maskPredictor: new MaskRcnnPredictor(256, 256, 91));
        using var heads = new Heads(rpn, roiHeads);
        DeterministicWeights.Apply(heads);
        ModelParityTests.ScaleClassifier(heads.RoiHeads, fx.Double("cls_score_scale"));
        heads.Eval();

        var sizes = fx.Param("image_sizes").EnumerateArray().Select(s => (s[0].GetInt32(), s[1].GetInt32())).ToArray();
        var padded = fx.Param("padded").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        Assert.IsTrue(sizes.Length > 0, $"{fx.Path}: no images");
        var images = new ImageList(Tensor.Zeros(new[] { sizes.Length, 3, padded[0], padded[1] }), sizes);
        var featureShapes = fx.Param("feature_shapes");
        var levels = new[] { "0", "1", "2", "3", "pool" }.Select(name =>
            Feature(name, featureShapes.GetProperty(name).EnumerateArray().Select(e => e.GetInt64()).ToArray())).ToArray();

        var (proposals, proposalScores) = heads.Rpn.Forward(images, levels);
        for (int i = 0; i < sizes.Length; i++)
        {
            var expected = fx.Output($"proposals.{i}");
            Assert.AreEqual(expected.Size(0), proposals[i].Size(0), $"image {i}: proposal count");
            var identity = Enumerable.Range(0, (int)expected.Size(0)).ToArray();
            DetectionAssert.CloseRows(expected, proposals[i], identity, ProposalTolerance, $"image {i}: proposals");
            DetectionAssert.CloseRows(fx.Output($"proposal_scores.{i}").Unsqueeze(1), proposalScores[i].Unsqueeze(1), identity,
                ProposalScoreTolerance, $"image {i}: proposal scores");
        }

        var detections = heads.RoiHeads.Forward(levels.Take(4).ToArray(), proposals, sizes);
        for (int i = 0; i < sizes.Length; i++)
        {
            var d = detections[i];
            var order = DetectionAssert.SameDetections((fx.Output($"boxes.{i}"), fx.Output($"labels.{i}"), fx.Output($"scores.{i}")),
                (d.Boxes, d.Labels, d.Scores), BoxTolerance, ScoreTolerance, $"image {i}");
            Assert.IsTrue(order.Length > 0, $"image {i}: the fixture should produce detections");
            if (keypoints)
            {
                Assert.IsNull(d.Masks);
                DetectionAssert.CloseRows(fx.Output($"keypoints.{i}"), d.Keypoints!, order, KeypointTolerance, $"image {i}: keypoints");
                DetectionAssert.CloseRows(fx.Output($"keypoints_scores.{i}"), d.KeypointScores!, order, KeypointScoreTolerance, $"image {i}: keypoint scores");
            }
            else
            {
                Assert.IsNull(d.Keypoints);
                DetectionAssert.CloseRows(fx.Output($"masks.{i}"), d.Masks!, order, MaskTolerance, $"image {i}: 28×28 mask probabilities");
            }
        }
    }

    /// <summary>2u − 1 over the deterministic stream "features.&lt;level&gt;", as the generator's heads_features.</summary>
    private static Tensor Feature(string level, long[] shape)
    {
        var u = DeterministicWeights.UniformStream($"features.{level}", shape.Aggregate(1L, (a, b) => a * b));
        var values = new float[u.Length];
        for (int i = 0; i < u.Length; i++) values[i] = (float)(2.0 * u[i] - 1.0);
        return Tensor.FromArray(values, shape);
    }
}
