using System.Text;

namespace MLNetSeg.Evaluation.Coco;

/// <summary>pycocotools' <c>summarize()</c>: the stats, their order, and the printed table, reproduced exactly.</summary>
internal static class CocoSummary
{
    private readonly record struct Stat(bool Ap, double? IouThreshold, string Area, int MaxDets, string Name);

    public static (double[] Stats, string[] Names, string Text) Summarize(CocoEvalParams p, double[,,,,] precision, double[,,,] recall)
    {
        Stat[] stats;
        if (p.IouType == CocoIouType.Keypoints)
        {
            stats =
            [
                new(true, null, "all", 20, "AP"), new(true, .5, "all", 20, "AP50"), new(true, .75, "all", 20, "AP75"),
                new(true, null, "medium", 20, "APm"), new(true, null, "large", 20, "APl"),
                new(false, null, "all", 20, "AR"), new(false, .5, "all", 20, "AR50"), new(false, .75, "all", 20, "AR75"),
                new(false, null, "medium", 20, "ARm"), new(false, null, "large", 20, "ARl"),
            ];
        }
        else
        {
            int m0 = p.MaxDetections[0], m1 = p.MaxDetections[1], m2 = p.MaxDetections[2];
            stats =
            [
                new(true, null, "all", 100, "AP"), new(true, .5, "all", m2, "AP50"), new(true, .75, "all", m2, "AP75"),
                new(true, null, "small", m2, "APs"), new(true, null, "medium", m2, "APm"), new(true, null, "large", m2, "APl"),
                new(false, null, "all", m0, "AR1"), new(false, null, "all", m1, "AR10"), new(false, null, "all", m2, "AR100"),
                new(false, null, "small", m2, "ARs"), new(false, null, "medium", m2, "ARm"), new(false, null, "large", m2, "ARl"),
            ];
        }
        var values = new double[stats.Length];
        var text = new StringBuilder();
        for (int i = 0; i < stats.Length; i++)
        {
            values[i] = Compute(p, precision, recall, stats[i]);
            text.Append(Line(p, stats[i], values[i])).Append('\n');
        }
        return (values, stats.Select(s => s.Name).ToArray(), text.ToString());
    }

    /// <summary>Mean of precision[:, :, k, area "all", last maxDets] over entries > −1; −1 if none (detectron2's per-category AP).</summary>
    public static double CategoryAp(double[,,,,] precision, int k)
    {
        int tCount = precision.GetLength(0), rCount = precision.GetLength(1), m = precision.GetLength(4) - 1;
        var values = new List<double>(tCount * rCount);
        for (int t = 0; t < tCount; t++)
            for (int r = 0; r < rCount; r++)
            {
                double v = precision[t, r, k, 0, m];
                if (v > -1) values.Add(v);
            }
        return values.Count == 0 ? -1 : NumpyCompat.Mean(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(values));
    }

    // _summarize: select [t?, :, :, aind, mind], keep entries > -1 in C order, numpy mean.
    private static double Compute(CocoEvalParams p, double[,,,,] precision, double[,,,] recall, Stat s)
    {
        int a = IndexOf(p.AreaRangeLabels, s.Area);
        int m = IndexOf(p.MaxDetections, s.MaxDets);
        var thresholds = new List<int>();
        for (int t = 0; t < p.IouThresholds.Count; t++)
        {
            // pycocotools matches the threshold with "==", so .75 must be exactly one of the linspace values.
            if (s.IouThreshold is not double thr || p.IouThresholds[t] == thr) thresholds.Add(t);
        }
        var values = new List<double>();
        if (a >= 0 && m >= 0)
        {
            int kCount = recall.GetLength(1);
            foreach (int t in thresholds)
            {
                if (s.Ap)
                {
                    for (int r = 0; r < p.RecallThresholds.Count; r++)
                        for (int k = 0; k < kCount; k++)
                            if (precision[t, r, k, a, m] > -1) values.Add(precision[t, r, k, a, m]);
                }
                else
                {
                    for (int k = 0; k < kCount; k++)
                        if (recall[t, k, a, m] > -1) values.Add(recall[t, k, a, m]);
                }
            }
        }
        return values.Count == 0 ? -1 : NumpyCompat.Mean(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(values));
    }

    private static int IndexOf<T>(IReadOnlyList<T> list, T value)
    {
        for (int i = 0; i < list.Count; i++) if (EqualityComparer<T>.Default.Equals(list[i], value)) return i;
        return -1;
    }

    // ' {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}'
    private static string Line(CocoEvalParams p, Stat s, double value)
    {
        string title = s.Ap ? "Average Precision" : "Average Recall";
        string type = s.Ap ? "(AP)" : "(AR)";
        string iou = s.IouThreshold is double thr
            ? NumpyCompat.FormatFixed(thr, 2)
            : NumpyCompat.FormatFixed(p.IouThresholds[0], 2) + ":" + NumpyCompat.FormatFixed(p.IouThresholds[^1], 2);
        return $" {title,-18} {type} @[ IoU={iou,-9} | area={s.Area,6} | maxDets={s.MaxDets,3} ] = {NumpyCompat.FormatFixed(value, 3)}";
    }
}
