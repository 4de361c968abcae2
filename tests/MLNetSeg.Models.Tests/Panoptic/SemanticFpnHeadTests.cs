using System.Text.Json;
using MLNetSeg.Models.Panoptic;
using MLNetSeg.Torch;

namespace MLNetSeg.Models.Tests.Panoptic;

/// <summary>
/// Panoptic FPN's semantic head against detectron2's SemSegFPNHead as written in torch 1.13 from its definition
/// (tools/fixtures/gen_panoptic_heads.py): the same state-dict names, deterministic weights and features, in
/// float64: logits, the loss (upsampled ×4, cross-entropy with ignore 255, weight 0.5) and gradients within 1e-10.
/// </summary>
[TestClass]
public sealed class SemanticFpnHeadTests
{
    [TestMethod]
    public void MatchesDetectron2sSemSegFpnHead()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "panoptic", "semseg_fpn_head.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var p = doc.RootElement.GetProperty("params");
        var outputs = doc.RootElement.GetProperty("outputs");
        int inChannels = p.GetProperty("in_channels").GetInt32(), convDims = p.GetProperty("conv_dims").GetInt32();
        int classes = p.GetProperty("classes").GetInt32(), batch = p.GetProperty("batch").GetInt32();
        int height = p.GetProperty("height").GetInt32(), width = p.GetProperty("width").GetInt32();
        var strides = p.GetProperty("strides").EnumerateArray().Select(e => e.GetInt32()).ToArray();

        using var head = new SemanticFpnHead(inChannels, strides, classes, convDims, groupNormGroups: p.GetProperty("groups").GetInt32());
        head.To(DType.Float64);
        CollectionAssert.AreEqual(p.GetProperty("keys").EnumerateArray().Select(e => e.GetString()).ToArray(), head.StateDict().Keys.ToArray(),
            "detectron2's state-dict names, in its order");
        DeterministicWeights.Apply(head);

        using var scope = DisposeScope.Enter();
        var features = strides.Select((s, i) => DeterministicWeights.Uniform($"semseg.p{i + 2}", new long[] { batch, inChannels, height / s, width / s }, DType.Float64)
            .Mul(2).Sub(1).Detach().RequiresGrad_()).ToArray();
        var u = DeterministicWeights.UniformStream("semseg.targets", (long)batch * height * width);
        var targets = Tensor.FromArray(u.Select(v => v < 0.1 ? 255L : (long)Math.Floor(v * classes) % classes).ToArray(), new long[] { batch, height, width });

        var logits = head.Forward(features);
        var loss = head.Loss(logits, targets, weight: p.GetProperty("loss_weight").GetDouble());
        loss.Backward();
        AssertClose(Expected(outputs, "logits"), logits, "logits");
        AssertClose(Expected(outputs, "loss"), loss.Reshape(1), "loss");
        AssertClose(Expected(outputs, "grad_predictor_weight"), head.Predictor.Weight.Grad!, "d loss / d predictor.weight");
        var named = head.NamedParameters().ToDictionary(x => x.Name, x => x.Parameter);
        AssertClose(Expected(outputs, "grad_scale_heads_0_0_weight"), named["scale_heads.0.0.weight"].Grad!, "d loss / d scale_heads.0.0.weight");
        AssertClose(Expected(outputs, "grad_scale_heads_3_4_norm_weight"), named["scale_heads.3.4.norm.weight"].Grad!, "d loss / d scale_heads.3.4.norm.weight");
        AssertClose(Expected(outputs, "grad_p5"), features[3].Grad!, "d loss / d P5");
    }

    [TestMethod]
    public void LevelsAreCheckedAndP2AloneIsOneConvWithoutUpsampling()
    {
        using var p2 = new SemanticFpnHead(8, new[] { 4 }, 3, convDims: 8, groupNormGroups: null);
        CollectionAssert.AreEqual(new[] { "scale_heads.0.0.weight", "scale_heads.0.0.bias", "predictor.weight", "predictor.bias" }, p2.StateDict().Keys.ToArray(),
            "Panoptic-P2's head: one biased conv on P2, no GroupNorm");
        using var scope = DisposeScope.Enter();
        var logits = p2.Forward(new[] { Tensor.Rand(new long[] { 1, 8, 6, 10 }) });
        CollectionAssert.AreEqual(new long[] { 1, 3, 6, 10 }, logits.Shape.ToArray());
        var e = Assert.ThrowsException<ArgumentException>(() => p2.Forward(new[] { Tensor.Rand(new long[] { 1, 8, 6, 10 }), Tensor.Rand(new long[] { 1, 8, 3, 5 }) }));
        StringAssert.Contains(e.Message, "2 feature levels for 1 scale heads");
        Assert.ThrowsException<ArgumentException>(() => new SemanticFpnHead(8, new[] { 4, 12 }, 3));
    }

    private static Tensor Expected(JsonElement outputs, string name)
    {
        var t = outputs.GetProperty(name);
        return Tensor.FromArray(t.GetProperty("data").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            t.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray());
    }

    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        CollectionAssert.AreEqual(expected.Shape.ToArray(), actual.Shape.ToArray(), $"{what}: shape");
        double error = expected.Sub(actual).Abs().Max().ItemDouble();
        double scale = expected.Abs().Max().ItemDouble();
        Assert.IsTrue(scale > 0, $"{what}: the reference is all zeros");
        Assert.IsTrue(error <= 1e-10 * Math.Max(1, scale), $"{what}: max |difference| {error:E3} (values up to {scale:E3})");
    }
}
