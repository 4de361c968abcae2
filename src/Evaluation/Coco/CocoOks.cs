namespace MLNetSeg.Evaluation.Coco;

/// <summary>
/// Object keypoint similarity, as pycocotools' <c>computeOks</c> computes it, operation for operation:
/// OKS = mean over the visible ground-truth keypoints of exp(−e), e = (dx² + dy²) / (2σ)² / (area + eps) / 2,
/// with area the ground truth's "area" and eps = <c>np.spacing(1)</c>; a ground truth without
/// visible keypoints measures, over all keypoints, the distance to its box enlarged by one box size
/// on each side.
/// </summary>
public sealed class CocoOks
{
    private const double Eps = 2.220446049250313e-16; // np.spacing(1)

    private readonly double[] _sigmas;
    private readonly double[] _vars;

    /// <param name="sigmas">
    /// One OKS sigma per keypoint, positive, in pycocotools' units (<c>params.kpt_oks_sigmas</c>:
    /// the COCO person ones, <see cref="CocoEvalParams.CocoPersonKeypointSigmas"/>, are 0.025 to 0.107).
    /// </param>
    public CocoOks(IReadOnlyList<double> sigmas)
    {
        ArgumentNullException.ThrowIfNull(sigmas);
        if (SigmasProblem(sigmas) is { } problem) throw new ArgumentException($"OKS sigmas: {problem}", nameof(sigmas));
        _sigmas = sigmas.ToArray();
        _vars = new double[sigmas.Count];
        for (int i = 0; i < _vars.Length; i++)
        {
            double twice = sigmas[i] * 2;
            _vars[i] = twice * twice; // numpy's "** 2" is a square
        }
    }

    /// <summary>The per-keypoint sigmas.</summary>
    public IReadOnlyList<double> Sigmas => _sigmas;

    /// <summary>K, the number of keypoints (and sigmas).</summary>
    public int KeypointCount => _sigmas.Length;

    /// <summary>What is wrong with a sigma list (empty, a sigma not positive and finite), or null.</summary>
    internal static string? SigmasProblem(IReadOnlyList<double> sigmas)
    {
        if (sigmas.Count == 0) return "the list is empty; give one sigma per keypoint";
        for (int i = 0; i < sigmas.Count; i++)
        {
            if (!(sigmas[i] > 0 && double.IsFinite(sigmas[i])))
                return FormattableString.Invariant($"sigma {i} is {sigmas[i]}; every sigma must be a positive number");
        }
        return null;
    }

    /// <summary>
    /// The OKS of one detection against one ground truth.
    /// </summary>
    /// <param name="detection">The detection's K (x, y, score-or-visibility) triplets; every keypoint counts, its third value is not used.</param>
    /// <param name="groundTruth">The ground truth's K (x, y, visibility) triplets; visibility &gt; 0 marks the keypoints compared.</param>
    /// <param name="groundTruthBox">The ground truth's COCO box [x, y, w, h] (used only when no keypoint is visible).</param>
    /// <param name="groundTruthArea">The ground truth's "area" (the scale s² of the formula).</param>
    public double Compute(IReadOnlyList<double> detection, IReadOnlyList<double> groundTruth, IReadOnlyList<double> groundTruthBox, double groundTruthArea)
    {
        ArgumentNullException.ThrowIfNull(detection);
        ArgumentNullException.ThrowIfNull(groundTruth);
        ArgumentNullException.ThrowIfNull(groundTruthBox);
        int n = 3 * KeypointCount;
        if (detection.Count != n) throw new ArgumentException($"the detection has {detection.Count} numbers; {KeypointCount} keypoints need {n}", nameof(detection));
        if (groundTruth.Count != n) throw new ArgumentException($"the ground truth has {groundTruth.Count} numbers; {KeypointCount} keypoints need {n}", nameof(groundTruth));
        if (groundTruthBox.Count != 4) throw new ArgumentException($"the box has {groundTruthBox.Count} numbers, not 4 (x, y, w, h)", nameof(groundTruthBox));
        return ComputeMatrix([detection.ToArray()], [groundTruth.ToArray()], [groundTruthBox.ToArray()], [groundTruthArea])[0, 0];
    }

    /// <summary>OKS[d, g] for detections (in score order) and ground truths (in file order).</summary>
    internal double[,] ComputeMatrix(IReadOnlyList<double[]> dtKeypoints, IReadOnlyList<double[]> gtKeypoints, IReadOnlyList<double[]> gtBoxes, IReadOnlyList<double> gtAreas)
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
