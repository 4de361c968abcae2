namespace MLNetSeg.Transforms;

/// <summary>What a transformer outputs: column names, score threshold, batch size.</summary>
public sealed record SegmentationScoringSettings
{
    /// <summary>The output column names (defaults: <see cref="SegmentationColumns.PredictedLabel"/>, <see cref="SegmentationColumns.Score"/>, …).</summary>
    public SegmentationOutputColumns Columns { get; init; } = new();

    /// <summary>Detections scoring below this are dropped (default 0: keep what the model returns; it already applies its own threshold, 0.05 for R-CNNs).</summary>
    public float ScoreThreshold { get; init; }

    /// <summary>Images run through the model together by a cursor (default 1: on a CPU batching gains nothing and padding to a common size costs; raise it on a GPU).</summary>
    public int BatchSize { get; init; } = 1;

    internal void Validate()
    {
        if (!(ScoreThreshold >= 0 && ScoreThreshold <= 1)) throw new ArgumentOutOfRangeException(nameof(ScoreThreshold), ScoreThreshold, "score threshold must be in [0, 1]");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "batch size must be at least 1");
        ArgumentNullException.ThrowIfNull(Columns);
    }
}
