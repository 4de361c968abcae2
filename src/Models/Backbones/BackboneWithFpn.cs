using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Backbones;

/// <summary>
/// torchvision's BackboneWithFPN: a feature extractor ("body") followed by a
/// <see cref="FeaturePyramidNetwork"/> ("fpn"). Registered as "backbone" in a detector, its
/// state-dict keys read "backbone.body.conv1.weight", "backbone.fpn.inner_blocks.0.0.weight", ...
/// exactly as torchvision's. <see cref="Forward"/> returns the pyramid levels in torchvision's
/// OrderedDict order: "0", "1", "2", "3" (finest first), then the extra levels ("pool").
/// </summary>
public sealed class BackboneWithFpn : Module<Tensor, IReadOnlyList<(string Name, Tensor Feature)>>
{
    /// <summary>Joins a feature extractor and an FPN; takes ownership of both (they become registered children).</summary>
    /// <param name="body">The ResNet stages whose outputs feed the FPN.</param>
    /// <param name="fpn">The pyramid; its <see cref="FeaturePyramidNetwork.InChannels"/> must equal the body's <see cref="IntermediateLayerGetter.OutChannels"/>.</param>
    /// <exception cref="ArgumentException">The body's output channels differ from the FPN's input channels.</exception>
    public BackboneWithFpn(IntermediateLayerGetter body, FeaturePyramidNetwork fpn)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(fpn);
        if (!body.OutChannels.SequenceEqual(fpn.InChannels))
            throw new ArgumentException($"BackboneWithFpn: the body returns channels [{string.Join(", ", body.OutChannels)}] but the FPN expects " +
                                        $"[{string.Join(", ", fpn.InChannels)}]");
        Body = RegisterModule("body", body);
        Fpn = RegisterModule("fpn", fpn);
    }

    /// <summary>The feature extractor, registered as "body" (torchvision's <c>backbone.body</c>).</summary>
    public IntermediateLayerGetter Body { get; }

    /// <summary>The feature pyramid, registered as "fpn" (torchvision's <c>backbone.fpn</c>).</summary>
    public FeaturePyramidNetwork Fpn { get; }

    /// <summary>Channels of every pyramid level (256 for the torchvision recipes).</summary>
    public long OutChannels => Fpn.OutChannels;

    /// <summary>Pyramid levels of an (N, 3, H, W) batch; each is (N, OutChannels, ⌈·⌉, ⌈·⌉) at
    /// strides 4, 8, 16, 32 (for the default returned layers) and 64 ("pool").</summary>
    public override IReadOnlyList<(string Name, Tensor Feature)> Forward(Tensor images)
    {
        var features = Body.Forward(images);
        var pyramid = Fpn.Forward(features);
        foreach (var (_, f) in features) f.Dispose();  // the FPN outputs are new tensors
        return pyramid;
    }

    /// <summary>
    /// Inference-time optimisation: folds every FrozenBatchNorm2d of the body into the preceding
    /// convolution (the state dict stays the same; results agree to float32 rounding). Applies in
    /// eval mode only; call again after loading or changing weights. Returns the number of conv +
    /// norm pairs folded (0 when the body uses BatchNorm2d, as the v2 recipe does).
    /// </summary>
    public int FuseFrozenBatchNorm() => Body.FuseFrozenBatchNorm();

    /// <summary>Undoes <see cref="FuseFrozenBatchNorm"/>.</summary>
    public void UnfuseFrozenBatchNorm() => Body.UnfuseFrozenBatchNorm();
}
