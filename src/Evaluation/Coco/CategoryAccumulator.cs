namespace MLNetSeg.Evaluation.Coco;

/// <summary>
/// pycocotools' <c>accumulate</c> for one category: merge the detections of all images (ascending
/// image id, score order inside each image), sort them stably by score, and turn cumulative
/// true/false positives into the precision envelope sampled at the recall thresholds.
/// </summary>
internal static class CategoryAccumulator
{
    private const double Eps = 2.220446049250313e-16; // np.spacing(1)

    public static void Accumulate(
        int k, IReadOnlyList<EvalCell> cells, double[] scores, CocoEvalParams p,
        double[,,,,] precision, double[,,,] recall)
    {
        int tCount = p.IouThresholds.Count, rCount = p.RecallThresholds.Count;
        int aCount = p.AreaRanges.Count, mCount = p.MaxDetections.Count;

        // Concatenate in cell (= image) order, then stable sort by score.
        int total = 0;
        foreach (var c in cells) total += c.Detections.Length;
        var entryCell = new int[total];
        var entryRank = new int[total];
        var entryScore = new double[total];
        int pos = 0;
        for (int ci = 0; ci < cells.Count; ci++)
        {
            var dts = cells[ci].Detections;
            for (int r = 0; r < dts.Length; r++)
            {
                entryCell[pos] = ci;
                entryRank[pos] = r;
                entryScore[pos] = scores[dts[r]];
                pos++;
            }
        }
        var sorted = new int[total];
        for (int i = 0; i < total; i++) sorted[i] = i;
        Array.Sort(sorted, (a, b) =>
        {
            int c = entryScore[b].CompareTo(entryScore[a]);
            return c != 0 ? c : a.CompareTo(b);
        });

        // Gather the flags into sorted order once, so the passes below read contiguous memory.
        var sortedRank = new int[total];
        var sortedFlags = new byte[aCount * tCount * total];
        for (int s = 0; s < total; s++)
        {
            int e = sorted[s];
            int rank = entryRank[e];
            sortedRank[s] = rank;
            var cell = cells[entryCell[e]];
            for (int at = 0; at < aCount * tCount; at++)
                sortedFlags[at * total + s] = cell.Flags[at * cell.Detections.Length + rank];
        }

        var rc = new double[total];
        var pr = new double[total];
        for (int a = 0; a < aCount; a++)
        {
            long npig = 0;
            foreach (var c in cells) npig += c.NonIgnoredGroundTruths[a];
            if (npig == 0) continue; // precision and recall stay -1
            for (int m = 0; m < mCount; m++)
            {
                int maxDet = p.MaxDetections[m];
                for (int t = 0; t < tCount; t++)
                {
                    var flags = new ReadOnlySpan<byte>(sortedFlags, (a * tCount + t) * total, total);
                    double tp = 0, fp = 0;
                    int nd = 0;
                    for (int s = 0; s < total; s++)
                    {
                        if (sortedRank[s] >= maxDet) continue;
                        byte flag = flags[s];
                        if ((flag & EvalCell.Ignored) == 0)
                        {
                            if ((flag & EvalCell.Matched) != 0) tp++;
                            else fp++;
                        }
                        rc[nd] = tp / npig;
                        pr[nd] = tp / (fp + tp + Eps);
                        nd++;
                    }
                    recall[t, k, a, m] = nd > 0 ? rc[nd - 1] : 0;

                    // Precision envelope: make precision non-increasing from the right.
                    for (int i = nd - 1; i > 0; i--)
                    {
                        if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
                    }
                    // numpy.searchsorted(rc, recThrs, side='left'); past the end precision is 0.
                    int idx = 0;
                    for (int r = 0; r < rCount; r++)
                    {
                        double thr = p.RecallThresholds[r];
                        while (idx < nd && rc[idx] < thr) idx++;
                        precision[t, r, k, a, m] = idx < nd ? pr[idx] : 0;
                    }
                }
            }
        }
    }
}
