using MLNetSeg.Data.Coco;
using MLNetSeg.Evaluation.Coco;

namespace MLNetSeg.Training;

/// <summary>
/// COCO box, mask and keypoint AP of a set of results, through <see cref="CocoEvaluator"/>
/// (pycocotools-exact). Each evaluation sees only its own field, as torchvision's COCO evaluator
/// prepares a separate result list per IoU type: results that carry a box and a mask would
/// otherwise be read by pycocotools' loadRes as box results, giving masks their box's area for the
/// small/medium/large split (detectron2 drops the box for segm for this reason).
/// <list type="bullet">
/// <item>bbox: "bbox" (or, for results without one, "segmentation", whose bounding box loadRes takes);</item>
/// <item>segm: "segmentation" only; keypoints: "keypoints" only.</item>
/// </list>
/// </summary>
public static class DetectionEvaluator
{
    /// <param name="masks">Also evaluate "segm" (every result needs a segmentation).</param>
    /// <param name="keypoints">Also evaluate "keypoints" (every result needs keypoints).</param>
    /// <param name="options">Image/category subsets, keypoint sigmas (for other than the 17 COCO
    /// keypoints), parallelism.</param>
    public static DetectionEvaluation Evaluate(CocoDataset groundTruth, CocoResults results, bool masks, bool keypoints,
        CocoEvalOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(groundTruth);
        ArgumentNullException.ThrowIfNull(results);
        var bbox = CocoEvaluator.Evaluate(groundTruth, Only(results, CocoIouType.Bbox), CocoIouType.Bbox, options);
        var segm = masks ? CocoEvaluator.Evaluate(groundTruth, Only(results, CocoIouType.Segm), CocoIouType.Segm, options) : null;
        var kps = keypoints ? CocoEvaluator.Evaluate(groundTruth, Only(results, CocoIouType.Keypoints), CocoIouType.Keypoints, options) : null;
        return new DetectionEvaluation(bbox, segm, kps);
    }

    /// <summary>The results with only the field <paramref name="iouType"/> is evaluated on, in the same order.</summary>
    public static CocoResults Only(CocoResults results, CocoIouType iouType)
    {
        ArgumentNullException.ThrowIfNull(results);
        var items = new List<CocoResult>(results.Items.Count);
        for (int i = 0; i < results.Items.Count; i++)
        {
            var r = results.Items[i];
            string Missing(string field) => $"{results.Source}: result {i} (image {r.ImageId}) has no '{field}' for the {iouType.ToString().ToLowerInvariant()} evaluation";
            items.Add(iouType switch
            {
                CocoIouType.Bbox when r.Bbox is { Length: > 0 } => Copy(r, bbox: r.Bbox),
                CocoIouType.Bbox => Copy(r, segmentation: r.Segmentation ?? throw new ArgumentException(Missing("bbox"))),
                CocoIouType.Segm => Copy(r, segmentation: r.Segmentation ?? throw new ArgumentException(Missing("segmentation"))),
                _ => Copy(r, keypoints: r.Keypoints ?? throw new ArgumentException(Missing("keypoints"))),
            });
        }
        return new CocoResults(items, results.Source);
    }

    private static CocoResult Copy(CocoResult r, double[]? bbox = null, CocoSegmentation? segmentation = null, double[]? keypoints = null) => new()
    {
        ImageId = r.ImageId,
        CategoryId = r.CategoryId,
        Score = r.Score,
        Bbox = bbox,
        Segmentation = segmentation,
        Keypoints = keypoints,
    };
}
