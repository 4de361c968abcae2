namespace MLNetSeg.Data.Coco;

/// <summary>One entry of a COCO dataset's "categories" list, including the keypoint definition of keypoint categories.</summary>
public sealed class CocoCategory
{
    public required long Id { get; init; }

    public required string Name { get; init; }

    public string? Supercategory { get; init; }

    /// <summary>Keypoint names, in the order the annotations' keypoint triplets use; null for non-keypoint categories.</summary>
    public IReadOnlyList<string>? Keypoints { get; init; }

    /// <summary>Skeleton edges as pairs of 1-based keypoint indices (COCO convention); null when absent.</summary>
    public IReadOnlyList<int[]>? Skeleton { get; init; }
}
