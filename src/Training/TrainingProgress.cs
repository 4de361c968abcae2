namespace MLNetSeg.Training;

/// <summary>What a <see cref="TrainingProgress"/> report is about.</summary>
public enum TrainingEvent
{
    /// <summary>Training starts (or resumes): <see cref="TrainingProgress.Message"/> describes the run.</summary>
    Started,

    /// <summary>Every <see cref="RuntimeOptions.LogPeriod"/> iterations: losses, rate, speed, ETA.</summary>
    Iteration,

    /// <summary>Validation loss and/or COCO metrics are in.</summary>
    Validation,

    /// <summary>A checkpoint or model file was written (<see cref="TrainingProgress.Path"/>).</summary>
    Saved,

    /// <summary>Training finished.</summary>
    Finished,
}

/// <summary>
/// One progress report of a training run. Loss values are the mean over the iterations since the
/// previous <see cref="TrainingEvent.Iteration"/> report (each iteration's value is the mean over its
/// accumulated batches), under torchvision's names (loss_classifier, loss_box_reg, loss_mask,
/// loss_keypoint, loss_objectness, loss_rpn_box_reg) plus "loss" for their sum.
/// </summary>
public sealed record TrainingProgress
{
    /// <summary>What the report is about; decides which of the optional members are set.</summary>
    public required TrainingEvent Event { get; init; }

    /// <summary>Optimizer steps completed.</summary>
    public required long Iteration { get; init; }

    /// <summary>Optimizer steps the run will take; with <see cref="ScheduleOptions.TimeBudget"/> an estimate from the pace so far.</summary>
    public required long TotalIterations { get; init; }

    /// <summary>The epoch the data loader is in (0-based).</summary>
    public int Epoch { get; init; }

    /// <summary>Mean training losses over the reporting window by name (see the class summary); empty for events without losses.</summary>
    public IReadOnlyDictionary<string, double> Losses { get; init; } = new Dictionary<string, double>();

    /// <summary>The learning rate of the last step.</summary>
    public double LearningRate { get; init; }

    /// <summary>Training images per second over the reporting window (data waits included).</summary>
    public double ImagesPerSecond { get; init; }

    /// <summary>Seconds per iteration over the reporting window.</summary>
    public double SecondsPerIteration { get; init; }

    /// <summary>Wall time since this training call started, evaluation included (time spent before a resume is not counted).</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Estimated time to the last iteration (null until an estimate exists).</summary>
    public TimeSpan? Eta { get; init; }

    /// <summary>Validation losses (<see cref="TrainingEvent.Validation"/>).</summary>
    public IReadOnlyDictionary<string, double>? ValidationLosses { get; init; }

    /// <summary>COCO metrics by "bbox/AP", "segm/AP50", "keypoints/AP" ... (<see cref="TrainingEvent.Validation"/>).</summary>
    public IReadOnlyDictionary<string, double>? Metrics { get; init; }

    /// <summary>The file written (<see cref="TrainingEvent.Saved"/>).</summary>
    public string? Path { get; init; }

    /// <summary>A human-readable line about the event.</summary>
    public string? Message { get; init; }
}
