namespace MLNetSeg.Torch.Nn;

/// <summary>max(x, 0) (torch.nn.ReLU); in place when asked.</summary>
public sealed class ReLU : Module<Tensor, Tensor>
{
    public ReLU(bool inplace = false) => Inplace = inplace;

    public bool Inplace { get; }

    public override Tensor Forward(Tensor input) => Functional.Relu(input, Inplace);
}

/// <summary>2-d max pooling (torch.nn.MaxPool2d); the stride defaults to the kernel size.</summary>
public sealed class MaxPool2d : Module<Tensor, Tensor>
{
    public MaxPool2d(Size2 kernelSize, Size2? stride = null, Size2? padding = null, Size2? dilation = null, bool ceilMode = false)
    {
        KernelSize = kernelSize;
        Stride = stride ?? kernelSize;
        Padding = padding ?? 0;
        Dilation = dilation ?? 1;
        CeilMode = ceilMode;
    }

    public Size2 KernelSize { get; }
    public Size2 Stride { get; }
    public Size2 Padding { get; }
    public Size2 Dilation { get; }
    public bool CeilMode { get; }

    public override Tensor Forward(Tensor input) => Functional.MaxPool2d(input, KernelSize, Stride, Padding, Dilation, CeilMode);
}
