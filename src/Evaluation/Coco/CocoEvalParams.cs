namespace MLNetSeg.Evaluation.Coco;

/// <summary>
/// pycocotools' <c>Params</c> for one iou type: thresholds, area ranges and detection limits.
/// The values are computed exactly as numpy computes them (e.g. the ninth IoU threshold is
/// 0.8999999999999999 and recall point 35 is 0.35000000000000003).
/// </summary>
public sealed class CocoEvalParams
{
    /// <summary>The 17 COCO person keypoint sigmas, each literal ÷ 10 as in pycocotools.</summary>
    public static IReadOnlyList<double> CocoPersonKeypointSigmas { get; } = Array.ConvertAll(
        [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89],
        s => s / 10.0);

    private CocoEvalParams(CocoIouType iouType, int[] maxDetections, double[][] areaRanges, string[] areaLabels, double[]? sigmas)
    {
        IouType = iouType;
        IouThresholds = NumpyCompat.Linspace(.5, 0.95, (int)Math.Round((0.95 - .5) / .05) + 1);
        RecallThresholds = NumpyCompat.Linspace(.0, 1.00, (int)Math.Round((1.00 - .0) / .01) + 1);
        MaxDetections = maxDetections;
        AreaRanges = areaRanges;
        AreaRangeLabels = areaLabels;
        KeypointSigmas = sigmas;
    }

    /// <summary>What is evaluated; decides <see cref="MaxDetections"/>, <see cref="AreaRanges"/> and whether there are sigmas.</summary>
    public CocoIouType IouType { get; }

    /// <summary><c>linspace(.5, .95, 10)</c>.</summary>
    public IReadOnlyList<double> IouThresholds { get; }

    /// <summary><c>linspace(0, 1, 101)</c>.</summary>
    public IReadOnlyList<double> RecallThresholds { get; }

    /// <summary>[1, 10, 100] for boxes and masks, [20] for keypoints.</summary>
    public IReadOnlyList<int> MaxDetections { get; }

    /// <summary>[min, max] of the ground truth's area field, inclusive at both ends.</summary>
    public IReadOnlyList<double[]> AreaRanges { get; }

    /// <summary>"all", "small", "medium", "large" (keypoints: no "small").</summary>
    public IReadOnlyList<string> AreaRangeLabels { get; }

    /// <summary>Per-keypoint OKS sigmas (keypoints only).</summary>
    public IReadOnlyList<double>? KeypointSigmas { get; }

    /// <summary>pycocotools' <c>Params(iouType)</c>.</summary>
    /// <param name="iouType">What is evaluated.</param>
    /// <param name="keypointSigmas">
    /// Keypoints only: one positive OKS sigma per keypoint (pycocotools' <c>kpt_oks_sigmas</c>);
    /// null means <see cref="CocoPersonKeypointSigmas"/>.
    /// </param>
    /// <exception cref="ArgumentException">A keypoint sigma is not positive and finite.</exception>
    public static CocoEvalParams For(CocoIouType iouType, IReadOnlyList<double>? keypointSigmas = null)
    {
        const double Max = 1e5 * 1e5;
        if (iouType == CocoIouType.Keypoints)
        {
            if (keypointSigmas is not null && CocoOks.SigmasProblem(keypointSigmas) is { } problem)
                throw new ArgumentException($"keypoint sigmas: {problem}", nameof(keypointSigmas));
            return new CocoEvalParams(iouType, [20],
                [[0, Max], [32 * 32, 96 * 96], [96 * 96, Max]],
                ["all", "medium", "large"],
                (keypointSigmas ?? CocoPersonKeypointSigmas).ToArray());
        }
        return new CocoEvalParams(iouType, [1, 10, 100],
            [[0, Max], [0, 32 * 32], [32 * 32, 96 * 96], [96 * 96, Max]],
            ["all", "small", "medium", "large"],
            null);
    }
}
