using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models;

/// <summary>
/// A registered model family: how to build its models from training options, and how to rebuild
/// one from its section of a model file. One instance per family, registered in
/// <see cref="ModelRegistry"/>; the trainer, model files and the command line find families there.
/// </summary>
public abstract class ModelFamily
{
    /// <summary>The name model files and the command line use ("maskrcnn"): lower case, stable across versions.</summary>
    public abstract string Name { get; }

    /// <summary>The name people use ("Mask R-CNN").</summary>
    public abstract string DisplayName { get; }

    /// <summary>The family's <see cref="ModelOptions"/> record type.</summary>
    public abstract Type OptionsType { get; }

    /// <summary>What models built from <paramref name="options"/> output (so which annotations training needs and which
    /// evaluations apply), known before building one; the built model's <see cref="ISegmentationModel.Tasks"/> agrees.</summary>
    public abstract SegmentationTasks TasksFor(ModelOptions options);

    /// <summary>The options a new user starts from (the library's defaults for this family).</summary>
    public abstract ModelOptions CreateDefaultOptions();

    /// <summary>
    /// A new model with random weights (drawn from libtorch's generator: seed it first), in eval mode,
    /// for the classes and keypoints of <paramref name="labels"/>. Pretrained weights are not loaded
    /// here (<see cref="ISegmentationModel.LoadPretrainedWeights"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The options are not this family's or are out of range, or the
    /// labels do not suit the family (e.g. a keypoint model without a keypoint schema).</exception>
    public abstract ISegmentationModel Create(ModelOptions options, ModelFileInfo labels);

    /// <summary>
    /// Rebuilds a model (random weights, eval mode) from the family's section of a model file, as
    /// <see cref="ISegmentationModel.WriteConfig"/> wrote it. <paramref name="formatVersion"/> is the
    /// file's: older layouts keep loading. Errors are <see cref="ModelFileException"/>s naming the field.
    /// </summary>
    public abstract ISegmentationModel Build(ConfigField section, ModelFileInfo labels, int formatVersion);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the expected type when <paramref name="options"/> are another family's.</summary>
    protected TOptions OptionsOf<TOptions>(ModelOptions options) where TOptions : ModelOptions
    {
        ArgumentNullException.ThrowIfNull(options);
        return options as TOptions ?? throw new ArgumentException(
            $"{DisplayName} takes {typeof(TOptions).Name}, not {options.GetType().Name} (the options of family '{options.Family}')", nameof(options));
    }

    /// <summary>The display name and the file name, e.g. "Mask R-CNN (maskrcnn)".</summary>
    public override string ToString() => $"{DisplayName} ({Name})";
}
