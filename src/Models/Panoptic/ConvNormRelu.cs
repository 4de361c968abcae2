using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Panoptic;

/// <summary>detectron2's Conv2d 3×3 with a norm and ReLU: "weight" (and "bias" without a norm) and the child "norm".</summary>
internal sealed class ConvNormRelu : Module<Tensor, Tensor>
{
    private readonly Tensor _weight;
    private readonly Tensor? _bias;
    private readonly GroupNorm? _norm;

    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="groups">GroupNorm groups; null: no norm, a biased conv.</param>
    public ConvNormRelu(long inChannels, long outChannels, int? groups)
    {
        _weight = RegisterParameter("weight", Tensor.Empty(new[] { outChannels, inChannels, 3, 3 }))!;
        Init.KaimingNormal_(_weight, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
        if (groups is { } g) _norm = RegisterModule("norm", new GroupNorm(g, outChannels));
        else _bias = RegisterParameter("bias", Tensor.Zeros(new[] { outChannels }));
    }

    /// <summary>Whether a GroupNorm follows the conv.</summary>
    public bool HasNorm => _norm is not null;

    /// <summary>The 3×3 kernel [out, in, 3, 3] (padding 1, stride 1).</summary>
    internal Tensor Weight => _weight;

    /// <summary>The conv's bias (without a norm), or null.</summary>
    internal Tensor? Bias => _bias;

    /// <summary>The GroupNorm after the conv, or null.</summary>
    internal GroupNorm? Norm => _norm;

    /// <summary>detectron2's 1×1 predictor conv to <paramref name="classes"/> logits, c2_msra_fill: Kaiming normal (fan out, ReLU), zero bias.</summary>
    public static Conv2d Predictor(long inChannels, int classes)
    {
        var conv = new Conv2d(inChannels, classes, 1);
        Init.KaimingNormal_(conv.Weight, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
        Init.Zeros_(conv.Bias!);
        return conv;
    }

    public override Tensor Forward(Tensor input)
    {
        var x = Functional.Conv2d(input, _weight, _bias, padding: 1);
        if (_norm is not null) x = _norm.Forward(x);
        return Functional.Relu(x);
    }
}
