namespace MLNetSeg.Data.Coco;

/// <summary>One entry of a COCO dataset's "categories" list, including the keypoint definition of keypoint categories.</summary>
public sealed class CocoCategory
{
    /// <summary>The category's "id", the value annotations and results use as "category_id".</summary>
    public required long Id { get; init; }

    /// <summary>The "name" field, e.g. <c>person</c>.</summary>
    public required string Name { get; init; }

    /// <summary>The "supercategory" field, e.g. <c>vehicle</c>; null when absent.</summary>
    public string? Supercategory { get; init; }

    /// <summary>Keypoint names, in the order the annotations' keypoint triplets use; null for non-keypoint categories.</summary>
    public IReadOnlyList<string>? Keypoints { get; init; }

    /// <summary>Skeleton edges as pairs of 1-based keypoint indices (COCO convention); null when absent.</summary>
    public IReadOnlyList<int[]>? Skeleton { get; init; }
}
