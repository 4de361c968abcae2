using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models.Tests.Rcnn;

/// <summary>
/// Whole models against torchvision 0.14's maskrcnn_resnet50_fpn / keypointrcnn_resnet50_fpn with
/// the same deterministic weights and the generator's documented override (cls_score × scale),
/// min/max size 320/512, on three synthetic PNGs one at a time and on a batch of two
/// (fixtures model_*.json, tools/fixtures/gen_detection.py), through the public
/// <see cref="GeneralizedRcnn.Predict(IReadOnlyList{Image})"/>.
/// Tolerances (the brief's): boxes 1e-3 px, scores 1e-4, per-instance mask IoU ≥ 0.99 (a
/// probability within float32 noise of 0.5 may land on the other side), keypoints 0.5 px; the
/// same detections in the same order except among scores tied within 1e-4.
/// </summary>
public abstract class ModelParityTests
{
    internal const double BoxTolerance = 1e-3, ScoreTolerance = 1e-4, MinMaskIou = 0.99, KeypointTolerance = 0.5;

    /// <summary>The generator's override: roi_heads.box_predictor.cls_score.weight ×= scale, in float32, in place.</summary>
    internal static void ScaleClassifier(RoiHeads roiHeads, double scale)
    {
        using var noGrad = NoGradScope.Enter();
        roiHeads.BoxPredictor.ClsScore.Weight.Mul_(scale);
    }

    internal static RcnnOptions Options(DetectionFixture fx) => new()
    {
        MinSize = fx.Int("min_size"),
        MaxSize = fx.Int("max_size"),
        RpnPreNmsTopNTest = fx.Int("rpn_pre_nms_top_n_test"),
        RpnPostNmsTopNTest = fx.Int("rpn_post_nms_top_n_test"),
        BoxDetectionsPerImage = fx.Int("box_detections_per_img"),
    };

    internal static T Prepare<T>(T model, DetectionFixture fx) where T : GeneralizedRcnn
    {
        DeterministicWeights.Apply(model);
        ScaleClassifier(model.RoiHeads, fx.Double("cls_score_scale"));
        return model;
    }

    internal static Image LoadImage(int index) => ImageIO.Read(DetectionFixture.File($"image{index}.png"));

    /// <summary>Runs fixture run <paramref name="run"/> and compares every image of it.</summary>
    internal static void CheckRun(GeneralizedRcnn model, DetectionFixture fx, string run)
    {
        var images = fx.Param("runs").EnumerateArray().Single(r => r.GetProperty("name").GetString() == run)
            .GetProperty("images").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.IsTrue(images.Length > 0, $"{run}: no images");
        var inputs = images.Select(LoadImage).ToArray();
        var predictions = model.Predict(inputs);
        Assert.AreEqual(images.Length, predictions.Count);
        for (int slot = 0; slot < images.Length; slot++)
        {
            Assert.AreEqual(inputs[slot].Height, predictions[slot].ImageHeight, $"{run} image {images[slot]}: image height");
            Assert.AreEqual(inputs[slot].Width, predictions[slot].ImageWidth, $"{run} image {images[slot]}: image width");
            CheckPrediction(fx, $"{run}.{slot}.", predictions[slot], $"{run} image {images[slot]}");
        }
    }

    /// <summary>Compares one prediction with the fixture's detections under <paramref name="prefix"/>:
    /// the reference must have some (a parity test must not pass on two empty results), ours the
    /// same number, then boxes, labels, scores, masks and keypoints.</summary>
    internal static void CheckPrediction(DetectionFixture fx, string prefix, Instances p, string what)
    {
        using var scope = DisposeScope.Enter();
        var expectedBoxes = fx.Output(prefix + "boxes");
        Assert.IsTrue(expectedBoxes.Size(0) > 0, $"{what}: the fixture has no detections, so the comparison would test nothing");
        Assert.AreEqual(expectedBoxes.Size(0), (long)p.Count, $"{what}: detections (torchvision's count)");
        var actualBoxes = Tensor.FromArray(p.Boxes.ToXyxy(), p.Count, 4);
        var actualLabels = Tensor.FromArray(p.Labels.Select(l => (long)l).ToArray(), p.Count);
        var actualScores = Tensor.FromArray(p.Scores!.ToArray(), p.Count);
        var order = DetectionAssert.SameDetections((expectedBoxes, fx.Output(prefix + "labels"), fx.Output(prefix + "scores")),
            (actualBoxes, actualLabels, actualScores), BoxTolerance, ScoreTolerance, what);

        if (fx.Root.GetProperty("masks").TryGetProperty(prefix + "masks", out _))
        {
            var expected = fx.Masks(prefix + "masks");
            Assert.IsNotNull(p.Masks, $"{what}: no masks");
            Assert.AreEqual(expected.Length, p.Masks!.Count, $"{what}: masks");
            for (int i = 0; i < expected.Length; i++)
            {
                var truth = new Rle(p.ImageHeight, p.ImageWidth, expected[i]);
                double iou = MaskIou(truth, p.Masks![order[i]]);
                Assert.IsTrue(iou >= MinMaskIou, $"{what}: mask {i} has IoU {iou:F4} with torchvision's (areas {truth.Area} and {p.Masks[order[i]].Area})");
            }
        }
        else Assert.IsNull(p.Masks, $"{what}: masks from a model without a mask head");

        if (fx.Has(prefix + "keypoints"))
        {
            Assert.IsNotNull(p.Keypoints, $"{what}: no keypoints");
            var k = p.Keypoints!.KeypointsPerInstance;
            var actualKeypoints = Tensor.FromArray(p.Keypoints.Data.ToArray(), p.Count, k, 3);
            DetectionAssert.CloseRows(fx.Output(prefix + "keypoints"), actualKeypoints, order, KeypointTolerance, $"{what}: keypoints");
            // Keypoint scores are heatmap logits at the argmax; float32 noise only.
            DetectionAssert.CloseRows(fx.Output(prefix + "keypoints_scores"), Tensor.FromArray(p.KeypointScoreData.ToArray(), p.Count, k),
                order, 1e-3, $"{what}: keypoint scores");
        }
    }

    /// <summary>
    /// With a score threshold nothing can pass (probabilities never exceed 1), every image of a
    /// batch comes back empty, at its own size, with empty (not null) masks / keypoints for the
    /// model's heads; the raw tensors have their empty shapes.
    /// </summary>
    internal static void CheckZeroDetections(GeneralizedRcnn model)
    {
        var saved = model.RoiHeads.Settings;
        try
        {
            model.RoiHeads.Settings = saved with { ScoreThresh = 1.0 };
            var images = new[] { LoadImage(0), LoadImage(2) };
            var predictions = model.Predict(images);
            for (int i = 0; i < images.Length; i++)
            {
                var p = predictions[i];
                Assert.AreEqual(0, p.Count, $"image {i}");
                Assert.AreEqual((images[i].Height, images[i].Width), (p.ImageHeight, p.ImageWidth), $"image {i}: size");
                Assert.AreEqual(model.RoiHeads.HasMask ? 0 : -1, p.Masks?.Count ?? -1, $"image {i}: masks");
                Assert.AreEqual(model.RoiHeads.HasKeypoint ? 0 : -1, p.Keypoints?.Count ?? -1, $"image {i}: keypoints");
            }
            using var scope = DisposeScope.Enter();
            var raw = model.Detect(new[] { GeneralizedRcnn.ToUnitTensor(images[1]) })[0];
            CollectionAssert.AreEqual(new long[] { 0, 4 }, raw.Boxes.Shape);
            if (raw.Masks is not null) CollectionAssert.AreEqual(new long[] { 0, 1, images[1].Height, images[1].Width }, raw.Masks.Shape);
            if (raw.Keypoints is not null) CollectionAssert.AreEqual(new long[] { 0, 17, 3 }, raw.Keypoints.Shape);
        }
        finally { model.RoiHeads.Settings = saved; }
    }

    /// <summary>A 2×3 grey image (upscaled 160× to 320×480) against torchvision's detections on it
    /// (tiny_grey_&lt;model&gt;.json, which has some): the prediction refers to the original size,
    /// every box lies inside it and the detections are torchvision's.</summary>
    internal static void CheckTinyGreyImage(GeneralizedRcnn model, string modelName)
    {
        var fx = DetectionFixture.Load($"tiny_grey_{modelName}.json");
        var pixels = fx.Param("image").EnumerateArray().SelectMany(row => row.EnumerateArray().Select(v => (byte)v.GetInt32())).ToArray();
        var image = new Image(2, 3, 1, pixels);
        var p = model.Predict(image);
        Assert.AreEqual((2, 3), (p.ImageHeight, p.ImageWidth));
        Assert.AreEqual(fx.Int("count"), p.Count, "detections on the tiny grey image (torchvision's count)");
        CheckPrediction(fx, "tiny.0.", p, "tiny grey image");
        var boxes = p.Boxes.ToXyxy();
        for (int i = 0; i < p.Count; i++)
            Assert.IsTrue(boxes[4 * i] >= 0 && boxes[4 * i + 1] >= 0 && boxes[4 * i + 2] <= 3 + 1e-4 && boxes[4 * i + 3] <= 2 + 1e-4,
                $"box {i} [{string.Join(", ", boxes.Skip(4 * i).Take(4))}] leaves the 2×3 image");
        if (p.Masks is not null) Assert.IsTrue(p.Masks.All(m => m.Height == 2 && m.Width == 3));
    }

    /// <summary>Predict frees every native tensor it creates: a second call leaves the live count where it was.</summary>
    internal static void CheckNoTensorLeaks(GeneralizedRcnn model)
    {
        var image = LoadImage(1);
        model.Predict(image);  // warm-up: lazily created state (RoIAlign scales, anchors) is not a leak
        long before = TorchRuntime.LiveTensors;
        var p = model.Predict(image);
        Assert.IsTrue(p.Count > 0);
        Assert.AreEqual(before, TorchRuntime.LiveTensors, "live native tensors after Predict");
    }

    /// <summary>IoU of two masks; two empty masks are identical (IoU 1).</summary>
    internal static double MaskIou(Rle a, Rle b)
    {
        if (a.Area == 0 && b.Area == 0) return 1;
        return Rle.Iou(new[] { b }, new[] { a }, new[] { false })[0, 0];
    }
}

[TestClass]
public sealed class MaskRcnnParityTests : ModelParityTests
{
    private static MaskRcnn? model;
    private static DetectionFixture? fixture;

    [ClassInitialize]
    public static void Setup(TestContext _)
    {
        fixture = DetectionFixture.Load("model_maskrcnn_resnet50_fpn.json");
        model = Prepare(MaskRcnn.ResNet50Fpn(Options(fixture)), fixture);
    }

    [ClassCleanup]
    public static void Cleanup() => model?.Dispose();

    [TestMethod] public void Image0() => CheckRun(model!, fixture!, "image0");
    [TestMethod] public void Image1Portrait() => CheckRun(model!, fixture!, "image1");
    [TestMethod] public void Image2WideLimitedByMaxSize() => CheckRun(model!, fixture!, "image2");
    [TestMethod] public void BatchOfTwo() => CheckRun(model!, fixture!, "batch01");
    [TestMethod] public void ZeroDetectionsGiveEmptyInstancesOfTheImageSize() => CheckZeroDetections(model!);
    [TestMethod] public void TinyGreyImage() => CheckTinyGreyImage(model!, "maskrcnn_resnet50_fpn");
    [TestMethod] public void PredictFreesItsTensors() => CheckNoTensorLeaks(model!);
}

[TestClass]
public sealed class KeypointRcnnParityTests : ModelParityTests
{
    private static KeypointRcnn? model;
    private static DetectionFixture? fixture;

    [ClassInitialize]
    public static void Setup(TestContext _)
    {
        fixture = DetectionFixture.Load("model_keypointrcnn_resnet50_fpn.json");
        model = Prepare(KeypointRcnn.ResNet50Fpn(Options(fixture)), fixture);
    }

    [ClassCleanup]
    public static void Cleanup() => model?.Dispose();

    [TestMethod] public void Image0() => CheckRun(model!, fixture!, "image0");
    [TestMethod] public void Image1Portrait() => CheckRun(model!, fixture!, "image1");
    [TestMethod] public void Image2WideLimitedByMaxSize() => CheckRun(model!, fixture!, "image2");
    [TestMethod] public void BatchOfTwo() => CheckRun(model!, fixture!, "batch01");
    [TestMethod] public void ZeroDetectionsGiveEmptyInstancesOfTheImageSize() => CheckZeroDetections(model!);
    [TestMethod] public void TinyGreyImage() => CheckTinyGreyImage(model!, "keypointrcnn_resnet50_fpn");
    [TestMethod] public void PredictFreesItsTensors() => CheckNoTensorLeaks(model!);
}
