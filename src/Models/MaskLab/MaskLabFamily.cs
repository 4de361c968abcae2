using MLNetSeg.Models.Rcnn;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models.MaskLab;

/// <summary>MaskLab (Chen et al. 2018): boxes, classes and instance masks from box detection, semantic
/// segmentation and direction prediction (<see cref="MaskLabModel"/>).</summary>
public sealed class MaskLabFamily : RcnnFamily<MaskLabOptions>
{
    /// <summary>The family's registry and file name, "masklab".</summary>
    public const string FamilyName = ModelArchitecture.MaskLabType;

    /// <summary>The instance <see cref="ModelRegistry"/> registers under <see cref="FamilyName"/>.</summary>
    public static MaskLabFamily Instance { get; } = new();

    /// <inheritdoc/>
    public override string Name => FamilyName;

    /// <inheritdoc/>
    public override string DisplayName => "MaskLab";

    /// <inheritdoc/>
    protected override string ModelType => ModelArchitecture.MaskLabType;

    /// <summary>Null: MaskLab predicts no keypoints.</summary>
    protected override KeypointSchema? KeypointsOf(ModelFileInfo labels) => null;

    /// <summary><see cref="SegmentationTasks.Boxes"/> and <see cref="SegmentationTasks.Masks"/>, whatever the options.</summary>
    /// <exception cref="ArgumentException"><paramref name="options"/> are not <see cref="MaskLabOptions"/>.</exception>
    public override SegmentationTasks TasksFor(ModelOptions options)
    {
        OptionsOf<MaskLabOptions>(options);
        return SegmentationTasks.Boxes | SegmentationTasks.Masks;
    }

    /// <summary>A new MaskLab model for the classes of <paramref name="labels"/> (random weights, eval mode).</summary>
    /// <exception cref="ArgumentException">The options are not <see cref="MaskLabOptions"/> or are out of range.</exception>
    public override ISegmentationModel Create(ModelOptions options, ModelFileInfo labels)
    {
        var typed = OptionsOf<MaskLabOptions>(options);
        typed.Validate();
        ArgumentNullException.ThrowIfNull(labels);
        if (typed.SemanticClasses is { } classes) SemanticClassMapping.CheckThings(classes, typed.ThingSemanticLabels, labels.ClassNames.Skip(1).ToArray());
        var model = MaskLabModel.Create(Architecture(typed, labels), typed.Settings, typed);
        if (typed.TrainMinSizes is { } sizes) model.Transform.TrainMinSizes = sizes;
        return model;
    }

    /// <summary>Rebuilds a MaskLab model from its section: the R-CNN fields and the "masklab" switches.</summary>
    public override ISegmentationModel Build(ConfigField section, ModelFileInfo labels, int formatVersion)
    {
        var (arch, settings) = RcnnConfig.Read(section, formatVersion);
        if (arch.ModelType != ModelType) throw section.Get("type").Invalid($"a {DisplayName} section holds type '{ModelType}', not '{arch.ModelType}'");
        var switches = MaskLabConfig.Read(section.Get(MaskLabConfig.SectionName));
        return MaskLabModel.Create(arch, settings, switches);
    }
}
