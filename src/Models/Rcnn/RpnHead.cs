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

    public long InChannels { get; }
    public int NumAnchors { get; }
    public Sequential Conv { get; }
    public Conv2d ClsLogits { get; }
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

    protected override void UpgradeStateDict(string prefix, IDictionary<string, Tensor> stateDict)
    {
        foreach (var member in new[] { "weight", "bias" })
            ConvBlocks.RenameKey(stateDict, $"{prefix}conv.{member}", $"{prefix}conv.0.0.{member}");
    }
}
