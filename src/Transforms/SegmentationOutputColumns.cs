using MLNetSeg.Transforms.Scoring;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Transforms;

/// <summary>The output columns a transformer adds, by name; which exist follows the model's tasks.</summary>
public sealed record SegmentationOutputColumns
{
    /// <summary>Key vector of predicted classes (instance models).</summary>
    public string PredictedLabel { get; init; } = SegmentationColumns.PredictedLabel;
    /// <summary>Detection scores (instance models).</summary>
    public string Score { get; init; } = SegmentationColumns.Score;
    /// <summary>x0, y0, x1, y1 per detection (instance models).</summary>
    public string PredictedBoundingBoxes { get; init; } = SegmentationColumns.PredictedBoundingBoxes;
    /// <summary>COCO RLE counts per detection (models with masks).</summary>
    public string PredictedMasks { get; init; } = SegmentationColumns.PredictedMasks;
    /// <summary>x, y, score per keypoint per detection (keypoint models).</summary>
    public string PredictedKeypoints { get; init; } = SegmentationColumns.PredictedKeypoints;
    /// <summary>Class per pixel (semantic models).</summary>
    public string PredictedSemanticLabels { get; init; } = SegmentationColumns.PredictedSemanticLabels;

    /// <summary>The column names in use for a model with <paramref name="tasks"/>, in schema order, with the output each holds.</summary>
    internal IReadOnlyList<(string Name, OutputKind Kind)> For(SegmentationTasks tasks)
    {
        var list = new List<(string, OutputKind)>();
        if (tasks.HasFlag(SegmentationTasks.Boxes))
        {
            list.Add((PredictedLabel, OutputKind.Label));
            list.Add((Score, OutputKind.Score));
            list.Add((PredictedBoundingBoxes, OutputKind.Boxes));
        }
        if (tasks.HasFlag(SegmentationTasks.Masks)) list.Add((PredictedMasks, OutputKind.Masks));
        if (tasks.HasFlag(SegmentationTasks.Keypoints)) list.Add((PredictedKeypoints, OutputKind.Keypoints));
        if (tasks.HasFlag(SegmentationTasks.Semantic)) list.Add((PredictedSemanticLabels, OutputKind.Semantic));
        var duplicate = list.GroupBy(c => c.Item1).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"output column name '{duplicate.Key}' is used for more than one output");
        return list;
    }
}

