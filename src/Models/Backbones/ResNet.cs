using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Backbones;

/// <summary>
/// torchvision.models.ResNet (v1.5) with the normalisation layer injected: conv1 (7×7, stride 2)
/// → bn1 → relu → maxpool (3×3, stride 2) → layer1..layer4 → avgpool → fc. Children, parameter
/// names and shapes are torchvision's, so its state dicts (e.g. ImageNet weights) load as they are.
/// <para>
/// Initialised like torchvision, draw for draw: every conv and the fc first get PyTorch's default
/// initialisation in construction order, then each conv (in module order) gets
/// kaiming_normal(fan_out, relu); so after <c>TorchRuntime.ManualSeed(s)</c> the weights equal
/// those of torchvision after <c>torch.manual_seed(s)</c>. Norm layers start at weight 1, bias 0.
/// </para>
/// </summary>
public sealed class ResNet : Module<Tensor, Tensor>
{
    private readonly FusedConvNorm stem;
    private readonly Sequential[] stages;
    private readonly AdaptiveAvgPool avgPool;

    /// <summary>Builds a ResNet of the given shape (torchvision's <c>ResNet(block, layers, num_classes, groups, width_per_group, norm_layer)</c>).</summary>
    /// <param name="spec">Block kind, blocks per stage, groups and widths.</param>
    /// <param name="norm">Normalisation layer; null gives BatchNorm2d, torchvision's default (detection backbones pass FrozenBatchNorm2d).</param>
    /// <param name="numClasses">Outputs of the final fully connected layer (1000 for ImageNet).</param>
    /// <exception cref="ArgumentException">The spec does not have four positive block counts, a BasicBlock ResNet is grouped or
    /// widened, or a width or group count is not positive.</exception>
    public ResNet(ResNetSpec spec, NormLayer? norm = null, long numClasses = 1000)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Layers.Count != 4 || spec.Layers.Any(n => n <= 0))
            throw new ArgumentException($"ResNet: expected 4 positive block counts (layer1..layer4), got [{string.Join(", ", spec.Layers)}]", nameof(spec));
        if (spec.Block == ResidualBlockKind.Basic && (spec.Groups != 1 || spec.WidthPerGroup != 64))
            throw new ArgumentException("ResNet: BasicBlock only supports groups=1 and width_per_group=64", nameof(spec));
        if (spec.DilateLastStage && spec.Block == ResidualBlockKind.Basic)
            throw new ArgumentException("ResNet: a dilated last stage needs Bottleneck blocks (torchvision: dilation > 1 not supported in BasicBlock)", nameof(spec));
        if (spec.BaseWidth <= 0)
            throw new ArgumentException($"ResNet: base width must be positive, got {spec.BaseWidth}", nameof(spec));
        if (spec.Groups <= 0 || spec.WidthPerGroup <= 0)
            throw new ArgumentException($"ResNet: groups ({spec.Groups}) and width_per_group ({spec.WidthPerGroup}) must be positive", nameof(spec));
        Spec = spec;
        norm ??= NormLayers.BatchNorm();  // torchvision.models.resnet*'s default norm_layer

        Conv1 = RegisterModule("conv1", new Conv2d(3, spec.BaseWidth, 7, stride: 2, padding: 3, bias: false));
        Bn1 = RegisterModule("bn1", norm(spec.BaseWidth));
        RegisterModule("relu", new ReLU(inplace: true));
        MaxPool = RegisterModule("maxpool", new MaxPool2d(3, stride: 2, padding: 1));
        long inPlanes = spec.BaseWidth;
        stages = new Sequential[4];
        for (int i = 0; i < 4; i++)
            stages[i] = RegisterModule($"layer{i + 1}", MakeStage(spec, norm, ref inPlanes, (long)spec.BaseWidth << i, spec.Layers[i], stride: i == 0 ? 1 : 2,
                dilate: i == 3 && spec.DilateLastStage));
        avgPool = RegisterModule("avgpool", new AdaptiveAvgPool());
        Fc = RegisterModule("fc", new Linear(inPlanes, numClasses));
        stem = new FusedConvNorm(Conv1, Bn1);

        using var noGrad = NoGradScope.Enter();
        foreach (var m in Modules())
            if (m is Conv2d conv) Init.KaimingNormal_(conv.Weight, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
    }

    /// <summary>Builds one of torchvision's ResNet variants, e.g. <see cref="ResNetDepth.ResNet50"/> for <c>torchvision.models.resnet50()</c>.</summary>
    /// <param name="depth">The variant.</param>
    /// <param name="norm">Normalisation layer; null gives BatchNorm2d, torchvision's default.</param>
    /// <param name="numClasses">Outputs of the final fully connected layer (1000 for ImageNet).</param>
    public ResNet(ResNetDepth depth, NormLayer? norm = null, long numClasses = 1000) : this(ResNetSpec.For(depth), norm, numClasses) { }

    /// <summary>The shape this network was built with.</summary>
    public ResNetSpec Spec { get; }

    /// <summary>The stem's 7×7, stride-2 convolution from 3 input channels ("conv1", no bias).</summary>
    public Conv2d Conv1 { get; }

    /// <summary>The stem's normalisation layer ("bn1").</summary>
    public Module<Tensor, Tensor> Bn1 { get; }

    /// <summary>The stem's 3×3, stride-2 max pooling ("maxpool").</summary>
    public MaxPool2d MaxPool { get; }

    /// <summary>The classifier ("fc"): pooled final features → numClasses logits. An <see cref="IntermediateLayerGetter"/> disposes it.</summary>
    public Linear Fc { get; }

    /// <summary>layer1..layer4 as <c>Stage(1)</c>..<c>Stage(4)</c>: sequences of residual blocks.</summary>
    public Sequential Stage(int stage) =>
        stage is >= 1 and <= 4 ? stages[stage - 1] : throw new ArgumentOutOfRangeException(nameof(stage), stage, "ResNet stages are 1..4");

    /// <summary>Class logits (N, numClasses) of an (N, 3, H, W) batch.</summary>
    public override Tensor Forward(Tensor input)
    {
        var x = ForwardStem(input);
        foreach (var stage in stages) x = Intermediate.Then(x, v => ForwardStage(stage, v));
        x = Intermediate.Then(x, avgPool.Forward);
        x = Intermediate.Then(x, v => v.Flatten(1));
        return Intermediate.Then(x, Fc.Forward);
    }

    /// <summary>conv1 → bn1 → ReLU → maxpool: the stride-4 input of layer1.</summary>
    public Tensor ForwardStem(Tensor input)
    {
        if (input.Dim != 4 || input.Size(1) != Conv1.InChannels)
            throw new ArgumentException($"ResNet expects an (N, {Conv1.InChannels}, H, W) image batch, got shape [{string.Join(", ", input.Shape)}]",
                nameof(input));
        var x = Intermediate.Relu_(stem.Forward(input));
        return Intermediate.Then(x, MaxPool.Forward);
    }

    /// <summary>Runs the blocks of a stage one after another, freeing each block's output once the
    /// next has consumed it (unlike Sequential.Forward); <paramref name="input"/> is left alone.</summary>
    public static Tensor ForwardStage(Sequential stage, Tensor input)
    {
        var x = input;
        foreach (var block in stage)
        {
            var y = block.Forward(x);
            if (!ReferenceEquals(x, input)) x.Dispose();
            x = y;
        }
        return x;
    }

    /// <summary>
    /// Inference-time optimisation: folds every FrozenBatchNorm2d into the convolution before it
    /// (conv weight · scale, bias shift: one conv instead of conv + norm), leaving parameters and state
    /// dict untouched; the folded weights are extra tensors the network holds. Used in eval
    /// mode only; call again after changing weights. Returns the number of conv + norm pairs folded
    /// (0 with BatchNorm2d, whose statistics are not frozen).
    /// </summary>
    public int FuseFrozenBatchNorm() => FuseFrozenBatchNorm(throughStage: 4);

    /// <summary>Drops the folded convolutions: forward runs conv then norm again.</summary>
    public void UnfuseFrozenBatchNorm()
    {
        foreach (var p in ConvNormPairs(4)) p.Unfuse();
    }

    /// <summary>Frees the stem's folded weights (owned here, not registered) with the network;
    /// the blocks free their own.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing) stem.Unfuse();
        base.Dispose(disposing);
    }

    /// <summary>Folds the stem and stages 1..<paramref name="throughStage"/> only (an
    /// <see cref="IntermediateLayerGetter"/> disposes the deeper ones).</summary>
    internal int FuseFrozenBatchNorm(int throughStage) => ConvNormPairs(throughStage).Count(p => p.Fuse());

    private IEnumerable<FusedConvNorm> ConvNormPairs(int throughStage) =>
        new[] { stem }.Concat(stages.Take(throughStage).SelectMany(s => s.Cast<ResidualBlock>()).SelectMany(b => b.ConvNormPairs));

    /// <summary>torchvision's ResNet._make_layer: the first block takes the stride and, when the
    /// shape changes, a 1×1 conv + norm projection of the shortcut. Dilated (only the last stage here), the stride becomes a
    /// dilation of 2: the first block keeps dilation 1, the others dilate by 2, as torchvision's previous_dilation / dilation.</summary>
    private static Sequential MakeStage(ResNetSpec spec, NormLayer norm, ref long inPlanes, long planes, int blocks, long stride, bool dilate = false)
    {
        long dilation = 1;
        if (dilate) (dilation, stride) = (stride, 1);
        long outPlanes = planes * spec.Expansion;
        Sequential? downsample = null;
        if (stride != 1 || inPlanes != outPlanes)
            downsample = new Sequential(new Conv2d(inPlanes, outPlanes, 1, stride: stride, bias: false), norm(outPlanes));
        var stage = new Sequential();
        stage.Append(MakeBlock(spec, norm, inPlanes, planes, stride, downsample, 1));
        inPlanes = outPlanes;
        for (int i = 1; i < blocks; i++) stage.Append(MakeBlock(spec, norm, inPlanes, planes, 1, null, dilation));
        return stage;
    }

    private static ResidualBlock MakeBlock(ResNetSpec spec, NormLayer norm, long inPlanes, long planes, long stride, Sequential? downsample, long dilation) =>
        spec.Block == ResidualBlockKind.Basic
            ? new BasicBlock(inPlanes, planes, norm, stride, downsample)
            : new Bottleneck(inPlanes, planes, norm, stride, downsample, spec.Groups, spec.WidthPerGroup, dilation);

    /// <summary>nn.AdaptiveAvgPool2d((1, 1)): registered for torchvision's child layout; it holds no state.</summary>
    private sealed class AdaptiveAvgPool : Module<Tensor, Tensor>
    {
        public override Tensor Forward(Tensor input) => Functional.AdaptiveAvgPool2d(input, 1);
    }
}
