namespace MLNetSeg.Torch.Nn;

/// <summary>max(x, 0) (torch.nn.ReLU); in place when asked.</summary>
public sealed class ReLU : Module<Tensor, Tensor>
{
    /// <summary>Creates the layer; with <paramref name="inplace"/> it overwrites its input.</summary>
    public ReLU(bool inplace = false) => Inplace = inplace;

    /// <summary>Whether <see cref="Forward"/> overwrites and returns its input instead of allocating.</summary>
    public bool Inplace { get; }

    /// <summary>max(x, 0) elementwise (<see cref="Functional.Relu"/>).</summary>
    public override Tensor Forward(Tensor input) => Functional.Relu(input, Inplace);
}

/// <summary>2-d max pooling (torch.nn.MaxPool2d); the stride defaults to the kernel size.</summary>
public sealed class MaxPool2d : Module<Tensor, Tensor>
{
    /// <summary>Creates the layer; arguments as for <see cref="Functional.MaxPool2d"/>.</summary>
    /// <param name="kernelSize">The pooling window.</param>
    /// <param name="stride">The window step; the kernel size when null.</param>
    /// <param name="padding">Implicit −∞ padding on each side (at most half the kernel).</param>
    /// <param name="dilation">The spacing between window elements.</param>
    /// <param name="ceilMode">Rounds the output size up instead of down, so a partial window at the end counts.</param>
    public MaxPool2d(Size2 kernelSize, Size2? stride = null, Size2? padding = null, Size2? dilation = null, bool ceilMode = false)
    {
        KernelSize = kernelSize;
        Stride = stride ?? kernelSize;
        Padding = padding ?? 0;
        Dilation = dilation ?? 1;
        CeilMode = ceilMode;
    }

    /// <summary>The pooling window.</summary>
    public Size2 KernelSize { get; }
    /// <summary>The window step.</summary>
    public Size2 Stride { get; }
    /// <summary>The implicit −∞ padding on each side.</summary>
    public Size2 Padding { get; }
    /// <summary>The spacing between window elements.</summary>
    public Size2 Dilation { get; }
    /// <summary>Whether the output size is rounded up.</summary>
    public bool CeilMode { get; }

    /// <summary>Max-pools an (N, C, H, W) input (<see cref="Functional.MaxPool2d"/>).</summary>
    public override Tensor Forward(Tensor input) => Functional.MaxPool2d(input, KernelSize, Stride, Padding, Dilation, CeilMode);
}
