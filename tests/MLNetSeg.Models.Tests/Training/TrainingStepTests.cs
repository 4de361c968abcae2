using System.Text.Json;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Models.Tests.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.Tests.Training;

/// <summary>
/// One training step of a whole model against torchvision 0.14 (fixtures step_*.json,
/// tools/fixtures/gen_training.py): the same deterministic weights, images (the detection
/// fixtures' image0/image1.png), targets and torch.manual_seed before the call; small images and
/// fewer proposals / sampled RoIs on both sides (the fixture's settings).
/// Each step runs twice: in float32 (step_&lt;model&gt;.json), compared loosely, since float32 sums
/// round differently with the CPU's kernels (oneDNN's AVX-512 or AVX2 convolutions, OpenBLAS's
/// per-core GEMMs), the thread count and our RoIAlign (the aten-composed kernel where torchvision
/// runs its own); and in float64 (step_&lt;model&gt;_float64.json), where that noise is ~1e-16 and
/// tight tolerances pin every loss and gradient on any CPU.
/// Gradients (of the sum of the losses) are compared per tensor by relative L2 norm over the
/// fixture's sampled elements, ‖ours − torchvision‖ / ‖torchvision‖, and by the full tensor's norm.
/// </summary>
public abstract class TrainingStepTests
{
    // Tolerances come from the spread measured by tools/fixtures/measure_step_spread.py: the step
    // tests (C#) and torchvision's own step (the generator, regenerated) against the committed
    // fixtures, which an AVX-512 machine wrote, over threads 1/2/4 × OPENBLAS_CORETYPE default
    // (Cooperlake on that machine)/Haswell/Zen/Sandybridge/Prescott × ONEDNN_MAX_CPU_ISA default
    // (AVX-512)/AVX2 (30 configurations; C# also once with torchvision's native RoIAlign).
    // oneDNN's AVX2 convolutions (what an AMD EPYC without AVX-512 runs) move float32 gradients
    // the most; torchvision moves as much as we do (keypoint_head.0.weight: 5.2e-3 against its own
    // fixture), so this is float32 rounding, not a difference between the implementations, which
    // the float64 twins bound at ~3e-15.
    // A run can differ from the reference by up to twice the measured spread (fixture regenerated
    // on one CPU, test run on another); a margin of 2 on top of that covers CPUs not measured.

    /// <summary>float32 losses, relative: measured at most 1.75e-6 (Keypoint R-CNN loss_box_reg,
    /// 1 thread, Haswell BLAS, AVX2 convolutions; torchvision itself 1.67e-6); 4 × that, rounded up
    /// (it was 1e-4).</summary>
    internal const double LossTolerance = 1e-5;

    /// <summary>float32 gradients: the largest relative L2 error measured per tensor (the larger of
    /// C# and regenerated torchvision, over all configurations), and the tensor's tolerance is
    /// <see cref="SpreadMargin"/> × that, at least <see cref="MinGradTolerance"/> (so 1e-5 for the
    /// heads near the loss, 2.1e-2 for keypoint_head.0.weight). The error of the full tensor's norm
    /// (at most 2.9e-4) was never larger than that of the sampled elements: it gets the same
    /// tolerance. (Before: each sampled element within 1e-3 × max |g|, which AVX2 convolutions
    /// broke: layer2.0.conv1.weight off by 1.69e-5 where 1.64e-5 was allowed.)</summary>
    internal static readonly IReadOnlyDictionary<string, double> Float32GradSpread = new Dictionary<string, double>
    {
        // Mask R-CNN: the heads near the loss move ~1e-6; the deep convolutions up to 1e-3.
        ["step_maskrcnn_resnet50_fpn/rpn.head.cls_logits.weight"] = 2.31e-7,
        ["step_maskrcnn_resnet50_fpn/rpn.head.bbox_pred.weight"] = 1.94e-6,
        ["step_maskrcnn_resnet50_fpn/roi_heads.box_predictor.cls_score.weight"] = 8.21e-7,
        ["step_maskrcnn_resnet50_fpn/roi_heads.box_predictor.bbox_pred.weight"] = 2.34e-6,
        ["step_maskrcnn_resnet50_fpn/roi_heads.mask_predictor.mask_fcn_logits.weight"] = 1.47e-6,
        ["step_maskrcnn_resnet50_fpn/roi_heads.box_head.fc6.weight"] = 6.53e-7,
        ["step_maskrcnn_resnet50_fpn/backbone.fpn.layer_blocks.0.0.weight"] = 1.51e-4,
        ["step_maskrcnn_resnet50_fpn/backbone.body.layer4.2.conv3.weight"] = 9.33e-5,
        ["step_maskrcnn_resnet50_fpn/backbone.body.layer2.0.conv1.weight"] = 9.88e-4,
        // Keypoint R-CNN: the keypoint head's first conv, behind seven more 3×3 convs with ReLUs, a
        // transposed conv and a 3136-way softmax per keypoint, moves the most of all.
        ["step_keypointrcnn_resnet50_fpn/rpn.head.cls_logits.weight"] = 2.02e-7,
        ["step_keypointrcnn_resnet50_fpn/roi_heads.box_predictor.cls_score.weight"] = 7.45e-7,
        ["step_keypointrcnn_resnet50_fpn/roi_heads.keypoint_predictor.kps_score_lowres.weight"] = 5.07e-6,
        ["step_keypointrcnn_resnet50_fpn/roi_heads.keypoint_head.0.weight"] = 5.22e-3,
        ["step_keypointrcnn_resnet50_fpn/backbone.body.layer3.0.conv2.weight"] = 8.75e-4,
    };

    internal const double SpreadMargin = 4, MinGradTolerance = 1e-5;

    /// <summary>float64 tolerances (losses relative; gradients relative L2, norm and every sampled
    /// element relative to max |g|): measured at most 2.0e-15 (losses), 4.3e-15 (relative L2),
    /// 4.6e-15 (elements) and 1.8e-14 (norms), C# and regenerated torchvision (C#: threads 1/4 ×
    /// default/AVX2 convolutions, default BLAS, and native RoIAlign; torchvision: all 30
    /// configurations). 1e-12 leaves a margin of 50 over the worst, and no summation order gets
    /// there without a real difference in the computation.</summary>
    internal const double Float64LossTolerance = 1e-12, Float64GradTolerance = 1e-12;

    /// <summary>Threads every step runs with here, whatever $MLNETSEG_THREADS says: the generator's 2.</summary>
    internal const int PinnedThreads = 2;

    /// <summary>Overrides <see cref="PinnedThreads"/> and the pinned RoIAlign backend for
    /// tools/fixtures/measure_step_spread.py only (e.g. "4" or "4,Native"); nothing else sets it.</summary>
    internal const string MeasurementOverride = "MLNETSEG_STEP_TEST_PIN";

    internal static RcnnOptions Options(TrainingFixture fx) => new()
    {
        MinSize = fx.Param("min_size").GetInt32(),
        MaxSize = fx.Param("max_size").GetInt32(),
        RpnPreNmsTopNTrain = fx.Param("rpn_pre_nms_top_n_train").GetInt32(),
        RpnPostNmsTopNTrain = fx.Param("rpn_post_nms_top_n_train").GetInt32(),
        BoxBatchSizePerImage = fx.Param("box_batch_size_per_image").GetInt32(),
    };

    internal static Tensor[] Images(DType dtype = DType.Float32) =>
        new[] { 0, 1 }.Select(i => GeneralizedRcnn.ToUnitTensor(ImageIO.Read(DetectionFixture.File($"image{i}.png"))).To(dtype)).ToArray();

    internal static RcnnTarget[] Targets(TrainingFixture fx, Tensor[] images, bool masks, bool keypoints) => images.Select((image, i) =>
        new RcnnTarget(fx.Output($"target.{i}.boxes"), fx.Output($"target.{i}.labels"),
            masks ? fx.Masks($"target.{i}.masks", (int)image.Size(1), (int)image.Size(2)) : null,
            keypoints ? fx.Output($"target.{i}.keypoints") : null)).ToArray();

    /// <summary>
    /// Runs <paramref name="body"/> with the settings that change float32 results pinned: libtorch's
    /// and OpenBLAS's threads (<see cref="PinnedThreads"/>) and RoIAlign's CPU backend (the composed
    /// one, which every machine has: torchvision's library may be absent or disabled by
    /// $MLNETSEG_TORCHVISION_LIB); restores both afterwards.
    /// </summary>
    internal static void Pinned(Action body)
    {
        int threads = TorchRuntime.Threads;
        var backend = VisionOps.RoiAlignCpuBackend;
        try
        {
            var pin = (Environment.GetEnvironmentVariable(MeasurementOverride) ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            TorchRuntime.Threads = pin.Length > 0 ? int.Parse(pin[0], System.Globalization.CultureInfo.InvariantCulture) : PinnedThreads;
            VisionOps.RoiAlignCpuBackend = pin.Length > 1 ? Enum.Parse<VisionOpsBackend>(pin[1]) : VisionOpsBackend.Composed;
            body();
        }
        finally
        {
            TorchRuntime.Threads = threads;
            VisionOps.RoiAlignCpuBackend = backend;
        }
    }

    /// <summary>Runs the step (seeded, pinned), compares the losses, backpropagates their sum and
    /// compares the gradients, at the float32 or float64 tolerances by the fixture's dtype. Every
    /// value is compared (and reported) before the test fails, naming all that differ.</summary>
    internal static void CheckStep(GeneralizedRcnn model, TrainingFixture fx, RcnnTarget[] targets, Tensor[] images, bool float64) => Pinned(() =>
    {
        using var scope = DisposeScope.Enter();
        var dtype = float64 ? DType.Float64 : DType.Float32;
        Assert.AreEqual(dtype, model.Parameters().First().DType, "model dtype");
        model.Train();
        model.ZeroGrad();
        TorchRuntime.ManualSeed((ulong)fx.Param("seed").GetInt32());
        var losses = model.ComputeLosses(images, targets);

        var failures = new List<string>();
        var dict = losses.ToDictionary();
        var expectedKeys = fx.Param("loss_order").EnumerateArray().Select(e => e.GetString()!).ToArray();
        CollectionAssert.AreEqual(expectedKeys, dict.Keys.ToArray(), "loss names and order (torchvision's dict)");
        double lossTolerance = float64 ? Float64LossTolerance : LossTolerance;
        foreach (var key in expectedKeys)
        {
            Assert.AreEqual(0, dict[key].Dim, $"{key} is a scalar");
            var expectedLoss = fx.Output($"losses.{key}");
            // torchvision's RPN objectness loss stays float32 in a float64 model (its labels are
            // float32 and binary_cross_entropy_with_logits keeps the target's dtype); ours matches.
            Assert.AreEqual(expectedLoss.DType, dict[key].DType, $"{key} dtype (torchvision's)");
            double e = expectedLoss.ItemDouble(), a = dict[key].ItemDouble(), error = Math.Abs(a - e) / Math.Abs(e);
            Report(fx, key, "loss", error);
            if (!(error <= lossTolerance))
                failures.Add($"{key}: {a:R}, torchvision {e:R} (relative error {error:G3}, allowed {lossTolerance})");
        }

        losses.Total().Backward();
        var parameters = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        int compared = 0;
        foreach (var entry in fx.Root.GetProperty("grads").EnumerateObject())
        {
            Assert.IsTrue(parameters.ContainsKey(entry.Name), $"{fx.Path}: no parameter {entry.Name}");
            CheckGradient(fx, entry.Name, entry.Value, parameters[entry.Name].Grad, dtype, failures);
            compared++;
        }
        Assert.IsTrue(compared >= 5, $"{fx.Path}: only {compared} gradients to compare");
        if (failures.Count > 0)
            Assert.Fail($"{System.IO.Path.GetFileName(fx.Path)}: {failures.Count} value(s) differ from torchvision's:\n" + string.Join("\n", failures));
    });

    private static void CheckGradient(TrainingFixture fx, string name, JsonElement doc, Tensor? grad, DType dtype, List<string> failures)
    {
        Assert.IsNotNull(grad, $"{name}: no gradient (is the parameter frozen or detached?)");
        Assert.AreEqual(dtype, grad!.DType, $"{name}: gradient dtype");
        var sampled = fx.ParseTensor(doc.GetProperty("values"), $"grads.{name}");
        Assert.AreEqual(dtype, sampled.DType, $"fixture grads.{name} dtype");
        var expected = TrainingAssert.Floats(sampled);
        long stride = doc.GetProperty("stride").GetInt64();
        var flat = TrainingAssert.Floats(grad.Reshape(-1));
        Assert.AreEqual((flat.Length + stride - 1) / stride, expected.Length, $"{name}: sampled elements (every {stride}th of {flat.Length})");
        double expectedNorm = Math.Sqrt(expected.Sum(v => v * v)), difference = 0, scale = expected.Select(Math.Abs).Max(), worst = 0;
        long worstAt = 0;
        Assert.IsTrue(scale > 0, $"{name}: the fixture's sampled gradient is all zero and would test nothing");
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs(flat[i * stride] - expected[i]);
            difference += d * d;
            if (d > worst) (worst, worstAt) = (d, i * stride);
        }
        double relativeL2 = Math.Sqrt(difference) / Math.Max(expectedNorm, double.Epsilon);
        double norm = Math.Sqrt(flat.Sum(v => v * v)), fixtureNorm = doc.GetProperty("norm").GetDouble();
        double normError = Math.Abs(norm - fixtureNorm) / fixtureNorm;
        Report(fx, name, "grad", relativeL2, worst / scale, normError);

        double tolerance = dtype == DType.Float64 ? Float64GradTolerance : Float32GradTolerance(fx, name);
        if (!(relativeL2 <= tolerance))
            failures.Add($"{name}: gradient differs by {relativeL2:G3} (relative L2 over {expected.Length} sampled elements; allowed {tolerance:G3}); " +
                         $"worst element {worstAt}: {flat[worstAt]:R}, torchvision {expected[worstAt / stride]:R}");
        if (!(normError <= tolerance))
            failures.Add($"{name}: gradient norm {norm:R}, torchvision {fixtureNorm:R} (relative error {normError:G3}, allowed {tolerance:G3})");
        // float64 leaves no rounding noise to hide in: every sampled element is pinned too.
        if (dtype == DType.Float64 && !(worst <= Float64GradTolerance * scale))
            failures.Add($"{name}: gradient element {worstAt} is {flat[worstAt]:R}, torchvision {expected[worstAt / stride]:R} " +
                         $"(allowed {Float64GradTolerance} × max |g| = {Float64GradTolerance * scale:G3})");
    }

    private static double Float32GradTolerance(TrainingFixture fx, string name)
    {
        string key = $"{System.IO.Path.GetFileNameWithoutExtension(fx.Path)}/{name}";
        if (!Float32GradSpread.TryGetValue(key, out var spread))
            Assert.Fail($"{key}: no measured float32 spread; measure it with tools/fixtures/measure_step_spread.py and add it to {nameof(Float32GradSpread)}");
        return Math.Max(SpreadMargin * spread, MinGradTolerance);
    }

    /// <summary>One line per compared value, for tools/fixtures/measure_step_spread.py (visible with
    /// --logger "console;verbosity=detailed").</summary>
    internal static void Report(TrainingFixture fx, string name, string kind, params double[] errors) =>
        Console.WriteLine($"STEP-SPREAD {System.IO.Path.GetFileNameWithoutExtension(fx.Path)} {kind} {name} " +
                          string.Join(" ", errors.Select(e => e.ToString("G3", System.Globalization.CultureInfo.InvariantCulture))));
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
        CheckStep(model, fx, Targets(fx, images, masks: true, keypoints: false), images, float64: false);
    }

    /// <summary>The same step with the model widened to float64 (step_maskrcnn_resnet50_fpn_float64.json).</summary>
    [TestMethod]
    public void OneStepInFloat64EqualsTorchvisionTightly()
    {
        var fx64 = TrainingFixture.Load("step_maskrcnn_resnet50_fpn_float64.json");
        using var model64 = DeterministicWeights.Apply(MaskRcnn.ResNet50Fpn(Options(fx64)));
        model64.To(DType.Float64);  // as the generator: float32 values, widened
        using var scope = DisposeScope.Enter();
        var images = Images(DType.Float64);
        CheckStep(model64, fx64, Targets(fx64, images, masks: true, keypoints: false), images, float64: true);
    }

    /// <summary>The RPN and RoI heads alone on deterministic features with two empty targets: every
    /// anchor and proposal is background, box and mask losses are exactly 0 (torchvision's
    /// mask_logits.sum() · 0), objectness and classifier equal torchvision's at <see cref="LossTolerance"/> (measured: 1.1e-7).</summary>
    [TestMethod]
    public void EmptyTargetsTrainOnBackgroundOnly() => Pinned(() =>
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
        Report(fx, "heads_empty.loss_objectness", "loss", Math.Abs(rpn.Objectness.ItemDouble() / Expected("loss_objectness") - 1));
        Report(fx, "heads_empty.loss_classifier", "loss", Math.Abs(heads.Classifier.ItemDouble() / Expected("loss_classifier") - 1));
        TrainingAssert.Relative(Expected("loss_objectness"), rpn.Objectness.ItemDouble(), LossTolerance, "loss_objectness");
        TrainingAssert.Relative(Expected("loss_classifier"), heads.Classifier.ItemDouble(), LossTolerance, "loss_classifier");
        Assert.AreEqual(0.0, Expected("loss_rpn_box_reg"));
        Assert.AreEqual(0.0, rpn.BoxReg.ItemDouble(), "loss_rpn_box_reg without positives");
        Assert.AreEqual(0.0, heads.BoxReg.ItemDouble(), "loss_box_reg without positives");
        Assert.AreEqual(0.0, heads.Mask!.ItemDouble(), "loss_mask without positives");
        Assert.IsNull(heads.Keypoint);
    });

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
        CheckStep(model, fx, targets, images, float64: false);
    }

    /// <summary>The same step with the model widened to float64 (step_keypointrcnn_resnet50_fpn_float64.json);
    /// keypoints stay float32, as torchvision and <see cref="RcnnTarget"/> require.</summary>
    [TestMethod]
    public void OneStepWithAnEmptyImageInFloat64EqualsTorchvisionTightly()
    {
        var fx64 = TrainingFixture.Load("step_keypointrcnn_resnet50_fpn_float64.json");
        using var model64 = DeterministicWeights.Apply(KeypointRcnn.ResNet50Fpn(Options(fx64)));
        model64.To(DType.Float64);
        using var scope = DisposeScope.Enter();
        var images = Images(DType.Float64);
        var targets = Targets(fx64, images, masks: false, keypoints: true);
        Assert.AreEqual(0, targets[1].Count, "fixture: image 1 has no target");
        CheckStep(model64, fx64, targets, images, float64: true);
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
