using MLNetSeg.Data.Coco;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Evaluation;

/// <summary>
/// Predictions as COCO results, the way torchvision's references/detection/coco_eval.py prepares
/// them: one result per instance with its image id, category id, score, and every field the
/// predictions have — "bbox" as [x, y, w, h] (float32 corners as torch computes them, widened to
/// double exactly), "segmentation" as a compressed RLE of the binary mask, "keypoints" as flat
/// (x, y, 1) triplets: what `mlnetseg predict --json` writes (evaluation itself reads Instances in memory: SegmentationEvaluator).
/// </summary>
public static class CocoResultsWriter
{
    /// <param name="predictions">One <see cref="Instances"/> per image (scores required).</param>
    /// <param name="imageIds">The COCO image id of each prediction.</param>
    /// <param name="labelToCategoryId">COCO category id per label (e.g. <c>ModelFileInfo.LabelToCategoryId</c>).</param>
    public static CocoResults ToCocoResults(IReadOnlyList<Instances> predictions, IReadOnlyList<long> imageIds, IReadOnlyList<int> labelToCategoryId)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(imageIds);
        ArgumentNullException.ThrowIfNull(labelToCategoryId);
        if (predictions.Count != imageIds.Count)
            throw new ArgumentException($"{predictions.Count} predictions but {imageIds.Count} image ids", nameof(imageIds));
        var results = new List<CocoResult>();
        for (int i = 0; i < predictions.Count; i++)
        {
            var p = predictions[i] ?? throw new ArgumentNullException(nameof(predictions), $"prediction {i} (image {imageIds[i]}) is null");
            results.AddRange(ToCocoResults(p, imageIds[i], labelToCategoryId, i));
        }
        return new CocoResults(results, "<predictions>");
    }

    private static IEnumerable<CocoResult> ToCocoResults(Instances p, long imageId, IReadOnlyList<int> labelToCategoryId, int index)
    {
        string where = $"prediction {index} (image {imageId})";
        if (p.Count == 0) yield break;
        var scores = p.Scores ?? throw new ArgumentException($"{where} has no scores; COCO results need one per instance");
        var xywh = p.Boxes.ToXywh();
        int k = p.Keypoints?.KeypointsPerInstance ?? 0;
        for (int j = 0; j < p.Count; j++)
        {
            int label = p.Labels[j];
            if ((uint)label >= (uint)labelToCategoryId.Count)
                throw new ArgumentException($"{where}: instance {j} has label {label}, outside the {labelToCategoryId.Count} labels mapped to category ids");
            double[]? keypoints = null;
            if (p.Keypoints is { } kps)
            {
                keypoints = new double[3 * k];
                for (int q = 0; q < k; q++)
                {
                    keypoints[3 * q] = kps.X(j, q);
                    keypoints[3 * q + 1] = kps.Y(j, q);
                    keypoints[3 * q + 2] = 1;  // torchvision's heatmaps_to_keypoints sets v = 1 for every point
                }
            }
            yield return new CocoResult
            {
                ImageId = imageId,
                CategoryId = labelToCategoryId[label],
                Score = scores[j],
                Bbox = new double[] { xywh[4 * j], xywh[4 * j + 1], xywh[4 * j + 2], xywh[4 * j + 3] },
                Segmentation = p.Masks is { } masks ? CocoCompressedRle.FromRle(masks[j]) : null,
                Keypoints = keypoints,
            };
        }
    }
}
