using System.Buffers.Binary;
using System.IO.Compression;
using System.Numerics;
using System.Text;
using MLNetSeg.Torch.Native;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Torch.Serialization.Pickle;

namespace MLNetSeg.Torch.Serialization;

/// <summary>A file that is not a readable PyTorch checkpoint; the message names the file and what is wrong.</summary>
public sealed class CheckpointFormatException : Exception
{
    /// <summary>An error about <paramref name="path"/>.</summary>
    /// <param name="path">The checkpoint file, or null when the error concerns an already loaded tree.</param>
    /// <param name="message">The full message (it should name the file and the problem).</param>
    /// <param name="forbiddenGlobal">The refused Python global, when that is the reason.</param>
    /// <param name="inner">The underlying error (I/O, zip, ...), if any.</param>
    public CheckpointFormatException(string? path, string message, string? forbiddenGlobal = null, Exception? inner = null)
        : base(message, inner)
    {
        Path = path;
        ForbiddenGlobal = forbiddenGlobal;
    }

    /// <summary>The checkpoint file (null when the error concerns an already loaded tree).</summary>
    public string? Path { get; }

    /// <summary>The refused Python global ("os.system"), when that is the reason.</summary>
    public string? ForbiddenGlobal { get; }
}

/// <summary>The two on-disk layouts torch.save has used.</summary>
public enum CheckpointFormat
{
    /// <summary>torch ≥ 1.6: a zip archive holding &lt;prefix&gt;/data.pkl and one record per storage.</summary>
    Zip,
    /// <summary>torch &lt; 1.6 (or _use_new_zipfile_serialization=False): consecutive pickles then raw storages.</summary>
    Legacy,
}

/// <summary>
/// Reads files written by <c>torch.save</c>, without Python: state dicts (e.g. torchvision's
/// maskrcnn_resnet50_fpn weights) and training checkpoints that wrap one.
/// <para>
/// The pickle inside is interpreted by a data-only unpickler whose only code paths are an
/// allow-list: collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_tensor /
/// _rebuild_parameter, the torch.*Storage types and _codecs.encode (bytes). Any other global
/// is refused by name before any tensor data is read. Tensors sharing a storage share it
/// after loading too (offset and strides as saved). Storages are read straight from the file
/// into tensor memory, one at a time, so loading needs no second copy of the checkpoint.
/// The location recorded in the file (e.g. "cuda:0") is ignored: tensors go to the device
/// asked for, CPU by default (torch.load(map_location=...)).
/// </para>
/// Loaded tensors belong to the current <see cref="DisposeScope"/> (or to the caller when none is open).
/// </summary>
public static class PyTorchCheckpoint
{
    // torch/serialization.py: MAGIC_NUMBER and PROTOCOL_VERSION of the legacy format.
    private static readonly BigInteger LegacyMagic = BigInteger.Parse("119547037146038801333356");
    private const long LegacyProtocolVersion = 1001;

    private static readonly Op SetFromTensorStorage = new("set_", "source_Tensor_storage_offset");

    // ---- public API

    /// <summary>Which layout <paramref name="path"/> uses; fails clearly for anything that is not a torch.save file.</summary>
    public static CheckpointFormat DetectFormat(string path)
    {
        CheckFileExists(path);
        var head = new byte[512];
        int read;
        using (var stream = File.OpenRead(path)) read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (read < 4) throw new CheckpointFormatException(path, $"{path}: {read} bytes is too short for a PyTorch checkpoint (empty or truncated file)");
        if (head[0] == 'P' && head[1] == 'K' && head[2] is (3 or 5) && head[3] is (4 or 6)) return CheckpointFormat.Zip;
        if (head[0] == 0x80) return CheckpointFormat.Legacy;  // a pickle's PROTO opcode; the magic number is checked on reading
        if (read >= 262 && Encoding.ASCII.GetString(head, 257, 5) == "ustar")
            throw new CheckpointFormatException(path, $"{path}: this is the tar-based checkpoint format of PyTorch ≤ 0.3, which is not supported; " +
                "load it with torch.load in Python and re-save it with torch.save (PyTorch ≥ 1.6)");
        if (read >= 9 && head[8] == '{')
            throw new CheckpointFormatException(path, $"{path}: this looks like a safetensors file, not a torch.save checkpoint; read it with SafeTensors.Load");
        throw new CheckpointFormatException(path, $"{path}: not a PyTorch checkpoint (neither a zip archive as torch.save writes since 1.6 nor a legacy pickle stream)");
    }

    /// <summary>
    /// Reads the whole object a checkpoint holds, as a tree of <see cref="CheckpointDict"/>,
    /// <see cref="List{T}"/>, <see cref="CheckpointTuple"/>, <see cref="Tensor"/> and primitives
    /// (see <see cref="CheckpointDict"/>). Pass it to <see cref="StateDictFrom(object?, string?)"/> to pick a state dict.
    /// </summary>
    public static object? LoadObject(string path, Device? device = null)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("PyTorch checkpoint reading needs a little-endian machine");
        var format = DetectFormat(path);
        using var scope = DisposeScope.Enter();
        var root = format == CheckpointFormat.Zip ? ReadZip(path, device) : ReadLegacy(path, device);
        scope.MoveToOuter(TensorsIn(root));  // storages' own handles stay behind and are freed
        return root;
    }

    /// <summary>
    /// Reads a state dict: the checkpoint's top-level dict, or the dict under <paramref name="key"/>
    /// (e.g. "model" for {"model": state_dict, "epoch": 3}). Every value must be a tensor.
    /// </summary>
    public static OrderedDictionary<string, Tensor> LoadStateDict(string path, Device? device = null, string? key = null)
    {
        using var scope = DisposeScope.Enter();
        var tree = LoadObject(path, device);
        var stateDict = StateDictFrom(tree, key, path);
        scope.MoveToOuter(stateDict.Values);  // other tensors of the checkpoint (optimizer state, …) are freed
        return stateDict;
    }

    /// <summary>The state dict at <paramref name="key"/> of a tree from <see cref="LoadObject"/> (the tree itself when null).</summary>
    public static OrderedDictionary<string, Tensor> StateDictFrom(object? tree, string? key = null) => StateDictFrom(tree, key, null);

    /// <summary>
    /// Loads a checkpoint's state dict into <paramref name="module"/> (see <see cref="Module.LoadStateDict"/>):
    /// a missing, unexpected (when strict) or mis-shaped tensor fails with its name and the file's.
    /// </summary>
    public static StateDictLoadResult LoadInto(Module module, string path, bool strict = true, string? key = null)
    {
        using var scope = DisposeScope.Enter();
        var stateDict = LoadStateDict(path, null, key);
        try
        {
            return module.LoadStateDict(stateDict, strict);
        }
        catch (StateDictException e)
        {
            throw new StateDictException($"{module.GetType().Name} from {path}", e.MissingKeys, e.UnexpectedKeys, e.SizeMismatches);
        }
    }

    // ---- picking a state dict out of a tree

    private static OrderedDictionary<string, Tensor> StateDictFrom(object? tree, string? key, string? path)
    {
        string source = path ?? "checkpoint";
        object? node = tree;
        string what = source;
        if (key is not null)
        {
            if (tree is not CheckpointDict top)
                throw new CheckpointFormatException(path, $"{source}: cannot look up '{key}': the checkpoint holds {Unpickler.Article(Unpickler.PythonType(tree))}, not a dict");
            if (!top.TryGetValue(key, out node))
                throw new CheckpointFormatException(path, $"{source}: no key '{key}' at the top level (keys: {top.DescribeKeys()})");
            what = $"{source}['{key}']";
        }
        if (node is not CheckpointDict dict)
            throw new CheckpointFormatException(path, $"{what} is {Unpickler.Article(Unpickler.PythonType(node))}, not a state dict (a dict of tensors)");

        var result = new OrderedDictionary<string, Tensor>();
        foreach (var (k, v) in dict)
        {
            if (k is not string name)
                throw new CheckpointFormatException(path, $"{what} is not a state dict: key {k} is {Unpickler.Article(Unpickler.PythonType(k))}, not a str{Hint(dict, key)}");
            if (v is not Tensor tensor)
                throw new CheckpointFormatException(path, $"{what} is not a state dict: '{name}' is {Unpickler.Article(Unpickler.PythonType(v))}, not a Tensor{Hint(dict, key)}");
            result[name] = tensor;
        }
        return result;
    }

    /// <summary>Points at entries that do look like state dicts, e.g. "model" in a training checkpoint.</summary>
    private static string Hint(CheckpointDict dict, string? key)
    {
        if (key is not null) return "";
        var candidates = dict.Where(kv => kv.Key is string && kv.Value is CheckpointDict { Count: > 0 } d && d.All(e => e.Key is string && e.Value is Tensor))
            .Select(kv => $"'{kv.Key}'").ToList();
        return candidates.Count == 0 ? "" : $" (a state dict is under {string.Join(", ", candidates)}: pass that key)";
    }

    private static IEnumerable<Tensor> TensorsIn(object? root)
    {
        var result = new List<Tensor>();
        Visit(root, node => { if (node is Tensor t) result.Add(t); return node; });
        return result;
    }

    // ---- zip format

    private static object? ReadZip(string path, Device? device)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        ZipArchive archive;
        var entries = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
        try
        {
            archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
            // The central directory is read on first access to Entries, and may be corrupt too.
            foreach (var entry in archive.Entries) entries.TryAdd(entry.FullName, entry);
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointFormatException(path, $"{path}: the zip archive is truncated or corrupt ({e.Message})", inner: e);
        }
        using (archive)
        {
            var prefix = FindPrefix(path, entries);
            CheckByteOrder(path, entries, prefix);

            var pickleName = prefix + "data.pkl";
            var pickle = ReadRecord(path, entries[pickleName]);
            var resolver = new TorchPickleResolver(path, legacy: false);
            var root = new Unpickler(new MemoryStream(pickle, writable: false), $"{path} ({pickleName})", resolver).Load();
            return Materialize(root, device, storage => ReadZipStorage(path, entries, prefix, storage));
        }
    }

    /// <summary>torch.save puts every record under one folder ("archive/" or the file's stem).</summary>
    private static string FindPrefix(string path, Dictionary<string, ZipArchiveEntry> entries)
    {
        var pickles = entries.Keys.Where(n => n == "data.pkl" || (n.EndsWith("/data.pkl", StringComparison.Ordinal) && n.IndexOf('/') == n.Length - 9)).ToList();
        if (pickles.Count == 0)
            throw new CheckpointFormatException(path, $"{path}: a zip archive without <folder>/data.pkl, so not a torch.save checkpoint " +
                $"(entries: {string.Join(", ", entries.Keys.Take(8))}{(entries.Count > 8 ? ", …" : "")})");
        if (pickles.Count > 1)
            throw new CheckpointFormatException(path, $"{path}: several data.pkl records ({string.Join(", ", pickles)}); expected one torch.save archive");
        var prefix = pickles[0][..^"data.pkl".Length];
        if (entries.ContainsKey(prefix + "constants.pkl") || entries.Keys.Any(n => n.StartsWith(prefix + "code/", StringComparison.Ordinal)))
            throw new CheckpointFormatException(path, $"{path}: this is a TorchScript archive (torch.jit.save), not a torch.save checkpoint; " +
                "in Python, load it and save module.state_dict() with torch.save");
        return prefix;
    }

    private static void CheckByteOrder(string path, Dictionary<string, ZipArchiveEntry> entries, string prefix)
    {
        if (!entries.TryGetValue(prefix + "byteorder", out var entry)) return;  // absent before torch 2.1: little-endian
        var order = Encoding.ASCII.GetString(ReadRecord(path, entry)).Trim();
        if (order == "little") return;
        throw new CheckpointFormatException(path, order == "big"
            ? $"{path}: the checkpoint was written on a big-endian machine ({prefix}byteorder = big); its storages would need byte swapping, which is not supported. Re-save it on a little-endian machine"
            : $"{path}: {prefix}byteorder holds '{order}', expected 'little'");
    }

    private static byte[] ReadRecord(string path, ZipArchiveEntry entry)
    {
        CheckRecordSize(path, entry);
        if (entry.Length > Array.MaxLength) throw new CheckpointFormatException(path, $"{path}: record {entry.FullName} is {entry.Length} bytes, too large");
        var bytes = new byte[entry.Length];
        try
        {
            using var s = entry.Open();
            s.ReadExactly(bytes);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new CheckpointFormatException(path, $"{path}: record {entry.FullName} is truncated or corrupt ({e.Message})", inner: e);
        }
        return bytes;
    }

    /// <summary>
    /// A record's stated size is checked before anything that size is allocated: its compressed bytes
    /// must lie in the file, and inflate to at most deflate's maximum ratio (1032:1; torch.save
    /// stores records uncompressed), so a damaged or hostile directory cannot ask for terabytes.
    /// </summary>
    private static void CheckRecordSize(string path, ZipArchiveEntry entry)
    {
        long fileLength = new FileInfo(path).Length;
        if (entry.CompressedLength > fileLength || entry.Length > Math.Max(entry.CompressedLength, 1) * MaxDeflateRatio)
            throw new CheckpointFormatException(path, $"{path}: record {entry.FullName} claims {entry.Length} bytes from {entry.CompressedLength} " +
                $"compressed bytes in a {fileLength}-byte file (corrupt zip directory)");
    }

    private const long MaxDeflateRatio = 1032;

    private static Tensor ReadZipStorage(string path, Dictionary<string, ZipArchiveEntry> entries, string prefix, StorageRef storage)
    {
        var name = $"{prefix}data/{storage.Key}";
        long bytes = storage.Numel * storage.DType.ElementSize();
        if (!entries.TryGetValue(name, out var entry))
            throw new CheckpointFormatException(path, $"{path}: missing storage record {name} (the pickle names it as a {storage.Type} of {storage.Numel} elements)");
        if (entry.Length != bytes)
            throw new CheckpointFormatException(path, $"{path}: storage record {name} holds {entry.Length} bytes, but a {storage.Type} of {storage.Numel} elements needs {bytes}");
        CheckRecordSize(path, entry);
        try
        {
            using var s = entry.Open();
            return ReadStorage(s, storage, path, $"{path}: storage record {name} is truncated");
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointFormatException(path, $"{path}: storage record {name} is corrupt ({e.Message})", inner: e);
        }
    }

    // ---- legacy format

    private static object? ReadLegacy(string path, Device? device)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var resolver = new TorchPickleResolver(path, legacy: true);
        object? Next(string part) => new Unpickler(stream, $"{path} (legacy format, {part})", resolver).Load();

        if (Next("magic number") is not BigInteger magic || magic != LegacyMagic)
            throw new CheckpointFormatException(path, $"{path}: starts with a pickle but not with PyTorch's magic number: not a (legacy) PyTorch checkpoint");
        if (Next("protocol version") is not long version || version != LegacyProtocolVersion)
            throw new CheckpointFormatException(path, $"{path}: legacy protocol version is not {LegacyProtocolVersion}");
        if (Next("system info") is CheckpointDict sysInfo && sysInfo.TryGetValue("little_endian", out var little) && little is false)
            throw new CheckpointFormatException(path, $"{path}: the checkpoint was written on a big-endian machine (sys_info little_endian = False); byte swapping is not supported. Re-save it on a little-endian machine");
        var root = Next("data pickle");
        if (Next("storage keys") is not List<object?> keys)
            throw new CheckpointFormatException(path, $"{path}: the legacy storage key list is missing or malformed");

        // The storages follow in key order, each as an int64 element count and its raw bytes.
        var loaded = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        Span<byte> countBytes = stackalloc byte[8];
        foreach (var keyObject in keys)
        {
            if (keyObject is not string key || !resolver.Storages.TryGetValue(key, out var storage))
                throw new CheckpointFormatException(path, $"{path}: storage data for key {keyObject}, which the pickle never names");
            try { stream.ReadExactly(countBytes); }
            catch (EndOfStreamException e) { throw new CheckpointFormatException(path, $"{path}: the file ends before storage '{key}' (truncated)", inner: e); }
            long count = BinaryPrimitives.ReadInt64LittleEndian(countBytes);
            if (count != storage.Numel)
                throw new CheckpointFormatException(path, $"{path}: storage '{key}' holds {count} elements, the pickle names {storage.Numel}");
            loaded[key] = ReadStorage(stream, storage, path, $"{path}: storage '{key}' is truncated (the file ends inside it)");
        }
        return Materialize(root, device, storage => loaded.Remove(storage.Key, out var t) ? t
            : throw new CheckpointFormatException(path, $"{path}: missing storage record '{storage.Key}' (named by the pickle as a {storage.Type} of {storage.Numel} elements, absent from the storage list)"));
    }

    // ---- tensors

    /// <summary>Reads a whole root storage (1-d, CPU) straight into tensor memory.</summary>
    private static unsafe Tensor ReadStorage(Stream stream, StorageRef storage, string path, string truncatedMessage)
    {
        long bytes = storage.Numel * storage.DType.ElementSize();  // no overflow: element counts are checked on unpickling
        // The legacy format reads storages from the file itself: what is left of it bounds the allocation.
        if (stream.CanSeek && bytes > stream.Length - stream.Position) throw new CheckpointFormatException(path, truncatedMessage);
        var t = Tensor.Empty(new[] { storage.Numel }, storage.DType);
        if (bytes == 0) return t;
        var p = (byte*)NativeMethods.mls_tensor_data_ptr(t.Handle);
        if (p == null) throw new TorchException(NativeMethods.LastError());
        try
        {
            for (long done = 0; done < bytes;)
            {
                int chunk = (int)Math.Min(bytes - done, 1 << 30);
                stream.ReadExactly(new Span<byte>(p + done, chunk));
                done += chunk;
            }
        }
        catch (EndOfStreamException e)
        {
            throw new CheckpointFormatException(path, truncatedMessage, inner: e);
        }
        GC.KeepAlive(t);
        return t;
    }

    /// <summary>
    /// Replaces every tensor recipe (and bare storage) in the tree by a tensor. Each root storage
    /// is read once, moved to <paramref name="device"/> once, and every tensor on it shares it
    /// (Tensor.set_ with the saved offset, sizes and strides, as torch's _rebuild_tensor does).
    /// </summary>
    private static object? Materialize(object? root, Device? device, Func<StorageRef, Tensor> readStorage)
    {
        var storages = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var built = new Dictionary<object, Tensor>(ReferenceEqualityComparer.Instance);

        Tensor StorageFor(StorageRef s)
        {
            if (storages.TryGetValue(s.Key, out var t)) return t;
            t = readStorage(s);
            if (device is { } d && d != Device.Cpu)
            {
                var moved = t.To(d);
                t.Dispose();
                t = moved;
            }
            return storages[s.Key] = t;
        }

        Tensor Build(object node) => node switch
        {
            TensorRecipe r => Rebuild(StorageFor(r.Storage), r.Storage.ViewOffset + r.StorageOffset, r.Size, r.Stride, r.RequiresGrad),
            StorageRef s => Rebuild(StorageFor(s), s.ViewOffset, new[] { s.ViewNumel }, new[] { 1L }, false),
            _ => throw new InvalidOperationException(),
        };

        return Visit(root, node => node is TensorRecipe or StorageRef
            ? built.TryGetValue(node, out var done) ? done : built[node] = Build(node)
            : node);
    }

    private static Tensor Rebuild(Tensor storage, long offset, long[] size, long[] stride, bool requiresGrad)
    {
        using var noGrad = NoGradScope.Enter();
        var t = Tensor.Empty(new[] { 0L }, storage.DType, storage.Device);
        SetFromTensorStorage.InvokeVoid(t, storage, offset, size, stride);
        if (requiresGrad && t.DType.IsFloatingPoint()) t.RequiresGrad = true;
        return t;
    }

    /// <summary>
    /// Applies <paramref name="replace"/> to the root and every value in its containers (dict
    /// values and attributes, list and tuple items), writing the results back. Iterative, and
    /// each container is visited once, so shared or cyclic structures are fine.
    /// </summary>
    private static object? Visit(object? root, Func<object?, object?> replace)
    {
        root = replace(root);
        var pending = new Stack<object>();
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        void Push(object? node)
        {
            if (node is CheckpointDict or List<object?> or CheckpointTuple && seen.Add(node!)) pending.Push(node!);
        }
        Push(root);
        while (pending.Count > 0)
        {
            switch (pending.Pop())
            {
                case CheckpointDict dict:
                    for (int i = 0; i < dict.Count; i++)
                    {
                        var v = replace(dict.ValueAt(i));
                        dict.SetValueAt(i, v);
                        Push(v);
                    }
                    foreach (var name in dict.Attributes.Keys.ToList())
                    {
                        var v = replace(dict.Attributes[name]);
                        dict.SetAttribute(name, v);
                        Push(v);
                    }
                    break;
                case List<object?> list:
                    for (int i = 0; i < list.Count; i++)
                    {
                        list[i] = replace(list[i]);
                        Push(list[i]);
                    }
                    break;
                case CheckpointTuple tuple:
                    for (int i = 0; i < tuple.Count; i++)
                    {
                        var v = replace(tuple[i]);
                        tuple.SetAt(i, v);
                        Push(v);
                    }
                    break;
            }
        }
        return root;
    }

    private static void CheckFileExists(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"PyTorch checkpoint not found: {path}", path);
    }
}
