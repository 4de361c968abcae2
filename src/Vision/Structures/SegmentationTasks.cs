namespace MLNetSeg.Vision.Structures;

/// <summary>
/// What a segmentation model outputs, and so which evaluations apply to it: COCO bbox, segm and
/// keypoints for instances, mIoU and friends for a semantic label map, PQ for a panoptic map.
/// </summary>
[Flags]
public enum SegmentationTasks
{
    /// <summary>No output.</summary>
    None = 0,

    /// <summary>Instances with boxes, labels and scores (COCO "bbox").</summary>
    Boxes = 1,

    /// <summary>Instance masks (COCO "segm").</summary>
    Masks = 2,

    /// <summary>Instance keypoints (COCO "keypoints").</summary>
    Keypoints = 4,

    /// <summary>A per-pixel class map (mIoU, fwIoU, mAcc, pAcc, boundary IoU).</summary>
    Semantic = 8,

    /// <summary>A panoptic segmentation (PQ, SQ, RQ).</summary>
    Panoptic = 16,
}
