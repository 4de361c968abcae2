// TorchSharp's own state-dict format: what `module.save(path)` writes and `module.load(path)` reads
// (dotnet/TorchSharp, read at c20b6a1c = 0.107.0; the layout has not changed since it appeared in
// April 2021, commit 2ae62a7f; the .NET Framework port (2022) and the >2 GB streaming rewrite
// (7a1b0b71, 2024) kept the bytes):
//
//   file  = LEB128(count) entry*count                       NN/Module.cs, save_state_dict / load
//   entry = name tensor
//   name  = 7-bit encoded Int32 UTF-8 byte count, UTF-8     System.IO.BinaryWriter.Write(string)
//   tensor= LEB128(dtype) LEB128(rank) LEB128(dim)*rank     Tensor/TensorExtensionMethods.cs, Save / Load
//           raw data: numel * element size bytes, row-major, little-endian (the CPU tensor's memory,
//           Tensor.WriteBytesToStream; only contiguous tensors can be written)
//   LEB128= unsigned, 7 bits per byte, low group first, high bit = more follow   Utils/LEB128Codec.cs
//           (Encode refuses negative values; Decode sums groups into a long, so 10 groups can wrap negative)
//   dtype = TorchSharp's ScalarType (Tensor/Tensor.cs), equal to c10::ScalarType: 0 uint8, 1 int8,
//           2 int16, 3 int32, 4 int64, 5 float16, 6 float32, 7 float64, 9 complex64, 10 complex128,
//           11 bool, 12 qint8, 13 quint8, 14 qint32 (named in 0.107), 15 bfloat16.
//
// No magic number and no version: a file is recognised by its structure. Entries come in
// state_dict() order (TorchSharp: the module's parameters, recursively, then its buffers, then
// submodules; PyTorch orders per module), names are the same dotted paths as PyTorch's.
// TorchSharp's Python helper src/Python/exportsd.py writes the same format from a PyTorch state
// dict (its name length is the character count, equal for ASCII names; it writes code 4711 for a
// dtype it cannot encode). TorchSharp's load ignores bytes after the last entry; we refuse them.

using System.Buffers.Binary;
using System.Text;
using MLNetSeg.Torch.IO;
using MLNetSeg.Torch.Native;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Torch.Serialization;

/// <summary>What is wrong with a file <see cref="TorchSharpFormat"/> cannot read.</summary>
public enum TorchSharpFormatError
{
    /// <summary>The file does not start like a TorchSharp state dict (an entry count, then a name).</summary>
    NotTorchSharp,
    /// <summary>The file ends inside a value, an entry, or before the announced number of entries.</summary>
    Truncated,
    /// <summary>A dtype code TorchSharp does not define.</summary>
    UnknownDType,
    /// <summary>A dtype TorchSharp writes but MLNetSeg tensors do not have (complex, quantized, exportsd.py's 4711).</summary>
    UnsupportedDType,
    /// <summary>A negative, oversized or overflowing dimension, or an implausible rank.</summary>
    BadShape,
    /// <summary>An empty name, a name that is not UTF-8, or a malformed name length.</summary>
    BadName,
    /// <summary>Two entries with one name.</summary>
    DuplicateName,
    /// <summary>Bytes after the last entry.</summary>
    TrailingBytes,
}

/// <summary>A file that is not a readable TorchSharp state dict; the message names the file, the entry and what is wrong.</summary>
public sealed class TorchSharpFormatException : Exception
{
    /// <summary>An error found while reading <paramref name="path"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="error">The kind of problem.</param>
    /// <param name="offset">The byte offset where it was found.</param>
    /// <param name="entry">The name of the entry concerned, when it was read.</param>
    /// <param name="message">The full message (it names the file, the entry and the problem).</param>
    /// <param name="inner">The underlying error, if any.</param>
    public TorchSharpFormatException(string path, TorchSharpFormatError error, long offset, string? entry, string message, Exception? inner = null)
        : base(message, inner)
    {
        Path = path;
        Error = error;
        Offset = offset;
        Entry = entry;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The kind of problem.</summary>
    public TorchSharpFormatError Error { get; }

    /// <summary>The byte offset where the problem was found.</summary>
    public long Offset { get; }

    /// <summary>The name of the entry concerned, when it was read.</summary>
    public string? Entry { get; }
}

/// <summary>One entry of a TorchSharp state-dict file: its name, dtype, shape, and where its data starts.</summary>
/// <param name="Name">The entry's name (a state-dict key).</param>
/// <param name="DType">The element type.</param>
/// <param name="Shape">The sizes (empty for a 0-d tensor).</param>
/// <param name="DataOffset">Offset of the first data byte from the start of the file.</param>
/// <param name="ByteLength">Size of the data in bytes.</param>
public sealed record TorchSharpTensorInfo(string Name, DType DType, long[] Shape, long DataOffset, long ByteLength);

/// <summary>
/// Reads and writes TorchSharp's state-dict format: the files of <c>module.save(path)</c> /
/// <c>module.load(path)</c> in TorchSharp (the .NET binding of libtorch) and of its
/// <c>exportsd.py</c>. Reading validates the whole layout before any tensor is made, and every
/// failure is a <see cref="TorchSharpFormatException"/> naming the file, the entry and the problem.
/// TorchSharp writes no magic number, so <see cref="IsTorchSharpFile"/> recognises the format by
/// its structure. Tensors are little-endian on disk; only little-endian machines are supported.
/// </summary>
public static class TorchSharpFormat
{
    /// <summary>The most dimensions an entry may declare (a sanity bound: corrupt ranks would allocate huge shapes).</summary>
    public const int MaxRank = TensorBytes.MaxRank;

    /// <summary>The dtype code TorchSharp's exportsd.py writes for a PyTorch dtype it cannot encode.</summary>
    public const long ExportsdUnsupportedCode = 4711;

    private const int MaxFirstNameBytes = 4096;  // a longer first name means the file is something else

    private static readonly (long Code, DType DType)[] Supported =
    {
        (0, DType.UInt8), (1, DType.Int8), (2, DType.Int16), (3, DType.Int32), (4, DType.Int64),
        (5, DType.Float16), (6, DType.Float32), (7, DType.Float64), (11, DType.Bool), (15, DType.BFloat16),
    };

    // Codes TorchSharp (or libtorch) can write whose element types MLNetSeg has no tensors for.
    private static readonly Dictionary<long, string> Unsupported = new()
    {
        [8] = "ComplexFloat16 (complex32)", [9] = "ComplexFloat32 (complex64)", [10] = "ComplexFloat64 (complex128)",
        [12] = "QInt8 (quantized; TorchSharp saves no scale or zero point)", [13] = "QUInt8 (quantized; TorchSharp saves no scale or zero point)",
        [14] = "QInt32 (quantized; TorchSharp saves no scale or zero point)",
        [ExportsdUnsupportedCode] = "exportsd.py's code for a PyTorch dtype it cannot encode",
    };

    private const string Expected =
        "expected TorchSharp's module.save layout: a LEB128 entry count, then per entry a length-prefixed UTF-8 name " +
        "(BinaryWriter.Write(string)), the LEB128 dtype code, rank and dimensions, and the raw tensor bytes";

    /// <summary>The TorchSharp dtype code of <paramref name="dtype"/> (c10's ScalarType value).</summary>
    public static long DTypeCode(DType dtype)
    {
        foreach (var (code, d) in Supported)
            if (d == dtype) return code;
        throw new NotSupportedException($"TorchSharp has no dtype code for {dtype}");
    }

    // ---- recognising

    /// <summary>
    /// True when <paramref name="path"/> starts like a TorchSharp state dict: an entry count, then
    /// a complete first name of valid UTF-8 without whitespace or control characters (state-dict
    /// keys are dotted identifiers), i.e. when <see cref="Read"/> would not fail with
    /// <see cref="TorchSharpFormatError.NotTorchSharp"/>. Zip archives, pickles, safetensors and
    /// text fail it. A file that passes may still be damaged further on: <see cref="Read"/> says where.
    /// </summary>
    public static bool IsTorchSharpFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) return false;
        try
        {
            using var stream = OpenRead(path);
            ReadHeader(stream, path);  // seeks over the data: cheap
            return true;
        }
        catch (TorchSharpFormatException e)
        {
            return e.Error != TorchSharpFormatError.NotTorchSharp;
        }
    }

    /// <summary>State-dict keys are dotted identifiers: a first "name" with whitespace or control characters
    /// (the zero bytes of a safetensors header length, text) means the file is something else.</summary>
    private static bool LooksLikeAKey(string name) => !name.Any(c => char.IsWhiteSpace(c) || char.IsControl(c));

    // ---- reading

    /// <summary>Reads and validates the layout of the whole file (names, dtypes, shapes, sizes, nothing after the
    /// last entry) without reading tensor data.</summary>
    public static IReadOnlyList<TorchSharpTensorInfo> ReadHeader(string path)
    {
        using var stream = OpenRead(path);
        return ReadHeader(stream, path);
    }

    /// <summary>
    /// Reads every tensor, in file order, onto <paramref name="device"/> (CPU by default). The
    /// tensors belong to the current <see cref="DisposeScope"/> (or to the caller when none is open).
    /// </summary>
    public static OrderedDictionary<string, Tensor> Read(string path, Device? device = null)
    {
        TensorBytes.EnsureLittleEndian("TorchSharp file");
        using var stream = OpenRead(path);
        var infos = ReadHeader(stream, path);
        var tensors = new OrderedDictionary<string, Tensor>();
        try
        {
            foreach (var info in infos)
            {
                var t = ReadTensor(stream, info, path);
                tensors[info.Name] = device is { } d && d != Device.Cpu ? TensorBytes.MoveTo(t, d) : t;
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return tensors;
    }

    /// <summary>
    /// Loads a TorchSharp state-dict file into <paramref name="module"/> (see <see cref="Module.LoadStateDict"/>):
    /// a missing, unexpected (when strict) or mis-shaped tensor fails with its name and the file's.
    /// </summary>
    public static StateDictLoadResult LoadInto(Module module, string path, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        using var scope = DisposeScope.Enter();
        var tensors = Read(path);
        try
        {
            return module.LoadStateDict(tensors, strict);
        }
        catch (StateDictException e)
        {
            throw new StateDictException($"{module.GetType().Name} from {path}", e.MissingKeys, e.UnexpectedKeys, e.SizeMismatches);
        }
    }

    private static IReadOnlyList<TorchSharpTensorInfo> ReadHeader(FileStream stream, string path)
    {
        long length = stream.Length;
        if (length == 0)
            throw new TorchSharpFormatException(path, TorchSharpFormatError.NotTorchSharp, 0, null, $"{path}: the file is empty; {Expected}");
        var reader = new Reader(stream, path);
        var (count, countOverflow) = reader.Leb128("the entry count", notTorchSharp: true);
        if (countOverflow || count > int.MaxValue)
            throw reader.NotTorchSharp(0, $"the first bytes do not hold an entry count (LEB128 value {(countOverflow ? "over 64 bits" : count.ToString())})");
        if (count == 0 && length > 1)
            throw reader.NotTorchSharp(0, $"an entry count of 0 followed by {length - 1} bytes");

        var infos = new List<TorchSharpTensorInfo>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var utf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);
        for (int i = 0; i < (int)count; i++)
        {
            long entryStart = stream.Position;
            bool first = i == 0;  // until a first name reads, the file may be anything: NotTorchSharp
            if (entryStart == length)
                throw first ? reader.NotTorchSharp(entryStart, $"the file ends after an entry count of {count}")
                    : reader.Fail(TorchSharpFormatError.Truncated, entryStart, null, $"the file ends after {i} of the {count} entries it announces (truncated file)");
            string where = $"entry {i}";

            var (nameLength, lengthBad) = reader.Leb128($"the name length of {where}", maxBytes: 5, notTorchSharp: first);
            if (lengthBad || nameLength > int.MaxValue)
                throw first ? reader.NotTorchSharp(entryStart, "the first name length is not a 7-bit encoded Int32")
                    : reader.Fail(TorchSharpFormatError.BadName, entryStart, null, $"the name length of {where} is not a 7-bit encoded Int32 (BinaryWriter.Write(string))");
            if (nameLength == 0)
                throw first ? reader.NotTorchSharp(entryStart, "the first name is empty")
                    : reader.Fail(TorchSharpFormatError.BadName, entryStart, null, $"{where} has an empty name");
            if (first && nameLength > MaxFirstNameBytes)
                throw reader.NotTorchSharp(entryStart, $"the first name would be {nameLength} bytes long (state-dict keys are short)");
            if ((long)nameLength > length - stream.Position)
                throw first ? reader.NotTorchSharp(entryStart, $"the first name would be {nameLength} bytes, more than the {length - stream.Position} left")
                    : reader.Fail(TorchSharpFormatError.Truncated, stream.Position, null,
                        $"the {nameLength}-byte name of {where} runs past the end of the file ({length - stream.Position} bytes left; truncated file)");
            long nameStart = stream.Position;
            var nameBytes = reader.Bytes((int)nameLength, $"the name of {where}");  // its length was checked against the file
            string name;
            try { name = utf8.GetString(nameBytes); }
            catch (DecoderFallbackException e)
            {
                string hex = Convert.ToHexString(nameBytes, 0, Math.Min(nameBytes.Length, 16));
                throw first ? reader.NotTorchSharp(nameStart, $"the first name is not UTF-8 (bytes {hex}…)")
                    : reader.Fail(TorchSharpFormatError.BadName, nameStart, null, $"the name of {where} is not valid UTF-8 (bytes {hex}…)", e);
            }
            if (first && !LooksLikeAKey(name))
                throw reader.NotTorchSharp(nameStart, "the first name holds whitespace or control characters, unlike a state-dict key");
            if (!names.Add(name))
                throw reader.Fail(TorchSharpFormatError.DuplicateName, nameStart, name, $"{where} repeats the name '{name}'");
            string entry = $"'{name}' ({where})";

            long codeAt = stream.Position;
            var (code, codeOverflow) = reader.Leb128($"the dtype code of {entry}", entry: name);
            var dtype = ToDType(code, codeOverflow, reader, codeAt, name, entry);

            long rankAt = stream.Position;
            var (rank, rankOverflow) = reader.Leb128($"the rank of {entry}", entry: name);
            if (rankOverflow || rank > MaxRank)
                throw reader.Fail(TorchSharpFormatError.BadShape, rankAt, name,
                    $"{entry} declares {(rankOverflow ? "over 2^64" : rank.ToString())} dimensions (at most {MaxRank}; corrupt file)");
            var shape = new long[rank];
            for (int k = 0; k < shape.Length; k++)
            {
                long dimAt = stream.Position;
                var (dim, dimOverflow) = reader.Leb128($"dimension {k} of {entry}", entry: name);
                if (dimOverflow || dim > long.MaxValue)
                    throw reader.Fail(TorchSharpFormatError.BadShape, dimAt, name, dimOverflow
                        ? $"dimension {k} of {entry} does not fit in 64 bits (corrupt file)"
                        : $"dimension {k} of {entry} is negative ({(long)dim} as TorchSharp decodes it; corrupt file)");
                shape[k] = (long)dim;
            }
            long bytes;
            try
            {
                long numel = 1;
                foreach (var s in shape) numel = checked(numel * s);
                bytes = checked(numel * dtype.ElementSize());
            }
            catch (OverflowException)
            {
                throw reader.Fail(TorchSharpFormatError.BadShape, rankAt, name, $"{entry} has shape [{string.Join(", ", shape)}], more than 2^63 bytes (corrupt file)");
            }
            long dataAt = stream.Position;
            if (bytes > length - dataAt)
                throw reader.Fail(TorchSharpFormatError.Truncated, dataAt, name,
                    $"{entry}, [{string.Join(", ", shape)}] {dtype}, needs {bytes} data bytes at offset {dataAt} but the file has {length - dataAt} left " +
                    "(truncated file, or a corrupt shape)");
            infos.Add(new TorchSharpTensorInfo(name, dtype, shape, dataAt, bytes));
            stream.Seek(bytes, SeekOrigin.Current);
        }
        if (stream.Position != length)
            throw reader.Fail(TorchSharpFormatError.TrailingBytes, stream.Position, null,
                $"{length - stream.Position} byte{(length - stream.Position == 1 ? "" : "s")} follow the last of the {count} entries at offset {stream.Position} " +
                "(TorchSharp's load would ignore them; a second object written to the same stream, or not a TorchSharp state dict)");
        return infos;
    }

    private static DType ToDType(ulong code, bool overflow, Reader reader, long offset, string name, string entry)
    {
        foreach (var (c, d) in Supported)
            if ((ulong)c == code && !overflow) return d;
        if (!overflow && code <= long.MaxValue && Unsupported.TryGetValue((long)code, out var what))
            throw reader.Fail(TorchSharpFormatError.UnsupportedDType, offset, name,
                $"{entry} has dtype code {code} = {what}; MLNetSeg reads {SupportedList()}");
        throw reader.Fail(TorchSharpFormatError.UnknownDType, offset, name,
            $"{entry} has dtype code {(overflow ? "over 2^64" : code.ToString())}, which TorchSharp does not define (known: {SupportedList()}; corrupt file?)");
    }

    private static string SupportedList() => string.Join(", ", Supported.Select(s => $"{s.Code} {s.DType}"));

    private static Tensor ReadTensor(FileStream stream, TorchSharpTensorInfo info, string path)
    {
        var t = Tensor.Empty(info.Shape, info.DType);
        if (info.ByteLength == 0) return t;
        try
        {
            stream.Position = info.DataOffset;
            TensorBytes.ReadInto(stream, t, info.ByteLength);
            return t;
        }
        catch (EndOfStreamException e)
        {
            t.Dispose();  // the file shrank after its header was checked
            throw new TorchSharpFormatException(path, TorchSharpFormatError.Truncated, info.DataOffset, info.Name, $"{path}: the data of '{info.Name}' is truncated", e);
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    // ---- writing

    /// <summary>
    /// Writes <paramref name="tensors"/> (any device or layout; stored contiguous, in the given
    /// order) in TorchSharp's format, atomically (<see cref="AtomicFile"/>): TorchSharp's <c>module.load(path)</c> reads the
    /// file into a module whose state-dict names, dtypes and shapes are these.
    /// </summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        TensorBytes.EnsureLittleEndian("TorchSharp file");
        using var scope = DisposeScope.Enter();
        var entries = new List<(string Name, long Code, Tensor Data)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, t) in tensors)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("a tensor in a TorchSharp file needs a non-empty name", nameof(tensors));
            if (!names.Add(name)) throw new ArgumentException($"tensor name '{name}' appears twice", nameof(tensors));
            entries.Add((name, DTypeCode(t.DType), t.Detach().To(null, Device.Cpu).Contiguous()));
        }

        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, new UTF8Encoding(false), leaveOpen: true);
            WriteLeb128(writer, entries.Count);
            foreach (var (name, code, data) in entries)
            {
                writer.Write(name);  // the very call TorchSharp uses: 7-bit encoded byte count + UTF-8
                WriteLeb128(writer, code);
                WriteLeb128(writer, data.Shape.Length);
                foreach (var s in data.Shape) WriteLeb128(writer, s);
                writer.Flush();
                TensorBytes.Write(stream, data);
            }
        }, createDirectory: true);
    }

    /// <summary>Saves a module's state dict (parameters and persistent buffers under their dotted names), as TorchSharp's <c>module.save</c> does.</summary>
    public static void Save(string path, Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        using var scope = DisposeScope.Enter();
        Save(path, module.StateDict());
    }

    private static void WriteLeb128(BinaryWriter writer, long value)
    {
        if (value < 0) throw new ArgumentOutOfRangeException(nameof(value), value, "LEB128 encodes non-negative values only");
        ulong v = (ulong)value;
        do
        {
            byte b = (byte)(v & 0x7F);
            v >>= 7;
            writer.Write(v == 0 ? b : (byte)(b | 0x80));
        } while (v != 0);
    }

    // ---- helpers

    private static FileStream OpenRead(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"TorchSharp weights file not found: {path}", path);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
    }


    /// <summary>Byte-level reading with errors that name the file and the offset.</summary>
    private sealed class Reader(FileStream stream, string path)
    {
        /// <summary>An unsigned LEB128 value of at most <paramref name="maxBytes"/> bytes (10 for 64 bits; 5 for
        /// BinaryReader's 7-bit encoded Int32); Overflow when it does not fit.</summary>
        public (ulong Value, bool Overflow) Leb128(string what, int maxBytes = 10, bool notTorchSharp = false, string? entry = null)
        {
            long start = stream.Position;
            ulong result = 0;
            for (int i = 0; ; i++)
            {
                int b = stream.ReadByte();
                if (b < 0)
                    throw notTorchSharp ? NotTorchSharp(start, $"the file ends inside {what}")
                        : Fail(TorchSharpFormatError.Truncated, start, entry, $"the file ends inside {what} (truncated file)");
                if (i == maxBytes) return (0, true);
                ulong group = (ulong)(b & 0x7F);
                if (i == 9 && group > 1) return (0, true);  // bits beyond the 64th
                result |= group << (7 * i);
                if ((b & 0x80) == 0) return (result, false);
            }
        }

        public byte[] Bytes(int count, string what)
        {
            var bytes = new byte[count];
            try { stream.ReadExactly(bytes); }
            catch (EndOfStreamException e) { throw Fail(TorchSharpFormatError.Truncated, stream.Position, null, $"the file ends inside {what} (truncated file)", e); }
            return bytes;
        }

        public TorchSharpFormatException Fail(TorchSharpFormatError error, long offset, string? entry, string message, Exception? inner = null) =>
            new(path, error, offset, entry, $"{path}: {message} [TorchSharp format, offset {offset}]", inner);

        public TorchSharpFormatException NotTorchSharp(long offset, string detail)
        {
            var head = new byte[16];
            long saved = stream.Position;
            stream.Position = 0;
            int n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            stream.Position = saved;
            return new TorchSharpFormatException(path, TorchSharpFormatError.NotTorchSharp, offset, null,
                $"{path}: not a TorchSharp state dict: {detail}{Identify(head.AsSpan(0, n))}; {Expected} (first bytes: {Convert.ToHexString(head, 0, n)})");
        }

        private static string Identify(ReadOnlySpan<byte> head) =>
            head.Length >= 4 && head[0] == 'P' && head[1] == 'K' ? " (it is a zip archive, as torch.save writes since PyTorch 1.6: read it with PyTorchCheckpoint)"
            : head.Length >= 9 && head[8] == '{' && BinaryPrimitives.ReadUInt64LittleEndian(head) < 100_000_000 ? " (it looks like a safetensors file: read it with SafeTensors)"
            : head.Length >= 2 && head[0] == 0x80 && head[1] is >= 2 and <= 5 ? " (it may be a pickle, as legacy torch.save writes: read it with PyTorchCheckpoint)"
            : "";
    }
}
