using System.Runtime.InteropServices;
using System.Text;
using MLNetSeg.Torch.Native;

namespace MLNetSeg.Torch;

/// <summary>
/// A libtorch tensor. Owns one reference to the native tensor: dispose it (or let a
/// <see cref="DisposeScope"/> do so) to free native memory deterministically; a finalizer
/// is only the safety net.
/// </summary>
public sealed unsafe partial class Tensor : IDisposable
{
    private IntPtr handle;

    internal Tensor(IntPtr handle)
    {
        if (handle == IntPtr.Zero) throw new TorchException(NativeMethods.LastError());
        this.handle = handle;
        Interlocked.Increment(ref liveHandles);
        TensorTrace.Created(handle);
        DisposeScope.Current?.Register(this);
    }

    ~Tensor()
    {
        var h = Interlocked.Exchange(ref handle, IntPtr.Zero);
        if (h == IntPtr.Zero) return;
        TensorTrace.Finalizing(h);
        NativeMethods.mls_tensor_free(h);
        Interlocked.Decrement(ref liveHandles);
        Interlocked.Increment(ref finalizedHandles);
    }

    private static long liveHandles, finalizedHandles;

    /// <summary>Native tensor handles currently owned by managed Tensor objects.</summary>
    internal static long LiveHandles => Interlocked.Read(ref liveHandles);

    /// <summary>Handles freed by the finalizer because nobody disposed them (a leak indicator).</summary>
    internal static long FinalizedHandles => Interlocked.Read(ref finalizedHandles);

    /// <summary>The dispose scope that owns this tensor, if any.</summary>
    internal DisposeScope? Scope { get; set; }

    public bool IsDisposed => handle == IntPtr.Zero;

    internal IntPtr Handle =>
        handle != IntPtr.Zero ? handle : throw new ObjectDisposedException(nameof(Tensor), "the tensor was disposed");

    public void Dispose()
    {
        var h = Interlocked.Exchange(ref handle, IntPtr.Zero);
        if (h != IntPtr.Zero)
        {
            TensorTrace.Disposed(h);
            NativeMethods.mls_tensor_free(h);
            Interlocked.Decrement(ref liveHandles);
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>Removes the tensor from its dispose scope: the caller now owns it.</summary>
    public Tensor DetachFromDisposeScope()
    {
        Scope = null;
        return this;
    }

    /// <summary>Moves the tensor to the scope enclosing its current one (or to no scope).</summary>
    public Tensor MoveToOuterDisposeScope() => Scope?.MoveToOuter(this) ?? this;

    /// <summary>A second handle to the same storage and autograd identity (like a Python reference).</summary>
    public Tensor Alias() => new(NativeMethods.mls_tensor_alias(Handle));

    // ---- metadata

    public int Dim => Check(NativeMethods.mls_tensor_ndim(Handle));

    public long[] Shape
    {
        get
        {
            var h = Handle;
            Span<long> buf = stackalloc long[16];
            int n;
            fixed (long* p = buf) n = NativeMethods.mls_tensor_sizes(h, p, buf.Length);
            Check(n);
            if (n <= buf.Length) return buf[..n].ToArray();
            var big = new long[n];
            fixed (long* p = big) Check(NativeMethods.mls_tensor_sizes(h, p, n));
            return big;
        }
    }

    public long[] Strides
    {
        get
        {
            var result = new long[Dim];
            fixed (long* p = result) Check(NativeMethods.mls_tensor_strides(Handle, p, result.Length));
            return result;
        }
    }

    /// <summary>Size of one dimension (negative counts from the end).</summary>
    public long Size(int dim)
    {
        var shape = Shape;
        int d = dim < 0 ? dim + shape.Length : dim;
        if (d < 0 || d >= shape.Length)
            throw new ArgumentOutOfRangeException(nameof(dim), $"dimension {dim} is out of range for a {shape.Length}-d tensor");
        return shape[d];
    }

    public DType DType => (DType)Check(NativeMethods.mls_tensor_dtype(Handle));

    public Device Device
    {
        get
        {
            int type, index;
            Check(NativeMethods.mls_tensor_device(Handle, &type, &index));
            return new Device((DeviceType)type, index);
        }
    }

    public long NumEl
    {
        get
        {
            long n = NativeMethods.mls_tensor_numel(Handle);
            if (n < 0) throw new TorchException(NativeMethods.LastError());
            return n;
        }
    }

    public bool IsContiguous => Check(NativeMethods.mls_tensor_is_contiguous(Handle)) != 0;

    // ---- autograd

    public bool RequiresGrad
    {
        get => Check(NativeMethods.mls_tensor_requires_grad(Handle)) != 0;
        set => Check(NativeMethods.mls_tensor_set_requires_grad(Handle, value ? 1 : 0));
    }

    /// <summary>Sets requires_grad and returns this tensor (torch's requires_grad_()).</summary>
    public Tensor RequiresGrad_(bool value = true)
    {
        RequiresGrad = value;
        return this;
    }

    public bool IsLeaf => Check(NativeMethods.mls_tensor_is_leaf(Handle)) != 0;

    /// <summary>The accumulated gradient (a new handle each read), or null.</summary>
    public Tensor? Grad
    {
        get
        {
            var g = NativeMethods.mls_tensor_grad(Handle);
            if (g != IntPtr.Zero) return new Tensor(g);
            var error = NativeMethods.LastError();
            if (error.Length > 0) throw new TorchException(error);
            return null;
        }
        set => Check(NativeMethods.mls_tensor_set_grad(Handle, value?.Handle ?? IntPtr.Zero));
    }

    /// <summary>Keeps .Grad for a non-leaf tensor after backward.</summary>
    public void RetainGrad() => Check(NativeMethods.mls_tensor_retain_grad(Handle));

    /// <summary>Computes gradients of this tensor w.r.t. the graph leaves (torch's backward()).</summary>
    public void Backward(Tensor? gradient = null, bool retainGraph = false, bool createGraph = false)
    {
        Check(NativeMethods.mls_backward(Handle, gradient?.Handle ?? IntPtr.Zero, retainGraph ? 1 : 0, createGraph ? 1 : 0));
        GC.KeepAlive(gradient);
    }

    // ---- data in and out

    /// <summary>A tensor holding a copy of <paramref name="data"/> with the given shape.</summary>
    public static Tensor FromArray<T>(ReadOnlySpan<T> data, ReadOnlySpan<long> shape, Device? device = null) where T : unmanaged
    {
        long count = 1;
        foreach (var s in shape)
        {
            if (s < 0) throw new ArgumentException($"shape [{string.Join(", ", shape.ToArray())}] has a negative size", nameof(shape));
            count *= s;
        }
        if (count != data.Length)
            throw new ArgumentException($"shape [{string.Join(", ", shape.ToArray())}] holds {count} elements but {data.Length} were given", nameof(shape));
        var d = device ?? Device.Cpu;
        TorchRuntime.EnsureInitialised();
        fixed (T* p = data)
        fixed (long* s = shape)
            return new Tensor(NativeMethods.mls_tensor_from_data(p, s, shape.Length, (int)DTypeExtensions.Of<T>(), (int)d.Type, d.Index));
    }

    public static Tensor FromArray<T>(T[] data, params long[] shape) where T : unmanaged =>
        FromArray<T>(data.AsSpan(), shape.Length == 0 ? new[] { (long)data.Length } : shape);

    public static Tensor FromArray<T>(T[] data, long[] shape, Device? device) where T : unmanaged =>
        FromArray<T>(data.AsSpan(), shape, device);

    /// <summary>Copies the elements (row-major, on the CPU) into a new array.
    /// <typeparamref name="T"/> must match <see cref="DType"/>.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        var expected = DTypeExtensions.Of<T>();
        var actual = DType;
        if (expected != actual)
            throw new InvalidOperationException($"ToArray<{typeof(T).Name}> needs a {expected} tensor, this one is {actual}");
        var result = new T[NumEl];
        CopyTo<T>(result);
        return result;
    }

    /// <summary>Copies the elements into <paramref name="destination"/>, whose length must equal NumEl.</summary>
    public void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        fixed (T* p = destination)
            Check(NativeMethods.mls_tensor_copy_out(Handle, p, (long)destination.Length * sizeof(T)));
    }

    /// <summary>Zero-copy read access to a contiguous CPU tensor. Valid while the tensor lives.</summary>
    public ReadOnlySpan<T> AsReadOnlySpan<T>() where T : unmanaged
    {
        if (DTypeExtensions.Of<T>() != DType) throw new InvalidOperationException($"span of {typeof(T).Name} over a {DType} tensor");
        if (!IsContiguous) throw new InvalidOperationException("AsReadOnlySpan needs a contiguous tensor (call Contiguous())");
        var p = NativeMethods.mls_tensor_data_ptr(Handle);
        if (p == IntPtr.Zero && NumEl > 0) throw new TorchException(NativeMethods.LastError());
        return new ReadOnlySpan<T>((void*)p, checked((int)NumEl));
    }

    /// <summary>The value of a one-element tensor.</summary>
    public double ItemDouble()
    {
        double d; long i;
        Check(NativeMethods.mls_tensor_item(Handle, &d, &i));
        return d;
    }

    public long ItemLong()
    {
        double d; long i;
        Check(NativeMethods.mls_tensor_item(Handle, &d, &i));
        return i;
    }

    public float ItemFloat() => (float)ItemDouble();

    public override string ToString()
    {
        if (IsDisposed) return "Tensor(disposed)";
        var shape = Shape;
        var sb = new StringBuilder();
        sb.Append("Tensor[").Append(string.Join(", ", shape)).Append("] ").Append(DType);
        if (Device.Type != DeviceType.Cpu) sb.Append(" on ").Append(Device);
        if (RequiresGrad) sb.Append(" requires_grad");
        if (NumEl is > 0 and <= 12)
        {
            using var flat = Detach().Reshape(-1).To(DType.Float64, Device.Cpu);
            sb.Append(" [").Append(string.Join(", ", flat.ToArray<double>().Select(v => v.ToString("G6")))).Append(']');
        }
        return sb.ToString();
    }

    private static int Check(int rc)
    {
        if (rc < 0) throw new TorchException(NativeMethods.LastError());
        return rc;
    }
}
