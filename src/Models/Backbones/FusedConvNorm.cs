using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Backbones;

/// <summary>
/// A convolution followed by its normalisation layer, with an optional inference-time folding
/// of a <see cref="FrozenBatchNorm2d"/> into the convolution: y = conv(x)·s + t equals a
/// convolution with weight W·s (per output channel) and bias b·s + t, where
/// s = weight·rsqrt(running_var + eps) and t = bias − running_mean·s. That removes two full
/// passes over every activation map. Not a module: the conv and the norm stay registered
/// where torchvision has them, so state-dict names do not change.
/// <para>
/// The folded weights are a snapshot, used only in eval mode (in training the conv weights
/// may be trained; folding would cut their gradient). Fold again after changing weights
/// (loading a state dict, an optimizer step); a move to another dtype/device is noticed and refolds.
/// </para>
/// </summary>
internal sealed class FusedConvNorm
{
    private Tensor? weight, bias;

    public FusedConvNorm(Conv2d conv, Module<Tensor, Tensor> norm)
    {
        Conv = conv;
        Norm = norm;
    }

    public Conv2d Conv { get; }
    public Module<Tensor, Tensor> Norm { get; }
    public bool IsFused => weight is not null;

    public Tensor Forward(Tensor input)
    {
        if (weight is null || Conv.Training) return Intermediate.Then(Conv.Forward(input), Norm.Forward);
        if (weight.DType != Conv.Weight.DType || weight.Device != Conv.Weight.Device) Fuse();
        return Functional.Conv2d(input, weight, bias, Conv.Stride, Conv.Padding, Conv.Dilation, Conv.Groups);
    }

    /// <summary>Folds the norm into the convolution; false (and nothing changes) when the norm
    /// is not a FrozenBatchNorm2d (a BatchNorm2d's statistics move in training).</summary>
    public bool Fuse()
    {
        if (Norm is not FrozenBatchNorm2d bn) return false;
        Unfuse();
        using var scope = DisposeScope.Enter();
        using var noGrad = NoGradScope.Enter();
        var scale = bn.Weight * (bn.RunningVar + bn.Eps).Rsqrt();
        var shift = bn.Bias - bn.RunningMean * scale;
        weight = (Conv.Weight * scale.Reshape(-1, 1, 1, 1)).DetachFromDisposeScope();
        bias = (Conv.Bias is null ? shift : Conv.Bias * scale + shift).DetachFromDisposeScope();
        return true;
    }

    public void Unfuse()
    {
        weight?.Dispose();
        bias?.Dispose();
        weight = bias = null;
    }
}
