namespace MLNetSeg.Evaluation.Coco;

/// <summary>What a COCO evaluation compares: boxes, masks, or keypoints (OKS).</summary>
public enum CocoIouType
{
    /// <summary>Box IoU on [x, y, w, h] boxes (pycocotools' <c>iouType='bbox'</c>).</summary>
    Bbox,

    /// <summary>Mask IoU on RLE masks (pycocotools' <c>iouType='segm'</c>).</summary>
    Segm,

    /// <summary>Object keypoint similarity, OKS (pycocotools' <c>iouType='keypoints'</c>), with per-keypoint sigmas.</summary>
    Keypoints,
}
