namespace MLNetSeg.Training;

/// <summary>
/// One line of a <see cref="MetricsLog"/> (metrics.jsonl): the iteration it belongs to, the seconds
/// since the training call started, and every other number of the line by its json key.
/// A training line holds "loss" (the total), the loss components ("loss_classifier", "loss_mask", ...),
/// "lr" and "images_per_s"; a validation line holds "validation_loss" (and "validation_loss_classifier",
/// ...) when validation losses were computed, and the COCO metrics as fractions under "bbox/AP",
/// "segm/AP50", "keypoints/AP", ... (−1 where a setting has no ground truth, as pycocotools reports it).
/// A json null (written for a non-finite value) reads as <see cref="double.NaN"/>.
/// </summary>
public sealed record MetricsRecord(long Iteration, double ElapsedSeconds, IReadOnlyDictionary<string, double> Values)
{
    /// <summary>The key of the total training loss; its presence marks a training line.</summary>
    public const string TotalLossKey = "loss";

    /// <summary>The key of the total validation loss.</summary>
    public const string ValidationLossKey = "validation_loss";

    /// <summary>True for a training line (every LogPeriod iterations), false for a validation line.</summary>
    public bool IsTraining => Values.ContainsKey(TotalLossKey);

    /// <summary>The value under <paramref name="key"/>, or null when the line has none.</summary>
    public double? Get(string key) => Values.TryGetValue(key, out var v) ? v : null;

    /// <summary>"loss" and the "loss_*" components of a training line.</summary>
    public IEnumerable<KeyValuePair<string, double>> Losses =>
        Values.Where(kv => kv.Key == TotalLossKey || kv.Key.StartsWith(TotalLossKey + "_", StringComparison.Ordinal));
}
