namespace MLNetSeg.Torch;

// Conversions, autograd helpers and the shape operations every other file relies on.
public sealed partial class Tensor
{
    private static readonly Op ToDtypeLayoutOp = new("to", "dtype_layout"), DetachOp = new("detach"),
        CloneOp = new("clone"), ContiguousOp = new("contiguous"), ReshapeOp = new("reshape"), ViewOp = new("view"),
        CopyOp = new("copy_"), ZeroOp = new("zero_"), FillOp = new("fill_", "Scalar");

    /// <summary>Converts dtype and/or device (torch's <c>to</c>); differentiable. When nothing
    /// changes and <paramref name="copy"/> is false, returns an alias, like torch.</summary>
    /// <param name="dtype">The new element type; null keeps the current one.</param>
    /// <param name="device">The target device; null keeps the current one.</param>
    /// <param name="copy">Always return a new copy, even when nothing changes.</param>
    public Tensor To(DType? dtype = null, Device? device = null, bool copy = false) =>
        ToDtypeLayoutOp.Invoke(this, dtype ?? DType, OpArg.None, device ?? Device, OpArg.None, false, copy);

    /// <summary>This tensor on <paramref name="device"/> (an alias when it is already there); differentiable.</summary>
    public Tensor To(Device device) => To(null, device);
    /// <summary>Converts to float32 (torch's <c>float()</c>); an alias when already float32.</summary>
    public Tensor Float() => To(DType.Float32);
    /// <summary>Converts to float64 (torch's <c>double()</c>); an alias when already float64.</summary>
    public Tensor Double() => To(DType.Float64);
    /// <summary>Converts to int64 (torch's <c>long()</c>; floating-point values are truncated towards zero).</summary>
    public Tensor Long() => To(DType.Int64);
    /// <summary>Converts to int32 (torch's <c>int()</c>; floating-point values are truncated towards zero).</summary>
    public Tensor Int() => To(DType.Int32);
    /// <summary>Converts to bool (torch's <c>bool()</c>): non-zero becomes true.</summary>
    public Tensor Bool() => To(DType.Bool);
    /// <summary>Converts to uint8 (torch's <c>byte()</c>).</summary>
    public Tensor Byte() => To(DType.UInt8);
    /// <summary>This tensor on the CPU (torch's <c>cpu()</c>); an alias when it is already there.</summary>
    public Tensor Cpu() => To(Device.Cpu);

    /// <summary>A view of the same data cut from the autograd graph (torch's <c>detach()</c>):
    /// it never requires grad, and in-place writes to it change this tensor too.</summary>
    public Tensor Detach() => DetachOp.Invoke(this);
    /// <summary>A copy with its own storage (torch's <c>clone()</c>); differentiable, the gradient
    /// flows back to this tensor.</summary>
    public Tensor Clone() => CloneOp.Invoke(this);
    /// <summary>The same values laid out densely in row-major order (torch's <c>contiguous()</c>):
    /// an alias when <see cref="IsContiguous"/>, otherwise a copy.</summary>
    public Tensor Contiguous() => ContiguousOp.Invoke(this);
    /// <summary>The same elements in a new shape (torch's <c>reshape</c>); one size may be −1 and is
    /// inferred. A view when the strides allow it, otherwise a copy. An empty shape gives a 0-d tensor.</summary>
    public Tensor Reshape(params long[] shape) => ReshapeOp.Invoke(this, shape);
    /// <summary>A view with a new shape that always shares storage (torch's <c>view</c>); one size may
    /// be −1. Throws <see cref="TorchException"/> when the strides do not allow a view (use
    /// <see cref="Reshape"/>).</summary>
    public Tensor View(params long[] shape) => ViewOp.Invoke(this, shape);

    /// <summary>Copies <paramref name="src"/> into this tensor in place (torch's <c>copy_</c>),
    /// broadcasting it and converting its dtype and device; returns this.</summary>
    public Tensor CopyFrom(Tensor src)
    {
        CopyOp.InvokeVoid(this, src, false);
        return this;
    }

    /// <summary>Sets every element to zero in place (torch's <c>zero_()</c>); returns this.</summary>
    public Tensor Zero_()
    {
        ZeroOp.InvokeVoid(this);
        return this;
    }

    /// <summary>Sets every element to <paramref name="value"/> in place (torch's <c>fill_</c>); returns
    /// this. The integer overload keeps large int64 values exact.</summary>
    public Tensor Fill_(long value)
    {
        FillOp.InvokeVoid(this, value);
        return this;
    }

    /// <summary>Sets every element to <paramref name="value"/>, converted to this tensor's dtype, in
    /// place (torch's <c>fill_</c>); returns this.</summary>
    public Tensor Fill_(double value)
    {
        FillOp.InvokeVoid(this, value);
        return this;
    }
}
