using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models.Rcnn;

/// <summary>The R-CNN families' shared registration: building from <see cref="RcnnModelOptions"/> and from a model file section.</summary>
public abstract class RcnnFamily<TOptions> : ModelFamily where TOptions : RcnnModelOptions, new()
{
    /// <summary>The <see cref="ModelArchitecture.ModelType"/> of this family's models.</summary>
    protected abstract string ModelType { get; }

    public override Type OptionsType => typeof(TOptions);

    public override ModelOptions CreateDefaultOptions() => new TOptions();

    /// <summary>The architecture the options give for the classes and keypoints of <paramref name="labels"/>.</summary>
    public ModelArchitecture Architecture(TOptions options, ModelFileInfo labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return new ModelArchitecture
        {
            ModelType = ModelType,
            Version = options.HeadVersion,
            Backbone = options.Backbone,
            FpnVersion = options.Norm == BackboneNorm.BatchNorm ? 2 : 1,
            NumClasses = labels.NumClasses,
            NumKeypoints = KeypointsOf(labels)?.Count,
            Widths = options.Widths,
        };
    }

    public override ISegmentationModel Create(ModelOptions options, ModelFileInfo labels)
    {
        var typed = OptionsOf<TOptions>(options);
        typed.Validate();
        var model = Architecture(typed, labels).Build(typed.Settings);
        if (typed.TrainMinSizes is { } sizes) model.Transform.TrainMinSizes = sizes;
        return model;
    }

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
    public const string FamilyName = ModelArchitecture.MaskRcnnType;

    public static MaskRcnnFamily Instance { get; } = new();

    public override string Name => FamilyName;

    public override string DisplayName => "Mask R-CNN";

    protected override string ModelType => ModelArchitecture.MaskRcnnType;

    protected override KeypointSchema? KeypointsOf(ModelFileInfo labels) => null;

    public override SegmentationTasks TasksFor(ModelOptions options)
    {
        OptionsOf<MaskRcnnOptions>(options);
        return SegmentationTasks.Boxes | SegmentationTasks.Masks;
    }
}

/// <summary>Keypoint R-CNN (He et al. 2017 §5), torchvision's: boxes, classes and keypoints of the dataset's schema.</summary>
public sealed class KeypointRcnnFamily : RcnnFamily<KeypointRcnnOptions>
{
    public const string FamilyName = ModelArchitecture.KeypointRcnnType;

    public static KeypointRcnnFamily Instance { get; } = new();

    public override string Name => FamilyName;

    public override string DisplayName => "Keypoint R-CNN";

    protected override string ModelType => ModelArchitecture.KeypointRcnnType;

    public override SegmentationTasks TasksFor(ModelOptions options)
    {
        OptionsOf<KeypointRcnnOptions>(options);
        return SegmentationTasks.Boxes | SegmentationTasks.Keypoints;
    }

    protected override KeypointSchema? KeypointsOf(ModelFileInfo labels) =>
        labels.Keypoints ?? throw new ArgumentException("Keypoint R-CNN needs the keypoint schema (names, skeleton, flip map) of its data: " +
                                                        "ModelFileInfo.Keypoints is null (does the dataset have a keypoint category?)");
}
