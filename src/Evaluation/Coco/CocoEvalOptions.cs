namespace MLNetSeg.Evaluation.Coco;

/// <summary>Optional settings of a COCO evaluation; the defaults reproduce pycocotools' defaults.</summary>
public sealed class CocoEvalOptions
{
    /// <summary>
    /// OKS sigmas, one per keypoint in the ground truth's keypoint order, for keypoint sets other
    /// than the 17 COCO person keypoints (pycocotools' <c>params.kpt_oks_sigmas</c>, in its units:
    /// the COCO person ones are 0.025 to 0.107, <see cref="CocoEvalParams.CocoPersonKeypointSigmas"/>).
    /// Every sigma must be positive and there must be as many as each evaluated category names
    /// keypoints. Null means the COCO person sigmas, which only fit 17 keypoints: evaluating another
    /// keypoint count without sigmas is an error.
    /// </summary>
    public IReadOnlyList<double>? KeypointSigmas { get; init; }

    /// <summary>Evaluate only these images (pycocotools' <c>params.imgIds</c>); null means all ground-truth images.</summary>
    public IReadOnlyCollection<long>? ImageIds { get; init; }

    /// <summary>Evaluate only these categories (pycocotools' <c>params.catIds</c>); null means all ground-truth categories.</summary>
    public IReadOnlyCollection<long>? CategoryIds { get; init; }

    /// <summary>Threads used over categories; null lets the runtime decide.</summary>
    public int? MaxDegreeOfParallelism { get; init; }
}
