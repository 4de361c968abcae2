namespace MLNetSeg.Torch;

// Conversions, autograd helpers and the shape operations every other file relies on.
public sealed partial class Tensor
{
    private static readonly Op ToDtypeLayoutOp = new("to", "dtype_layout"), DetachOp = new("detach"),
        CloneOp = new("clone"), ContiguousOp = new("contiguous"), ReshapeOp = new("reshape"), ViewOp = new("view"),
        CopyOp = new("copy_"), ZeroOp = new("zero_"), FillOp = new("fill_", "Scalar");

    /// <summary>Converts dtype and/or device (a no-op returns an alias, like torch).</summary>
    public Tensor To(DType? dtype = null, Device? device = null, bool copy = false) =>
        ToDtypeLayoutOp.Invoke(this, dtype ?? DType, OpArg.None, device ?? Device, OpArg.None, false, copy);

    public Tensor To(Device device) => To(null, device);
    public Tensor Float() => To(DType.Float32);
    public Tensor Double() => To(DType.Float64);
    public Tensor Long() => To(DType.Int64);
    public Tensor Int() => To(DType.Int32);
    public Tensor Bool() => To(DType.Bool);
    public Tensor Byte() => To(DType.UInt8);
    public Tensor Cpu() => To(Device.Cpu);

    /// <summary>Same data, cut from the autograd graph.</summary>
    public Tensor Detach() => DetachOp.Invoke(this);
    public Tensor Clone() => CloneOp.Invoke(this);
    public Tensor Contiguous() => ContiguousOp.Invoke(this);
    public Tensor Reshape(params long[] shape) => ReshapeOp.Invoke(this, shape);
    public Tensor View(params long[] shape) => ViewOp.Invoke(this, shape);

    /// <summary>Copies src into this tensor in place (broadcasting), returns this.</summary>
    public Tensor CopyFrom(Tensor src)
    {
        CopyOp.InvokeVoid(this, src, false);
        return this;
    }

    public Tensor Zero_()
    {
        ZeroOp.InvokeVoid(this);
        return this;
    }

    public Tensor Fill_(long value)
    {
        FillOp.InvokeVoid(this, value);
        return this;
    }

    public Tensor Fill_(double value)
    {
        FillOp.InvokeVoid(this, value);
        return this;
    }
}
