using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Backbones;

/// <summary>torchvision's ExtraFPNBlock: appends coarser levels after the FPN outputs.</summary>
public abstract class ExtraFpnBlock : Module
{
    /// <summary>Appends the extra levels to <paramref name="results"/> (the FPN outputs,
    /// finest first), given the FPN's <paramref name="inputs"/> (the backbone features).</summary>
    public abstract void Extend(List<(string Name, Tensor Feature)> results, IReadOnlyList<(string Name, Tensor Feature)> inputs);
}

/// <summary>torchvision's LastLevelMaxPool: "pool" = max_pool2d(last output, kernel 1, stride 2)
/// (P6 of Faster/Mask R-CNN: a stride-2 subsample of P5).</summary>
public sealed class LastLevelMaxPool : ExtraFpnBlock
{
    public override void Extend(List<(string Name, Tensor Feature)> results, IReadOnlyList<(string Name, Tensor Feature)> inputs) =>
        results.Add(("pool", Functional.MaxPool2d(results[^1].Feature, 1, stride: 2, padding: 0)));
}

/// <summary>
/// torchvision's LastLevelP6P7 (RetinaNet): "p6" = conv3×3/2 of P5 when
/// <paramref name="inChannels"/> equals <paramref name="outChannels"/>, else of C5 (the last
/// backbone feature); "p7" = conv3×3/2(ReLU(p6)). kaiming_uniform(a = 1) weights, zero biases.
/// </summary>
public sealed class LastLevelP6P7 : ExtraFpnBlock
{
    public LastLevelP6P7(long inChannels, long outChannels)
    {
        P6 = RegisterModule("p6", new Conv2d(inChannels, outChannels, 3, stride: 2, padding: 1));
        P7 = RegisterModule("p7", new Conv2d(outChannels, outChannels, 3, stride: 2, padding: 1));
        using (NoGradScope.Enter())
            foreach (var conv in new[] { P6, P7 })
            {
                Init.KaimingUniform_(conv.Weight, a: 1);
                Init.Zeros_(conv.Bias!);
            }
        UseP5 = inChannels == outChannels;
    }

    public Conv2d P6 { get; }
    public Conv2d P7 { get; }

    /// <summary>True when P6 is computed from P5 (the FPN output), false from C5.</summary>
    public bool UseP5 { get; }

    public override void Extend(List<(string Name, Tensor Feature)> results, IReadOnlyList<(string Name, Tensor Feature)> inputs)
    {
        var source = UseP5 ? results[^1].Feature : inputs[^1].Feature;
        var p6 = P6.Forward(source);
        using var relu = Functional.Relu(p6);
        results.Add(("p6", p6));
        results.Add(("p7", P7.Forward(relu)));
    }
}
