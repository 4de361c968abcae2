using System.Buffers.Binary;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using MLNetSeg.Torch.IO;
using MLNetSeg.Torch.Native;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Torch.Optim;

namespace MLNetSeg.Torch.Serialization;

/// <summary>One tensor entry of a safetensors header; offsets are relative to the data section.</summary>
/// <param name="Name">The tensor's name (a state-dict key).</param>
/// <param name="DType">The element type.</param>
/// <param name="Shape">The sizes (empty for a 0-d tensor).</param>
/// <param name="Begin">Offset of the first data byte, from the start of the data section.</param>
/// <param name="End">Offset just past the last data byte.</param>
public sealed record SafeTensorInfo(string Name, DType DType, long[] Shape, long Begin, long End)
{
    /// <summary>Size of the tensor's data in bytes.</summary>
    public long ByteLength => End - Begin;
}

/// <summary>The tensors (in file order) and the free-form string metadata of a safetensors file.</summary>
/// <param name="Tensors">The tensors by name, in file order; they belong to the caller (or the current
/// <see cref="DisposeScope"/>).</param>
/// <param name="Metadata">The header's "__metadata__" entries (empty when the file has none).</param>
public sealed record SafeTensorsContent(OrderedDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// The safetensors format (huggingface/safetensors): an unsigned 64-bit little-endian header
/// length N, N bytes of JSON header {"name": {"dtype": "F32", "shape": [..], "data_offsets":
/// [begin, end]}, ..., "__metadata__": {string: string}} padded with spaces to a multiple of 8,
/// then the raw little-endian tensor bytes, row-major, packed without gaps. Reading validates
/// every entry and names the file and tensor at fault; writing goes through <see cref="AtomicFile"/>
/// (a temporary file, flushed to disk, that replaces the target only when complete).
/// </summary>
public static class SafeTensors
{
    private const string MetadataKey = "__metadata__";
    private const long MaxHeaderBytes = 100_000_000;  // the reference implementation's limit

    private static readonly (DType DType, string Code)[] Codes =
    {
        (DType.Float64, "F64"), (DType.Float32, "F32"), (DType.Float16, "F16"), (DType.BFloat16, "BF16"),
        (DType.Int64, "I64"), (DType.Int32, "I32"), (DType.Int16, "I16"), (DType.Int8, "I8"),
        (DType.UInt8, "U8"), (DType.Bool, "BOOL"),
    };

    /// <summary>The safetensors dtype string of <paramref name="dtype"/> ("F32", "I64", "BOOL", ...);
    /// <see cref="NotSupportedException"/> for a dtype the format has no code for.</summary>
    public static string DTypeCode(DType dtype) =>
        Codes.FirstOrDefault(c => c.DType == dtype).Code ?? throw new NotSupportedException($"safetensors has no code for {dtype}");

    // ---- writing

    /// <summary>Writes <paramref name="tensors"/> (any device, any layout; stored in the given order)
    /// and optional <paramref name="metadata"/> to <paramref name="path"/>, atomically (<see cref="AtomicFile"/>;
    /// a failed write, e.g. a full disk, is an <see cref="IOException"/> naming the file, the previous file untouched).</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        TensorBytes.EnsureLittleEndian("safetensors");
        using var scope = DisposeScope.Enter();
        var entries = new List<(string Name, Tensor Data)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, t) in tensors)
        {
            if (string.IsNullOrEmpty(name) || name == MetadataKey) throw new ArgumentException($"'{name}' cannot name a tensor in a safetensors file");
            if (!names.Add(name)) throw new ArgumentException($"tensor name '{name}' appears twice");
            DTypeCode(t.DType);  // fail before writing anything
            entries.Add((name, t.Detach().To(null, Device.Cpu).Contiguous()));
        }

        var header = EncodeHeader(entries, metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var (_, data) in entries) TensorBytes.Write(stream, data);
        }, createDirectory: true);
    }

    /// <summary>Saves a module's state dict (parameters and persistent buffers under their dotted names).</summary>
    public static void Save(string path, Module module, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var scope = DisposeScope.Enter();
        Save(path, module.StateDict(), metadata);
    }

    /// <summary>Saves an optimizer's state (tensors plus its parameter groups as metadata).</summary>
    public static void Save(string path, Optimizer optimizer)
    {
        using var scope = DisposeScope.Enter();
        var (tensors, metadata) = optimizer.StateDict().ToTensors();
        Save(path, tensors, metadata);
    }

    private static byte[] EncodeHeader(List<(string Name, Tensor Data)> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new MemoryStream();
        // Names stay readable UTF-8, as the reference implementation writes them.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata) json.WriteString(k, v);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, data) in entries)
            {
                long bytes = data.NumEl * data.DType.ElementSize();
                json.WriteStartObject(name);
                json.WriteString("dtype", DTypeCode(data.DType));
                json.WriteStartArray("shape");
                foreach (var s in data.Shape) json.WriteNumberValue(s);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        while (buffer.Length % 8 != 0) buffer.WriteByte((byte)' ');  // keeps the data section 8-byte aligned
        return buffer.ToArray();
    }

    // ---- reading

    /// <summary>Reads and validates the header only.</summary>
    public static (IReadOnlyList<SafeTensorInfo> Tensors, IReadOnlyDictionary<string, string> Metadata) ReadHeader(string path)
    {
        using var stream = OpenRead(path);
        return ReadHeader(stream, path, out _);
    }

    /// <summary>Reads every tensor (onto <paramref name="device"/>, CPU by default) and the metadata.</summary>
    public static SafeTensorsContent Read(string path, Device? device = null)
    {
        TensorBytes.EnsureLittleEndian("safetensors");
        using var stream = OpenRead(path);
        var (infos, metadata) = ReadHeader(stream, path, out long dataStart);
        var tensors = new OrderedDictionary<string, Tensor>();
        try
        {
            foreach (var info in infos)
            {
                var t = ReadTensor(stream, dataStart, info, path);
                tensors[info.Name] = device is { } d && d != Device.Cpu ? TensorBytes.MoveTo(t, d) : t;
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return new SafeTensorsContent(tensors, metadata);
    }

    /// <summary>Reads every tensor of a file, in file order.</summary>
    public static OrderedDictionary<string, Tensor> Load(string path, Device? device = null) => Read(path, device).Tensors;

    /// <summary>
    /// Loads a state dict file into <paramref name="module"/> (see <see cref="Module.LoadStateDict"/>):
    /// a missing, unexpected (when strict) or mis-shaped tensor fails with its name and the file's.
    /// </summary>
    public static StateDictLoadResult LoadInto(Module module, string path, bool strict = true)
    {
        using var scope = DisposeScope.Enter();
        var tensors = Load(path);
        try
        {
            return module.LoadStateDict(tensors, strict);
        }
        catch (StateDictException e)
        {
            throw new StateDictException($"{module.GetType().Name} from {path}", e.MissingKeys, e.UnexpectedKeys, e.SizeMismatches);
        }
    }

    /// <summary>Reads an optimizer state written by <see cref="Save(string, Optimizer)"/>.
    /// Its tensors belong to the caller (or the current dispose scope).</summary>
    public static OptimizerStateDict LoadOptimizerState(string path)
    {
        var content = Read(path);
        return OptimizerStateDict.FromTensors(content.Tensors, content.Metadata, path);
    }

    private static FileStream OpenRead(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file not found: {path}", path);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
    }

    private static Tensor ReadTensor(Stream stream, long dataStart, SafeTensorInfo info, string path)
    {
        var t = Tensor.Empty(info.Shape, info.DType);
        if (info.ByteLength == 0) return t;
        try
        {
            stream.Position = dataStart + info.Begin;
            TensorBytes.ReadInto(stream, t, info.ByteLength);
            return t;
        }
        catch (EndOfStreamException e)
        {
            t.Dispose();
            throw new InvalidDataException($"{path}: tensor '{info.Name}' is truncated", e);
        }
    }

    private static (IReadOnlyList<SafeTensorInfo>, IReadOnlyDictionary<string, string>) ReadHeader(Stream stream, string path, out long dataStart)
    {
        long fileLength = stream.Length;
        Span<byte> lengthBytes = stackalloc byte[8];
        if (fileLength < 8) throw new InvalidDataException($"{path}: {fileLength} bytes is too short for a safetensors file");
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > MaxHeaderBytes || (long)headerLength > fileLength - 8)
            throw new InvalidDataException($"{path}: header length {headerLength} does not fit the {fileLength}-byte file (not a safetensors file?)");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;

        // JSON is UTF-8 (RFC 8259); System.Text.Json checks a string's bytes only when it is read, and
        // then throws InvalidOperationException: check the whole header up front.
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw new InvalidDataException($"{path}: the header is not valid UTF-8 text");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: the header is not valid JSON ({e.Message})", e); }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: the header is not a JSON object");

        var metadata = new Dictionary<string, string>();
        var infos = new List<SafeTensorInfo>();
        try { ReadEntries(doc.RootElement, path, dataLength, metadata, infos); }
        catch (InvalidOperationException e)
        {
            // An escaped lone surrogate ("\ud800") is valid JSON but no text: reading it as a string throws.
            throw new InvalidDataException($"{path}: the header holds a name or string that is not valid text ({e.Message})", e);
        }

        // The tensors must tile the data section exactly: no overlap, no gap, nothing after.
        long expected = 0;
        foreach (var info in infos.OrderBy(i => i.Begin).ThenBy(i => i.End))
        {
            if (info.Begin != expected)
                throw new InvalidDataException(info.Begin < expected
                    ? $"{path}: tensor '{info.Name}' (bytes {info.Begin}–{info.End}) overlaps the tensor before it"
                    : $"{path}: tensor '{info.Name}' starts at byte {info.Begin}, leaving a gap after byte {expected}");
            expected = info.End;
        }
        if (expected != dataLength)
            throw new InvalidDataException($"{path}: the data section holds {dataLength} bytes but the tensors cover {expected}");
        return (infos.OrderBy(i => i.Begin).ToList(), metadata);
    }

    /// <summary>The header's entries: metadata strings and tensor infos.</summary>
    private static void ReadEntries(JsonElement root, string path, long dataLength, Dictionary<string, string> metadata, List<SafeTensorInfo> infos)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var prop in root.EnumerateObject())
        {
            if (!names.Add(prop.Name)) throw new InvalidDataException($"{path}: header names '{prop.Name}' twice");
            if (prop.Name == MetadataKey)
            {
                if (prop.Value.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: __metadata__ is not an object");
                foreach (var m in prop.Value.EnumerateObject())
                    metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()!
                        : throw new InvalidDataException($"{path}: __metadata__.{m.Name} is not a string");
                continue;
            }
            infos.Add(ParseEntry(prop, path, dataLength));
        }
    }

    private static SafeTensorInfo ParseEntry(JsonProperty prop, string path, long dataLength)
    {
        string where = $"{path}: tensor '{prop.Name}'";
        var e = prop.Value;
        if (e.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where}: header entry is not an object");
        if (!e.TryGetProperty("dtype", out var dtypeJson) || dtypeJson.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"{where}: missing string field 'dtype'");
        var code = dtypeJson.GetString();
        var match = Codes.FirstOrDefault(c => c.Code == code);
        if (match.Code is null)
            throw new InvalidDataException($"{where}: unsupported dtype '{code}' (supported: {string.Join(", ", Codes.Select(c => c.Code))})");
        if (!e.TryGetProperty("shape", out var shapeJson) || shapeJson.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{where}: missing array field 'shape'");
        if (shapeJson.GetArrayLength() > TensorBytes.MaxRank)
            throw new InvalidDataException($"{where}: shape has {shapeJson.GetArrayLength()} dimensions, more than the {TensorBytes.MaxRank} supported");
        var shape = new long[shapeJson.GetArrayLength()];
        int k = 0;
        foreach (var s in shapeJson.EnumerateArray())
        {
            if (s.ValueKind != JsonValueKind.Number || !s.TryGetInt64(out var v) || v < 0)
                throw new InvalidDataException($"{where}: shape [{shapeJson}] is not a list of non-negative integers");
            shape[k++] = v;
        }
        if (!e.TryGetProperty("data_offsets", out var offJson) || offJson.ValueKind != JsonValueKind.Array || offJson.GetArrayLength() != 2
            || !offJson[0].TryGetInt64(out var begin) || !offJson[1].TryGetInt64(out var end))
            throw new InvalidDataException($"{where}: 'data_offsets' must be [begin, end]");
        if (begin < 0 || end < begin || end > dataLength)
            throw new InvalidDataException($"{where}: data_offsets [{begin}, {end}] lie outside the {dataLength}-byte data section (truncated file?)");
        long count = 1;
        try { foreach (var s in shape) count = checked(count * s); count = checked(count * match.DType.ElementSize()); }
        catch (OverflowException) { throw new InvalidDataException($"{where}: shape [{string.Join(", ", shape)}] is too large"); }
        if (count != end - begin)
            throw new InvalidDataException($"{where}: shape [{string.Join(", ", shape)}] of {code} needs {count} bytes but data_offsets span {end - begin}");
        return new SafeTensorInfo(prop.Name, match.DType, shape, begin, end);
    }

}
