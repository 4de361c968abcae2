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

    /// <summary>
    /// Evaluates <paramref name="model"/>'s <paramref name="results"/> on every task it has. A model with its own semantic label
    /// space (<see cref="ISemanticLabelSpace"/>: Panoptic FPN / IMP) has its instances scored by COCO as above and its semantic maps
    /// and panoptic segmentations against the dataset's label maps; without them (no
    /// <see cref="DetectionDatasetOptions.SemanticDirectory"/>) those two are left out with a warning, or refused for a model that
    /// has nothing else.
    /// </summary>
    /// <exception cref="ArgumentException">A semantic-only model and a dataset without label maps, or inconsistent input.</exception>
    public static SegmentationEvaluation Score(DetectionDataset dataset, IReadOnlyList<SegmentationResult> results, IReadOnlyList<long> imageIds,
        ModelFileInfo info, ISegmentationModel model, EvaluationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(model);
        const SegmentationTasks maps = SegmentationTasks.Semantic | SegmentationTasks.Panoptic;
        var tasks = model.Tasks;
        if (model is not ISemanticLabelSpace space || (tasks & maps) == 0) return Score(dataset, results, imageIds, info, tasks, options);
        var instanceTasks = tasks & ~maps;
        var instances = instanceTasks == 0 ? null : Score(dataset, results, imageIds, info, instanceTasks, options);
        if (!dataset.Options.HasSemanticMaps)
        {
            if (instances is null)
                throw new ArgumentException("the model predicts semantic maps only, and the dataset has no label maps to score them against " +
                                            "(load it with DetectionDatasetOptions.SemanticDirectory or SemanticMapPaths)");
            return new SegmentationEvaluation(instances.Bbox, instances.Segm, instances.Keypoints, warnings: instances.Warnings.Append(
                "semantic and panoptic outputs not evaluated: the dataset was loaded without label maps (DetectionDatasetOptions.SemanticDirectory)").ToArray(),
                imageCount: instances.ImageCount);
        }
        var semantic = SemanticEvaluation.Score(dataset, results, imageIds, space, tasks & maps, new SegmentationEvaluationOptions());
        return new SegmentationEvaluation(instances?.Bbox, instances?.Segm, instances?.Keypoints, semantic.Semantic, semantic.Panoptic,
            instances?.Warnings, semantic.ImageCount);
    }
}
