using System.Text.RegularExpressions;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Torch;
using static MLNetSeg.Models.Tests.Backbones.BackboneFixtures;

namespace MLNetSeg.Models.Tests.Backbones;

/// <summary>
/// State-dict layout against torchvision 0.14 (fixture state_dict_keys.json): every entry's
/// name, shape and dtype in torchvision's order, and which entries are parameters, so
/// torchvision checkpoints load by name (registered as "backbone" → "backbone.body.conv1.weight").
/// </summary>
[TestClass]
public class StateDictLayoutTests
{
    [DataTestMethod]
    [DataRow("resnet18_fpn")]
    [DataRow("resnet34_fpn")]
    [DataRow("resnet50_fpn")]
    [DataRow("resnet101_fpn")]
    [DataRow("resnext101_32x8d_fpn")]
    [DataRow("resnet50_fpn_v2")]
    [DataRow("resnet18_p6p7_c5")]
    [DataRow("resnet18_w32_bn_fpn64")]
    public void EntriesEqualTorchvision(string backbone)
    {
        var expected = Load("state_dict_keys.json").GetProperty(backbone);
        using var scope = DisposeScope.Enter();
        using var model = Build(backbone);

        var actual = model.StateDict().Select(kv => $"{kv.Key} {Format(kv.Value.Shape)} {DTypeName(kv.Value.DType)}").ToList();
        var wanted = expected.GetProperty("entries").EnumerateArray()
            .Select(e => $"{e[0].GetString()} {Format(Longs(e[1]))} {e[2].GetString()}").ToList();
        var missing = wanted.Except(actual).Take(5).ToList();
        var extra = actual.Except(wanted).Take(5).ToList();
        Assert.AreEqual(0, missing.Count + extra.Count,
            $"{backbone}: torchvision has [{string.Join("; ", missing)}], we have [{string.Join("; ", extra)}]");
        CollectionAssert.AreEqual(wanted, actual, $"{backbone}: same entries, different order");

        CollectionAssert.AreEqual(Strings(expected.GetProperty("parameters")), model.NamedParameters().Select(p => p.Name).ToArray(),
            $"{backbone}: parameters (FrozenBatchNorm2d holds buffers only)");
        Assert.AreEqual(expected.GetProperty("out_channels").GetInt64(), model.OutChannels);
    }

    [TestMethod]
    public void RegisteredAsBackboneTheNamesAreTorchvisionsDetectorNames()
    {
        using var scope = DisposeScope.Enter();
        using var detector = new Holder(ResNetFpn.ResNet18());
        var keys = detector.StateDict().Keys.ToHashSet();
        foreach (var key in new[] { "backbone.body.conv1.weight", "backbone.body.bn1.running_var", "backbone.body.layer1.0.conv1.weight",
                     "backbone.body.layer2.0.downsample.0.weight", "backbone.fpn.inner_blocks.0.0.weight", "backbone.fpn.layer_blocks.3.0.bias" })
            Assert.IsTrue(keys.Contains(key), $"missing {key}");
    }

    [TestMethod]
    public void LegacyFpnKeysWithoutTheSequentialIndexStillLoad()
    {
        // torchvision < 0.13 checkpoints: "fpn.inner_blocks.0.weight" (FeaturePyramidNetwork._version 1).
        using var scope = DisposeScope.Enter();
        using var model = ResNetFpn.ResNet18();
        var legacy = DeterministicWeights.For(model).ToDictionary(
            kv => Regex.Replace(kv.Key, @"^fpn\.(inner|layer)_blocks\.(\d+)\.0\.", "fpn.$1_blocks.$2."), kv => kv.Value);
        Assert.IsTrue(legacy.ContainsKey("fpn.inner_blocks.2.weight") && legacy.ContainsKey("fpn.layer_blocks.1.bias"));
        var result = model.LoadStateDict(legacy);
        Assert.AreEqual(0, result.MissingKeys.Count + result.UnexpectedKeys.Count);
        CollectionAssert.AreEqual(legacy["fpn.inner_blocks.2.weight"].ToArray<float>(), model.Fpn.InnerBlocks[2][0].StateDict()["weight"].ToArray<float>());
    }

    private static string DTypeName(DType dtype) => dtype switch
    {
        DType.Float32 => "float32",
        DType.Float64 => "float64",
        DType.Int64 => "int64",
        _ => dtype.ToString(),
    };

    private sealed class Holder : MLNetSeg.Torch.Nn.Module
    {
        public Holder(BackboneWithFpn backbone) => RegisterModule("backbone", backbone);
    }
}
