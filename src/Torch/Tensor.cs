using System.Runtime.InteropServices;
using System.Text;
using MLNetSeg.Torch.Native;

namespace MLNetSeg.Torch;

/// <summary>
/// A libtorch tensor. Owns one reference to the native tensor: dispose it (or let a
/// <see cref="DisposeScope"/> do so) to free native memory deterministically; a finalizer
/// is only the safety net.
/// </summary>
/// <remarks>
/// Conventions shared by all members (the class is split over the files Tensor.*.cs), so that
/// single members do not repeat them:
/// <list type="bullet">
/// <item><description>Every member that returns a <see cref="Tensor"/> returns a new handle the caller owns,
/// except those documented to return this tensor (the in-place members, <see cref="RequiresGrad_"/>
/// and the dispose-scope helpers). A new handle is registered with the thread's innermost
/// <see cref="DisposeScope"/>, if one is open. It may still share storage with this tensor: views
/// (documented as such) and aliases do.</description></item>
/// <item><description>Members whose name ends in an underscore (<c>Add_</c>, <c>Fill_</c>, <c>MaskedFill_</c>, ...)
/// modify this tensor in place and return this same object, like torch's in-place methods.</description></item>
/// <item><description>Operations call libtorch's aten operators through the dispatcher, so broadcasting,
/// type promotion, gradients and error checks are torch's. Autograd records an operation when an
/// input requires grad and no <see cref="NoGradScope"/> is active. A <see cref="double"/> scalar
/// acts like a Python float (an integer tensor promotes to float32), a <see cref="long"/> scalar like a
/// Python int.</description></item>
/// <item><description>Dimension arguments may be negative, counting from the end as in torch.</description></item>
/// <item><description>Errors raised by libtorch (shape mismatch, unsupported dtype, dimension out of range, ...)
/// throw <see cref="TorchException"/> with torch's message; using a disposed tensor throws
/// <see cref="ObjectDisposedException"/>.</description></item>
/// </list>
/// </remarks>
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

    /// <summary>The safety net for a tensor nobody disposed: frees its native handle on the
    /// finalizer thread and counts it in <see cref="TorchRuntime.FinalizedTensors"/>.</summary>
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

    /// <summary>True once <see cref="Dispose"/> released this handle; any further use of the tensor
    /// throws <see cref="ObjectDisposedException"/>.</summary>
    public bool IsDisposed => handle == IntPtr.Zero;

    internal IntPtr Handle =>
        handle != IntPtr.Zero ? handle : throw new ObjectDisposedException(nameof(Tensor), "the tensor was disposed");

    /// <summary>
    /// Releases this handle's reference to the native tensor now (idempotent). The memory itself is
    /// freed when no other reference remains: views and aliases of the same storage, the autograd
    /// graph, or a module keep it alive until they are released too.
    /// </summary>
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
    public Tensor Alias()
    {
        var alias = NativeMethods.mls_tensor_alias(Handle);
        GC.KeepAlive(this);
        return new(alias);
    }

    // ---- metadata

    /// <summary>Number of dimensions (torch's <c>dim()</c>); 0 for a scalar tensor.</summary>
    public int Dim => Check(NativeMethods.mls_tensor_ndim(Handle), this);

    /// <summary>The size of every dimension (torch's <c>shape</c>); each read returns a new array.</summary>
    public long[] Shape
    {
        get
        {
            var h = Handle;
            Span<long> buf = stackalloc long[16];
            int n;
            fixed (long* p = buf) n = NativeMethods.mls_tensor_sizes(h, p, buf.Length);
            Check(n, this);
            if (n <= buf.Length) return buf[..n].ToArray();
            var big = new long[n];
            fixed (long* p = big) Check(NativeMethods.mls_tensor_sizes(h, p, n), this);
            return big;
        }
    }

    /// <summary>How many storage elements one step along each dimension skips (torch's
    /// <c>stride()</c>); a new array on each read. A contiguous [a, b, c] tensor has strides [b·c, c, 1].</summary>
    public long[] Strides
    {
        get
        {
            var result = new long[Dim];
            fixed (long* p = result) Check(NativeMethods.mls_tensor_strides(Handle, p, result.Length), this);
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

    /// <summary>The element type.</summary>
    public DType DType => (DType)Check(NativeMethods.mls_tensor_dtype(Handle), this);

    /// <summary>The device the data lives on.</summary>
    public Device Device
    {
        get
        {
            int type, index;
            Check(NativeMethods.mls_tensor_device(Handle, &type, &index), this);
            return new Device((DeviceType)type, index);
        }
    }

    /// <summary>Total number of elements, the product of <see cref="Shape"/> (1 for a 0-d tensor;
    /// torch's <c>numel()</c>).</summary>
    public long NumEl
    {
        get
        {
            long n = NativeMethods.mls_tensor_numel(Handle);
            GC.KeepAlive(this);
            if (n < 0) throw new TorchException(NativeMethods.LastError());
            return n;
        }
    }

    /// <summary>True when the elements are dense in row-major order (torch's <c>is_contiguous()</c>).
    /// Views such as <see cref="Transpose"/> or <see cref="Permute"/> usually are not;
    /// <see cref="Contiguous"/> makes a dense copy.</summary>
    public bool IsContiguous => Check(NativeMethods.mls_tensor_is_contiguous(Handle), this) != 0;

    // ---- autograd

    /// <summary>
    /// Whether autograd records the operations that use this tensor (torch's <c>requires_grad</c>).
    /// Only leaf tensors can be switched, and only floating-point ones can require grad; libtorch's
    /// refusal throws <see cref="TorchException"/>.
    /// </summary>
    public bool RequiresGrad
    {
        get => Check(NativeMethods.mls_tensor_requires_grad(Handle), this) != 0;
        set => Check(NativeMethods.mls_tensor_set_requires_grad(Handle, value ? 1 : 0), this);
    }

    /// <summary>Sets requires_grad and returns this tensor (torch's requires_grad_()).</summary>
    public Tensor RequiresGrad_(bool value = true)
    {
        RequiresGrad = value;
        return this;
    }

    /// <summary>True for a tensor no recorded operation produced: created by the user, or computed
    /// while nothing required grad. <see cref="Backward"/> fills the <see cref="Grad"/> of leaves
    /// only (see <see cref="RetainGrad"/> for the others).</summary>
    public bool IsLeaf => Check(NativeMethods.mls_tensor_is_leaf(Handle), this) != 0;

    /// <summary>The accumulated gradient (torch's <c>.grad</c>), or null. Each read returns a new
    /// handle, sharing the gradient's storage, that the caller disposes. Setting stores a reference
    /// to the given tensor (the caller keeps its own handle); null clears the gradient.</summary>
    public Tensor? Grad
    {
        get
        {
            var g = NativeMethods.mls_tensor_grad(Handle);
            GC.KeepAlive(this);
            if (g != IntPtr.Zero) return new Tensor(g);
            var error = NativeMethods.LastError();
            if (error.Length > 0) throw new TorchException(error);
            return null;
        }
        set
        {
            Check(NativeMethods.mls_tensor_set_grad(Handle, value?.Handle ?? IntPtr.Zero), this);
            GC.KeepAlive(value);
        }
    }

    /// <summary>Makes <see cref="Backward"/> fill <see cref="Grad"/> of this non-leaf tensor too
    /// (torch's <c>retain_grad()</c>).</summary>
    public void RetainGrad() => Check(NativeMethods.mls_tensor_retain_grad(Handle), this);

    /// <summary>Computes gradients of this tensor w.r.t. the graph leaves (torch's backward()) and
    /// accumulates them into their <see cref="Grad"/>.</summary>
    /// <param name="gradient">d(output)/d(this), shaped like this tensor; may be null only for a
    /// one-element tensor (a loss), where it means 1.</param>
    /// <param name="retainGraph">Keeps the graph's saved tensors so that Backward can run through it again;
    /// otherwise they are freed and a second call fails.</param>
    /// <param name="createGraph">Records the backward pass itself, for higher-order gradients.</param>
    public void Backward(Tensor? gradient = null, bool retainGraph = false, bool createGraph = false)
    {
        Check(NativeMethods.mls_backward(Handle, gradient?.Handle ?? IntPtr.Zero, retainGraph ? 1 : 0, createGraph ? 1 : 0), this);
        GC.KeepAlive(gradient);
        GC.KeepAlive(gradient);
    }

    // ---- data in and out

    /// <summary>A tensor holding a copy of <paramref name="data"/> with the given shape (like
    /// <c>torch.tensor(data).reshape(shape)</c>); the dtype follows <typeparamref name="T"/> (see
    /// <see cref="DTypeExtensions.Of{T}"/>).</summary>
    /// <param name="data">The elements in row-major order.</param>
    /// <param name="shape">The sizes; their product must equal the length of <paramref name="data"/>
    /// (<see cref="ArgumentException"/> otherwise).</param>
    /// <param name="device">Where to put the tensor; the CPU when null.</param>
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

    /// <summary>A CPU tensor holding a copy of <paramref name="data"/>; with no shape, a 1-d tensor of
    /// all the elements.</summary>
    public static Tensor FromArray<T>(T[] data, params long[] shape) where T : unmanaged =>
        FromArray<T>(data.AsSpan(), shape.Length == 0 ? new[] { (long)data.Length } : shape);

    /// <summary>A tensor holding a copy of <paramref name="data"/> with the given shape, on
    /// <paramref name="device"/> (the CPU when null).</summary>
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

    /// <summary>Copies the elements (row-major; from any device and layout) into
    /// <paramref name="destination"/>, whose length must equal <see cref="NumEl"/>
    /// (<see cref="TorchException"/> otherwise). <typeparamref name="T"/> must match <see cref="DType"/>
    /// (<see cref="InvalidOperationException"/> otherwise, as in <see cref="ToArray{T}"/>), except
    /// <c>CopyTo&lt;byte&gt;</c>, which copies the raw bytes of any dtype (NumEl × element size of them).</summary>
    public void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        var expected = typeof(T) == typeof(byte) ? DType : DTypeExtensions.Of<T>();
        if (expected != DType)
            throw new InvalidOperationException($"CopyTo<{typeof(T).Name}> needs a {expected} tensor, this one is {DType}");
        fixed (T* p = destination)
            Check(NativeMethods.mls_tensor_copy_out(Handle, p, (long)destination.Length * sizeof(T)), this);
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

    /// <summary>The value of a one-element tensor as a double (torch's <c>item()</c>), copied to the
    /// host; <see cref="TorchException"/> when the tensor has more than one element.</summary>
    public double ItemDouble()
    {
        double d; long i;
        Check(NativeMethods.mls_tensor_item(Handle, &d, &i), this);
        return d;
    }

    /// <summary>The value of a one-element tensor as an integer (a floating-point value is truncated
    /// towards zero); <see cref="TorchException"/> when the tensor has more than one element.</summary>
    public long ItemLong()
    {
        double d; long i;
        Check(NativeMethods.mls_tensor_item(Handle, &d, &i), this);
        return i;
    }

    /// <summary>The value of a one-element tensor, rounded to float (see <see cref="ItemDouble"/>).</summary>
    public float ItemFloat() => (float)ItemDouble();

    /// <summary>A one-line description: shape, dtype, the device unless CPU, <c>requires_grad</c> when
    /// set, and the values when there are at most 12. Never throws for a disposed tensor.</summary>
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
            using var scope = DisposeScope.Enter();  // the detached, reshaped and converted temporaries
            var flat = Detach().Reshape(-1).To(DType.Float64, Device.Cpu);
            sb.Append(" [").Append(string.Join(", ", flat.ToArray<double>().Select(v => v.ToString("G6")))).Append(']');
        }
        return sb.ToString();
    }

    /// <summary><see cref="Check(int)"/> for a native call on <paramref name="keptAlive"/>'s handle: the
    /// tensor, passed after the call's result, stays reachable until the call has returned, so its
    /// finalizer cannot free the handle while native code uses it.</summary>
    private static int Check(int rc, Tensor keptAlive)
    {
        GC.KeepAlive(keptAlive);
        return Check(rc);
    }

    private static int Check(int rc)
    {
        if (rc < 0) throw new TorchException(NativeMethods.LastError());
        return rc;
    }
}
