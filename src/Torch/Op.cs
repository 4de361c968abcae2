using System.Runtime.InteropServices;
using System.Text;
using MLNetSeg.Torch.Native;

namespace MLNetSeg.Torch;

/// <summary>
/// One argument of an operator call. Converts implicitly from the .NET values an op takes;
/// a null tensor is None. <see cref="Default"/> asks for the schema's default.
/// </summary>
public readonly struct OpArg
{
    internal readonly ValueTag Tag;
    internal readonly long Int;
    internal readonly double Double;
    internal readonly object? Ref;

    private OpArg(ValueTag tag, long i = 0, double d = 0, object? r = null) { Tag = tag; Int = i; Double = d; Ref = r; }

    /// <summary>Python's None: an absent optional argument (an optional tensor, dtype, list, ...).</summary>
    public static readonly OpArg None = new(ValueTag.None);
    /// <summary>Takes the default value the schema declares for this argument, like leaving a Python
    /// keyword argument out.</summary>
    public static readonly OpArg Default = new(ValueTag.Default);

    /// <summary>A tensor argument, borrowed for the call (its handle stays the caller's); null is None.</summary>
    public static implicit operator OpArg(Tensor? t) => t is null ? None : new(ValueTag.Tensor, r: t);
    /// <summary>An <c>int</c> (or <c>Scalar</c>) argument; an integer scalar keeps integer tensors integer.</summary>
    public static implicit operator OpArg(long v) => new(ValueTag.Int, i: v);
    /// <summary>An <c>int</c> (or <c>Scalar</c>) argument.</summary>
    public static implicit operator OpArg(int v) => new(ValueTag.Int, i: v);
    /// <summary>A <c>float</c> (or <c>Scalar</c>) argument; a float scalar promotes integer tensors.</summary>
    public static implicit operator OpArg(double v) => new(ValueTag.Double, d: v);
    /// <summary>A <c>float</c> (or <c>Scalar</c>) argument, widened to double.</summary>
    public static implicit operator OpArg(float v) => new(ValueTag.Double, d: v);
    /// <summary>A <c>bool</c> argument.</summary>
    public static implicit operator OpArg(bool v) => new(ValueTag.Bool, i: v ? 1 : 0);
    /// <summary>An <c>int[]</c> argument (sizes, dims); null is None. Copied for the call.</summary>
    public static implicit operator OpArg(long[]? v) => v is null ? None : new(ValueTag.IntList, r: v);
    /// <summary>A <c>float[]</c> argument (e.g. scale factors); null is None. Copied for the call.</summary>
    public static implicit operator OpArg(double[]? v) => v is null ? None : new(ValueTag.DoubleList, r: v);
    /// <summary>A <c>bool[]</c> argument; null is None.</summary>
    public static implicit operator OpArg(bool[]? v) => v is null ? None : new(ValueTag.BoolList, r: v);
    /// <summary>A <c>Tensor[]</c> or <c>Tensor?[]</c> argument (null entries are undefined tensors,
    /// as aten::index takes them); null is None. The tensors are borrowed for the call.</summary>
    public static implicit operator OpArg(Tensor?[]? v) => v is null ? None : new(ValueTag.TensorList, r: v);
    /// <summary>A <c>str</c> argument (e.g. a reduction or padding mode), passed as UTF-8; null is None.</summary>
    public static implicit operator OpArg(string? v) => v is null ? None : new(ValueTag.String, r: v);
    /// <summary>A <c>ScalarType</c> argument.</summary>
    public static implicit operator OpArg(DType v) => new(ValueTag.Int, i: (long)v);
    /// <summary>An optional <c>ScalarType</c> argument; null is None (the op picks the dtype).</summary>
    public static implicit operator OpArg(DType? v) => v is null ? None : new(ValueTag.Int, i: (long)v.Value);
    /// <summary>A <c>Device</c> argument.</summary>
    public static implicit operator OpArg(Device v) => new(ValueTag.Device, i: (long)v.Type, d: v.Index);
    /// <summary>An optional <c>Device</c> argument; null is None.</summary>
    public static implicit operator OpArg(Device? v) => v is null ? None : (OpArg)v.Value;
    /// <summary>An optional <c>int</c> argument; null is None.</summary>
    public static implicit operator OpArg(long? v) => v is null ? None : new(ValueTag.Int, i: v.Value);
    /// <summary>An optional <c>float</c> argument; null is None.</summary>
    public static implicit operator OpArg(double? v) => v is null ? None : new(ValueTag.Double, d: v.Value);
    /// <summary>An optional <c>bool</c> argument; null is None.</summary>
    public static implicit operator OpArg(bool? v) => v is null ? None : (OpArg)v.Value;
}

/// <summary>
/// An operator of the c10 dispatcher, called by name and overload with a boxed argument
/// stack ("aten::add", "Tensor"). Every aten and torchvision op is reachable this way,
/// autograd included; arguments not given take the schema's defaults.
/// </summary>
/// <remarks>
/// Create each op once (typically a <c>static readonly</c> field) and call it from any thread:
/// the operator is looked up on first use and cached. Arguments are positional, in schema order.
/// Tensors it returns are new handles owned by the caller (registered with the current
/// <see cref="DisposeScope"/>). A failure in the dispatcher or the kernel (wrong argument types,
/// shape errors, ...) throws <see cref="TorchException"/> with torch's message.
/// <code>var add = new Op("add", "Tensor"); using var z = add.Invoke(x, y, 1);  // x + 1·y</code>
/// </remarks>
public sealed unsafe class Op
{
    private const int MaxResults = 16;
    private IntPtr handle;

    /// <summary>Names an operator; nothing is looked up until the first call (or <see cref="Schema"/>),
    /// which throws <see cref="TorchException"/> when the dispatcher has no such operator.</summary>
    /// <param name="name">The operator name; without a namespace ("add") it is "aten::add".
    /// Other namespaces are spelled out ("torchvision::nms").</param>
    /// <param name="overload">The overload name from the schema ("Tensor", "Scalar", "dim_IntList"), or
    /// "" for the unnamed overload.</param>
    public Op(string name, string overload = "")
    {
        Name = name.Contains("::") ? name : "aten::" + name;
        Overload = overload;
    }

    /// <summary>The qualified operator name, e.g. "aten::add".</summary>
    public string Name { get; }
    /// <summary>The overload name ("" for the default overload).</summary>
    public string Overload { get; }

    /// <summary>"namespace::name.overload", as torch prints an overload.</summary>
    public override string ToString() => Overload.Length == 0 ? Name : $"{Name}.{Overload}";

    /// <summary>The op's schema as registered, e.g. "aten::add.Tensor(Tensor self, ...)".</summary>
    public string Schema => NativeMethods.TakeString(NativeMethods.mls_op_schema(Handle));

    private IntPtr Handle
    {
        get
        {
            if (handle != IntPtr.Zero) return handle;
            TorchRuntime.EnsureInitialised();
            var h = NativeMethods.mls_find_op(Name, Overload);
            if (h == IntPtr.Zero) throw new TorchException(NativeMethods.LastError());
            handle = h;  // benign race: both threads find the same operator
            return h;
        }
    }

    /// <summary>Calls the op and returns its first result, which must be a tensor.
    /// Any further tensor results are freed.</summary>
    public Tensor Invoke(params ReadOnlySpan<OpArg> args)
    {
        var results = stackalloc NativeValue[MaxResults];
        int n = Call(args, results);
        if (n == 0 || results[0].Tag != ValueTag.Tensor || results[0].Pointer == IntPtr.Zero)
        {
            FreeResults(results, 0, n);
            throw new TorchException($"{this} did not return a tensor");
        }
        FreeResults(results, 1, n);
        return new Tensor(results[0].Pointer);
    }

    /// <summary>Calls an op returning several tensors (a tuple); undefined ones are null.</summary>
    public Tensor?[] InvokeMany(params ReadOnlySpan<OpArg> args)
    {
        var results = stackalloc NativeValue[MaxResults];
        int n = Call(args, results);
        var tensors = new Tensor?[n];
        for (int i = 0; i < n; i++)
        {
            if (results[i].Tag == ValueTag.Tensor)
                tensors[i] = results[i].Pointer == IntPtr.Zero ? null : new Tensor(results[i].Pointer);
            else
                FreeResults(results, i, i + 1);
        }
        return tensors;
    }

    /// <summary>Calls an op returning Tensor[] (split, unbind, ...).</summary>
    public Tensor[] InvokeList(params ReadOnlySpan<OpArg> args)
    {
        var results = stackalloc NativeValue[MaxResults];
        int n = Call(args, results);
        if (n == 0 || results[0].Tag != ValueTag.TensorList)
        {
            FreeResults(results, 0, n);
            throw new TorchException($"{this} did not return a tensor list");
        }
        FreeResults(results, 1, n);
        var handles = (IntPtr*)results[0].Pointer;
        var tensors = new Tensor[results[0].Length];
        for (int i = 0; i < tensors.Length; i++) tensors[i] = new Tensor(handles[i]);
        NativeMethods.mls_free(results[0].Pointer);
        return tensors;
    }

    /// <summary>Calls an op for its side effect (in-place ops); results are freed.</summary>
    public void InvokeVoid(params ReadOnlySpan<OpArg> args)
    {
        var results = stackalloc NativeValue[MaxResults];
        int n = Call(args, results);
        FreeResults(results, 0, n);
    }

    /// <summary>Calls an op returning a number (int, float or bool).</summary>
    public double InvokeScalar(params ReadOnlySpan<OpArg> args)
    {
        var results = stackalloc NativeValue[MaxResults];
        int n = Call(args, results);
        try
        {
            if (n == 0) throw new TorchException($"{this} returned nothing");
            return results[0].Tag switch
            {
                ValueTag.Int or ValueTag.Bool => results[0].Int,
                ValueTag.Double => results[0].Double,
                _ => throw new TorchException($"{this} did not return a number"),
            };
        }
        finally { FreeResults(results, 0, n); }
    }

    private int Call(ReadOnlySpan<OpArg> args, NativeValue* results)
    {
        var h = Handle;
        int n = args.Length;
        var native = stackalloc NativeValue[Math.Max(n, 1)];
        // Lists that don't fit inline are copied to native memory for the call's duration.
        IntPtr* allocations = stackalloc IntPtr[Math.Max(n, 1)];
        int nalloc = 0;
        try
        {
            for (int i = 0; i < n; i++)
                Convert(args[i], ref native[i], allocations, ref nalloc);
            int nout;
            int rc = NativeMethods.mls_call_op(h, native, n, results, MaxResults, &nout);
            if (rc != 0) throw new TorchException(NativeMethods.LastError());
            return nout;
        }
        finally
        {
            for (int i = 0; i < nalloc; i++) NativeMemory.Free((void*)allocations[i]);
            // The native call borrowed the handles of tensor arguments: keep their owners
            // (and so their finalizers) alive until it returned.
            for (int i = 0; i < n; i++) GC.KeepAlive(args[i].Ref);
        }
    }

    private static void Convert(in OpArg arg, ref NativeValue v, IntPtr* allocations, ref int nalloc)
    {
        v.Tag = arg.Tag;
        switch (arg.Tag)
        {
            case ValueTag.Tensor:
                v.Pointer = ((Tensor)arg.Ref!).Handle;
                break;
            case ValueTag.Int:
            case ValueTag.Bool:
                v.Int = arg.Int;
                break;
            case ValueTag.Double:
                v.Double = arg.Double;
                break;
            case ValueTag.Device:
                v.Int = arg.Int;
                v.Length = (int)arg.Double;
                break;
            case ValueTag.IntList:
            {
                var list = (long[])arg.Ref!;
                v.Length = list.Length;
                if (list.Length <= NativeValue.InlineCapacity)
                    list.AsSpan().CopyTo(v.Inline);
                else
                    v.Pointer = Allocate<long>(list, allocations, ref nalloc);
                break;
            }
            case ValueTag.BoolList:
            {
                var list = (bool[])arg.Ref!;
                var ints = new long[list.Length];
                for (int k = 0; k < ints.Length; k++) ints[k] = list[k] ? 1 : 0;
                v.Length = ints.Length;
                if (ints.Length <= NativeValue.InlineCapacity) ints.AsSpan().CopyTo(v.Inline);
                else v.Pointer = Allocate<long>(ints, allocations, ref nalloc);
                break;
            }
            case ValueTag.DoubleList:
            {
                var list = (double[])arg.Ref!;
                v.Length = list.Length;
                v.Pointer = Allocate<double>(list, allocations, ref nalloc);
                break;
            }
            case ValueTag.TensorList:
            {
                var list = (Tensor?[])arg.Ref!;
                v.Length = list.Length;
                var handles = new IntPtr[list.Length];
                for (int k = 0; k < list.Length; k++) handles[k] = list[k]?.Handle ?? IntPtr.Zero;
                v.Pointer = Allocate<IntPtr>(handles, allocations, ref nalloc);
                break;
            }
            case ValueTag.String:
            {
                var bytes = Encoding.UTF8.GetBytes((string)arg.Ref!);
                v.Length = bytes.Length;
                v.Pointer = Allocate<byte>(bytes, allocations, ref nalloc);
                break;
            }
        }
    }

    private static IntPtr Allocate<T>(ReadOnlySpan<T> data, IntPtr* allocations, ref int nalloc) where T : unmanaged
    {
        var p = NativeMemory.Alloc((nuint)Math.Max(data.Length * sizeof(T), 1));
        data.CopyTo(new Span<T>(p, data.Length));
        allocations[nalloc++] = (IntPtr)p;
        return (IntPtr)p;
    }

    private static void FreeResults(NativeValue* results, int from, int to)
    {
        for (int i = from; i < to; i++)
        {
            ref var r = ref results[i];
            switch (r.Tag)
            {
                case ValueTag.Tensor when r.Pointer != IntPtr.Zero:
                    NativeMethods.mls_tensor_free(r.Pointer);
                    break;
                case ValueTag.TensorList:
                    var handles = (IntPtr*)r.Pointer;
                    for (int k = 0; k < r.Length; k++)
                        if (handles[k] != IntPtr.Zero) NativeMethods.mls_tensor_free(handles[k]);
                    NativeMethods.mls_free(r.Pointer);
                    break;
                case ValueTag.IntList:
                    NativeMethods.mls_free(r.Pointer);
                    break;
            }
        }
    }
}
