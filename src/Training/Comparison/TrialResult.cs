namespace MLNetSeg.Training.Comparison;

/// <summary>
/// One trained, evaluated and timed candidate in one round of a comparison: a leaderboard row. Plain
/// data, written to comparison.json (so a resumed comparison knows what is done) and leaderboard.json.
/// </summary>
public sealed record TrialResult
{
    /// <summary>The candidate's name.</summary>
    public required string Candidate { get; init; }

    /// <summary>Its family's name ("maskrcnn", "masklab", ...).</summary>
    public required string Family { get; init; }

    /// <summary>The round, from 0; a candidate's later rounds continue from its earlier round's weights.</summary>
    public required int Round { get; init; }

    /// <summary>The ranking metric's key and value (a fraction; −1 where undefined, as pycocotools).</summary>
    public required string Metric { get; init; }

    /// <summary>The value of <see cref="Metric"/>.</summary>
    public required double Score { get; init; }

    /// <summary>Every metric of the validation (<see cref="MLNetSeg.Evaluation.SegmentationEvaluation.Metrics"/>).</summary>
    public required IReadOnlyDictionary<string, double> Metrics { get; init; }

    /// <summary>Optimizer steps of this round.</summary>
    public required long Iterations { get; init; }

    /// <summary>Optimizer steps over all of the candidate's rounds so far.</summary>
    public required long TotalIterations { get; init; }

    /// <summary>Training time of this round (steps and data waits), seconds.</summary>
    public required double TrainingSeconds { get; init; }

    /// <summary>Wall time of the trial (model set-up, training, evaluation, timing), seconds.</summary>
    public required double WallSeconds { get; init; }

    /// <summary>Inference on this machine: the median milliseconds per validation image, one image per call.</summary>
    public required double InferenceMilliseconds { get; init; }

    /// <summary>Parameters of the model.</summary>
    public required long Parameters { get; init; }

    /// <summary>Size of its model file, bytes.</summary>
    public required long ModelBytes { get; init; }

    /// <summary>The trial's model file (model_final.mlseg in its folder).</summary>
    public required string ModelPath { get; init; }
}
