using MLNetSeg.Data.Loading;
using MLNetSeg.Evaluation.Coco;
using MLNetSeg.Models;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Training;

/// <summary>The result of one validation: the validation losses (when computed) and the evaluation.</summary>
public sealed record ValidationResult(long Iteration, IReadOnlyDictionary<string, double>? Losses, DetectionEvaluation Evaluation);

/// <summary>Scores a model's results on a dataset with every evaluation its tasks allow.</summary>
public static class ModelEvaluation
{
    /// <summary>
    /// Evaluates <paramref name="results"/> (one per image of <paramref name="imageIds"/>) against
    /// <paramref name="dataset"/>'s ground truth, for the evaluations <paramref name="tasks"/> allow;
    /// labels map to category ids through <paramref name="info"/>. Only the images predicted are scored.
    /// </summary>
    public static DetectionEvaluation Score(DetectionDataset dataset, IReadOnlyList<SegmentationResult> results, IReadOnlyList<long> imageIds,
        ModelFileInfo info, SegmentationTasks tasks, EvaluationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(info);
        var instances = results.Select((r, i) => r.Instances ?? throw new ArgumentException($"result {i} (image {imageIds[i]}) has no instances")).ToArray();
        var coco = DetectionResults.ToCocoResults(instances, imageIds, info.LabelToCategoryId);
        var cocoOptions = new CocoEvalOptions { ImageIds = imageIds.ToArray() };
        return DetectionEvaluator.Evaluate(dataset.Coco, coco, masks: tasks.HasFlag(SegmentationTasks.Masks),
            keypoints: tasks.HasFlag(SegmentationTasks.Keypoints), cocoOptions);
    }

    /// <summary>The metric that ranks models of these tasks: segm/AP for masks, else keypoints/AP, else bbox/AP,
    /// else panoptic/PQ, else sem_seg/mIoU.</summary>
    public static string PrimaryMetric(SegmentationTasks tasks) =>
        tasks.HasFlag(SegmentationTasks.Masks) ? "segm/AP"
        : tasks.HasFlag(SegmentationTasks.Keypoints) ? "keypoints/AP"
        : tasks.HasFlag(SegmentationTasks.Boxes) ? "bbox/AP"
        : tasks.HasFlag(SegmentationTasks.Panoptic) ? "panoptic/PQ"
        : "sem_seg/mIoU";
}
