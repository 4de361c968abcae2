namespace MLNetSeg.Evaluation.Coco;

/// <summary>
/// One (image, category) pair that has ground truth or detections: pycocotools' <c>evaluateImg</c>
/// unit. Holds the matching outcome of every kept detection at every area range and IoU threshold.
/// </summary>
internal sealed class EvalCell
{
    public const byte Matched = 1;  // matched to a ground truth with a non-zero id (pycocotools' "dtm != 0")
    public const byte Ignored = 2;  // pycocotools' dtIgnore

    public EvalCell(int image, int[] groundTruths, int[] detections)
    {
        Image = image;
        GroundTruths = groundTruths;
        Detections = detections;
    }

    public int Image { get; }

    /// <summary>Ground-truth indices in file order.</summary>
    public int[] GroundTruths { get; }

    /// <summary>Detection indices in file order until <see cref="SortAndTruncate"/>; then by score, at most maxDets.</summary>
    public int[] Detections { get; private set; }

    /// <summary>Flags (<see cref="Matched"/>, <see cref="Ignored"/>) per [area range, IoU threshold, detection rank], flattened.</summary>
    public byte[] Flags { get; private set; } = [];

    /// <summary>Number of ground truths that are not ignored, per area range.</summary>
    public int[] NonIgnoredGroundTruths { get; private set; } = [];

    /// <summary>Stable sort by descending score (numpy mergesort of -score), then keep the first maxDets.</summary>
    public void SortAndTruncate(double[] scores, int maxDets)
    {
        var dts = Detections;
        if (dts.Length > 1)
        {
            Array.Sort(dts, (a, b) =>
            {
                int c = scores[b].CompareTo(scores[a]);
                return c != 0 ? c : a.CompareTo(b);
            });
        }
        if (dts.Length > maxDets) Detections = dts[..maxDets];
    }

    /// <summary>
    /// pycocotools' evaluateImg for every area range and IoU threshold. <paramref name="ious"/> is
    /// [detection rank, ground truth in file order], or null when either side is empty.
    /// </summary>
    public void Match(double[,]? ious, EvalGroundTruth gt, double[] dtAreas, IReadOnlyList<double[]> areaRanges, IReadOnlyList<double> iouThresholds)
    {
        int gCount = GroundTruths.Length, dCount = Detections.Length;
        int aCount = areaRanges.Count, tCount = iouThresholds.Count;
        Flags = new byte[aCount * tCount * dCount];
        NonIgnoredGroundTruths = new int[aCount];
        Span<int> order = gCount <= 256 ? stackalloc int[gCount] : new int[gCount];
        Span<bool> ignored = gCount <= 256 ? stackalloc bool[gCount] : new bool[gCount];
        Span<bool> crowd = gCount <= 256 ? stackalloc bool[gCount] : new bool[gCount];
        Span<bool> taken = gCount <= 256 ? stackalloc bool[gCount] : new bool[gCount];
        Span<bool> dtOutside = dCount <= 256 ? stackalloc bool[dCount] : new bool[dCount];

        for (int a = 0; a < aCount; a++)
        {
            double lo = areaRanges[a][0], hi = areaRanges[a][1];
            // Ground truth sorted "ignore last", stably: non-ignored in file order, then ignored in file order.
            int n = 0;
            for (int pass = 0; pass < 2; pass++)
            {
                for (int j = 0; j < gCount; j++)
                {
                    int g = GroundTruths[j];
                    bool ig = gt.Ignore[g] || gt.Area[g] < lo || gt.Area[g] > hi;
                    if (ig != (pass == 1)) continue;
                    order[n] = j;
                    ignored[n] = ig;
                    crowd[n] = gt.IsCrowd[g];
                    n++;
                }
                if (pass == 0) NonIgnoredGroundTruths[a] = n;
            }
            for (int d = 0; d < dCount; d++)
            {
                double area = dtAreas[Detections[d]];
                dtOutside[d] = area < lo || area > hi;
            }

            for (int t = 0; t < tCount; t++)
            {
                int baseIndex = (a * tCount + t) * dCount;
                taken.Clear();
                double threshold = Math.Min(iouThresholds[t], 1 - 1e-10);
                for (int d = 0; d < dCount; d++)
                {
                    int m = -1;
                    if (ious is not null)
                    {
                        double best = threshold;
                        for (int gi = 0; gi < gCount; gi++)
                        {
                            // A matched ground truth is taken unless it is a crowd region.
                            if (taken[gi] && !crowd[gi]) continue;
                            // Matched to a regular ground truth and reached the ignored ones: stop.
                            if (m > -1 && !ignored[m] && ignored[gi]) break;
                            double iou = ious[d, order[gi]];
                            if (iou < best) continue;
                            // ">=" here: on equal IoU the later ground truth wins.
                            best = iou;
                            m = gi;
                        }
                    }
                    byte flag;
                    if (m == -1)
                    {
                        flag = dtOutside[d] ? Ignored : (byte)0;
                    }
                    else
                    {
                        taken[m] = true;
                        bool nonZeroId = gt.Ids[GroundTruths[order[m]]] != 0;
                        bool ignore = ignored[m] || (!nonZeroId && dtOutside[d]);
                        flag = (byte)((nonZeroId ? Matched : 0) | (ignore ? Ignored : 0));
                    }
                    Flags[baseIndex + d] = flag;
                }
            }
        }
    }
}
