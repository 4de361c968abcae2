using MLNetSeg.Models.Rcnn;

namespace MLNetSeg.Training;

/// <summary>
/// The <see cref="SegmentationTrainer"/> for the R-CNN families, by the name people look for: its
/// options' <see cref="TrainingOptions.Model"/> must be <see cref="MaskRcnnOptions"/> or
/// <see cref="KeypointRcnnOptions"/>. The training loop is the same one every family uses.
/// </summary>
public sealed class MaskRcnnTrainer : SegmentationTrainer
{
    /// <summary>Checks and keeps the options; no data is read until <see cref="SegmentationTrainer.Fit"/>.</summary>
    /// <param name="options">The training options; <see cref="TrainingOptions.Model"/> must be an R-CNN family's options.</param>
    /// <exception cref="ArgumentException">The model is not an R-CNN family, or an option is out of range.</exception>
    public MaskRcnnTrainer(TrainingOptions options) : base(Check(options))
    {
    }

    private static TrainingOptions Check(TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Model is not RcnnModelOptions)
            throw new ArgumentException($"MaskRcnnTrainer trains the R-CNN families (MaskRcnnOptions, KeypointRcnnOptions), not {options.Model?.GetType().Name ?? "null"}; " +
                                        "use SegmentationTrainer for other families", nameof(options));
        return options;
    }
}
