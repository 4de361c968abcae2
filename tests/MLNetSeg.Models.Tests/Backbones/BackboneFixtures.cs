using System.Text.Json;
using MLNetSeg.Models.Backbones;

namespace MLNetSeg.Models.Tests.Backbones;

/// <summary>
/// Reads fixtures/models/backbones/*.json (written by tools/fixtures/gen_backbones.py from
/// torchvision 0.14) and builds the C# backbone matching each fixture's torchvision recipe.
/// </summary>
internal static class BackboneFixtures
{
    public static string PathOf(string file) => Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "backbones", file);

    public static JsonElement Load(string file)
    {
        var path = PathOf(file);
        if (!File.Exists(path)) throw new FileNotFoundException($"fixture not found: {path} (regenerate with tools/fixtures/gen_backbones.py)", path);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return doc.RootElement.Clone();
    }

    /// <summary>The C# equivalent of gen_backbones.py's build(name, trainable_layers).</summary>
    public static BackboneWithFpn Build(string name, int trainableLayers = 3)
    {
        const string fpnSuffix = "_fpn";
        if (name.StartsWith("res", StringComparison.Ordinal) && name.EndsWith(fpnSuffix, StringComparison.Ordinal))
            return ResNetFpn.Create(ResNetSpec.ParseDepth(name[..^fpnSuffix.Length]), trainableLayers);
        return name switch
        {
            // maskrcnn_resnet50_fpn_v2 without weights: torchvision then trains all 5 layers.
            "resnet50_fpn_v2" => ResNetFpn.Create(ResNetDepth.ResNet50, trainableLayers: 5, fpnVersion: 2),
            "resnet18_bn_fpn_v2" => ResNetFpn.FromResNet(new ResNet(ResNetDepth.ResNet18, NormLayers.BatchNorm()), trainableLayers,
                fpnNorm: NormLayers.BatchNorm()),
            "resnet18_p6p7_c5" => ResNetFpn.FromResNet(new ResNet(ResNetDepth.ResNet18, NormLayers.FrozenBatchNorm()), trainableLayers,
                new[] { 2, 3, 4 }, new LastLevelP6P7(512, 256)),
            "resnet18_p6p7_p5" => ResNetFpn.FromResNet(new ResNet(ResNetDepth.ResNet18, NormLayers.FrozenBatchNorm()), trainableLayers,
                new[] { 2, 3, 4 }, new LastLevelP6P7(256, 256)),
            // DetectorWidths.Compact's backbone: half-width ResNet-18 (BatchNorm) + 64-channel BatchNorm FPN.
            "resnet18_w32_bn_fpn64" => ResNetFpn.Create(ResNetDepth.ResNet18, trainableLayers, fpnVersion: 2, baseWidth: 32, fpnChannels: 64),
            "resnet50_fpn_dilated" => ResNetFpn.Create(ResNetDepth.ResNet50, trainableLayers, dilateLastStage: true),
            _ => throw new ArgumentException($"no C# recipe for fixture backbone '{name}'"),
        };
    }

    public static long[] Longs(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt64()).ToArray();
    public static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(e => e.GetDouble()).ToArray();
    public static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    public static string Format(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}
