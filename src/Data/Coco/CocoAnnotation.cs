namespace MLNetSeg.Data.Coco;

/// <summary>One ground-truth instance of a COCO dataset's "annotations" list.</summary>
public sealed class CocoAnnotation
{
    public required long Id { get; init; }

    public required long ImageId { get; init; }

    public required long CategoryId { get; init; }

    /// <summary>[x, y, width, height] in pixels; null when the file has none.</summary>
    public double[]? Bbox { get; init; }

    /// <summary>The "area" field (COCO evaluation's area ranges test this value, not the box); null when absent.</summary>
    public double? Area { get; init; }

    public bool IsCrowd { get; init; }

    public CocoSegmentation? Segmentation { get; init; }

    /// <summary>Flat (x, y, v) triplets; null for annotations without keypoints.</summary>
    public double[]? Keypoints { get; init; }

    public int? NumKeypoints { get; init; }
}
