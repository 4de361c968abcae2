using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.TensorMask;

/// <summary>The mask head of a TensorMask model (paper Fig. 6 and 7).</summary>
public enum TensorMaskHeadKind
{
    /// <summary>Fig. 7b, the paper's best and the default: every level's mask features are brought to P2's resolution (Fig. 8),
    /// predicted as aligned V·U masks there and turned by <c>swap_align2nat</c> (λ = 2^k) into (2^k V)·(2^k U) natural masks on
    /// level k: masks of large objects get more pixels.</summary>
    Bipyramid,

    /// <summary>Fig. 6a: a 1×1 convolution to V·U channels read as natural masks, on each level of a feature pyramid.</summary>
    SimpleNatural,

    /// <summary>Fig. 6b: V·U channels read as aligned masks, then <c>align2nat</c>.</summary>
    SimpleAligned,

    /// <summary>Fig. 6c: (V/λ)·(U/λ) channels read as natural masks, upsampled on (V, U) by λ.</summary>
    UpscaleNatural,

    /// <summary>Fig. 6d: (V/λ)·(U/λ) channels read as aligned masks, then <c>up_align2nat</c> by λ.</summary>
    UpscaleAligned,
}

/// <summary>
/// Training options of TensorMask (<see cref="TensorMaskFamily"/>; Chen, Girshick, He, Dollár 2019): a ResNet-FPN with
/// P2–P7, a classification tower, a box tower and a mask tower shared across levels, dense mask prediction at every
/// sliding window. Defaults are detectron2's TensorMask project (REFERENCE.md "TensorMask"): windows 44 and 60 pixels on
/// P2, doubling per level, tensor bipyramid, focal loss FL* (γ 3, α 0.3), box weights (1.5, 1.5, 0.75, 0.75), mask BCE
/// with positive weight 1.5 and loss weight 2.
/// </summary>
public sealed record TensorMaskOptions : ModelOptions
{
    /// <inheritdoc/>
    [System.Text.Json.Serialization.JsonIgnore]
    public override string Family => TensorMaskFamily.FamilyName;

    /// <summary>The ResNet of the backbone.</summary>
    public ResNetDepth Backbone { get; init; } = ResNetDepth.ResNet50;

    /// <summary>Normalisation of the ResNet body and FPN (<see cref="BackboneNorm.BatchNorm"/> to train from scratch).</summary>
    public BackboneNorm Norm { get; init; } = BackboneNorm.FrozenBatchNorm;

    /// <summary>The ResNet's stem/layer1 channels (torchvision's 64; <see cref="DetectorWidths.Compact"/>'s 32 for CPU training).</summary>
    public int BackboneWidth { get; init; } = 64;

    /// <summary>Channels of the FPN levels (256).</summary>
    public int FpnChannels { get; init; } = 256;

    /// <summary>How many of the ResNet's last stages train (0..5), as torchvision's trainable_backbone_layers.</summary>
    public int TrainableBackboneLayers { get; init; } = 3;

    /// <summary>Channels of the classification tower's convolutions (256).</summary>
    public int ClassTowerChannels { get; init; } = 256;

    /// <summary>Channels of the box tower's convolutions (128).</summary>
    public int BoxTowerChannels { get; init; } = 128;

    /// <summary>Channels of the mask tower's convolutions (128).</summary>
    public int MaskTowerChannels { get; init; } = 128;

    /// <summary>3×3 convolutions in each tower (4).</summary>
    public int TowerConvs { get; init; } = 4;

    /// <summary>Pyramid levels from P2: 6 is P2–P7 (strides 4 to 128).</summary>
    public int Levels { get; init; } = 6;

    /// <summary>Window sides in pixels on P2, one mask of side size/4 each; level k has windows 2^k times larger. Multiples of 4.</summary>
    public IReadOnlyList<int> WindowSizes { get; init; } = new[] { 44, 60 };

    /// <summary>The mask head (<see cref="TensorMaskHeadKind.Bipyramid"/>).</summary>
    public TensorMaskHeadKind Head { get; init; } = TensorMaskHeadKind.Bipyramid;

    /// <summary>λ of the upscale heads: they predict (V/λ)² channels (rounded) and upsample to V (Tab. 2a: 1.5, 3, 5).</summary>
    public double UpscaleFactor { get; init; } = 2;

    /// <summary>Interpolation of the upscale heads on (V, U) (Tab. 2b: bilinear or nearest, "unaligned").</summary>
    public WindowInterpolation Interpolation { get; init; } = WindowInterpolation.Bilinear;

    /// <summary>Short side of the network input (800).</summary>
    public int MinSize { get; init; } = 800;

    /// <summary>Cap on the long side of the network input (1333).</summary>
    public int MaxSize { get; init; } = 1333;

    /// <summary>Multi-scale training: a short side drawn per training image; null: <see cref="MinSize"/>.</summary>
    public IReadOnlyList<int>? TrainMinSizes { get; init; }

    /// <summary>Windows scoring above this are candidates (0.05).</summary>
    public double ScoreThreshold { get; init; } = 0.05;

    /// <summary>Candidates kept over all levels before NMS (6000).</summary>
    public int CandidatesPerImage { get; init; } = 6000;

    /// <summary>IoU of class-wise NMS (0.5).</summary>
    public double NmsThreshold { get; init; } = 0.5;

    /// <summary>Detections kept per image (100).</summary>
    public int DetectionsPerImage { get; init; } = 100;

    /// <summary>Mask probability above which a pasted pixel is foreground (0.5).</summary>
    public double MaskThreshold { get; init; } = 0.5;

    /// <summary>α of the focal loss FL* (0.3).</summary>
    public double FocalAlpha { get; init; } = 0.3;

    /// <summary>γ of the focal loss FL* (3).</summary>
    public double FocalGamma { get; init; } = 3;

    /// <summary>Weight of the mask loss (detectron2's MASK_LOSS_WEIGHT, 2).</summary>
    public double MaskLossWeight { get; init; } = 2;

    /// <summary>Weight of foreground pixels in the mask BCE (1.5).</summary>
    public double MaskPositiveWeight { get; init; } = 1.5;

    /// <summary>The largest stride, P(1 + Levels): the padded input's sides are multiples of it.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int LargestStride => 4 << (Levels - 1);

    /// <inheritdoc/>
    public override void Validate()
    {
        static void Require(bool ok, string option, string message)
        {
            if (!ok) throw new ArgumentException($"{option} {message}", option);
        }
        Require(Enum.IsDefined(Backbone), nameof(Backbone), $"is not a ResNet ({Backbone})");
        Require(Enum.IsDefined(Norm), nameof(Norm), $"is not a norm recipe ({Norm})");
        Require(Enum.IsDefined(Head), nameof(Head), $"is not a TensorMask head ({Head})");
        Require(Enum.IsDefined(Interpolation), nameof(Interpolation), $"is not an interpolation ({Interpolation})");
        Require(BackboneWidth >= 1 && FpnChannels >= 1 && ClassTowerChannels >= 1 && BoxTowerChannels >= 1 && MaskTowerChannels >= 1,
            nameof(FpnChannels), "and the other widths must be positive");
        Require(TrainableBackboneLayers is >= 0 and <= 5, nameof(TrainableBackboneLayers), $"must be in 0..5, got {TrainableBackboneLayers}");
        Require(TowerConvs >= 0, nameof(TowerConvs), $"must be at least 0, got {TowerConvs}");
        Require(Levels is >= 1 and <= 6, nameof(Levels), $"must be in 1..6 (P2–P7), got {Levels}");
        Require(WindowSizes is { Count: > 0 } && WindowSizes.All(s => s >= 4 && s % 4 == 0) && WindowSizes.Distinct().Count() == WindowSizes.Count,
            nameof(WindowSizes), $"must list distinct multiples of 4 (P2's stride), got [{string.Join(", ", WindowSizes ?? Array.Empty<int>())}]");
        Require(UpscaleFactor >= 1 && double.IsFinite(UpscaleFactor), nameof(UpscaleFactor), $"must be at least 1, got {UpscaleFactor}");
        Require(Interpolation == WindowInterpolation.Bilinear || Head is TensorMaskHeadKind.UpscaleAligned or TensorMaskHeadKind.UpscaleNatural,
            nameof(Interpolation), "applies to the upscale heads only");
        Require(MinSize >= 1 && MaxSize >= MinSize, nameof(MinSize), $"and MaxSize must be positive with MinSize ≤ MaxSize, got {MinSize}, {MaxSize}");
        Require(TrainMinSizes is null || (TrainMinSizes.Count > 0 && TrainMinSizes.All(s => s >= 1)), nameof(TrainMinSizes), "must list positive sizes");
        Require(ScoreThreshold is >= 0 and < 1, nameof(ScoreThreshold), $"must be in [0, 1), got {ScoreThreshold}");
        Require(CandidatesPerImage >= 1 && DetectionsPerImage >= 1, nameof(DetectionsPerImage), "and CandidatesPerImage must be positive");
        Require(NmsThreshold is > 0 and <= 1, nameof(NmsThreshold), $"must be in (0, 1], got {NmsThreshold}");
        Require(MaskThreshold is >= 0 and < 1, nameof(MaskThreshold), $"must be in [0, 1), got {MaskThreshold}");
        Require(FocalAlpha is >= 0 and <= 1 && FocalGamma > 0, nameof(FocalGamma), "must be positive with FocalAlpha in [0, 1]");
        Require(MaskLossWeight >= 0 && MaskPositiveWeight > 0, nameof(MaskLossWeight), "must be ≥ 0 with MaskPositiveWeight > 0");
    }

    /// <summary>Side of each window size's mask on P2 (size / 4: 11 and 15 by default).</summary>
    internal int[] MaskSides => WindowSizes.Select(s => s / 4).ToArray();
}
