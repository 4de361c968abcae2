using MLNetSeg.Models.Backbones;

namespace MLNetSeg.Models.Rcnn;

/// <summary>The normalisation of the ResNet body (and FPN).</summary>
public enum BackboneNorm
{
    /// <summary>FrozenBatchNorm2d body, FPN without norm (torchvision's recipe for fine-tuning
    /// ImageNet/COCO weights; the statistics never change, so it cannot learn from scratch).</summary>
    FrozenBatchNorm,

    /// <summary>BatchNorm2d in the body and in the FPN (torchvision's v2 backbone): use it to train from scratch.</summary>
    BatchNorm,
}

/// <summary>
/// Training options of the R-CNN families (<see cref="MaskRcnnOptions"/>, <see cref="KeypointRcnnOptions"/>):
/// the architecture (ResNet, norm recipe, head recipe, widths) and <see cref="Settings"/>, the
/// model's own sizes, sampling and thresholds (one place for each: the input sizes and trainable
/// backbone layers live in <see cref="RcnnOptions"/> only). The class and keypoint counts come from the dataset.
/// </summary>
public abstract record RcnnModelOptions : ModelOptions
{
    /// <summary>The ResNet of the backbone (resnet18, resnet34, resnet50, ...).</summary>
    public ResNetDepth Backbone { get; init; } = ResNetDepth.ResNet50;

    /// <summary>Normalisation of the ResNet body and FPN: torchvision's FPN recipe 1 (<see cref="BackboneNorm.FrozenBatchNorm"/>,
    /// the default, for fine-tuning pretrained weights) or 2 (<see cref="BackboneNorm.BatchNorm"/>, to train from scratch).</summary>
    public BackboneNorm Norm { get; init; } = BackboneNorm.FrozenBatchNorm;

    /// <summary>torchvision recipe of the RPN and RoI heads: 1 (maskrcnn_resnet50_fpn: one-conv RPN head,
    /// two-FC box head) or 2 (the _v2 recipe: two-conv RPN head, 4-conv + FC box head, BatchNorm mask head).</summary>
    public int HeadVersion { get; init; } = 1;

    /// <summary>Channel widths of the backbone, FPN and heads. torchvision's (the default) fit its
    /// checkpoints; <see cref="DetectorWidths.Compact"/> trains about 5× faster on a CPU, for models
    /// trained from scratch.</summary>
    public DetectorWidths Widths { get; init; } = DetectorWidths.Torchvision;

    /// <summary>Input sizes (<see cref="RcnnOptions.MinSize"/>/<see cref="RcnnOptions.MaxSize"/>), trainable
    /// backbone layers, RPN/RoI sampling and thresholds, detections per image. The class and keypoint
    /// counts in it are ignored: the dataset gives them.</summary>
    public RcnnOptions Settings { get; init; } = new();

    /// <summary>Atrous last stage: layer4 dilated instead of strided, C5 at output stride 16 (MaskLab's §3.4 option; DeepLab's
    /// backbones). Bottleneck ResNets only (ResNet-50 and deeper).</summary>
    public bool DilateLastStage { get; init; }

    /// <summary>Multi-scale training: a short side drawn per training image (torchvision's min_size tuple).
    /// Null: <see cref="RcnnOptions.MinSize"/> of <see cref="Settings"/>, which is also the test size.</summary>
    public IReadOnlyList<int>? TrainMinSizes { get; init; }

    /// <inheritdoc/>
    public override void Validate()
    {
        static void Require(bool ok, string option, string message)
        {
            if (!ok) throw new ArgumentException($"{option} {message}", option);
        }
        Require(Enum.IsDefined(Backbone), nameof(Backbone), $"is not a ResNet ({Backbone})");
        Require(Enum.IsDefined(Norm), nameof(Norm), $"is not a norm recipe ({Norm})");
        Require(HeadVersion is 1 or 2, nameof(HeadVersion), $"must be 1 or 2, got {HeadVersion}");
        Require(Widths is not null, nameof(Widths), "must be set (DetectorWidths.Torchvision or another)");
        try { Widths!.Validate(); }
        catch (ArgumentOutOfRangeException e) { Require(false, nameof(Widths), e.Message); }
        Require(Settings is not null, nameof(Settings), "must be set");
        Settings!.Validate(GetType().Name + "." + nameof(Settings));
        Require(TrainMinSizes is null || (TrainMinSizes.Count > 0 && TrainMinSizes.All(s => s >= 1)), nameof(TrainMinSizes), "must list positive sizes");
    }
}

/// <summary>Mask R-CNN (boxes, classes, instance masks); the dataset needs segmentations.</summary>
public sealed record MaskRcnnOptions : RcnnModelOptions
{
    /// <inheritdoc/>
    [System.Text.Json.Serialization.JsonIgnore]
    public override string Family => MaskRcnnFamily.FamilyName;

    /// <summary>
    /// Fine-tuning from a published torchvision weight set: torchvision's ResNet-50-FPN architecture and
    /// widths, the set's FrozenBatchNorm2d eps and <see cref="ModelOptions.PretrainedWeights"/> =
    /// <paramref name="path"/>; the dataset's classes replace COCO's (the class-specific layers start fresh).
    /// </summary>
    /// <param name="weights">A Mask R-CNN set of <see cref="TorchvisionWeights"/>.</param>
    /// <param name="path">The set's file.</param>
    /// <param name="settings">Input sizes, sampling and thresholds (torchvision's defaults when null).</param>
    public static MaskRcnnOptions FromTorchvision(TorchvisionWeightSet weights, string path, RcnnOptions? settings = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        return weights.FineTuning(new MaskRcnnOptions(), path, settings);
    }
}

/// <summary>Keypoint R-CNN (boxes, classes, keypoints); the dataset needs keypoints and a keypoint schema.</summary>
public sealed record KeypointRcnnOptions : RcnnModelOptions
{
    /// <inheritdoc/>
    [System.Text.Json.Serialization.JsonIgnore]
    public override string Family => KeypointRcnnFamily.FamilyName;

    /// <summary>
    /// Fine-tuning from a published torchvision weight set: torchvision's ResNet-50-FPN architecture and
    /// widths, the set's FrozenBatchNorm2d eps and <see cref="ModelOptions.PretrainedWeights"/> = <paramref name="path"/>.
    /// </summary>
    /// <param name="weights">A Keypoint R-CNN set of <see cref="TorchvisionWeights"/>.</param>
    /// <param name="path">The set's file.</param>
    /// <param name="settings">Input sizes, sampling and thresholds (torchvision's defaults when null).</param>
    public static KeypointRcnnOptions FromTorchvision(TorchvisionWeightSet weights, string path, RcnnOptions? settings = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        return weights.FineTuning(new KeypointRcnnOptions(), path, settings);
    }

    /// <summary>Checks the shared options and that <see cref="RcnnModelOptions.HeadVersion"/> is 1 (torchvision has no Keypoint R-CNN v2).</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public override void Validate()
    {
        base.Validate();
        if (HeadVersion != 1)
            throw new ArgumentException($"{nameof(HeadVersion)} 2 exists for Mask R-CNN only (torchvision has no keypointrcnn v2)", nameof(HeadVersion));
    }
}
