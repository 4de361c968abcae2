using MLNetSeg.Data.Loading;
using MLNetSeg.Evaluation;
using MLNetSeg.Evaluation.Coco;
using MLNetSeg.Models;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Training;

/// <summary>The result of one validation: the validation losses (when computed) and the evaluation.</summary>
public sealed record ValidationResult(long Iteration, IReadOnlyDictionary<string, double>? Losses, SegmentationEvaluation Evaluation);

/// <summary>Scores a model's results on a COCO dataset with every evaluation its tasks allow (src/Evaluation's bridge).</summary>
public static class ModelEvaluation
{
    /// <summary>
    /// Evaluates <paramref name="results"/> (one per image of <paramref name="imageIds"/>) against
    /// <paramref name="dataset"/>'s ground truth for the evaluations <paramref name="tasks"/> allow: COCO
    /// bbox/segm/keypoints, semantic metrics against maps rasterised from the instance annotations, PQ
    /// against the instances as things. Labels map to category ids through <paramref name="info"/>; only
    /// the images predicted are scored.
    /// </summary>
    public static SegmentationEvaluation Score(DetectionDataset dataset, IReadOnlyList<SegmentationResult> results, IReadOnlyList<long> imageIds,
        ModelFileInfo info, SegmentationTasks tasks, EvaluationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(info);
        var evaluationOptions = new SegmentationEvaluationOptions
        {
            Coco = options?.KeypointSigmas is { } sigmas ? new CocoEvalOptions { KeypointSigmas = sigmas } : null,
            ClassNames = info.ClassNames,
        };
        return SegmentationEvaluator.Evaluate(dataset.Coco, results, imageIds, info.LabelToCategoryId, tasks, evaluationOptions);
    }
}
