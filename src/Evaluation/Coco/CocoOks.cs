namespace MLNetSeg.Evaluation.Coco;

/// <summary>
/// Object keypoint similarity, as pycocotools' <c>computeOks</c> computes it, operation for operation:
/// e = (dx² + dy²) / (2σ)² / (area + eps) / 2 over the visible ground-truth keypoints; a ground truth
/// without visible keypoints measures the distance to its box enlarged by one box size on each side.
/// </summary>
internal sealed class CocoOks
{
    private const double Eps = 2.220446049250313e-16; // np.spacing(1)

    private readonly double[] _vars;

    public CocoOks(IReadOnlyList<double> sigmas)
    {
        _vars = new double[sigmas.Count];
        for (int i = 0; i < _vars.Length; i++)
        {
            double twice = sigmas[i] * 2;
            _vars[i] = twice * twice; // numpy's "** 2" is a square
        }
    }

    /// <summary>OKS[d, g] for detections (in score order) and ground truths (in file order).</summary>
    public double[,] Compute(IReadOnlyList<double[]> dtKeypoints, IReadOnlyList<double[]> gtKeypoints, IReadOnlyList<double[]> gtBoxes, IReadOnlyList<double> gtAreas)
    {
        int k = _vars.Length;
        var ious = new double[dtKeypoints.Count, gtKeypoints.Count];
        Span<double> terms = stackalloc double[k];
        for (int j = 0; j < gtKeypoints.Count; j++)
        {
            double[] g = gtKeypoints[j];
            int visible = 0;
            for (int i = 0; i < k; i++) if (g[3 * i + 2] > 0) visible++;
            double[] bb = gtBoxes[j];
            double x0 = bb[0] - bb[2], x1 = bb[0] + bb[2] * 2;
            double y0 = bb[1] - bb[3], y1 = bb[1] + bb[3] * 2;
            double areaPlusEps = gtAreas[j] + Eps;
            for (int di = 0; di < dtKeypoints.Count; di++)
            {
                double[] d = dtKeypoints[di];
                int count = 0;
                for (int i = 0; i < k; i++)
                {
                    double xd = d[3 * i], yd = d[3 * i + 1];
                    double dx, dy;
                    if (visible > 0)
                    {
                        if (!(g[3 * i + 2] > 0)) continue;
                        dx = xd - g[3 * i];
                        dy = yd - g[3 * i + 1];
                    }
                    else
                    {
                        dx = Math.Max(0.0, x0 - xd) + Math.Max(0.0, xd - x1);
                        dy = Math.Max(0.0, y0 - yd) + Math.Max(0.0, yd - y1);
                    }
                    double e = (dx * dx + dy * dy) / _vars[i] / areaPlusEps / 2;
                    terms[count++] = Math.Exp(-e);
                }
                ious[di, j] = NumpyCompat.Sum(terms[..count]) / count;
            }
        }
        return ious;
    }
}
