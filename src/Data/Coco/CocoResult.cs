namespace MLNetSeg.Data.Coco;

/// <summary>
/// One detection of a COCO results file: {image_id, category_id, bbox | segmentation | keypoints, score}.
/// Results have no id of their own; pycocotools numbers them 1, 2, … in file order.
/// </summary>
public sealed class CocoResult
{
    public required long ImageId { get; init; }

    public required long CategoryId { get; init; }

    public required double Score { get; init; }

    /// <summary>[x, y, width, height]; null when the result has no "bbox".</summary>
    public double[]? Bbox { get; init; }

    public CocoSegmentation? Segmentation { get; init; }

    /// <summary>Flat (x, y, v) triplets; null when the result has no "keypoints".</summary>
    public double[]? Keypoints { get; init; }
}
