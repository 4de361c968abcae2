using MLNetSeg.Torch;

namespace MLNetSeg.Models.Rcnn;

/// <summary>
/// The losses of one R-CNN training step, torchvision's loss dict: RPN objectness (BCE over the
/// sampled anchors) and box regression, Fast R-CNN classification (cross-entropy) and box
/// regression, and the mask (Mask R-CNN) or keypoint (Keypoint R-CNN) loss. Each is a 0-d tensor
/// attached to the autograd graph.
/// </summary>
public sealed record RcnnLosses(Tensor Objectness, Tensor RpnBoxReg, Tensor Classifier, Tensor BoxReg, Tensor? Mask, Tensor? Keypoint)
{
    public const string ObjectnessKey = "loss_objectness", RpnBoxRegKey = "loss_rpn_box_reg",
        ClassifierKey = "loss_classifier", BoxRegKey = "loss_box_reg", MaskKey = "loss_mask", KeypointKey = "loss_keypoint";

    /// <summary>
    /// The losses under torchvision's names, in the order GeneralizedRCNN's dict has them (RoI
    /// heads first, then the RPN); absent branches are left out.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> ToDictionary()
    {
        var d = new Dictionary<string, Tensor> { [ClassifierKey] = Classifier, [BoxRegKey] = BoxReg };
        if (Mask is not null) d[MaskKey] = Mask;
        if (Keypoint is not null) d[KeypointKey] = Keypoint;
        d[ObjectnessKey] = Objectness;
        d[RpnBoxRegKey] = RpnBoxReg;
        return d;
    }

    /// <summary>The sum of the losses, added in <see cref="ToDictionary"/>'s order, as torchvision's
    /// reference training script does (sum(loss_dict.values())), so the float32 rounding agrees.</summary>
    public Tensor Total()
    {
        Tensor? total = null;
        foreach (var loss in ToDictionary().Values) total = total is null ? loss : total + loss;
        return total!;
    }
}
