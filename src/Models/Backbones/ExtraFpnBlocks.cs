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
    /// <summary>Appends ("pool", P5 subsampled by 2) after the FPN outputs.</summary>
    /// <param name="results">The FPN outputs, finest first; the new level is added at the end.</param>
    /// <param name="inputs">The backbone features (not used).</param>
    public override void Extend(List<(string Name, Tensor Feature)> results, IReadOnlyList<(string Name, Tensor Feature)> inputs) =>
        results.Add(("pool", Functional.MaxPool2d(results[^1].Feature, 1, stride: 2, padding: 0)));
}

/// <summary>
/// torchvision's LastLevelP6P7 (RetinaNet): "p6" = conv3×3/2 of P5 when
/// the input channels equal the output channels, else of C5 (the last
/// backbone feature); "p7" = conv3×3/2(ReLU(p6)). kaiming_uniform(a = 1) weights, zero biases.
/// </summary>
public sealed class LastLevelP6P7 : ExtraFpnBlock
{
    /// <summary>Creates the P6 and P7 convolutions (registered as "p6" and "p7", torchvision's names).</summary>
    /// <param name="inChannels">Channels of P6's input: the FPN's output channels to build P6 from P5 (torchvision's
    /// RetinaNet and FCOS: 256), or C5's channels to build it from the backbone (RetinaNet v2: 2048).</param>
    /// <param name="outChannels">Channels of P6 and P7 (the FPN's output channels).</param>
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

    /// <summary>The 3×3, stride-2 convolution producing "p6".</summary>
    public Conv2d P6 { get; }

    /// <summary>The 3×3, stride-2 convolution producing "p7" from ReLU(p6).</summary>
    public Conv2d P7 { get; }

    /// <summary>True when P6 is computed from P5 (the FPN output), false from C5.</summary>
    public bool UseP5 { get; }

    /// <summary>Appends "p6" and "p7" after the FPN outputs.</summary>
    /// <param name="results">The FPN outputs, finest first; P5 is the last one.</param>
    /// <param name="inputs">The backbone features, finest first; C5 is the last one.</param>
    public override void Extend(List<(string Name, Tensor Feature)> results, IReadOnlyList<(string Name, Tensor Feature)> inputs)
    {
        var source = UseP5 ? results[^1].Feature : inputs[^1].Feature;
        var p6 = P6.Forward(source);
        using var relu = Functional.Relu(p6);
        results.Add(("p6", p6));
        results.Add(("p7", P7.Forward(relu)));
    }
}
