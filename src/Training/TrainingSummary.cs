namespace MLNetSeg.Training;

/// <summary>What a training run did.</summary>
public sealed record TrainingSummary
{
    /// <summary>Optimizer steps completed (including those before a resume).</summary>
    public required long Iterations { get; init; }

    /// <summary>The schedule's length (the run stopped earlier when <see cref="StoppedByTimeLimit"/>).</summary>
    public long PlannedIterations { get; init; }

    /// <summary>Training stopped at <see cref="ScheduleOptions.MaxTrainingTime"/> before the planned iterations.</summary>
    public bool StoppedByTimeLimit { get; init; }

    /// <summary>The iteration the run started from (0, or the checkpoint's).</summary>
    public long ResumedFrom { get; init; }

    /// <summary>The checkpoint resumed from, if any.</summary>
    public string? ResumedCheckpoint { get; init; }

    /// <summary>Mean losses over the last reporting window.</summary>
    public IReadOnlyDictionary<string, double> FinalLosses { get; init; } = new Dictionary<string, double>();

    /// <summary>The last COCO evaluation on the validation set (null without one).</summary>
    public MLNetSeg.Evaluation.SegmentationEvaluation? Evaluation { get; init; }

    /// <summary>The last validation losses (null without them).</summary>
    public IReadOnlyDictionary<string, double>? ValidationLosses { get; init; }

    /// <summary>The best validation result and where its model was saved.</summary>
    public BestResult? Best { get; init; }

    /// <summary>The file the best validation model was saved to (best.mlseg in the checkpoint directory); null without a
    /// checkpoint directory or validation.</summary>
    public string? BestModelPath { get; init; }

    /// <summary>The checkpoint written at the end.</summary>
    public string? FinalCheckpoint { get; init; }

    /// <summary>Wall time of this Fit call.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Training time of the whole run (all Fit calls; evaluation and checkpoints not counted): what a
    /// <see cref="ScheduleOptions.TimeBudget"/> measures.</summary>
    public TimeSpan TrainingTime { get; init; }

    /// <summary>Training images per second over the whole call (evaluation excluded).</summary>
    public double ImagesPerSecond { get; init; }
}
