using System.Text.Json;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Torch;
using static MLNetSeg.Models.Tests.Backbones.BackboneFixtures;

namespace MLNetSeg.Models.Tests.Backbones;

/// <summary>
/// FPN outputs against torchvision 0.14 (fixtures outputs_*.json from gen_backbones.py): the same
/// deterministic weights on both sides (float32, widened to float64 for the float64 case), eval
/// mode, the deterministic image "images". Per level: name, shape, sum, Σ|x| and 200 sampled values.
/// <para>
/// Tolerances. float32: |a − e| ≤ 3e-5·(|e| + mean|level|) per value and 3e-5·Σ|x| for the sums.
/// Both sides run libtorch 1.13's float32 kernels, but not necessarily with the same BLAS, blocking or
/// CPU features; through ResNet-50 + FPN that accumulation-order noise measured ≤ 4e-6 here (folded
/// or not), so 3e-5 leaves ~8× headroom. float64: the same form with 1e-10 (measured: 0 unfolded,
/// ≤ 7e-15 folded) — nothing but rounding fits in it, so it pins the structure and every constant.
/// </para>
/// </summary>
[TestClass]
public class OutputParityTests
{
    private const double Float32Tolerance = 3e-5, Float64Tolerance = 1e-10;

    [DataTestMethod]
    [DataRow("resnet50_fpn_1x3x64x96")]
    [DataRow("resnet50_fpn_2x3x96x64")]
    [DataRow("resnet18_fpn_1x3x75x101")]
    [DataRow("resnet50_fpn_v2_1x3x64x96")]
    [DataRow("resnet18_p6p7_c5_1x3x64x96")]
    [DataRow("resnet18_p6p7_p5_1x3x64x96")]
    [DataRow("resnet18_w32_bn_fpn64_1x3x64x96")]
    [DataRow("resnet50_fpn_dilated_1x3x64x96")]
    public void LevelsEqualTorchvision(string fixtureCase)
    {
        var fixture = Load($"outputs_{fixtureCase}.json");
        using var scope = DisposeScope.Enter();
        var levels = Run(SharedModel(fixture), fixture);
        AssertLevelsMatch(fixture, levels, fixtureCase);
    }

    [TestMethod]
    public void FoldedFrozenBatchNormGivesTheSameLevels()
    {
        var fixture = Load("outputs_resnet50_fpn_2x3x96x64.json");
        using var scope = DisposeScope.Enter();
        var model = SharedModel(fixture);
        try
        {
            FoldAndCompare(model, fixture);
        }
        finally
        {
            model.Eval();
            model.UnfuseFrozenBatchNorm();
        }
    }

    private static void FoldAndCompare(BackboneWithFpn model, JsonElement fixture)
    {
        var plain = Run(model, fixture);

        // ResNet-50: the stem, 16 blocks × 3 convs and 4 projections.
        Assert.AreEqual(53, model.FuseFrozenBatchNorm());
        var fused = Run(model, fixture);
        AssertLevelsMatch(fixture, fused, "folded resnet50_fpn_2x3x96x64");
        for (int i = 0; i < plain.Count; i++)
        {
            // Folding only reassociates (x*W)*s into x*(W*s): float32 rounding, nothing more.
            var a = fused[i].Feature.ToArray<float>();
            var e = plain[i].Feature.ToArray<float>();
            double scale = e.Average(v => Math.Abs((double)v));
            int worst = Enumerable.Range(0, a.Length).MaxBy(j => Math.Abs(a[j] - e[j]));
            Assert.IsTrue(Math.Abs(a[worst] - e[worst]) <= Float32Tolerance * (Math.Abs(e[worst]) + scale),
                $"level {plain[i].Name}[{worst}]: folded {a[worst]} vs plain {e[worst]}");
        }

        // Training mode never uses the folded convs (their weights must get gradients).
        model.Train();
        var training = Run(model, fixture);
        for (int i = 0; i < plain.Count; i++)
            CollectionAssert.AreEqual(plain[i].Feature.ToArray<float>(), training[i].Feature.ToArray<float>(), $"training-mode level {plain[i].Name}");
        model.Eval();
        model.UnfuseFrozenBatchNorm();
        var unfused = Run(model, fixture);
        CollectionAssert.AreEqual(plain[0].Feature.ToArray<float>(), unfused[0].Feature.ToArray<float>(), "after UnfuseFrozenBatchNorm");
    }

    [TestMethod]
    public void Float64LevelsEqualTorchvisionFoldedOrNot()
    {
        // Folded in float32, then moved to float64: the fold is redone from the float64 weights, so
        // the float64 reference still matches to 1e-10; unfolded it matches too.
        var fixture = Load("outputs_resnet50_fpn_float64_1x3x64x96.json");
        using var scope = DisposeScope.Enter();
        using var model = DeterministicWeights.Apply(Build(fixture.GetProperty("backbone").GetString()!));
        model.Eval();
        Assert.AreEqual(53, model.FuseFrozenBatchNorm());
        model.To(DType.Float64);  // as the generator: float32 values, widened
        AssertLevelsMatch(fixture, Run(model, fixture), "folded in float32, run in float64");
        model.UnfuseFrozenBatchNorm();
        AssertLevelsMatch(fixture, Run(model, fixture), "float64");
    }

    /// <summary>The classification ResNet itself (torchvision.models.resnet18(): BatchNorm2d, avgpool,
    /// fc), i.e. the module ImageNet checkpoints load into: its entries and its logits.</summary>
    [TestMethod]
    public void ClassifierResNet18EqualsTorchvision()
    {
        var fixture = Load("classifier_resnet18.json");
        using var scope = DisposeScope.Enter();
        using var model = DeterministicWeights.Apply(new ResNet(ResNetDepth.ResNet18));
        model.Eval();
        var wanted = fixture.GetProperty("entries").EnumerateArray().Select(e => $"{e[0].GetString()} {Format(Longs(e[1]))}").ToList();
        CollectionAssert.AreEqual(wanted, model.StateDict().Select(kv => $"{kv.Key} {Format(kv.Value.Shape)}").ToList());
        var images = DeterministicWeights.Uniform("images", Longs(fixture.GetProperty("input").GetProperty("shape")));
        using var noGrad = NoGradScope.Enter();
        AssertLevelsMatch(fixture, new[] { ("logits", model.Forward(images)) }, "resnet18 classifier");
    }

    [TestMethod]
    public void BatchNormBodiesHaveNothingToFold()
    {
        using var scope = DisposeScope.Enter();
        using var model = ResNetFpn.Create(ResNetDepth.ResNet18, fpnVersion: 2);
        Assert.AreEqual(0, model.FuseFrozenBatchNorm());
    }

    // Building a ResNet-50 and generating its 25M deterministic values takes about a second:
    // the float32 cases share one model per backbone (tests that change it restore it).
    private static readonly Dictionary<string, BackboneWithFpn> SharedModels = new();

    private static BackboneWithFpn SharedModel(JsonElement fixture)
    {
        var backbone = fixture.GetProperty("backbone").GetString()!;
        if (fixture.GetProperty("dtype").GetString() != "float32") throw new ArgumentException("shared models are float32");
        if (!SharedModels.TryGetValue(backbone, out var model))
        {
            model = DeterministicWeights.Apply(Build(backbone));
            model.Eval();
            SharedModels[backbone] = model;
        }
        return model;
    }

    [ClassCleanup]
    public static void DisposeSharedModels()
    {
        foreach (var m in SharedModels.Values) m.Dispose();
        SharedModels.Clear();
    }

    private static IReadOnlyList<(string Name, Tensor Feature)> Run(BackboneWithFpn model, JsonElement fixture)
    {
        var input = fixture.GetProperty("input");
        var dtype = fixture.GetProperty("dtype").GetString() == "float64" ? DType.Float64 : DType.Float32;
        var images = DeterministicWeights.Uniform(input.GetProperty("stream").GetString()!, Longs(input.GetProperty("shape")), dtype);
        using var noGrad = NoGradScope.Enter();
        return model.Forward(images);
    }

    private static void AssertLevelsMatch(JsonElement fixture, IReadOnlyList<(string Name, Tensor Feature)> levels, string label)
    {
        bool float64 = fixture.GetProperty("dtype").GetString() == "float64";
        double tol = float64 ? Float64Tolerance : Float32Tolerance;
        var expectedLevels = fixture.GetProperty("levels").EnumerateArray().ToList();
        CollectionAssert.AreEqual(expectedLevels.Select(l => l.GetProperty("name").GetString()).ToList(), levels.Select(l => l.Name).ToList(),
            $"{label}: level names");
        for (int i = 0; i < levels.Count; i++)
        {
            var exp = expectedLevels[i];
            var (name, feature) = levels[i];
            Assert.AreEqual(Format(Longs(exp.GetProperty("shape"))), Format(feature.Shape), $"{label}: shape of level {name}");
            var values = float64 ? feature.ToArray<double>() : feature.ToArray<float>().Select(v => (double)v).ToArray();
            double absSum = exp.GetProperty("abs_sum").GetDouble();
            double meanAbs = absSum / values.Length;
            AssertClose(exp.GetProperty("sum").GetDouble(), values.Sum(), tol * absSum, $"{label}: sum of level {name}");
            AssertClose(absSum, values.Sum(Math.Abs), tol * absSum, $"{label}: Σ|x| of level {name}");
            var indices = Longs(exp.GetProperty("indices"));
            var expected = Doubles(exp.GetProperty("values"));
            Assert.IsTrue(indices.Length > 0 && expected.Length == indices.Length, $"{label}: level {name} has {indices.Length} indices and {expected.Length} values in the fixture");
            for (int k = 0; k < indices.Length; k++)
            {
                double e = expected[k], a = values[indices[k]];
                AssertClose(e, a, tol * (Math.Abs(e) + meanAbs), $"{label}: level {name} flat index {indices[k]}");
            }
        }
    }

    private static void AssertClose(double expected, double actual, double tolerance, string what)
    {
        if (!(Math.Abs(actual - expected) <= tolerance))
            Assert.Fail($"{what}: expected {expected:R}, got {actual:R} (|Δ| {Math.Abs(actual - expected):G3} > {tolerance:G3})");
    }
}
