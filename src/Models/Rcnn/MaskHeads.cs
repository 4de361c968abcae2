using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Rcnn;

/// <summary>
/// torchvision's MaskRCNNHeads: conv blocks ("0".."3": 3×3 conv [+ BatchNorm in v2] + ReLU).
/// Checkpoints with the pre-0.13 names "mask_fcn{i}.weight" load too.
/// </summary>
public sealed class MaskRcnnHeads : Module<Tensor, Tensor>
{
    private readonly List<Sequential> blocks = new();

    /// <summary>Creates the conv blocks (torchvision's <c>MaskRCNNHeads(in_channels, layers, dilation, norm_layer)</c>), initialised
    /// kaiming_normal(fan_out) with zero biases.</summary>
    /// <param name="inChannels">Channels of the 14×14 RoI features (the FPN's, 256 in torchvision).</param>
    /// <param name="layers">Output channels of each 3×3 conv (torchvision: four of 256).</param>
    /// <param name="dilation">Dilation (and padding) of the convs; torchvision uses 1.</param>
    /// <param name="batchNorm">BatchNorm2d after each conv (the v2 recipe; the convs then have no bias).</param>
    public MaskRcnnHeads(long inChannels, IReadOnlyList<long> layers, int dilation = 1, bool batchNorm = false)
    {
        long next = inChannels;
        for (int i = 0; i < layers.Count; i++)
        {
            var block = RegisterModule(i.ToString(), ConvBlocks.ConvNormRelu(next, layers[i], dilation: dilation, batchNorm: batchNorm));
            var conv = (Conv2d)block[0];
            ConvBlocks.KaimingNormalFanOut(conv.Weight, conv.Bias);
            blocks.Add(block);
            next = layers[i];
        }
        OutChannels = next;
    }

    /// <summary>Channels of the head's output: the last conv's (the input's when there is none).</summary>
    public long OutChannels { get; }

    /// <summary>[R, C, 14, 14] pooled RoI features → [R, <see cref="OutChannels"/>, 14, 14] (size-preserving convs).</summary>
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var block in blocks) x = block.Forward(x);
        return x;
    }

    /// <summary>Renames the pre-0.13 keys "mask_fcn{i}.weight"/".bias" to "{i−1}.0.weight"/".bias".</summary>
    /// <param name="prefix">This module's key prefix, e.g. "roi_heads.mask_head.".</param>
    /// <param name="stateDict">The state dict being loaded, changed in place.</param>
    protected override void UpgradeStateDict(string prefix, IDictionary<string, Tensor> stateDict)
    {
        for (int i = 0; i < blocks.Count; i++)
            foreach (var member in new[] { "weight", "bias" })
                ConvBlocks.RenameKey(stateDict, $"{prefix}mask_fcn{i + 1}.{member}", $"{prefix}{i}.0.{member}");
    }
}

/// <summary>torchvision's MaskRCNNPredictor: conv5_mask (2×2 stride-2 transposed conv) + ReLU,
/// then mask_fcn_logits (1×1 conv to one mask logit map per class).</summary>
public sealed class MaskRcnnPredictor : Module<Tensor, Tensor>
{
    /// <summary>Creates conv5_mask and mask_fcn_logits (torchvision's <c>MaskRCNNPredictor(in_channels, dim_reduced, num_classes)</c>).</summary>
    /// <param name="inChannels">Channels of the mask head's output (torchvision: 256).</param>
    /// <param name="dimReduced">Channels of the transposed conv's output (torchvision: 256).</param>
    /// <param name="numClasses">Classes including background: one mask logit map each.</param>
    public MaskRcnnPredictor(long inChannels, long dimReduced, int numClasses)
    {
        NumClasses = numClasses;
        Conv5Mask = RegisterModule("conv5_mask", new ConvTranspose2d(inChannels, dimReduced, 2, stride: 2, padding: 0));
        MaskFcnLogits = RegisterModule("mask_fcn_logits", new Conv2d(dimReduced, numClasses, 1, stride: 1, padding: 0));
        // torchvision re-initialises only the weights (biases keep their default init).
        Init.KaimingNormal_(Conv5Mask.Weight, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
        Init.KaimingNormal_(MaskFcnLogits.Weight, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
    }

    /// <summary>Classes including background: the number of mask logit maps.</summary>
    public int NumClasses { get; }

    /// <summary>The 2×2, stride-2 transposed conv that doubles the resolution ("conv5_mask").</summary>
    public ConvTranspose2d Conv5Mask { get; }

    /// <summary>The 1×1 conv to one mask logit map per class ("mask_fcn_logits").</summary>
    public Conv2d MaskFcnLogits { get; }

    /// <summary>[R, C, 14, 14] head features → [R, numClasses, 28, 28] mask logits.</summary>
    public override Tensor Forward(Tensor input) =>
        MaskFcnLogits.Forward(Functional.Relu(Conv5Mask.Forward(input), inplace: true));
}
