namespace MLNetSeg.Evaluation.Semantic;

/// <summary>
/// Semantic segmentation scores as detectron2's SemSegEvaluator computes them, but as fractions in
/// [0, 1] (detectron2 reports percentages). Per-class entries are NaN where detectron2 has NaN:
/// IoU and accuracy for classes without ground-truth pixels; boundary IoU where the class has no
/// boundary pixel in either map. Means skip NaN entries.
/// </summary>
public sealed record SemanticSegmentationMetrics
{
    /// <summary>Mean over classes present in the ground truth of TP / (TP + FP + FN).</summary>
    public required double MeanIou { get; init; }
    /// <summary>Σ IoU × (class gt pixels / all labelled gt pixels), over the classes in <see cref="MeanIou"/>.</summary>
    public required double FrequencyWeightedIou { get; init; }
    /// <summary>Mean over classes present in the ground truth of TP / gt pixels.</summary>
    public required double MeanAccuracy { get; init; }
    /// <summary>Correct pixels / labelled (non-ignored) gt pixels.</summary>
    public required double PixelAccuracy { get; init; }
    /// <summary>IoU per class, TP / (TP + FP + FN); NaN for a class without ground-truth pixels.</summary>
    public required IReadOnlyList<double> ClassIou { get; init; }
    /// <summary>Accuracy per class, TP / gt pixels of the class; NaN for a class without ground-truth pixels.</summary>
    public required IReadOnlyList<double> ClassAccuracy { get; init; }
    /// <summary>Per-class Boundary IoU (boundary-iou-api definition); null when not computed.</summary>
    public IReadOnlyList<double>? ClassBoundaryIou { get; init; }
    /// <summary>Mean of the defined <see cref="ClassBoundaryIou"/> entries; null when not computed.</summary>
    public double? MeanBoundaryIou { get; init; }
    /// <summary>Name per class, in the order of the per-class lists.</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>detectron2-style result keys and values in percent (mIoU, fwIoU, IoU-name, BoundaryIoU-name,
    /// mACC, pACC, ACC-name), for logs and side-by-side comparison.</summary>
    public IReadOnlyDictionary<string, double> ToDetectron2Dictionary()
    {
        var d = new Dictionary<string, double> { ["mIoU"] = 100 * MeanIou, ["fwIoU"] = 100 * FrequencyWeightedIou };
        for (int i = 0; i < ClassNames.Count; i++)
        {
            d[$"IoU-{ClassNames[i]}"] = 100 * ClassIou[i];
            if (ClassBoundaryIou is { } b) d[$"BoundaryIoU-{ClassNames[i]}"] = 100 * b[i];
        }
        d["mACC"] = 100 * MeanAccuracy;
        d["pACC"] = 100 * PixelAccuracy;
        for (int i = 0; i < ClassNames.Count; i++) d[$"ACC-{ClassNames[i]}"] = 100 * ClassAccuracy[i];
        return d;
    }
}
