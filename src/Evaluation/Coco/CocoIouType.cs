namespace MLNetSeg.Evaluation.Coco;

/// <summary>What a COCO evaluation compares: boxes, masks, or keypoints (OKS).</summary>
public enum CocoIouType
{
    Bbox,
    Segm,
    Keypoints,
}
