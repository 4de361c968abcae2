using MLNetSeg.Evaluation.Coco;

namespace MLNetSeg.Reporting;

/// <summary>
/// A COCO precision–recall curve: pycocotools' interpolated precision at its 101 recall points for one IoU threshold,
/// area "all" and the largest detection limit, averaged over the categories that have ground truth (a category with
/// precision −1 has none and is left out, as pycocotools' summarize() leaves it out of AP).
/// </summary>
public sealed record PrecisionRecallCurve(string Evaluation, double IouThreshold, IReadOnlyList<double> Recall, IReadOnlyList<double> Precision)
{
    /// <summary>The curve of <paramref name="result"/> at <paramref name="iouThreshold"/> (one of its IoU thresholds, e.g. 0.5).</summary>
    /// <exception cref="ArgumentException">The evaluation has no such threshold.</exception>
    public static PrecisionRecallCurve From(CocoEvalResult result, double iouThreshold = 0.5)
    {
        ArgumentNullException.ThrowIfNull(result);
        var p = result.Params;
        int t = Enumerable.Range(0, p.IouThresholds.Count).FirstOrDefault(i => Math.Abs(p.IouThresholds[i] - iouThreshold) < 1e-9, -1);
        if (t < 0) throw new ArgumentException($"the {result.IouType} evaluation has no IoU threshold {iouThreshold} (it has {string.Join(", ", p.IouThresholds)})", nameof(iouThreshold));
        int all = Enumerable.Range(0, p.AreaRangeLabels.Count).First(a => p.AreaRangeLabels[a] == "all");
        int m = p.MaxDetections.Count - 1, categories = result.CategoryIds.Count;
        var precision = new double[p.RecallThresholds.Count];
        for (int r = 0; r < precision.Length; r++)
        {
            double sum = 0;
            int n = 0;
            for (int k = 0; k < categories; k++)
            {
                double v = result.Precision[t, r, k, all, m];
                if (v < 0) continue;
                sum += v;
                n++;
            }
            precision[r] = n == 0 ? double.NaN : sum / n;
        }
        return new PrecisionRecallCurve(result.IouType.ToString().ToLowerInvariant(), iouThreshold, p.RecallThresholds.ToArray(), precision);
    }

    /// <summary>The area under the curve as pycocotools computes AP: the mean precision over the recall points (NaN without ground truth).</summary>
    public double AveragePrecision => Precision.Average();
}
