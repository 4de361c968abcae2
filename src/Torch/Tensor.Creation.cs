namespace MLNetSeg.Torch;

// Factories. Defaults: float32 on the CPU, like torch.
public sealed partial class Tensor
{
    private static readonly Op ZerosOp = new("zeros"), OnesOp = new("ones"), EmptyOp = new("empty", "memory_format"),
        FullOp = new("full"), ArangeOp = new("arange", "start_step"), LinspaceOp = new("linspace"),
        RandOp = new("rand"), RandnOp = new("randn"), RandintOp = new("randint", "low"), EyeOp = new("eye", "m"),
        RandpermOp = new("randperm"), ScalarTensorOp = new("scalar_tensor");

    /// <summary>A tensor of zeros (torch.zeros).</summary>
    /// <param name="shape">The sizes; an empty array gives a 0-d tensor.</param>
    /// <param name="dtype">The element type (float32 by default).</param>
    /// <param name="device">Where to allocate; the CPU when null.</param>
    public static Tensor Zeros(long[] shape, DType dtype = DType.Float32, Device? device = null)
    {
        AllocationBudget.Charge(shape);
        return ZerosOp.Invoke(shape, dtype, OpArg.None, device ?? Device.Cpu);
    }

    /// <summary>A tensor of ones (torch.ones); parameters as in <see cref="Zeros"/>.</summary>
    public static Tensor Ones(long[] shape, DType dtype = DType.Float32, Device? device = null)
    {
        AllocationBudget.Charge(shape);
        return OnesOp.Invoke(shape, dtype, OpArg.None, device ?? Device.Cpu);
    }

    /// <summary>An uninitialised tensor (torch.empty): its contents are whatever the memory held, so
    /// write every element before reading. Parameters as in <see cref="Zeros"/>.</summary>
    public static Tensor Empty(long[] shape, DType dtype = DType.Float32, Device? device = null)
    {
        AllocationBudget.Charge(shape);
        return EmptyOp.Invoke(shape, dtype, OpArg.None, device ?? Device.Cpu);
    }

    /// <summary>A tensor with every element <paramref name="value"/> (torch.full), in
    /// <paramref name="dtype"/> (float32 by default) on <paramref name="device"/> (the CPU when null).</summary>
    public static Tensor Full(long[] shape, double value, DType dtype = DType.Float32, Device? device = null)
    {
        AllocationBudget.Charge(shape);
        return FullOp.Invoke(shape, value, dtype, OpArg.None, device ?? Device.Cpu);
    }

    /// <summary>Values start, start+step, ... below end (torch.arange). The dtype is int64 unless
    /// given, also for fractional bounds or steps: pass a floating-point dtype for those.</summary>
    public static Tensor Arange(double start, double end, double step = 1, DType dtype = DType.Int64, Device? device = null) =>
        ArangeOp.Invoke(start, end, step, dtype, OpArg.None, device ?? Device.Cpu);

    /// <summary>0, 1, ..., end − 1 (torch.arange(end)), int64 by default.</summary>
    public static Tensor Arange(long end, DType dtype = DType.Int64, Device? device = null) => Arange(0, end, 1, dtype, device);

    /// <summary><paramref name="steps"/> evenly spaced values from <paramref name="start"/> to
    /// <paramref name="end"/>, both included (torch.linspace), float32 by default.</summary>
    public static Tensor Linspace(double start, double end, long steps, DType dtype = DType.Float32, Device? device = null) =>
        LinspaceOp.Invoke(start, end, steps, dtype, OpArg.None, device ?? Device.Cpu);

    /// <summary>Uniform samples in [0, 1) from libtorch's generator (torch.rand; seed with
    /// <see cref="TorchRuntime.ManualSeed"/>), float32 by default.</summary>
    public static Tensor Rand(long[] shape, DType dtype = DType.Float32, Device? device = null) =>
        RandOp.Invoke(shape, dtype, OpArg.None, device ?? Device.Cpu);

    /// <summary>Standard normal samples N(0, 1) from libtorch's generator (torch.randn; seed with
    /// <see cref="TorchRuntime.ManualSeed"/>).</summary>
    public static Tensor Randn(long[] shape, DType dtype = DType.Float32, Device? device = null) =>
        RandnOp.Invoke(shape, dtype, OpArg.None, device ?? Device.Cpu);

    /// <summary>Uniform integers in [<paramref name="low"/>, <paramref name="high"/>) from libtorch's
    /// generator (torch.randint), int64 by default.</summary>
    public static Tensor Randint(long low, long high, long[] shape, DType dtype = DType.Int64, Device? device = null) =>
        RandintOp.Invoke(low, high, shape, dtype, OpArg.None, device ?? Device.Cpu);

    /// <summary>A random permutation of 0 .. n − 1 from libtorch's generator (torch.randperm), int64
    /// by default.</summary>
    public static Tensor Randperm(long n, DType dtype = DType.Int64, Device? device = null) =>
        RandpermOp.Invoke(n, dtype, OpArg.None, device ?? Device.Cpu);

    /// <summary>An n × m matrix (m = n when null) with ones on the diagonal and zeros elsewhere
    /// (torch.eye), float32 by default.</summary>
    public static Tensor Eye(long n, long? m = null, DType dtype = DType.Float32, Device? device = null) =>
        EyeOp.Invoke(n, m ?? n, dtype, OpArg.None, device ?? Device.Cpu);

    /// <summary>A 0-d tensor holding <paramref name="value"/> (torch.scalar_tensor), float32 by default.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32, Device? device = null) =>
        ScalarTensorOp.Invoke(value, dtype, OpArg.None, device ?? Device.Cpu);

    /// <summary>Zeros with the shape, dtype and device of <paramref name="t"/> (torch.zeros_like).</summary>
    public static Tensor ZerosLike(Tensor t) => Zeros(t.Shape, t.DType, t.Device);
    /// <summary>Ones with the shape, dtype and device of <paramref name="t"/> (torch.ones_like).</summary>
    public static Tensor OnesLike(Tensor t) => Ones(t.Shape, t.DType, t.Device);
}
