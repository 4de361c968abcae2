using MLNetSeg.Torch;
using MLNetSeg.Torch.Tests.Parity;

namespace MLNetSeg.Torch.Tests;

/// <summary>
/// Runs every fixture in tests/fixtures/nn/functional (written by tools/fixtures/gen_nn.py from
/// torch 1.13 / torchvision 0.14) through <see cref="Functional"/> and compares the outputs and
/// the gradients of the inputs the generator marked.
/// Tolerance: the fixtures are float64 and we call the same aten kernels, so only the last few
/// ulps may differ (BLAS/convolution summation order): rtol 1e-10, atol 1e-12
/// (<see cref="Tolerance.Float64"/>). Integer outputs and dropout masks compare exactly.
/// </summary>
[TestClass]
public class FunctionalParityTests
{
    private const string Area = "nn/functional";

    private delegate IReadOnlyDictionary<string, Tensor> Runner(ParityFixture f, IReadOnlyDictionary<string, Tensor> inputs);

    private static IReadOnlyDictionary<string, Tensor> Out(Tensor t) => new Dictionary<string, Tensor> { ["out"] = t };

    private static Size2 Pair(ParityFixture f, string name)
    {
        var v = f.Longs(name);
        return v.Length == 2 ? new Size2(v[0], v[1]) : throw new InvalidDataException($"{f.Path}: params.{name} should hold 2 numbers");
    }

    private static Tensor? Opt(IReadOnlyDictionary<string, Tensor> i, string name) => i.TryGetValue(name, out var t) ? t : null;

    private static Reduction ReductionOf(ParityFixture f) => f.String("reduction") switch
    {
        "none" => Reduction.None,
        "mean" => Reduction.Mean,
        "sum" => Reduction.Sum,
        var s => throw new InvalidDataException($"{f.Path}: unknown reduction '{s}'"),
    };

    /// <summary>One runner per op name written by the generator.</summary>
    private static readonly Dictionary<string, Runner> Runners = new()
    {
        ["conv2d"] = (f, i) => Out(Functional.Conv2d(i["x"], i["w"], Opt(i, "b"), Pair(f, "stride"), Pair(f, "padding"),
            Pair(f, "dilation"), f.Long("groups"))),
        ["conv_transpose2d"] = (f, i) => Out(Functional.ConvTranspose2d(i["x"], i["w"], Opt(i, "b"), Pair(f, "stride"),
            Pair(f, "padding"), Pair(f, "output_padding"), f.Long("groups"), Pair(f, "dilation"))),
        ["linear"] = (_, i) => Out(Functional.Linear(i["x"], i["w"], i["b"])),
        ["batch_norm"] = (f, i) =>
        {
            bool training = f.HasParam("momentum");
            var y = training
                ? Functional.BatchNorm(i["x"], i["running_mean"], i["running_var"], i["w"], i["b"], training: true,
                    momentum: f.Double("momentum"), eps: f.Double("eps"))
                : Functional.BatchNorm(i["x"], i["running_mean"], i["running_var"], i["w"], i["b"], training: false, eps: f.Double("eps"));
            // In training the running stats (inputs) are updated in place, like torch's.
            return new Dictionary<string, Tensor> { ["out"] = y, ["running_mean"] = i["running_mean"], ["running_var"] = i["running_var"] };
        },
        ["group_norm"] = (f, i) => Out(Functional.GroupNorm(i["x"], f.Long("num_groups"), i["w"], i["b"], f.Double("eps"))),
        ["relu"] = (_, i) => Out(Functional.Relu(i["x"])),
        ["sigmoid"] = (_, i) => Out(Functional.Sigmoid(i["x"])),
        ["softmax"] = (f, i) => Out(Functional.Softmax(i["x"], f.Long("dim"))),
        ["log_softmax"] = (f, i) => Out(Functional.LogSoftmax(i["x"], f.Long("dim"))),
        ["max_pool2d"] = (f, i) => Out(Functional.MaxPool2d(i["x"], Pair(f, "kernel_size"), Pair(f, "stride"), Pair(f, "padding"),
            Pair(f, "dilation"), f.Bool("ceil_mode"))),
        ["avg_pool2d"] = (f, i) => Out(Functional.AvgPool2d(i["x"], Pair(f, "kernel_size"), Pair(f, "stride"), Pair(f, "padding"),
            f.Bool("ceil_mode"), f.Bool("count_include_pad"))),
        ["adaptive_avg_pool2d"] = (f, i) => Out(Functional.AdaptiveAvgPool2d(i["x"], Pair(f, "output_size"))),
        ["interpolate"] = (f, i) =>
        {
            var mode = f.String("mode") switch
            {
                "nearest" => InterpolationMode.Nearest,
                "nearest-exact" => InterpolationMode.NearestExact,
                "bilinear" => InterpolationMode.Bilinear,
                "bicubic" => InterpolationMode.Bicubic,
                var m => throw new InvalidDataException($"{f.Path}: unknown mode '{m}'"),
            };
            Size2? size = f.HasParam("size") ? Pair(f, "size") : null;
            (double, double)? scale = f.HasParam("scale_factor") ? (f.Doubles("scale_factor")[0], f.Doubles("scale_factor")[1]) : null;
            bool? corners = f.HasParam("align_corners") ? f.Bool("align_corners") : null;
            return Out(Functional.Interpolate(i["x"], size, scale, mode, corners));
        },
        ["grid_sample"] = (f, i) =>
        {
            var mode = f.String("mode") == "nearest" ? GridSampleMode.Nearest : GridSampleMode.Bilinear;
            var padding = f.String("padding_mode") switch
            {
                "zeros" => GridSamplePadding.Zeros,
                "border" => GridSamplePadding.Border,
                "reflection" => GridSamplePadding.Reflection,
                var m => throw new InvalidDataException($"{f.Path}: unknown padding mode '{m}'"),
            };
            return Out(Functional.GridSample(i["x"], i["grid"], mode, padding, f.Bool("align_corners")));
        },
        ["pad"] = (f, i) =>
        {
            var mode = f.String("mode") switch
            {
                "constant" => PadMode.Constant,
                "reflect" => PadMode.Reflect,
                "replicate" => PadMode.Replicate,
                "circular" => PadMode.Circular,
                var m => throw new InvalidDataException($"{f.Path}: unknown pad mode '{m}'"),
            };
            return Out(Functional.Pad(i["x"], f.Longs("pad"), mode, f.HasParam("value") ? f.Double("value") : 0));
        },
        ["dropout"] = (f, i) =>
        {
            TorchRuntime.ManualSeed((ulong)f.Long("seed"));
            return Out(Functional.Dropout(i["x"], f.Double("p"), training: true));
        },
        ["binary_cross_entropy_with_logits"] = (f, i) =>
            Out(Functional.BinaryCrossEntropyWithLogits(i["x"], i["target"], Opt(i, "weight"), Opt(i, "pos_weight"), ReductionOf(f))),
        ["cross_entropy"] = (f, i) => Out(Functional.CrossEntropy(i["x"], i["target"], Opt(i, "weight"),
            f.HasParam("ignore_index") ? f.Long("ignore_index") : -100, ReductionOf(f),
            f.HasParam("label_smoothing") ? f.Double("label_smoothing") : 0)),
        ["smooth_l1_loss"] = (f, i) => Out(Functional.SmoothL1(i["x"], i["target"], f.Double("beta"), ReductionOf(f))),
        ["l1_loss"] = (f, i) => Out(Functional.L1(i["x"], i["target"], ReductionOf(f))),
        ["mse_loss"] = (f, i) => Out(Functional.Mse(i["x"], i["target"], ReductionOf(f))),
        ["sigmoid_focal_loss"] = (f, i) =>
            Out(Functional.SigmoidFocalLoss(i["x"], i["target"], f.Double("alpha"), f.Double("gamma"), ReductionOf(f))),
    };

    public static IEnumerable<object[]> Fixtures() => ParityFixture.Names(Area).Select(n => new object[] { n });

    [TestMethod]
    [DynamicData(nameof(Fixtures), DynamicDataSourceType.Method)]
    public void MatchesTorch(string name)
    {
        using var scope = DisposeScope.Enter();
        var f = ParityFixture.Load(Area, name);
        if (!Runners.TryGetValue(f.OpName, out var run)) Assert.Fail($"{f.Path}: no runner for op '{f.OpName}'");
        var grads = f.GradNames.ToHashSet();
        var inputs = f.InputNames.ToDictionary(n => n, n => f.Input(n, requiresGrad: grads.Contains(n)));
        var outputs = run(f, inputs);
        Assert.IsTrue(f.OutputNames.Any(), $"{f.Path}: the fixture has no outputs to compare");
        foreach (var o in f.OutputNames)
        {
            if (!outputs.TryGetValue(o, out var actual)) Assert.Fail($"{f.OpName} [{name}]: runner produced no output '{o}'");
            f.AssertOutput(actual, Tolerance.Float64, o);
        }
        if (f.HasGrads) f.AssertGradients(inputs, outputs, Tolerance.Float64);
    }

    [TestMethod]
    public void FixturesCoverTheFunctionalSurface()
    {
        var ops = ParityFixture.Names(Area).Select(n => ParityFixture.Load(Area, n).OpName).ToHashSet();
        var untested = Runners.Keys.Where(k => !ops.Contains(k)).ToArray();
        Assert.AreEqual(0, untested.Length, $"runners without fixtures (rerun tools/fixtures/gen_nn.py): {string.Join(", ", untested)}");
        Assert.IsTrue(ParityFixture.Names(Area).Count() >= 40, "expected the full set of functional fixtures");
    }

    [TestMethod]
    public void ArgumentErrorsNameTheProblem()
    {
        using var scope = DisposeScope.Enter();
        var x = Tensor.Zeros(new long[] { 1, 2, 3, 3 });
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() =>
            Functional.Interpolate(x, size: 4, mode: InterpolationMode.Nearest, alignCorners: true)).Message, "alignCorners");
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() =>
            Functional.Interpolate(x, size: 4, scaleFactor: (2, 2))).Message, "only one");
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() =>
            Functional.BinaryCrossEntropyWithLogits(x, Tensor.Zeros(new long[] { 1, 2, 3 }))).Message, "target shape [1, 2, 3]");
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() =>
            Functional.BatchNorm(Tensor.Zeros(new long[] { 1, 2, 1, 1 }), null, null, training: true)).Message, "more than 1 value");
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() => Functional.GroupNorm(x, 3)).Message, "3 groups");
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() =>
            Functional.GridSample(x, Tensor.Zeros(new long[] { 1, 2, 2, 3 }))).Message, "(N, H, W, 2)");
        // aten's own shape checks surface as TorchException with torch's message.
        Assert.ThrowsException<TorchException>(() => Functional.Conv2d(x, Tensor.Zeros(new long[] { 4, 3, 3, 3 })));
    }
}
