using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Rcnn;

/// <summary>Building blocks shared by the detection heads.</summary>
internal static class ConvBlocks
{
    /// <summary>
    /// torchvision's Conv2dNormActivation: conv ("0", biased only without a norm), optional
    /// BatchNorm2d ("1"), ReLU; padding keeps the spatial size. Its state-dict names are
    /// "0.weight", "0.bias" / "1.weight", "1.running_mean", ... as in torchvision.
    /// </summary>
    public static Sequential ConvNormRelu(long inChannels, long outChannels, int kernelSize = 3, int dilation = 1, bool batchNorm = false)
    {
        int padding = (kernelSize - 1) / 2 * dilation;
        var conv = new Conv2d(inChannels, outChannels, kernelSize, stride: 1, padding: padding, dilation: dilation, bias: !batchNorm);
        return batchNorm
            ? new Sequential(conv, new BatchNorm2d(outChannels), new ReLU(inplace: true))
            : new Sequential(conv, new ReLU(inplace: true));
    }

    /// <summary>nn.init.kaiming_normal_(weight, mode="fan_out", nonlinearity="relu") and a zero bias,
    /// the initialisation torchvision gives its detection head convolutions.</summary>
    public static void KaimingNormalFanOut(Tensor weight, Tensor? bias)
    {
        Init.KaimingNormal_(weight, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
        if (bias is not null) Init.Zeros_(bias);
    }

    /// <summary>Renames a legacy checkpoint key in place when the new name is absent
    /// (torchvision's version-1 _load_from_state_dict hooks).</summary>
    public static void RenameKey(IDictionary<string, Tensor> stateDict, string oldKey, string newKey)
    {
        if (!stateDict.TryGetValue(oldKey, out var value) || stateDict.ContainsKey(newKey)) return;
        stateDict.Remove(oldKey);
        stateDict[newKey] = value;
    }
}
