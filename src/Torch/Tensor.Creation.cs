namespace MLNetSeg.Torch;

// Factories. Defaults: float32 on the CPU, like torch.
public sealed partial class Tensor
{
    private static readonly Op ZerosOp = new("zeros"), OnesOp = new("ones"), EmptyOp = new("empty", "memory_format"),
        FullOp = new("full"), ArangeOp = new("arange", "start_step"), LinspaceOp = new("linspace"),
        RandOp = new("rand"), RandnOp = new("randn"), RandintOp = new("randint", "low"), EyeOp = new("eye", "m"),
        RandpermOp = new("randperm"), ScalarTensorOp = new("scalar_tensor");

    public static Tensor Zeros(long[] shape, DType dtype = DType.Float32, Device? device = null) =>
        ZerosOp.Invoke(shape, dtype, OpArg.None, device ?? Device.Cpu);

    public static Tensor Ones(long[] shape, DType dtype = DType.Float32, Device? device = null) =>
        OnesOp.Invoke(shape, dtype, OpArg.None, device ?? Device.Cpu);

    public static Tensor Empty(long[] shape, DType dtype = DType.Float32, Device? device = null) =>
        EmptyOp.Invoke(shape, dtype, OpArg.None, device ?? Device.Cpu);

    public static Tensor Full(long[] shape, double value, DType dtype = DType.Float32, Device? device = null) =>
        FullOp.Invoke(shape, value, dtype, OpArg.None, device ?? Device.Cpu);

    /// <summary>Values start, start+step, ... below end (torch.arange).</summary>
    public static Tensor Arange(double start, double end, double step = 1, DType dtype = DType.Int64, Device? device = null) =>
        ArangeOp.Invoke(start, end, step, dtype, OpArg.None, device ?? Device.Cpu);

    public static Tensor Arange(long end, DType dtype = DType.Int64, Device? device = null) => Arange(0, end, 1, dtype, device);

    public static Tensor Linspace(double start, double end, long steps, DType dtype = DType.Float32, Device? device = null) =>
        LinspaceOp.Invoke(start, end, steps, dtype, OpArg.None, device ?? Device.Cpu);

    /// <summary>Uniform [0, 1) from libtorch's generator (seed with TorchRuntime.ManualSeed).</summary>
    public static Tensor Rand(long[] shape, DType dtype = DType.Float32, Device? device = null) =>
        RandOp.Invoke(shape, dtype, OpArg.None, device ?? Device.Cpu);

    public static Tensor Randn(long[] shape, DType dtype = DType.Float32, Device? device = null) =>
        RandnOp.Invoke(shape, dtype, OpArg.None, device ?? Device.Cpu);

    public static Tensor Randint(long low, long high, long[] shape, DType dtype = DType.Int64, Device? device = null) =>
        RandintOp.Invoke(low, high, shape, dtype, OpArg.None, device ?? Device.Cpu);

    public static Tensor Randperm(long n, DType dtype = DType.Int64, Device? device = null) =>
        RandpermOp.Invoke(n, dtype, OpArg.None, device ?? Device.Cpu);

    public static Tensor Eye(long n, long? m = null, DType dtype = DType.Float32, Device? device = null) =>
        EyeOp.Invoke(n, m ?? n, dtype, OpArg.None, device ?? Device.Cpu);

    /// <summary>A 0-d tensor.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32, Device? device = null) =>
        ScalarTensorOp.Invoke(value, dtype, OpArg.None, device ?? Device.Cpu);

    public static Tensor ZerosLike(Tensor t) => Zeros(t.Shape, t.DType, t.Device);
    public static Tensor OnesLike(Tensor t) => Ones(t.Shape, t.DType, t.Device);
}
