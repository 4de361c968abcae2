using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Backbones;

/// <summary>
/// torchvision.ops.FeaturePyramidNetwork (0.14): per input level a lateral 1×1 conv
/// (inner_blocks.i) and a 3×3 output conv (layer_blocks.i), each a Conv2dNormActivation without
/// activation, i.e. a Sequential holding the conv ("0") and, with a norm layer, the norm ("1";
/// the conv then has no bias). Top-down: the coarser merged map is upsampled (nearest) to the
/// exact size of the lateral below and added. Optional extra block (e.g. "pool").
/// Initialisation as torchvision: kaiming_uniform(a = 1) conv weights, zero biases.
/// </summary>
public sealed class FeaturePyramidNetwork
    : Module<IReadOnlyList<(string Name, Tensor Feature)>, IReadOnlyList<(string Name, Tensor Feature)>>
{
    private readonly ModuleList<Sequential> innerBlocks, layerBlocks;

    /// <summary>Creates the lateral and output convolutions (torchvision's <c>FeaturePyramidNetwork(in_channels_list, out_channels, extra_blocks, norm_layer)</c>).</summary>
    /// <param name="inChannelsList">Channels of each input level, finest first (256, 512, 1024, 2048 for ResNet-50 layer1..4).</param>
    /// <param name="outChannels">Channels of every output level (256 in torchvision's detectors).</param>
    /// <param name="extraBlocks">Levels appended after the outputs, e.g. <see cref="LastLevelMaxPool"/>; none when null.
    /// The FPN takes ownership (it becomes the registered child "extra_blocks").</param>
    /// <param name="norm">Normalisation after each conv (the v2 recipe's BatchNorm2d); null for none, with conv biases (v1).</param>
    /// <exception cref="ArgumentException">The channel list is empty or holds a non-positive value.</exception>
    public FeaturePyramidNetwork(IReadOnlyList<long> inChannelsList, long outChannels, ExtraFpnBlock? extraBlocks = null,
        NormLayer? norm = null)
    {
        if (inChannelsList.Count == 0) throw new ArgumentException("FeaturePyramidNetwork: inChannelsList is empty", nameof(inChannelsList));
        if (inChannelsList.Any(c => c <= 0))
            throw new ArgumentException($"FeaturePyramidNetwork: input channels must be positive, got [{string.Join(", ", inChannelsList)}]",
                nameof(inChannelsList));
        InChannels = inChannelsList.ToArray();
        OutChannels = outChannels;
        innerBlocks = RegisterModule("inner_blocks", new ModuleList<Sequential>());
        layerBlocks = RegisterModule("layer_blocks", new ModuleList<Sequential>());
        foreach (var inChannels in inChannelsList)
        {
            // Built inner, layer, inner, layer, ... like torchvision, so seeded draws agree.
            innerBlocks.Add(ConvNorm(inChannels, outChannels, 1, norm));
            layerBlocks.Add(ConvNorm(outChannels, outChannels, 3, norm));
        }
        using (NoGradScope.Enter())
            foreach (var m in Modules())
                if (m is Conv2d conv)
                {
                    Init.KaimingUniform_(conv.Weight, a: 1);
                    if (conv.Bias is not null) Init.Zeros_(conv.Bias);
                }
        if (extraBlocks is not null) ExtraBlocks = RegisterModule("extra_blocks", extraBlocks);
    }

    /// <summary>Channels of each input level, finest first.</summary>
    public IReadOnlyList<long> InChannels { get; }

    /// <summary>Channels of every output level, the extra ones included.</summary>
    public long OutChannels { get; }

    /// <summary>The block that appends coarser levels ("extra_blocks"), or null.</summary>
    public ExtraFpnBlock? ExtraBlocks { get; }

    /// <summary>The lateral 1×1 convolutions ("inner_blocks.i"), one per input level, finest first.</summary>
    public IReadOnlyList<Sequential> InnerBlocks => innerBlocks;

    /// <summary>The 3×3 output convolutions ("layer_blocks.i"), one per input level, finest first.</summary>
    public IReadOnlyList<Sequential> LayerBlocks => layerBlocks;

    /// <summary>Maps the input levels (finest first, channels as <see cref="InChannels"/>) to
    /// <see cref="OutChannels"/>-channel maps of the same sizes and names, then the extra levels.</summary>
    /// <exception cref="ArgumentException">The number of levels or a level's channels differ from <see cref="InChannels"/>.</exception>
    public override IReadOnlyList<(string Name, Tensor Feature)> Forward(IReadOnlyList<(string Name, Tensor Feature)> input)
    {
        if (input.Count != innerBlocks.Count)
            throw new ArgumentException($"FeaturePyramidNetwork: expected {innerBlocks.Count} feature maps, got {input.Count} " +
                                        $"([{string.Join(", ", input.Select(f => f.Name))}])", nameof(input));
        for (int i = 0; i < input.Count; i++)
            if (input[i].Feature.Dim != 4 || input[i].Feature.Size(1) != InChannels[i])
                throw new ArgumentException($"FeaturePyramidNetwork: feature '{input[i].Name}' must be (N, {InChannels[i]}, H, W), " +
                                            $"got [{string.Join(", ", input[i].Feature.Shape)}]", nameof(input));

        int last = input.Count - 1;
        var lastInner = innerBlocks[last].Forward(input[last].Feature);
        var results = new Tensor[input.Count];
        results[last] = layerBlocks[last].Forward(lastInner);
        for (int i = last - 1; i >= 0; i--)
        {
            var lateral = innerBlocks[i].Forward(input[i].Feature);
            var shape = lateral.Shape;
            using (var topDown = Functional.Interpolate(lastInner, size: (shape[2], shape[3]), mode: InterpolationMode.Nearest))
                lateral.Add_(topDown);
            lastInner.Dispose();
            lastInner = lateral;
            results[i] = layerBlocks[i].Forward(lastInner);
        }
        lastInner.Dispose();

        var output = input.Select((f, i) => (f.Name, results[i])).ToList();
        ExtraBlocks?.Extend(output, input);
        return output;
    }

    /// <summary>torchvision's Conv2dNormActivation(in, out, k, padding (k−1)/2, norm, activation None).</summary>
    private static Sequential ConvNorm(long inChannels, long outChannels, long kernel, NormLayer? norm)
    {
        var block = new Sequential(new Conv2d(inChannels, outChannels, kernel, padding: (kernel - 1) / 2, bias: norm is null));
        if (norm is not null) block.Append(norm(outChannels));
        return block;
    }

    /// <summary>Checkpoints from before torchvision 0.13 (FPN version 1) name the convs
    /// "inner_blocks.{i}.weight"; they now sit at "inner_blocks.{i}.0.weight".</summary>
    protected override void UpgradeStateDict(string prefix, IDictionary<string, Tensor> stateDict)
    {
        foreach (var block in new[] { "inner_blocks", "layer_blocks" })
            for (int i = 0; i < innerBlocks.Count; i++)
                foreach (var member in new[] { "weight", "bias" })
                {
                    var oldKey = $"{prefix}{block}.{i}.{member}";
                    if (stateDict.Remove(oldKey, out var value)) stateDict[$"{prefix}{block}.{i}.0.{member}"] = value;
                }
    }
}
