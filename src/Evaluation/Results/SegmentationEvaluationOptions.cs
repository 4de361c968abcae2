using MLNetSeg.Evaluation.Coco;
using MLNetSeg.Evaluation.Semantic;

namespace MLNetSeg.Evaluation;

/// <summary>Optional settings of <see cref="SegmentationEvaluator.Evaluate(SegmentationGroundTruth, IReadOnlyList{MLNetSeg.Vision.Structures.SegmentationResult}, IReadOnlyList{long}, IReadOnlyList{int}, MLNetSeg.Vision.Structures.SegmentationTasks, SegmentationEvaluationOptions?)"/>.</summary>
public sealed record SegmentationEvaluationOptions
{
    /// <summary>Evaluate only these images (each must have a result); null means every image that
    /// has a result. Images of the dataset without a result are never evaluated.</summary>
    public IReadOnlyCollection<long>? ImageIds { get; init; }

    /// <summary>Passed to the COCO evaluations: keypoint sigmas, category subset, parallelism. Its
    /// <see cref="CocoEvalOptions.ImageIds"/> must stay null (use <see cref="ImageIds"/>).</summary>
    public CocoEvalOptions? Coco { get; init; }

    /// <summary>Also compute semantic Boundary IoU (default true).</summary>
    public bool ComputeBoundaryIou { get; init; } = true;

    /// <summary>Boundary width as a fraction of the image diagonal (boundary-iou-api's and detectron2's 0.02).</summary>
    public double BoundaryDilationRatio { get; init; } = MaskBoundary.DefaultDilationRatio;

    /// <summary>Name per label for the semantic report (e.g. a model file's class names); null takes
    /// the COCO category names, "__background__" for label 0.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>When panoptic ground truth is derived from COCO instance annotations, leave
    /// unannotated pixels void (panopticapi's meaning: no false positives there) instead of
    /// unscored background (see <see cref="CocoGroundTruthMaps"/>). Default false.</summary>
    public bool PanopticUnlabelledAsVoid { get; init; }
}
