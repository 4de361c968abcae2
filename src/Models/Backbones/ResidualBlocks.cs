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

    protected static Conv2d Conv3x3(long inPlanes, long outPlanes, long stride = 1, long groups = 1, long dilation = 1) =>
        new(inPlanes, outPlanes, 3, stride: stride, padding: dilation, dilation: dilation, groups: groups, bias: false);

    protected static Conv2d Conv1x1(long inPlanes, long outPlanes, long stride = 1) =>
        new(inPlanes, outPlanes, 1, stride: stride, bias: false);
}

/// <summary>
/// torchvision's BasicBlock (ResNet-18/34): conv3x3(stride) → norm → ReLU → conv3x3 → norm,
/// plus the shortcut. Children: conv1, bn1, relu, conv2, bn2, downsample.
/// </summary>
public sealed class BasicBlock : ResidualBlock
{
    public const int Expansion = 1;
    private readonly FusedConvNorm first, second;

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

    public Conv2d Conv1 { get; }
    public Module<Tensor, Tensor> Bn1 { get; }
    public Conv2d Conv2 { get; }
    public Module<Tensor, Tensor> Bn2 { get; }

    private protected override IEnumerable<FusedConvNorm> BranchPairs => new[] { first, second };

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
    public const int Expansion = 4;
    private readonly FusedConvNorm first, second, third;

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

    public Conv2d Conv1 { get; }
    public Module<Tensor, Tensor> Bn1 { get; }
    public Conv2d Conv2 { get; }
    public Module<Tensor, Tensor> Bn2 { get; }
    public Conv2d Conv3 { get; }
    public Module<Tensor, Tensor> Bn3 { get; }

    private protected override IEnumerable<FusedConvNorm> BranchPairs => new[] { first, second, third };

    public override Tensor Forward(Tensor input)
    {
        var h = Intermediate.Relu_(first.Forward(input));
        h = Intermediate.Then(h, x => Intermediate.Relu_(second.Forward(x)));
        var branch = Intermediate.Then(h, third.Forward);
        return AddShortcutAndRelu(branch, input);
    }
}
