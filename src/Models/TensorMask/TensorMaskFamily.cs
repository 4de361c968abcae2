using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models.TensorMask;

/// <summary>TensorMask (Chen et al. 2019): boxes, classes and instance masks from dense sliding windows
/// (<see cref="TensorMaskModel"/>).</summary>
public sealed class TensorMaskFamily : ModelFamily
{
    /// <summary>The family's registry and file name, "tensormask".</summary>
    public const string FamilyName = TensorMaskConfig.Type;

    /// <summary>The instance <see cref="ModelRegistry"/> registers under <see cref="FamilyName"/>.</summary>
    public static TensorMaskFamily Instance { get; } = new();

    /// <inheritdoc/>
    public override string Name => FamilyName;

    /// <inheritdoc/>
    public override string DisplayName => "TensorMask";

    /// <inheritdoc/>
    public override Type OptionsType => typeof(TensorMaskOptions);

    /// <summary><see cref="SegmentationTasks.Boxes"/> and <see cref="SegmentationTasks.Masks"/>, whatever the options.</summary>
    /// <exception cref="ArgumentException"><paramref name="options"/> are not <see cref="TensorMaskOptions"/>.</exception>
    public override SegmentationTasks TasksFor(ModelOptions options)
    {
        OptionsOf<TensorMaskOptions>(options);
        return SegmentationTasks.Boxes | SegmentationTasks.Masks;
    }

    /// <summary>detectron2's TensorMask R-50-FPN settings (<see cref="TensorMaskOptions"/>' defaults).</summary>
    public override ModelOptions CreateDefaultOptions() => new TensorMaskOptions();

    /// <summary>A new TensorMask model for the classes of <paramref name="labels"/> (random weights, eval mode).</summary>
    /// <exception cref="ArgumentException">The options are not <see cref="TensorMaskOptions"/> or are out of range.</exception>
    public override ISegmentationModel Create(ModelOptions options, ModelFileInfo labels)
    {
        var typed = OptionsOf<TensorMaskOptions>(options);
        typed.Validate();
        ArgumentNullException.ThrowIfNull(labels);
        return new TensorMaskModel(typed, labels.NumClasses);
    }

    /// <summary>Rebuilds a TensorMask model from its section (<see cref="TensorMaskConfig"/>).</summary>
    public override ISegmentationModel Build(ConfigField section, ModelFileInfo labels, int formatVersion) =>
        new TensorMaskModel(TensorMaskConfig.Read(section), labels.NumClasses);
}
