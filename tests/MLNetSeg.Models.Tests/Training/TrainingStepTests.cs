using System.Text.Json;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Models.Tests.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Models.Tests.Training;

/// <summary>
/// One training step of a whole model against torchvision 0.14 (fixtures step_*.json,
/// tools/fixtures/gen_training.py): the same deterministic weights, images (the detection
/// fixtures' image0/image1.png), targets and torch.manual_seed before the call; small images and
/// fewer proposals / sampled RoIs on both sides (the fixture's settings).
/// Tolerances: losses 1e-4 relative (float32 forward through ResNet-50; our RoIAlign is the
/// aten-composed kernel where torchvision runs its own, so sums round differently); gradients of
/// the sum of the losses 1e-3: each sampled element within 1e-3 · max|g| of torchvision's and the
/// gradient's L2 norm within 1e-3 relative.
/// </summary>
public abstract class TrainingStepTests
{
    internal const double LossTolerance = 1e-4, GradTolerance = 1e-3;

    internal static RcnnOptions Options(TrainingFixture fx) => new()
    {
        MinSize = fx.Param("min_size").GetInt32(),
        MaxSize = fx.Param("max_size").GetInt32(),
        RpnPreNmsTopNTrain = fx.Param("rpn_pre_nms_top_n_train").GetInt32(),
        RpnPostNmsTopNTrain = fx.Param("rpn_post_nms_top_n_train").GetInt32(),
        BoxBatchSizePerImage = fx.Param("box_batch_size_per_image").GetInt32(),
    };

    internal static Tensor[] Images() => new[] { 0, 1 }.Select(i => GeneralizedRcnn.ToUnitTensor(ImageIO.Read(DetectionFixture.File($"image{i}.png")))).ToArray();

    internal static RcnnTarget[] Targets(TrainingFixture fx, Tensor[] images, bool masks, bool keypoints) => images.Select((image, i) =>
        new RcnnTarget(fx.Output($"target.{i}.boxes"), fx.Output($"target.{i}.labels"),
            masks ? fx.Masks($"target.{i}.masks", (int)image.Size(1), (int)image.Size(2)) : null,
            keypoints ? fx.Output($"target.{i}.keypoints") : null)).ToArray();

    /// <summary>Runs the step (seeded), compares the losses, backpropagates their sum and compares the gradients.</summary>
    internal static void CheckStep(GeneralizedRcnn model, TrainingFixture fx, RcnnTarget[] targets, Tensor[] images)
    {
        using var scope = DisposeScope.Enter();
        model.Train();
        model.ZeroGrad();
        TorchRuntime.ManualSeed((ulong)fx.Param("seed").GetInt32());
        var losses = model.ComputeLosses(images, targets);

        var dict = losses.ToDictionary();
        var expectedKeys = fx.Param("loss_order").EnumerateArray().Select(e => e.GetString()!).ToArray();
        CollectionAssert.AreEqual(expectedKeys, dict.Keys.ToArray(), "loss names and order (torchvision's dict)");
        foreach (var key in expectedKeys)
        {
            Assert.AreEqual(0, dict[key].Dim, $"{key} is a scalar");
            TrainingAssert.Relative(fx.Output($"losses.{key}").ItemDouble(), dict[key].ItemDouble(), LossTolerance, key);
        }

        losses.Total().Backward();
        var parameters = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        foreach (var entry in fx.Root.GetProperty("grads").EnumerateObject())
            CheckGradient(fx, entry.Name, entry.Value, parameters[entry.Name].Grad);
    }

    private static void CheckGradient(TrainingFixture fx, string name, JsonElement doc, Tensor? grad)
    {
        Assert.IsNotNull(grad, $"{name}: no gradient (is the parameter frozen or detached?)");
        var expected = TrainingAssert.Floats(fx.ParseTensor(doc.GetProperty("values"), $"grads.{name}"));
        long stride = doc.GetProperty("stride").GetInt64();
        var flat = TrainingAssert.Floats(grad!.Reshape(-1));
        double scale = expected.Select(Math.Abs).Max();
        Assert.IsTrue(scale > 0, $"{name}: the fixture's sampled gradient is all zero and would test nothing");
        for (int i = 0; i < expected.Length; i++)
        {
            double actual = flat[i * stride];
            if (!(Math.Abs(actual - expected[i]) <= GradTolerance * scale))
                Assert.Fail($"{name}: gradient element {i * stride} is {actual:R}, torchvision {expected[i]:R} (allowed {GradTolerance} × max |g| = {GradTolerance * scale:G3})");
        }
        double norm = Math.Sqrt(flat.Sum(v => v * v));
        TrainingAssert.Relative(doc.GetProperty("norm").GetDouble(), norm, GradTolerance, $"{name}: gradient norm");
    }
}

[TestClass]
public sealed class MaskRcnnTrainingStepTests : TrainingStepTests
{
    private static MaskRcnn model = null!;
    private static TrainingFixture fx = null!;

    [ClassInitialize]
    public static void Setup(TestContext _)
    {
        fx = TrainingFixture.Load("step_maskrcnn_resnet50_fpn.json");
        model = DeterministicWeights.Apply(MaskRcnn.ResNet50Fpn(Options(fx)));
    }

    [ClassCleanup]
    public static void Cleanup() => model?.Dispose();

    [TestMethod]
    public void OneStepLossesAndGradientsEqualTorchvision()
    {
        using var scope = DisposeScope.Enter();
        var images = Images();
        CheckStep(model, fx, Targets(fx, images, masks: true, keypoints: false), images);
    }

    /// <summary>The RPN and RoI heads alone on deterministic features with two empty targets: every
    /// anchor and proposal is background, box and mask losses are exactly 0 (torchvision's
    /// mask_logits.sum() · 0), objectness and classifier equal torchvision's at 1e-4.</summary>
    [TestMethod]
    public void EmptyTargetsTrainOnBackgroundOnly()
    {
        using var scope = DisposeScope.Enter();
        using var noGrad = NoGradScope.Enter();
        model.Train();
        var doc = fx.Root.GetProperty("heads_empty");
        var sizes = doc.GetProperty("image_sizes").EnumerateArray().Select(s => (s[0].GetInt32(), s[1].GetInt32())).ToArray();
        var padded = doc.GetProperty("padded").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        var strides = new[] { ("0", 4L), ("1", 8L), ("2", 16L), ("3", 32L) };
        var levels = strides.Select(l => DeterministicWeights.Uniform($"training.features.{l.Item1}",
            new[] { 2L, 256, padded[0] / l.Item2, padded[1] / l.Item2 }) * 2.0 - 1.0).ToList();
        levels.Add(DeterministicWeights.Uniform("training.features.pool", new[] { 2L, 256, 4, 4 }) * 2.0 - 1.0);
        var images = new ImageList(Tensor.Zeros(new[] { 2L, 3, padded[0], padded[1] }), sizes);
        var targets = sizes.Select(s => RcnnTarget.Empty(s.Item1, s.Item2, masks: true)).ToArray();

        TorchRuntime.ManualSeed((ulong)fx.Param("seed").GetInt32());
        var rpn = model.Rpn.ForwardTraining(images, levels, targets.Select(t => t.Boxes).ToArray());
        CollectionAssert.AreEqual(doc.GetProperty("proposals").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
            rpn.Proposals.Select(p => p.Size(0)).ToArray(), "proposals per image");
        var heads = model.RoiHeads.ComputeLosses(levels.Take(4).ToArray(), rpn.Proposals, sizes, targets);
        var expected = doc.GetProperty("losses");
        double Expected(string key) => fx.ParseTensor(expected.GetProperty(key), key).ItemDouble();
        TrainingAssert.Relative(Expected("loss_objectness"), rpn.Objectness.ItemDouble(), LossTolerance, "loss_objectness");
        TrainingAssert.Relative(Expected("loss_classifier"), heads.Classifier.ItemDouble(), LossTolerance, "loss_classifier");
        Assert.AreEqual(0.0, Expected("loss_rpn_box_reg"));
        Assert.AreEqual(0.0, rpn.BoxReg.ItemDouble(), "loss_rpn_box_reg without positives");
        Assert.AreEqual(0.0, heads.BoxReg.ItemDouble(), "loss_box_reg without positives");
        Assert.AreEqual(0.0, heads.Mask!.ItemDouble(), "loss_mask without positives");
        Assert.IsNull(heads.Keypoint);
    }

    /// <summary>A training step (losses and backward) frees every native tensor it creates; small
    /// images (short side 32) keep it cheap.</summary>
    [TestMethod]
    public void ComputeLossesFreesItsTensors()
    {
        var saved = model.Transform.TrainMinSizes;
        model.Train();
        try
        {
            model.Transform.TrainMinSizes = new[] { 32 };
            void Step()
            {
                using var scope = DisposeScope.Enter();
                var image = DeterministicWeights.Uniform("training.test.leak", new long[] { 3, 40, 48 });
                var mask = Tensor.Zeros(new long[] { 1, 40, 48 }, DType.UInt8);
                mask.Slice(1, 5, 35).Slice(2, 4, 30).Fill_(1);
                var target = new RcnnTarget(Tensor.FromArray(new float[] { 4, 5, 30, 35 }, 1, 4), Tensor.FromArray(new long[] { 1 }, 1), mask);
                model.ComputeLosses(new[] { image, image }, new[] { target, RcnnTarget.Empty(40, 48, masks: true) }).Total().Backward();
            }
            Step();  // warm-up: gradients and lazily created state are not leaks
            long before = TorchRuntime.LiveTensors;
            Step();
            Assert.AreEqual(before, TorchRuntime.LiveTensors, "live native tensors after a training step");
        }
        finally
        {
            model.Transform.TrainMinSizes = saved;
            model.ZeroGrad();
        }
    }

    [TestMethod]
    public void ComputeLossesNeedsTrainingMode()
    {
        using var scope = DisposeScope.Enter();
        var images = Images();
        var targets = Targets(fx, images, masks: true, keypoints: false);
        model.Eval();
        try
        {
            var e = Assert.ThrowsException<InvalidOperationException>(() => model.ComputeLosses(images, targets));
            StringAssert.Contains(e.Message, "Train()");
        }
        finally { model.Train(); }
        Assert.ThrowsException<InvalidOperationException>(() => model.Detect(images), "Detect refuses training mode: training returns no detections");
    }

    [TestMethod]
    public void BadTargetsAreNamedByImageAndField()
    {
        using var scope = DisposeScope.Enter();
        model.Train();
        var images = Images();
        var good = Targets(fx, images, masks: true, keypoints: false);
        void Expect(string fragment, params RcnnTarget[] targets)
        {
            var e = Assert.ThrowsException<ArgumentException>(() => model.ComputeLosses(images, targets));
            StringAssert.Contains(e.Message, fragment);
        }
        Expect("2 images but 1 targets", good[0]);
        Expect("target 1: masks is missing", good[0], new RcnnTarget(good[1].Boxes, good[1].Labels));
        Expect("target 1: masks has shape", good[0], new RcnnTarget(good[1].Boxes, good[1].Labels, good[0].Masks));
        Expect("target 0: labels is Int32", new RcnnTarget(good[0].Boxes, good[0].Labels.To(DType.Int32), good[0].Masks), good[1]);
        Expect("target 0: labels range over [0,", new RcnnTarget(good[0].Boxes, good[0].Labels * 0L, good[0].Masks), good[1]);
        Expect("target 1: boxes has shape [5, 3]", good[0], new RcnnTarget(good[1].Boxes.Slice(1, 0, 3), good[1].Labels, good[1].Masks));
        var flipped = good[1].Boxes.Clone();
        flipped.Fill_(500.0, 2, 0);
        Expect("target 1: boxes row 2 is degenerate", good[0], new RcnnTarget(flipped, good[1].Labels, good[1].Masks));
    }
}

[TestClass]
public sealed class KeypointRcnnTrainingStepTests : TrainingStepTests
{
    private static KeypointRcnn model = null!;
    private static TrainingFixture fx = null!;

    [ClassInitialize]
    public static void Setup(TestContext _)
    {
        fx = TrainingFixture.Load("step_keypointrcnn_resnet50_fpn.json");
        model = DeterministicWeights.Apply(KeypointRcnn.ResNet50Fpn(Options(fx)));
    }

    [ClassCleanup]
    public static void Cleanup() => model?.Dispose();

    /// <summary>Image 0 has five "persons" (some keypoints invisible or outside their box), image 1 no
    /// target at all: an empty image takes part in the same batch.</summary>
    [TestMethod]
    public void OneStepWithAnEmptyImageEqualsTorchvision()
    {
        using var scope = DisposeScope.Enter();
        var images = Images();
        var targets = Targets(fx, images, masks: false, keypoints: true);
        Assert.AreEqual(0, targets[1].Count, "fixture: image 1 has no target");
        CheckStep(model, fx, targets, images);
    }

    [TestMethod]
    public void KeypointsAreRequiredWithTheirShape()
    {
        using var scope = DisposeScope.Enter();
        model.Train();
        var images = Images();
        var good = Targets(fx, images, masks: false, keypoints: true);
        var e = Assert.ThrowsException<ArgumentException>(() => model.ComputeLosses(images, new[] { new RcnnTarget(good[0].Boxes, good[0].Labels), good[1] }));
        StringAssert.Contains(e.Message, "target 0: keypoints is missing");
        e = Assert.ThrowsException<ArgumentException>(() => model.ComputeLosses(images,
            new[] { new RcnnTarget(good[0].Boxes, good[0].Labels, keypoints: good[0].Keypoints!.Slice(1, 0, 5)), good[1] }));
        StringAssert.Contains(e.Message, "target 0: keypoints has shape [5, 5, 3]; expected [5, 17, 3]");
    }
}
