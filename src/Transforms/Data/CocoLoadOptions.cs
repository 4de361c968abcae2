using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Transforms;

/// <summary>
/// What <see cref="SegmentationDataCatalogExtensions.LoadFromCoco"/> keeps and which optional
/// columns it adds. The filters reuse <c>MLNetSeg.Data.Loading.DetectionDataset</c>'s rules; the
/// defaults keep every image and every annotation of the file (what COCO evaluation needs).
/// </summary>
public sealed record CocoLoadOptions
{
    /// <summary>
    /// Drop images that cannot teach anything, with torchvision's
    /// <c>_coco_remove_images_without_annotations</c> rules (those of
    /// <c>DetectionDatasetOptions.RemoveImagesWithoutAnnotations</c>): an image stays when it has an
    /// annotation (crowd ones count), not every box has width ≤ 1 or height ≤ 1, and — for keypoint
    /// files — at least <see cref="MinKeypointsPerImage"/> visible keypoints. Default false.
    /// </summary>
    public bool RemoveImagesWithoutAnnotations { get; init; }

    /// <summary>torchvision's <c>min_keypoints_per_image</c> (10) for <see cref="RemoveImagesWithoutAnnotations"/>.</summary>
    public int MinKeypointsPerImage { get; init; } = 10;

    /// <summary>
    /// Keep crowd annotations (flagged in the <see cref="SegmentationColumns.IsCrowd"/> column).
    /// Default <b>true</b>, unlike <c>DetectionDatasetOptions.KeepCrowd</c>: the data view mirrors
    /// the file, and evaluation needs crowd regions; set false to drop them as torchvision's
    /// training transforms do.
    /// </summary>
    public bool KeepCrowd { get; init; } = true;

    /// <summary>
    /// Add the <see cref="SegmentationColumns.Masks"/> column when the file has segmentations.
    /// Masks are rasterised only for rows whose Masks column is read, so leaving this on costs
    /// nothing for pipelines that do not use masks; turn it off to drop the column from the schema.
    /// </summary>
    public bool LoadMasks { get; init; } = true;

    /// <summary>Add the <see cref="SegmentationColumns.Keypoints"/> column when the annotations have keypoints.</summary>
    public bool LoadKeypoints { get; init; } = true;

    /// <summary>
    /// The keypoint schema to use instead of the one the file implies, for files whose categories
    /// do not name their keypoints (as <c>DetectionDatasetOptions.KeypointSchema</c>); its names
    /// become the <see cref="SegmentationColumns.KeypointNamesAnnotation"/> annotation.
    /// </summary>
    public KeypointSchema? KeypointSchema { get; init; }
}
