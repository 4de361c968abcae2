using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Rcnn;

/// <summary>
/// torchvision's RPNHead: per feature level, <c>conv</c> (conv_depth × [3×3 conv + ReLU]) shared
/// by two 1×1 convs, <c>cls_logits</c> (one objectness logit per anchor) and <c>bbox_pred</c>
/// (four box deltas per anchor). State-dict names "conv.0.0.weight", "cls_logits.weight",
/// "bbox_pred.weight"; checkpoints with the pre-0.13 name "conv.weight" load too.
/// </summary>
public sealed class RpnHead : Module<IReadOnlyList<Tensor>, (Tensor[] Objectness, Tensor[] BoxDeltas)>
{
    /// <summary>Creates the head (torchvision's <c>RPNHead(in_channels, num_anchors, conv_depth)</c>); every weight is drawn
    /// from N(0, 0.01²), every bias is 0, as in torchvision.</summary>
    /// <param name="inChannels">Channels of the FPN levels (256 in torchvision), kept by the shared convs.</param>
    /// <param name="numAnchors">Anchors per feature-map cell (3 aspect ratios × 1 size in torchvision's recipes).</param>
    /// <param name="convDepth">3×3 conv + ReLU blocks before the two predictors: 1 (v1) or 2 (v2).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="convDepth"/> is below 1.</exception>
    public RpnHead(long inChannels, int numAnchors, int convDepth = 1)
    {
        if (convDepth < 1) throw new ArgumentOutOfRangeException(nameof(convDepth), $"RpnHead: conv depth must be at least 1, got {convDepth}");
        InChannels = inChannels;
        NumAnchors = numAnchors;
        var blocks = new Sequential();
        for (int i = 0; i < convDepth; i++) blocks.Append(ConvBlocks.ConvNormRelu(inChannels, inChannels));
        Conv = RegisterModule("conv", blocks);
        ClsLogits = RegisterModule("cls_logits", new Conv2d(inChannels, numAnchors, 1));
        BboxPred = RegisterModule("bbox_pred", new Conv2d(inChannels, numAnchors * 4, 1));
        // torchvision: every conv N(0, 0.01²), biases 0.
        foreach (var (name, p) in NamedParameters())
            if (name.EndsWith("weight", StringComparison.Ordinal)) Init.Normal_(p, 0, 0.01);
            else Init.Zeros_(p);
    }

    /// <summary>Channels of the FPN levels the head reads.</summary>
    public long InChannels { get; }

    /// <summary>Anchors per feature-map cell, A.</summary>
    public int NumAnchors { get; }

    /// <summary>The shared 3×3 conv + ReLU blocks ("conv").</summary>
    public Sequential Conv { get; }

    /// <summary>The 1×1 conv to one objectness logit per anchor ("cls_logits").</summary>
    public Conv2d ClsLogits { get; }

    /// <summary>The 1×1 conv to four box deltas per anchor ("bbox_pred").</summary>
    public Conv2d BboxPred { get; }

    /// <summary>Per level: objectness [N, A, H, W] and deltas [N, 4A, H, W].</summary>
    public override (Tensor[] Objectness, Tensor[] BoxDeltas) Forward(IReadOnlyList<Tensor> features)
    {
        var logits = new Tensor[features.Count];
        var deltas = new Tensor[features.Count];
        for (int i = 0; i < features.Count; i++)
        {
            var t = Conv.Forward(features[i]);
            logits[i] = ClsLogits.Forward(t);
            deltas[i] = BboxPred.Forward(t);
        }
        return (logits, deltas);
    }

    /// <summary>Renames the pre-0.13 keys "conv.weight"/"conv.bias" to "conv.0.0.weight"/"conv.0.0.bias".</summary>
    /// <param name="prefix">This module's key prefix, e.g. "rpn.head.".</param>
    /// <param name="stateDict">The state dict being loaded, changed in place.</param>
    protected override void UpgradeStateDict(string prefix, IDictionary<string, Tensor> stateDict)
    {
        foreach (var member in new[] { "weight", "bias" })
            ConvBlocks.RenameKey(stateDict, $"{prefix}conv.{member}", $"{prefix}conv.0.0.{member}");
    }
}
