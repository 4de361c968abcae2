namespace MLNetSeg.Models.Backbones;

/// <summary>The ResNet/ResNeXt variants of torchvision.models.</summary>
public enum ResNetDepth
{
    /// <summary>resnet18: BasicBlock, [2, 2, 2, 2] blocks, 512 output channels.</summary>
    ResNet18,

    /// <summary>resnet34: BasicBlock, [3, 4, 6, 3] blocks, 512 output channels.</summary>
    ResNet34,

    /// <summary>resnet50: Bottleneck, [3, 4, 6, 3] blocks, 2048 output channels (the Mask R-CNN backbone).</summary>
    ResNet50,

    /// <summary>resnet101: Bottleneck, [3, 4, 23, 3] blocks.</summary>
    ResNet101,

    /// <summary>resnet152: Bottleneck, [3, 8, 36, 3] blocks.</summary>
    ResNet152,

    /// <summary>resnext50_32x4d: ResNet-50's blocks with 32 groups of width 4 in the 3×3 convolutions.</summary>
    ResNeXt50_32x4d,

    /// <summary>resnext101_32x8d: ResNet-101's blocks with 32 groups of width 8.</summary>
    ResNeXt101_32x8d,

    /// <summary>wide_resnet50_2: ResNet-50 with bottlenecks twice as wide (width per group 128).</summary>
    WideResNet50_2,

    /// <summary>wide_resnet101_2: ResNet-101 with bottlenecks twice as wide.</summary>
    WideResNet101_2,
}

/// <summary>Which residual block a ResNet stacks.</summary>
public enum ResidualBlockKind
{
    /// <summary>Two 3×3 convolutions, expansion 1 (ResNet-18/34).</summary>
    Basic,

    /// <summary>1×1 → 3×3 (strided, grouped) → 1×1, expansion 4 (ResNet-50 and deeper, ResNeXt).</summary>
    Bottleneck,
}

/// <summary>
/// The shape of a ResNet: block kind, blocks per stage (layer1..layer4), and the grouped
/// convolution of ResNeXt (<see cref="Groups"/> × <see cref="WidthPerGroup"/>; a wide ResNet
/// is 1 × 128). Bottleneck width = floor(planes · WidthPerGroup / 64) · Groups, as in torchvision.
/// </summary>
/// <param name="Block">The residual block every stage stacks.</param>
/// <param name="Layers">Blocks in layer1..layer4 (four positive counts), e.g. [3, 4, 6, 3] for ResNet-50.</param>
/// <param name="Groups">Groups of the bottleneck's 3×3 convolution (torchvision's <c>groups</c>; 32 for ResNeXt).</param>
/// <param name="WidthPerGroup">Channels per group at planes 64 (torchvision's <c>width_per_group</c>; 4 or 8 for ResNeXt, 128 for wide ResNets).</param>
public sealed record ResNetSpec(ResidualBlockKind Block, IReadOnlyList<int> Layers, int Groups = 1, int WidthPerGroup = 64)
{
    /// <summary>Channels of the stem and planes of layer1, doubling per stage: torchvision's 64. Other
    /// values give narrower (or wider) ResNets that torchvision's weights do not fit.</summary>
    public int BaseWidth { get; init; } = 64;

    /// <summary>Output channels of a block relative to its planes.</summary>
    /// <summary>torchvision's <c>replace_stride_with_dilation = [False, False, True]</c>: layer4 keeps stride 1 and dilates its 3×3
    /// convolutions by 2 (after its first block), so C5 stays at stride 16 — the atrous last stage of DeepLab and MaskLab (§3.4,
    /// output stride 16). Bottleneck ResNets only, as torchvision.</summary>
    public bool DilateLastStage { get; init; }

    /// <summary>Channels per plane of a block: 1 for BasicBlock, 4 for Bottleneck.</summary>
    public int Expansion => Block == ResidualBlockKind.Basic ? 1 : 4;

    /// <summary>Channels out of layer <paramref name="stage"/> (1..4): BaseWidth·2^(stage−1)·expansion.</summary>
    public long StageChannels(int stage) =>
        stage is >= 1 and <= 4 ? ((long)BaseWidth << (stage - 1)) * Expansion
            : throw new ArgumentOutOfRangeException(nameof(stage), stage, "ResNet stages are layer1..layer4");

    /// <summary>The shape torchvision.models gives <paramref name="depth"/>, with <see cref="BaseWidth"/> 64.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="depth"/> is not a defined variant.</exception>
    public static ResNetSpec For(ResNetDepth depth) => depth switch
    {
        ResNetDepth.ResNet18 => new(ResidualBlockKind.Basic, new[] { 2, 2, 2, 2 }),
        ResNetDepth.ResNet34 => new(ResidualBlockKind.Basic, new[] { 3, 4, 6, 3 }),
        ResNetDepth.ResNet50 => new(ResidualBlockKind.Bottleneck, new[] { 3, 4, 6, 3 }),
        ResNetDepth.ResNet101 => new(ResidualBlockKind.Bottleneck, new[] { 3, 4, 23, 3 }),
        ResNetDepth.ResNet152 => new(ResidualBlockKind.Bottleneck, new[] { 3, 8, 36, 3 }),
        ResNetDepth.ResNeXt50_32x4d => new(ResidualBlockKind.Bottleneck, new[] { 3, 4, 6, 3 }, 32, 4),
        ResNetDepth.ResNeXt101_32x8d => new(ResidualBlockKind.Bottleneck, new[] { 3, 4, 23, 3 }, 32, 8),
        ResNetDepth.WideResNet50_2 => new(ResidualBlockKind.Bottleneck, new[] { 3, 4, 6, 3 }, 1, 128),
        ResNetDepth.WideResNet101_2 => new(ResidualBlockKind.Bottleneck, new[] { 3, 4, 23, 3 }, 1, 128),
        _ => throw new ArgumentOutOfRangeException(nameof(depth), depth, "unknown ResNet depth"),
    };

    /// <summary>The variant named as in torchvision.models ("resnet50", "resnext101_32x8d", "wide_resnet50_2"); case-insensitive.</summary>
    /// <exception cref="ArgumentException">The name is not one of the nine variants.</exception>
    public static ResNetDepth ParseDepth(string torchvisionName) => torchvisionName.ToLowerInvariant() switch
    {
        "resnet18" => ResNetDepth.ResNet18,
        "resnet34" => ResNetDepth.ResNet34,
        "resnet50" => ResNetDepth.ResNet50,
        "resnet101" => ResNetDepth.ResNet101,
        "resnet152" => ResNetDepth.ResNet152,
        "resnext50_32x4d" => ResNetDepth.ResNeXt50_32x4d,
        "resnext101_32x8d" => ResNetDepth.ResNeXt101_32x8d,
        "wide_resnet50_2" => ResNetDepth.WideResNet50_2,
        "wide_resnet101_2" => ResNetDepth.WideResNet101_2,
        _ => throw new ArgumentException($"unknown ResNet variant '{torchvisionName}' (known: resnet18, resnet34, resnet50, " +
                                         "resnet101, resnet152, resnext50_32x4d, resnext101_32x8d, wide_resnet50_2, wide_resnet101_2)",
            nameof(torchvisionName)),
    };
}
