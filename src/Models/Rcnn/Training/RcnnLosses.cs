using MLNetSeg.Torch;

namespace MLNetSeg.Models.Rcnn;

/// <summary>
/// The losses of one R-CNN training step, torchvision's loss dict: RPN objectness (BCE over the
/// sampled anchors) and box regression, Fast R-CNN classification (cross-entropy) and box
/// regression, and the mask (Mask R-CNN) or keypoint (Keypoint R-CNN) loss. Each is a 0-d tensor
/// attached to the autograd graph.
/// </summary>
/// <param name="Objectness">RPN objectness loss, <see cref="ObjectnessKey"/>.</param>
/// <param name="RpnBoxReg">RPN box regression loss, <see cref="RpnBoxRegKey"/>.</param>
/// <param name="Classifier">Box-head classification loss, <see cref="ClassifierKey"/>.</param>
/// <param name="BoxReg">Box-head regression loss, <see cref="BoxRegKey"/>.</param>
/// <param name="Mask">Mask loss, <see cref="MaskKey"/>; null without a mask branch.</param>
/// <param name="Keypoint">Keypoint loss, <see cref="KeypointKey"/>; null without a keypoint branch.</param>
/// <param name="Extra">The losses of branches a family adds to the detector (MaskLab's "loss_semantic", "loss_direction"), by name; null: none.</param>
public sealed record RcnnLosses(Tensor Objectness, Tensor RpnBoxReg, Tensor Classifier, Tensor BoxReg, Tensor? Mask, Tensor? Keypoint,
    IReadOnlyDictionary<string, Tensor>? Extra = null)
{
    /// <summary>The names of the losses in torchvision's loss dict, used as the keys of <see cref="ToDictionary"/> (and so in
    /// training logs): "loss_objectness", "loss_rpn_box_reg", "loss_classifier", "loss_box_reg", "loss_mask", "loss_keypoint".</summary>
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
        foreach (var (name, loss) in Extra ?? new Dictionary<string, Tensor>()) d.Add(name, loss);
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
