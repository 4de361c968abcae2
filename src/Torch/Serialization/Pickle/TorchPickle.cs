using System.Text;

namespace MLNetSeg.Torch.Serialization.Pickle;

/// <summary>A typed storage class such as torch.FloatStorage: names the element type of a storage record.</summary>
internal sealed class StorageType : PickleGlobal
{
    private StorageType(string name, DType dtype) : base("torch." + name) => DType = dtype;

    public DType DType { get; }

    // torch.UntypedStorage holds bytes; torch reads it as uint8, and so do we.
    private static readonly Dictionary<string, StorageType> Supported = new[]
    {
        ("DoubleStorage", DType.Float64), ("FloatStorage", DType.Float32), ("HalfStorage", DType.Float16),
        ("BFloat16Storage", DType.BFloat16), ("LongStorage", DType.Int64), ("IntStorage", DType.Int32),
        ("ShortStorage", DType.Int16), ("CharStorage", DType.Int8), ("ByteStorage", DType.UInt8),
        ("BoolStorage", DType.Bool), ("UntypedStorage", DType.UInt8),
    }.ToDictionary(s => s.Item1, s => new StorageType(s.Item1, s.Item2));

    /// <summary>Storage classes torch has but whose element types MLNetSeg does not represent.</summary>
    private static readonly Dictionary<string, string> Unsupported = new()
    {
        ["ComplexFloatStorage"] = "complex64", ["ComplexDoubleStorage"] = "complex128", ["ComplexHalfStorage"] = "complex32",
        ["QInt8Storage"] = "qint8", ["QUInt8Storage"] = "quint8", ["QInt32Storage"] = "qint32",
        ["QUInt4x2Storage"] = "quint4x2", ["QUInt2x4Storage"] = "quint2x4",
    };

    public static string SupportedNames => string.Join(", ", Supported.Keys.Select(k => "torch." + k));

    /// <summary>The storage class torch.<paramref name="name"/>, null if torch has no such class,
    /// or an unsupported-dtype error.</summary>
    public static StorageType? Find(string name, Func<string, Exception> fail)
    {
        if (Supported.TryGetValue(name, out var type)) return type;
        if (Unsupported.TryGetValue(name, out var dtype))
            throw fail($"unsupported dtype: the checkpoint stores a torch.{name} ({dtype}); supported storages: {SupportedNames}");
        return null;
    }
}

/// <summary>A storage record named by a persistent id; a legacy storage view covers part of its root.</summary>
internal sealed record StorageRef(string Key, StorageType Type, long Numel, string Location, long ViewOffset, long ViewNumel)
{
    public DType DType => Type.DType;
}

/// <summary>A tensor as the pickle describes it: created once the storages are read.</summary>
internal sealed class TensorRecipe
{
    public required StorageRef Storage { get; init; }
    public required long StorageOffset { get; init; }
    public required long[] Size { get; init; }
    public required long[] Stride { get; init; }
    public bool RequiresGrad { get; set; }
}

/// <summary>
/// The allow-list of a PyTorch checkpoint: the globals torch.save emits for state dicts and
/// plain training checkpoints, and nothing else. Every other global (os.system, a model class,
/// numpy, argparse.Namespace, …) is refused by name before anything is built.
/// </summary>
internal sealed class TorchPickleResolver : IPickleResolver
{
    private readonly string path;
    private readonly bool legacy;
    private readonly Dictionary<string, StorageRef> storages = new(StringComparer.Ordinal);

    public TorchPickleResolver(string path, bool legacy)
    {
        this.path = path;
        this.legacy = legacy;
    }

    /// <summary>Root storages named so far, by key, in first-use order.</summary>
    public IReadOnlyDictionary<string, StorageRef> Storages => storages;

    private static readonly Dictionary<string, PickleGlobal> Functions = new PickleGlobal[]
    {
        new OrderedDictGlobal(), new RebuildTensorGlobal("torch._utils._rebuild_tensor_v2", 6, 7),
        new RebuildTensorGlobal("torch._utils._rebuild_tensor", 4, 4), new RebuildParameterGlobal(), new CodecsEncodeGlobal(),
    }.ToDictionary(g => g.QualifiedName);

    public static string AllowList =>
        string.Join(", ", Functions.Keys) + ", torch.<dtype>Storage";

    public PickleGlobal FindGlobal(string module, string name, Func<string, Exception> fail)
    {
        var qualified = module + "." + name;
        if (Functions.TryGetValue(qualified, out var function)) return function;
        if (module == "torch" && name.EndsWith("Storage", StringComparison.Ordinal) && StorageType.Find(name, fail) is { } storage)
            return storage;
        throw new CheckpointFormatException(path,
            $"{path}: the pickle refers to the Python global '{qualified}', which a checkpoint reader does not allow " +
            $"(allowed: {AllowList}). Nothing was run. A whole model or custom object pickled with torch.save cannot be " +
            "read without Python; save its state_dict() instead.", qualified);
    }

    public object? PersistentLoad(object? pid, Func<string, Exception> fail)
    {
        // zip:    ('storage', storage_type, key, location, numel)
        // legacy: ('storage', storage_type, root_key, location, numel, view_metadata)
        if (pid is not CheckpointTuple t || t.Count == 0 || t[0] is not string kind)
            throw fail($"persistent id of type {Unpickler.PythonType(pid)} is not a ('storage', …) tuple");
        if (kind != "storage")
            throw fail($"persistent id kind '{kind}' is not supported (only 'storage'{(kind == "module" ? "; a pickled nn.Module cannot be read, save its state_dict()" : "")})");
        int expected = legacy ? 6 : 5;
        if (t.Count != expected) throw fail($"storage persistent id has {t.Count} fields, expected {expected}");
        if (t[1] is not StorageType type) throw fail($"storage persistent id names {Unpickler.Article(Unpickler.PythonType(t[1]))} instead of a storage type");
        var key = t[2] switch { string s => s, long l => l.ToString(), _ => throw fail($"storage key is {Unpickler.Article(Unpickler.PythonType(t[2]))}") };
        if (t[3] is not string location) throw fail($"storage location is {Unpickler.Article(Unpickler.PythonType(t[3]))}");
        if (t[4] is not long numel || numel < 0) throw fail($"storage '{key}' has element count {t[4]}");
        if (numel > long.MaxValue / type.DType.ElementSize()) throw fail($"storage '{key}' of {numel} elements is larger than any file");

        if (storages.TryGetValue(key, out var root))
        {
            if (root.Type != type || root.Numel != numel)
                throw fail($"storage '{key}' is named as {root.Type} of {root.Numel} and as {type} of {numel} elements");
        }
        else storages[key] = root = new StorageRef(key, type, numel, location, 0, numel);

        if (!legacy || t[5] is null) return root;
        // Legacy storage view: (view_key, offset, size) in elements of the root.
        if (t[5] is not CheckpointTuple { Count: 3 } view || view[1] is not long offset || view[2] is not long size)
            throw fail($"legacy storage view metadata of type {Unpickler.PythonType(t[5])} is not (key, offset, size)");
        if (offset < 0 || size < 0 || offset + size > numel)
            throw fail($"legacy storage view [{offset}, {offset + size}) lies outside storage '{key}' of {numel} elements");
        return root with { ViewOffset = offset, ViewNumel = size };
    }

    // ---- the allowed callables

    private sealed class OrderedDictGlobal : PickleGlobal
    {
        public OrderedDictGlobal() : base("collections.OrderedDict") { }

        public override object? Call(CheckpointTuple args, Func<string, Exception> fail)
        {
            var dict = new CheckpointDict();
            if (args.Count == 0) return dict;
            // OrderedDict([(k, v), ...]) as older picklers wrote it.
            if (args.Count != 1 || args[0] is not IEnumerable<object?> pairs)
                throw fail("collections.OrderedDict takes no arguments or one list of pairs here");
            foreach (var pair in pairs)
            {
                if (pair is not IReadOnlyList<object?> { Count: 2 } kv || kv[0] is null)
                    throw fail("collections.OrderedDict argument is not a list of (key, value) pairs");
                dict.Set(kv[0]!, kv[1]);
            }
            return dict;
        }

        public override object? New(CheckpointTuple args, Func<string, Exception> fail) => Call(CheckpointTuple.Empty, fail);
    }

    private sealed class RebuildTensorGlobal : PickleGlobal
    {
        private readonly int minArgs, maxArgs;

        public RebuildTensorGlobal(string name, int minArgs, int maxArgs) : base(name) => (this.minArgs, this.maxArgs) = (minArgs, maxArgs);

        // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
        public override object? Call(CheckpointTuple args, Func<string, Exception> fail)
        {
            if (args.Count < minArgs || args.Count > maxArgs)
                throw fail($"{QualifiedName} takes {minArgs}–{maxArgs} arguments, got {args.Count}");
            if (args[0] is not StorageRef storage) throw fail($"{QualifiedName}: argument 0 is {Unpickler.Article(Unpickler.PythonType(args[0]))}, not a storage");
            if (args[1] is not long offset || offset < 0) throw fail($"{QualifiedName}: storage offset {args[1]} is not a non-negative int");
            var size = Ints(args[2], "size", fail);
            var stride = Ints(args[3], "stride", fail);
            if (size.Length > TensorBytes.MaxRank) throw fail($"{QualifiedName}: a tensor of {size.Length} dimensions, more than the {TensorBytes.MaxRank} supported");
            if (size.Length != stride.Length) throw fail($"{QualifiedName}: size [{string.Join(", ", size)}] and stride [{string.Join(", ", stride)}] differ in length");
            if (size.Any(s => s < 0) || stride.Any(s => s < 0))
                throw fail($"{QualifiedName}: negative size or stride ([{string.Join(", ", size)}], [{string.Join(", ", stride)}])");
            bool requiresGrad = args.Count > 4 && (args[4] as bool? ?? throw fail($"{QualifiedName}: requires_grad is {Unpickler.Article(Unpickler.PythonType(args[4]))}"));
            CheckBounds(storage, offset, size, stride, fail);
            return new TensorRecipe { Storage = storage, StorageOffset = offset, Size = size, Stride = stride, RequiresGrad = requiresGrad };
        }

        private static long[] Ints(object? value, string what, Func<string, Exception> fail)
        {
            if (value is not CheckpointTuple t) throw fail($"tensor {what} is {Unpickler.Article(Unpickler.PythonType(value))}, not a tuple");
            return t.Select(v => v as long? ?? throw fail($"tensor {what} holds {Unpickler.Article(Unpickler.PythonType(v))}")).ToArray();
        }

        /// <summary>The last element the view addresses must lie inside the storage (view).</summary>
        private static void CheckBounds(StorageRef storage, long offset, long[] size, long[] stride, Func<string, Exception> fail)
        {
            if (size.Any(s => s == 0)) return;
            try
            {
                long last = offset;
                for (int i = 0; i < size.Length; i++) last = checked(last + (size[i] - 1) * stride[i]);
                if (last < storage.ViewNumel) return;
            }
            catch (OverflowException) { }
            throw fail($"tensor of size [{string.Join(", ", size)}], stride [{string.Join(", ", stride)}] at offset {offset} " +
                       $"reaches past storage '{storage.Key}' of {storage.ViewNumel} elements");
        }
    }

    private sealed class RebuildParameterGlobal : PickleGlobal
    {
        public RebuildParameterGlobal() : base("torch._utils._rebuild_parameter") { }

        // (data, requires_grad, backward_hooks)
        public override object? Call(CheckpointTuple args, Func<string, Exception> fail)
        {
            if (args.Count != 3 || args[0] is not TensorRecipe data || args[1] is not bool requiresGrad)
                throw fail($"{QualifiedName} expects (tensor, bool, hooks)");
            data.RequiresGrad = requiresGrad;
            return data;
        }
    }

    /// <summary>How protocol 2 spells Python 3 bytes: _codecs.encode(text, 'latin1').</summary>
    private sealed class CodecsEncodeGlobal : PickleGlobal
    {
        public CodecsEncodeGlobal() : base("_codecs.encode") { }

        public override object? Call(CheckpointTuple args, Func<string, Exception> fail)
        {
            if (args.Count == 2 && args[0] is string text && args[1] is ("latin1" or "latin-1") && text.All(c => c <= '\u00ff'))
                return Encoding.Latin1.GetBytes(text);
            throw fail("_codecs.encode is only accepted as (str, 'latin1'), the encoding of bytes");
        }
    }
}
