using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Backbones;

/// <summary>A ResNet block: a residual branch added to the (possibly downsampled) input, then ReLU.</summary>
public abstract class ResidualBlock : Module<Tensor, Tensor>
{
    private FusedConvNorm? downsamplePair;

    /// <summary>1×1 conv + norm projecting the input when the block changes resolution or width
    /// (children "0" and "1", as torchvision's nn.Sequential), or null.</summary>
    public Sequential? Downsample { get; private set; }

    /// <summary>Registers the projection under "downsample" (after the branch layers, as torchvision does).</summary>
    protected void RegisterDownsample(Sequential? downsample)
    {
        if (downsample is null) return;
        Downsample = RegisterModule("downsample", downsample);
        downsamplePair = new FusedConvNorm((Conv2d)downsample[0], downsample[1]);
    }

    /// <summary>The block's conv + norm pairs (the projection last).</summary>
    internal IEnumerable<FusedConvNorm> ConvNormPairs =>
        BranchPairs.Concat(downsamplePair is null ? Enumerable.Empty<FusedConvNorm>() : new[] { downsamplePair });

    private protected abstract IEnumerable<FusedConvNorm> BranchPairs { get; }

    /// <summary>Frees the folded weights (owned here, not registered) with the block.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
            foreach (var pair in ConvNormPairs) pair.Unfuse();
        base.Dispose(disposing);
    }

    /// <summary>Adds the shortcut to the branch output in place and applies ReLU in place.</summary>
    protected Tensor AddShortcutAndRelu(Tensor branch, Tensor input)
    {
        if (downsamplePair is null) branch.Add_(input);
        else using (var identity = downsamplePair.Forward(input)) branch.Add_(identity);
        return Intermediate.Relu_(branch);
    }

    /// <summary>torchvision's conv3x3: a 3×3 convolution without bias, padding = dilation (so stride 1 keeps the size).</summary>
    /// <param name="inPlanes">Input channels.</param>
    /// <param name="outPlanes">Output channels.</param>
    /// <param name="stride">Stride (2 halves the resolution).</param>
    /// <param name="groups">Convolution groups (ResNeXt).</param>
    /// <param name="dilation">Dilation, also used as padding.</param>
    protected static Conv2d Conv3x3(long inPlanes, long outPlanes, long stride = 1, long groups = 1, long dilation = 1) =>
        new(inPlanes, outPlanes, 3, stride: stride, padding: dilation, dilation: dilation, groups: groups, bias: false);

    /// <summary>torchvision's conv1x1: a 1×1 convolution without bias.</summary>
    /// <param name="inPlanes">Input channels.</param>
    /// <param name="outPlanes">Output channels.</param>
    /// <param name="stride">Stride (2 in a downsampling projection).</param>
    protected static Conv2d Conv1x1(long inPlanes, long outPlanes, long stride = 1) =>
        new(inPlanes, outPlanes, 1, stride: stride, bias: false);
}

/// <summary>
/// torchvision's BasicBlock (ResNet-18/34): conv3x3(stride) → norm → ReLU → conv3x3 → norm,
/// plus the shortcut. Children: conv1, bn1, relu, conv2, bn2, downsample.
/// </summary>
public sealed class BasicBlock : ResidualBlock
{
    /// <summary>Output channels relative to <c>planes</c>: a BasicBlock outputs <c>planes</c> channels.</summary>
    public const int Expansion = 1;
    private readonly FusedConvNorm first, second;

    /// <summary>Creates the block (torchvision's <c>BasicBlock(inplanes, planes, stride, downsample, norm_layer=norm)</c>).</summary>
    /// <param name="inPlanes">Input channels.</param>
    /// <param name="planes">Channels of both convolutions and of the output.</param>
    /// <param name="norm">Normalisation after each convolution.</param>
    /// <param name="stride">Stride of the first convolution (2 at the start of layer2..layer4).</param>
    /// <param name="downsample">Projection of the shortcut when the stride or width changes (conv1x1 + norm); null for the identity.
    /// The block takes ownership.</param>
    public BasicBlock(long inPlanes, long planes, NormLayer norm, long stride = 1, Sequential? downsample = null)
    {
        Conv1 = RegisterModule("conv1", Conv3x3(inPlanes, planes, stride));
        Bn1 = RegisterModule("bn1", norm(planes));
        RegisterModule("relu", new ReLU(inplace: true));
        Conv2 = RegisterModule("conv2", Conv3x3(planes, planes));
        Bn2 = RegisterModule("bn2", norm(planes));
        RegisterDownsample(downsample);
        first = new FusedConvNorm(Conv1, Bn1);
        second = new FusedConvNorm(Conv2, Bn2);
    }

    /// <summary>The first 3×3 convolution ("conv1"), carrying the block's stride.</summary>
    public Conv2d Conv1 { get; }

    /// <summary>The norm after <see cref="Conv1"/> ("bn1").</summary>
    public Module<Tensor, Tensor> Bn1 { get; }

    /// <summary>The second 3×3 convolution ("conv2").</summary>
    public Conv2d Conv2 { get; }

    /// <summary>The norm after <see cref="Conv2"/> ("bn2").</summary>
    public Module<Tensor, Tensor> Bn2 { get; }

    private protected override IEnumerable<FusedConvNorm> BranchPairs => new[] { first, second };

    /// <summary>ReLU(branch(x) + shortcut(x)) of an (N, inPlanes, H, W) input: (N, planes, H/stride, W/stride).</summary>
    public override Tensor Forward(Tensor input)
    {
        var branch = Intermediate.Then(Intermediate.Relu_(first.Forward(input)), second.Forward);
        return AddShortcutAndRelu(branch, input);
    }
}

/// <summary>
/// torchvision's Bottleneck (ResNet v1.5: the stride sits on the 3×3 conv): conv1x1 → norm →
/// ReLU → conv3x3(stride, groups) → norm → ReLU → conv1x1 (×4 channels) → norm, plus the
/// shortcut. Width = floor(planes·widthPerGroup/64)·groups (ResNeXt, wide ResNets).
/// Children: conv1, bn1, conv2, bn2, conv3, bn3, relu, downsample.
/// </summary>
public sealed class Bottleneck : ResidualBlock
{
    /// <summary>Output channels relative to <c>planes</c>: a Bottleneck outputs 4·<c>planes</c> channels.</summary>
    public const int Expansion = 4;
    private readonly FusedConvNorm first, second, third;

    /// <summary>Creates the block (torchvision's <c>Bottleneck(inplanes, planes, stride, downsample, groups, base_width, dilation, norm_layer)</c>).</summary>
    /// <param name="inPlanes">Input channels.</param>
    /// <param name="planes">Base channels; the output has <see cref="Expansion"/>·planes.</param>
    /// <param name="norm">Normalisation after each convolution.</param>
    /// <param name="stride">Stride of the 3×3 convolution (2 at the start of layer2..layer4).</param>
    /// <param name="downsample">Projection of the shortcut when the stride or width changes (conv1x1 + norm); null for the identity.
    /// The block takes ownership.</param>
    /// <param name="groups">Groups of the 3×3 convolution (32 for ResNeXt).</param>
    /// <param name="widthPerGroup">torchvision's <c>base_width</c>: the inner width is floor(planes·widthPerGroup/64)·groups.</param>
    /// <param name="dilation">Dilation (and padding) of the 3×3 convolution.</param>
    public Bottleneck(long inPlanes, long planes, NormLayer norm, long stride = 1, Sequential? downsample = null,
        long groups = 1, long widthPerGroup = 64, long dilation = 1)
    {
        long width = (long)(planes * (widthPerGroup / 64.0)) * groups;
        Conv1 = RegisterModule("conv1", Conv1x1(inPlanes, width));
        Bn1 = RegisterModule("bn1", norm(width));
        Conv2 = RegisterModule("conv2", Conv3x3(width, width, stride, groups, dilation));
        Bn2 = RegisterModule("bn2", norm(width));
        Conv3 = RegisterModule("conv3", Conv1x1(width, planes * Expansion));
        Bn3 = RegisterModule("bn3", norm(planes * Expansion));
        RegisterModule("relu", new ReLU(inplace: true));
        RegisterDownsample(downsample);
        first = new FusedConvNorm(Conv1, Bn1);
        second = new FusedConvNorm(Conv2, Bn2);
        third = new FusedConvNorm(Conv3, Bn3);
    }

    /// <summary>The 1×1 reduction to the inner width ("conv1").</summary>
    public Conv2d Conv1 { get; }

    /// <summary>The norm after <see cref="Conv1"/> ("bn1").</summary>
    public Module<Tensor, Tensor> Bn1 { get; }

    /// <summary>The 3×3 (strided, grouped) convolution ("conv2").</summary>
    public Conv2d Conv2 { get; }

    /// <summary>The norm after <see cref="Conv2"/> ("bn2").</summary>
    public Module<Tensor, Tensor> Bn2 { get; }

    /// <summary>The 1×1 expansion to <see cref="Expansion"/>·planes channels ("conv3").</summary>
    public Conv2d Conv3 { get; }

    /// <summary>The norm after <see cref="Conv3"/> ("bn3").</summary>
    public Module<Tensor, Tensor> Bn3 { get; }

    private protected override IEnumerable<FusedConvNorm> BranchPairs => new[] { first, second, third };

    /// <summary>ReLU(branch(x) + shortcut(x)) of an (N, inPlanes, H, W) input: (N, 4·planes, H/stride, W/stride).</summary>
    public override Tensor Forward(Tensor input)
    {
        var h = Intermediate.Relu_(first.Forward(input));
        h = Intermediate.Then(h, x => Intermediate.Relu_(second.Forward(x)));
        var branch = Intermediate.Then(h, third.Forward);
        return AddShortcutAndRelu(branch, input);
    }
}
