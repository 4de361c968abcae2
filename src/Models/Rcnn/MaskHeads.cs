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

    public long OutChannels { get; }

    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var block in blocks) x = block.Forward(x);
        return x;
    }

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
    public MaskRcnnPredictor(long inChannels, long dimReduced, int numClasses)
    {
        NumClasses = numClasses;
        Conv5Mask = RegisterModule("conv5_mask", new ConvTranspose2d(inChannels, dimReduced, 2, stride: 2, padding: 0));
        MaskFcnLogits = RegisterModule("mask_fcn_logits", new Conv2d(dimReduced, numClasses, 1, stride: 1, padding: 0));
        // torchvision re-initialises only the weights (biases keep their default init).
        Init.KaimingNormal_(Conv5Mask.Weight, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
        Init.KaimingNormal_(MaskFcnLogits.Weight, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
    }

    public int NumClasses { get; }
    public ConvTranspose2d Conv5Mask { get; }
    public Conv2d MaskFcnLogits { get; }

    public override Tensor Forward(Tensor input) =>
        MaskFcnLogits.Forward(Functional.Relu(Conv5Mask.Forward(input), inplace: true));
}
