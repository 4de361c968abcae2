namespace MLNetSeg.Data.Coco;

/// <summary>One ground-truth instance of a COCO dataset's "annotations" list.</summary>
public sealed class CocoAnnotation
{
    /// <summary>The annotation's "id", unique within its dataset.</summary>
    public required long Id { get; init; }

    /// <summary>The "image_id": the <see cref="CocoImage.Id"/> of the image this instance belongs to.</summary>
    public required long ImageId { get; init; }

    /// <summary>The "category_id": the <see cref="CocoCategory.Id"/> of the instance's class (COCO ids are not contiguous: 1..90 for the 80 classes).</summary>
    public required long CategoryId { get; init; }

    /// <summary>[x, y, width, height] in pixels; null when the file has none.</summary>
    public double[]? Bbox { get; init; }

    /// <summary>The "area" field (COCO evaluation's area ranges test this value, not the box); null when absent.</summary>
    public double? Area { get; init; }

    /// <summary>
    /// The "iscrowd" flag (0/1 in the file): a region covering a group of objects, usually an RLE. Evaluation
    /// lets any number of detections match a crowd region without counting them as false positives.
    /// </summary>
    public bool IsCrowd { get; init; }

    /// <summary>The "segmentation": polygons or an RLE of the image's size; null when the annotation has no mask.</summary>
    public CocoSegmentation? Segmentation { get; init; }

    /// <summary>Flat (x, y, v) triplets; null for annotations without keypoints.</summary>
    public double[]? Keypoints { get; init; }

    /// <summary>The "num_keypoints" field: how many keypoints are labelled (visibility &gt; 0); null when absent.</summary>
    public int? NumKeypoints { get; init; }
}
