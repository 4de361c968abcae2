namespace MLNetSeg.Data.Coco;

/// <summary>
/// One detection of a COCO results file: {image_id, category_id, bbox | segmentation | keypoints, score}.
/// Results have no id of their own; pycocotools numbers them 1, 2, … in file order.
/// </summary>
public sealed class CocoResult
{
    /// <summary>The "image_id": the <see cref="CocoImage.Id"/> of the image the detection was made on.</summary>
    public required long ImageId { get; init; }

    /// <summary>The "category_id": the <see cref="CocoCategory.Id"/> of the predicted class.</summary>
    public required long CategoryId { get; init; }

    /// <summary>The "score": the detection's confidence (finite); evaluation ranks detections by it, highest first.</summary>
    public required double Score { get; init; }

    /// <summary>[x, y, width, height]; null when the result has no "bbox".</summary>
    public double[]? Bbox { get; init; }

    /// <summary>The "segmentation" (usually a <see cref="CocoCompressedRle"/> of the image's size); null when the result has none.</summary>
    public CocoSegmentation? Segmentation { get; init; }

    /// <summary>Flat (x, y, v) triplets; null when the result has no "keypoints".</summary>
    public double[]? Keypoints { get; init; }
}
