using MLNetSeg.Models.Rcnn;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models.Panoptic;

/// <summary>Panoptic FPN and the IMP models (Mask R-CNN-IMP, Semantic-/Panoptic-P2(-IMP), Semantic-/Panoptic-FPN(-IMP)): a semantic
/// label map, and with the instance branches boxes, masks and a panoptic segmentation (<see cref="PanopticModel"/>).</summary>
public sealed class PanopticFamily : RcnnFamily<PanopticOptions>
{
    /// <summary>The family's registry and file name, "panoptic".</summary>
    public const string FamilyName = ModelArchitecture.PanopticType;

    /// <summary>The instance <see cref="ModelRegistry"/> registers under <see cref="FamilyName"/>.</summary>
    public static PanopticFamily Instance { get; } = new();

    /// <inheritdoc/>
    public override string Name => FamilyName;

    /// <inheritdoc/>
    public override string DisplayName => "Panoptic FPN / IMP";

    /// <inheritdoc/>
    protected override string ModelType => ModelArchitecture.PanopticType;

    /// <summary>Null: no keypoints.</summary>
    protected override KeypointSchema? KeypointsOf(ModelFileInfo labels) => null;

    /// <summary>The semantic map; with the instance branches also boxes, masks and the panoptic segmentation.</summary>
    /// <exception cref="ArgumentException"><paramref name="options"/> are not <see cref="PanopticOptions"/>.</exception>
    public override SegmentationTasks TasksFor(ModelOptions options) => TasksOf(OptionsOf<PanopticOptions>(options));

    internal static SegmentationTasks TasksOf(PanopticOptions options) =>
        SegmentationTasks.Semantic | (options.Instances ? SegmentationTasks.Boxes | SegmentationTasks.Masks | SegmentationTasks.Panoptic : 0);

    /// <summary>A new model for the classes of <paramref name="labels"/> (random weights, eval mode); every detector class must map to
    /// the semantic class of its name.</summary>
    /// <exception cref="ArgumentException">The options are not <see cref="PanopticOptions"/>, are out of range, or their semantic
    /// classes do not match the detector's.</exception>
    public override ISegmentationModel Create(ModelOptions options, ModelFileInfo labels)
    {
        var typed = OptionsOf<PanopticOptions>(options);
        typed.Validate();
        ArgumentNullException.ThrowIfNull(labels);
        typed.CheckThings(labels.ClassNames.Skip(1).ToArray());
        var model = PanopticModel.Create(Architecture(typed, labels), typed.Settings, typed);
        if (typed.TrainMinSizes is { } sizes) model.Transform.TrainMinSizes = sizes;
        return model;
    }

    /// <summary>Rebuilds a model from its section: the R-CNN fields and the "panoptic" switches.</summary>
    public override ISegmentationModel Build(ConfigField section, ModelFileInfo labels, int formatVersion)
    {
        var (arch, settings) = RcnnConfig.Read(section, formatVersion);
        if (arch.ModelType != ModelType) throw section.Get("type").Invalid($"a {DisplayName} section holds type '{ModelType}', not '{arch.ModelType}'");
        var switches = PanopticConfig.Read(section.Get(PanopticConfig.SectionName));
        return PanopticModel.Create(arch, settings, switches);
    }
}
