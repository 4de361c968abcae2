namespace MLNetSeg.Transforms.Tests.Evaluation;

/// <summary>One ground-truth object or detection: class key, corners x0, y0, x1, y1 as the columns hold them.</summary>
internal sealed record BoxObject(int Key, float X0, float Y0, float X1, float Y1, float Score = 1, bool IsCrowd = false);

/// <summary>An image's ground truth and detections (detections in row order).</summary>
internal sealed record BoxImage(IReadOnlyList<BoxObject> Truth, IReadOnlyList<BoxObject> Detections);

/// <summary>
/// Which conventions a box mAP follows. <see cref="MlNet"/> is Microsoft.ML.TorchSharp's
/// <c>ObjectDetectionMetrics</c> (0.24.0); <see cref="Coco"/> is pycocotools' "bbox" AP and AP50 at
/// area "all", maxDets 100. Between them each switch can be flipped on its own, to see what each
/// convention is worth.
/// </summary>
internal sealed record ApConvention
{
    /// <summary>Box width x1 − x0 + 1 and height y1 − y0 + 1 (ML.NET) instead of x1 − x0, y1 − y0.</summary>
    public required bool PlusOne { get; init; }

    /// <summary>Detections scoring under this are dropped before anything (ML.NET: 0.05).</summary>
    public required float ScoreThreshold { get; init; }

    /// <summary>IoU thresholds from ML.NET's loop <c>for (float t = 0.5f; t &lt; 1f; t += 0.05f)</c>
    /// (0.5, 0.55000001, …, 0.9500001) instead of numpy's <c>linspace(.5, .95, 10)</c>.</summary>
    public required bool FloatThresholds { get; init; }

    /// <summary>
    /// ML.NET's matching: per image, all same-class (truth, detection) pairs with IoU &gt; 0, sorted by
    /// IoU, paired greedily once — whatever the score and the threshold — then a pair is a true
    /// positive at threshold t if its IoU ≥ t; detections ranked by List.Sort on the score (an
    /// unstable sort); crowd regions are then objects (<see cref="CrowdAsObject"/> must be true). Otherwise pycocotools' evaluateImg: at every threshold, detections in score
    /// order each take the best-IoU free truth with IoU ≥ t; ranking stable (image, then row order).
    /// </summary>
    public required bool MlNetMatching { get; init; }

    /// <summary>Crowd regions count as ordinary objects (ML.NET has no crowd column) instead of
    /// pycocotools' ignore regions (IoU = intersection / detection area, matches ignored, not counted).</summary>
    public required bool CrowdAsObject { get; init; }

    /// <summary>AP = area under the precision envelope at every recall step (ML.NET's LabelAP)
    /// instead of the envelope's mean at the 101 recall points 0, 0.01, …, 1.</summary>
    public required bool AllPointInterpolation { get; init; }

    public static ApConvention MlNet { get; } = new()
    {
        PlusOne = true, ScoreThreshold = 0.05f, FloatThresholds = true, MlNetMatching = true, CrowdAsObject = true, AllPointInterpolation = true,
    };

    public static ApConvention Coco { get; } = new()
    {
        PlusOne = false, ScoreThreshold = float.NegativeInfinity, FloatThresholds = false, MlNetMatching = false, CrowdAsObject = false, AllPointInterpolation = false,
    };
}

/// <summary>
/// A small, slow, independent box mAP in double precision that follows either convention
/// (written from ML.NET's ObjectDetectionMetrics.cs and pycocotools' cocoeval.py / maskApi.c bbIou,
/// not from MLNetSeg's engine).
/// </summary>
internal static class DetectionApReference
{
    private const double Eps = 2.220446049250313e-16; // np.spacing(1)
    private const int MaxDets = 100;

    /// <summary>The IoU thresholds of a convention.</summary>
    public static double[] Thresholds(ApConvention c, IReadOnlyList<double> linspace)
    {
        if (!c.FloatThresholds) return linspace.ToArray();
        var list = new List<double>();
        for (float t = 0.5f; t < 1f; t += 0.05f) list.Add(t);
        return list.ToArray();
    }

    /// <summary>(mAP at IoU 0.5, mAP averaged over the thresholds).</summary>
    public static (double Ap50, double Ap) Compute(IReadOnlyList<BoxImage> images, ApConvention c, IReadOnlyList<double> linspace, IReadOnlyList<double> recallThresholds)
    {
        if (c.MlNetMatching && !c.CrowdAsObject)
            throw new ArgumentException("ML.NET's matching knows no crowd regions: MlNetMatching needs CrowdAsObject");
        var thresholds = Thresholds(c, linspace);
        var filtered = images.Select(i => i with { Detections = i.Detections.Where(d => d.Score >= c.ScoreThreshold).ToArray() }).ToArray();
        // Classes in order of first appearance in the ground truth (ML.NET's label set); pycocotools' order (ascending) only changes summation order.
        var classes = filtered.SelectMany(i => i.Truth).Select(g => g.Key).Distinct().ToArray();
        var apByThreshold = new double[thresholds.Length];
        for (int t = 0; t < thresholds.Length; t++)
        {
            double sum = 0;
            int counted = 0;
            foreach (int k in classes)
            {
                var (ranked, positives) = c.MlNetMatching ? RankMlNet(filtered, k, c, thresholds[t]) : RankCoco(filtered, k, c, thresholds[t]);
                if (positives == 0) continue; // pycocotools: precision −1, left out of the mean
                sum += c.AllPointInterpolation ? AllPointAp(ranked, positives) : PointAp(ranked, positives, recallThresholds);
                counted++;
            }
            apByThreshold[t] = sum / counted;
        }
        return (apByThreshold[0], apByThreshold.Average());
    }

    private static double Width(BoxObject b, ApConvention c) => c.PlusOne ? (double)b.X1 - b.X0 + 1 : (double)b.X1 - b.X0;
    private static double Height(BoxObject b, ApConvention c) => c.PlusOne ? (double)b.Y1 - b.Y0 + 1 : (double)b.Y1 - b.Y0;

    /// <summary>maskApi.c's bbIou for one pair, with the convention's widths; a crowd truth divides by the detection's area.</summary>
    private static double Iou(BoxObject d, BoxObject g, ApConvention c, bool crowd)
    {
        // A detection's width is computed in float by the engine's instance path (torch's box arithmetic): same here without +1.
        double dw = c.PlusOne ? Width(d, c) : d.X1 - d.X0, dh = c.PlusOne ? Height(d, c) : d.Y1 - d.Y0;
        double gw = Width(g, c), gh = Height(g, c);
        double w = Math.Min(d.X0 + dw, g.X0 + gw) - Math.Max(d.X0, g.X0);
        if (w <= 0) return 0;
        double h = Math.Min(d.Y0 + dh, g.Y0 + gh) - Math.Max(d.Y0, g.Y0);
        if (h <= 0) return 0;
        double i = w * h, da = dw * dh, ga = gw * gh;
        return i / (crowd ? da : da + ga - i);
    }

    /// <summary>ML.NET: greedy pairing by IoU once per image, then ranking by score with List.Sort.</summary>
    private static (bool[] Ranked, int Positives) RankMlNet(IReadOnlyList<BoxImage> images, int k, ApConvention c, double threshold)
    {
        var list = new List<(float Score, double Iou)>();
        int positives = 0;
        foreach (var image in images)
        {
            var truth = image.Truth;
            var dets = image.Detections;
            positives += truth.Count(g => g.Key == k);
            // Pairs of every class, in ML.NET's order (truth-major), sorted by IoU descending (List.Sort, unstable, as ML.NET).
            var pairs = new List<(int G, int D, double Iou)>();
            for (int g = 0; g < truth.Count; g++)
                for (int d = 0; d < dets.Count; d++)
                {
                    if (dets[d].Key != truth[g].Key) continue;
                    double iou = Iou(dets[d], truth[g], c, crowd: false);
                    if (iou != 0) pairs.Add((g, d, iou));
                }
            pairs.Sort((x, y) => y.Iou.CompareTo(x.Iou));
            var gUsed = new bool[truth.Count];
            var dUsed = new bool[dets.Count];
            foreach (var (g, d, iou) in pairs)
            {
                if (gUsed[g] || dUsed[d]) continue;
                gUsed[g] = dUsed[d] = true;
                if (truth[g].Key == k) list.Add((dets[d].Score, iou));
            }
            for (int d = 0; d < dets.Count; d++)
                if (!dUsed[d] && dets[d].Key == k) list.Add((dets[d].Score, 0));
        }
        list.Sort((x, y) => y.Score.CompareTo(x.Score));
        return (list.Select(e => e.Iou >= threshold).ToArray(), positives);
    }

    /// <summary>pycocotools: evaluateImg's matching at one threshold, then accumulate's stable ranking.</summary>
    private static (bool[] Ranked, int Positives) RankCoco(IReadOnlyList<BoxImage> images, int k, ApConvention c, double threshold)
    {
        var entries = new List<(double Score, bool Tp)>();
        int positives = 0;
        foreach (var image in images)
        {
            // Truth: non-ignored first (stable); detections by score (stable), at most 100.
            var truth = image.Truth.Where(g => g.Key == k).OrderBy(g => g.IsCrowd && !c.CrowdAsObject ? 1 : 0).ToArray();
            var ignore = truth.Select(g => g.IsCrowd && !c.CrowdAsObject).ToArray();
            var dets = image.Detections.Where(d => d.Key == k).OrderByDescending(d => (double)d.Score).Take(MaxDets).ToArray();
            positives += ignore.Count(i => !i);
            var matched = new bool[truth.Length];
            foreach (var d in dets)
            {
                double best = Math.Min(threshold, 1 - 1e-10);
                int m = -1;
                for (int g = 0; g < truth.Length; g++)
                {
                    if (matched[g] && !ignore[g]) continue;
                    if (m > -1 && !ignore[m] && ignore[g]) break;
                    double iou = Iou(d, truth[g], c, crowd: ignore[g]);
                    if (iou < best) continue;
                    best = iou;
                    m = g;
                }
                if (m == -1) { entries.Add((d.Score, false)); continue; }
                matched[m] = true;
                if (!ignore[m]) entries.Add((d.Score, true)); // a match with an ignored region is neither TP nor FP
            }
        }
        // Images in order, then a stable sort by score (np.argsort(-scores, kind='mergesort')).
        return (entries.Select((e, i) => (e, i)).OrderByDescending(x => x.e.Score).ThenBy(x => x.i).Select(x => x.e.Tp).ToArray(), positives);
    }

    /// <summary>ML.NET's LabelAP: area under the precision envelope, walking back from the last detection.</summary>
    private static double AllPointAp(bool[] ranked, int positives)
    {
        if (ranked.Length == 0) return 0;
        double tp = 0;
        var stack = new Stack<(double Precision, double Tp)>();
        for (int i = 0; i < ranked.Length; i++)
        {
            if (ranked[i]) tp++;
            stack.Push((tp / (i + 1), tp));
        }
        var (precisionRecord, recallRecord) = stack.Pop();
        double ap = 0;
        while (stack.Count > 0)
        {
            var (precision, recall) = stack.Pop();
            if (precision > precisionRecord)
            {
                ap += precisionRecord * (recallRecord - recall);
                precisionRecord = precision;
                recallRecord = recall;
            }
        }
        ap += precisionRecord * recallRecord;
        return ap / positives;
    }

    /// <summary>pycocotools' accumulate: envelope, sampled at the recall thresholds (searchsorted left), averaged.</summary>
    private static double PointAp(bool[] ranked, int positives, IReadOnlyList<double> recallThresholds)
    {
        int n = ranked.Length;
        var rc = new double[n];
        var pr = new double[n];
        double tp = 0, fp = 0;
        for (int i = 0; i < n; i++)
        {
            if (ranked[i]) tp++; else fp++;
            rc[i] = tp / positives;
            pr[i] = tp / (fp + tp + Eps);
        }
        for (int i = n - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
        double sum = 0;
        foreach (double r in recallThresholds)
        {
            int idx = 0;
            while (idx < n && rc[idx] < r) idx++;
            sum += idx < n ? pr[idx] : 0;
        }
        return sum / recallThresholds.Count;
    }
}
