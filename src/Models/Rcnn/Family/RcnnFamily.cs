using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models.Rcnn;

/// <summary>The R-CNN families' shared registration: building from <see cref="RcnnModelOptions"/> and from a model file section.</summary>
public abstract class RcnnFamily<TOptions> : ModelFamily where TOptions : RcnnModelOptions, new()
{
    /// <summary>The <see cref="ModelArchitecture.ModelType"/> of this family's models.</summary>
    protected abstract string ModelType { get; }

    /// <inheritdoc/>
    public override Type OptionsType => typeof(TOptions);

    /// <summary>A new <typeparamref name="TOptions"/>: torchvision's ResNet-50 recipe 1 at torchvision's widths.</summary>
    public override ModelOptions CreateDefaultOptions() => new TOptions();

    /// <summary>The architecture the options give for the classes and keypoints of <paramref name="labels"/>.</summary>
    /// <param name="options">Backbone, norm recipe, head recipe and widths.</param>
    /// <param name="labels">The classes (their count, background included, becomes <see cref="ModelArchitecture.NumClasses"/>) and the keypoint schema.</param>
    /// <exception cref="ArgumentException">The family needs a keypoint schema and <paramref name="labels"/> has none.</exception>
    public ModelArchitecture Architecture(TOptions options, ModelFileInfo labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return new ModelArchitecture
        {
            ModelType = ModelType,
            Version = options.HeadVersion,
            Backbone = options.Backbone,
            FpnVersion = options.Norm == BackboneNorm.BatchNorm ? 2 : 1,
            DilateLastStage = options.DilateLastStage,
            NumClasses = labels.NumClasses,
            NumKeypoints = KeypointsOf(labels)?.Count,
            Widths = options.Widths,
        };
    }

    /// <inheritdoc/>
    public override ISegmentationModel Create(ModelOptions options, ModelFileInfo labels)
    {
        var typed = OptionsOf<TOptions>(options);
        typed.Validate();
        var model = Architecture(typed, labels).Build(typed.Settings);
        if (typed.TrainMinSizes is { } sizes) model.Transform.TrainMinSizes = sizes;
        return model;
    }

    /// <inheritdoc/>
    public override ISegmentationModel Build(ConfigField section, ModelFileInfo labels, int formatVersion)
    {
        var (arch, options) = RcnnConfig.Read(section, formatVersion);
        if (arch.ModelType != ModelType) throw section.Get("type").Invalid($"a {DisplayName} section holds type '{ModelType}', not '{arch.ModelType}'");
        int? expected = KeypointsOf(labels)?.Count;
        if (expected is null && labels.Keypoints is not null)
            throw new ArgumentException($"a {DisplayName} model has no keypoints, but a keypoint schema of {labels.Keypoints.Count} is given");
        if (arch.NumKeypoints != expected)
            throw section.Get("num_keypoints").Invalid($"{arch.NumKeypoints?.ToString() ?? "no"} keypoints, but the file's keypoint schema names {expected?.ToString() ?? "none"}");
        return arch.Build(options);
    }

    /// <summary>The keypoint schema the family's models use for <paramref name="labels"/> (null: no keypoints).</summary>
    protected abstract KeypointSchema? KeypointsOf(ModelFileInfo labels);
}

/// <summary>Mask R-CNN (He et al. 2017), torchvision's: boxes, classes and instance masks.</summary>
public sealed class MaskRcnnFamily : RcnnFamily<MaskRcnnOptions>
{
    /// <summary>The family's registry and file name, "maskrcnn".</summary>
    public const string FamilyName = ModelArchitecture.MaskRcnnType;

    /// <summary>The instance <see cref="ModelRegistry"/> registers under <see cref="FamilyName"/>.</summary>
    public static MaskRcnnFamily Instance { get; } = new();

    /// <inheritdoc/>
    public override string Name => FamilyName;

    /// <inheritdoc/>
    public override string DisplayName => "Mask R-CNN";

    /// <inheritdoc/>
    protected override string ModelType => ModelArchitecture.MaskRcnnType;

    /// <summary>Null: Mask R-CNN predicts no keypoints.</summary>
    protected override KeypointSchema? KeypointsOf(ModelFileInfo labels) => null;

    /// <summary><see cref="SegmentationTasks.Boxes"/> and <see cref="SegmentationTasks.Masks"/>, whatever the options.</summary>
    /// <exception cref="ArgumentException"><paramref name="options"/> are not <see cref="MaskRcnnOptions"/>.</exception>
    public override SegmentationTasks TasksFor(ModelOptions options)
    {
        OptionsOf<MaskRcnnOptions>(options);
        return SegmentationTasks.Boxes | SegmentationTasks.Masks;
    }
}

/// <summary>Keypoint R-CNN (He et al. 2017 §5), torchvision's: boxes, classes and keypoints of the dataset's schema.</summary>
public sealed class KeypointRcnnFamily : RcnnFamily<KeypointRcnnOptions>
{
    /// <summary>The family's registry and file name, "keypointrcnn".</summary>
    public const string FamilyName = ModelArchitecture.KeypointRcnnType;

    /// <summary>The instance <see cref="ModelRegistry"/> registers under <see cref="FamilyName"/>.</summary>
    public static KeypointRcnnFamily Instance { get; } = new();

    /// <inheritdoc/>
    public override string Name => FamilyName;

    /// <inheritdoc/>
    public override string DisplayName => "Keypoint R-CNN";

    /// <inheritdoc/>
    protected override string ModelType => ModelArchitecture.KeypointRcnnType;

    /// <summary><see cref="SegmentationTasks.Boxes"/> and <see cref="SegmentationTasks.Keypoints"/>, whatever the options.</summary>
    /// <exception cref="ArgumentException"><paramref name="options"/> are not <see cref="KeypointRcnnOptions"/>.</exception>
    public override SegmentationTasks TasksFor(ModelOptions options)
    {
        OptionsOf<KeypointRcnnOptions>(options);
        return SegmentationTasks.Boxes | SegmentationTasks.Keypoints;
    }

    /// <summary>The dataset's keypoint schema, <see cref="ModelFileInfo.Keypoints"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="labels"/> has no keypoint schema.</exception>
    protected override KeypointSchema? KeypointsOf(ModelFileInfo labels) =>
        labels.Keypoints ?? throw new ArgumentException("Keypoint R-CNN needs the keypoint schema (names, skeleton, flip map) of its data: " +
                                                        "ModelFileInfo.Keypoints is null (does the dataset have a keypoint category?)");
}
