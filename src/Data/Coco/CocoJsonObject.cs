using System.Globalization;
using System.Text.Json;
using MLNetSeg.Torch.IO;

namespace MLNetSeg.Data.Coco;

/// <summary>
/// Reads typed fields of one json object of a COCO file. Every failure becomes a
/// <see cref="CocoFormatException"/> prefixed with <see cref="Context"/> (file plus which image,
/// annotation or result) and the field name. Null values of optional fields count as absent.
/// </summary>
internal readonly struct CocoJsonObject
{
    private readonly string _source;
    private readonly string _list;
    private readonly int _index;
    private readonly string? _kind;
    private readonly long _id;
    private readonly long? _imageId;

    /// <summary>Item <paramref name="index"/> of the json list <paramref name="list"/> of file <paramref name="source"/>.</summary>
    public CocoJsonObject(JsonElement element, string source, string list, int index)
        : this(element, source, list, index, null, 0, null) { }

    private CocoJsonObject(JsonElement element, string source, string list, int index, string? kind, long id, long? imageId)
    {
        Element = element;
        _source = source;
        _list = list;
        _index = index;
        _kind = kind;
        _id = id;
        _imageId = imageId;
    }

    public JsonElement Element { get; }

    public string Source => _source;

    /// <summary>
    /// Where this object is, for messages: "train.json: annotation 17 (image 3)" once the ids are
    /// known, "train.json: annotations[4]" before. Built only when a message needs it.
    /// </summary>
    public string Context
    {
        get
        {
            string where = _kind is null ? $"{_source}: {Position(_list, _index)}" : $"{_source}: {_kind} {_id}";
            return _imageId is long image ? $"{where} (image {image})" : where;
        }
    }

    /// <summary>Results have no ids, so they are named by their index in the list.</summary>
    public static string Position(string list, int index) => list == "result" ? $"result {index}" : $"{list}[{index}]";

    public CocoJsonObject Identified(string kind, long id) => new(Element, _source, _list, _index, kind, id, _imageId);

    public CocoJsonObject OnImage(long imageId) => new(Element, _source, _list, _index, _kind, _id, imageId);

    public CocoFormatException Error(string field, string message) => new($"{Context}: '{field}' {message}");

    public bool TryGet(string name, out JsonElement value)
    {
        if (Element.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null) return true;
        value = default;
        return false;
    }

    public long RequiredInt64(string name) =>
        TryGet(name, out var v) ? AsInt64(v, name) : throw Error(name, "is missing");

    public long? OptionalInt64(string name) => TryGet(name, out var v) ? AsInt64(v, name) : null;

    public int RequiredPositiveInt32(string name)
    {
        long value = RequiredInt64(name);
        if (value <= 0 || value > int.MaxValue) throw Error(name, $"must be a positive integer, got {value}");
        return (int)value;
    }

    public double RequiredNumber(string name) =>
        TryGet(name, out var v) ? AsNumber(v, name) : throw Error(name, "is missing");

    public double? OptionalNumber(string name) => TryGet(name, out var v) ? AsNumber(v, name) : null;

    public string? OptionalString(string name)
    {
        if (!TryGet(name, out var v)) return null;
        return v.ValueKind == JsonValueKind.String ? AsString(v, name) : throw Error(name, $"must be a string, got {Describe(v)}");
    }

    /// <summary>A 0/1 (or true/false) flag such as "iscrowd"; absent means false.</summary>
    public bool OptionalFlag(string name)
    {
        if (!TryGet(name, out var v)) return false;
        switch (v.ValueKind)
        {
            case JsonValueKind.True: return true;
            case JsonValueKind.False: return false;
            case JsonValueKind.Number when v.TryGetInt64(out long n) && (n == 0 || n == 1): return n == 1;
            default: throw Error(name, $"must be 0 or 1, got {Describe(v)}");
        }
    }

    public double[]? OptionalNumbers(string name)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Array) throw Error(name, $"must be a list of numbers, got {Describe(v)}");
        var values = new double[v.GetArrayLength()];
        int i = 0;
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number)
                throw Error(name, $"must be a list of numbers, but item {i} is {Describe(item)}");
            values[i++] = item.GetDouble();
        }
        return values;
    }

    public IReadOnlyList<string>? OptionalStrings(string name)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Array) throw Error(name, $"must be a list of strings, got {Describe(v)}");
        var values = new List<string>(v.GetArrayLength());
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
                throw Error(name, $"must be a list of strings, but item {values.Count} is {Describe(item)}");
            values.Add(AsString(item, name));
        }
        return values;
    }

    public IReadOnlyList<int[]>? OptionalIntPairs(string name)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Array) throw Error(name, $"must be a list of [a, b] pairs, got {Describe(v)}");
        var pairs = new List<int[]>(v.GetArrayLength());
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Array || item.GetArrayLength() != 2)
                throw Error(name, $"must be a list of [a, b] pairs, but item {pairs.Count} is {Describe(item)}");
            var pair = new int[2];
            int j = 0;
            foreach (var x in item.EnumerateArray())
            {
                if (x.ValueKind != JsonValueKind.Number || !x.TryGetInt32(out pair[j]))
                    throw Error(name, $"item {pairs.Count} must hold integers, got {Describe(x)}");
                j++;
            }
            pairs.Add(pair);
        }
        return pairs;
    }

    public CocoSegmentation? OptionalSegmentation(string name)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind == JsonValueKind.Array) return ReadPolygons(v, name);
        if (v.ValueKind == JsonValueKind.Object) return ReadRle(v, name);
        throw Error(name, $"must be a list of polygons or an RLE object {{counts, size}}, got {Describe(v)}");
    }

    private CocoPolygons ReadPolygons(JsonElement v, string name)
    {
        var polygons = new List<double[]>(v.GetArrayLength());
        foreach (var poly in v.EnumerateArray())
        {
            int index = polygons.Count;
            if (poly.ValueKind != JsonValueKind.Array)
                throw Error(name, $"polygon {index} must be a list of numbers, got {Describe(poly)}");
            var coords = new double[poly.GetArrayLength()];
            int i = 0;
            foreach (var x in poly.EnumerateArray())
            {
                if (x.ValueKind != JsonValueKind.Number)
                    throw Error(name, $"polygon {index} must be a list of numbers, but item {i} is {Describe(x)}");
                coords[i++] = x.GetDouble();
            }
            if (coords.Length % 2 != 0)
                throw Error(name, $"polygon {index} must have an even number of coordinates (x, y pairs), got {coords.Length}");
            polygons.Add(coords);
        }
        return new CocoPolygons(polygons);
    }

    private CocoSegmentation ReadRle(JsonElement v, string name)
    {
        if (!v.TryGetProperty("size", out var size) || size.ValueKind != JsonValueKind.Array || size.GetArrayLength() != 2)
            throw Error(name, $"RLE must have 'size': [height, width], got {(v.TryGetProperty("size", out var s) ? Describe(s) : "none")}");
        var hw = new int[2];
        int k = 0;
        foreach (var x in size.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.Number || !x.TryGetInt32(out hw[k]) || hw[k] < 0)
                throw Error(name, $"RLE 'size' must be two non-negative integers [height, width], got {Describe(size)}");
            k++;
        }
        if (!v.TryGetProperty("counts", out var counts))
            throw Error(name, "RLE must have 'counts'");
        if (counts.ValueKind == JsonValueKind.String)
            return new CocoCompressedRle(hw[0], hw[1], AsString(counts, name));
        if (counts.ValueKind != JsonValueKind.Array)
            throw Error(name, $"RLE 'counts' must be a string (compressed) or a list of integers (uncompressed), got {Describe(counts)}");
        var runs = new uint[counts.GetArrayLength()];
        int i = 0;
        long total = 0;
        foreach (var x in counts.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.Number || !x.TryGetUInt32(out runs[i]))
                throw Error(name, $"RLE 'counts' item {i} must be a non-negative integer, got {Describe(x)}");
            total += runs[i++];
        }
        if (total != (long)hw[0] * hw[1])
            throw Error(name, $"RLE 'counts' add up to {total} pixels, but 'size' [{hw[0]}, {hw[1]}] has {(long)hw[0] * hw[1]}");
        return new CocoUncompressedRle(hw[0], hw[1], runs);
    }

    /// <summary>A string value; an escaped lone surrogate ("\ud800"), valid JSON but no text, is a format error.</summary>
    private string AsString(JsonElement v, string name)
    {
        try
        {
            return v.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw new CocoFormatException($"{Context}: '{name}' is not valid text ({e.Message})", e);
        }
    }

    private long AsInt64(JsonElement v, string name) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long n) ? n : throw Error(name, $"must be an integer, got {Describe(v)}");

    private double AsNumber(JsonElement v, string name) =>
        v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw Error(name, $"must be a number, got {Describe(v)}");

    /// <summary>A short description of a json value for error messages.</summary>
    public static string Describe(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Array => $"a list of {v.GetArrayLength()} items",
        JsonValueKind.Object => "an object",
        JsonValueKind.String => Truncate(v.GetRawText()),
        JsonValueKind.Number => Truncate(v.GetRawText()),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => "null",
    };

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..37] + "...";
}

/// <summary>Reading a COCO json file into a <see cref="JsonDocument"/> with file-and-position error messages.</summary>
internal static class CocoJsonFile
{
    public static byte[] ReadAllBytes(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"COCO json file not found: {path}", path);
        return File.ReadAllBytes(path);
    }

    public static JsonDocument Parse(ReadOnlyMemory<byte> utf8, string source)
    {
        // JSON is UTF-8 (RFC 8259). System.Text.Json only checks the bytes of a string when the string
        // is read, and then throws InvalidOperationException: check the whole file up front instead.
        if (!System.Text.Unicode.Utf8.IsValid(utf8.Span))
            throw new CocoFormatException(string.Create(CultureInfo.InvariantCulture,
                $"{source}: not valid UTF-8 at byte {FirstInvalidUtf8Byte(utf8.Span) + 1} (JSON files are UTF-8)"));
        try
        {
            return JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            // JsonException positions are 0-based; editors count from 1.
            string message = e.Message;
            int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
            if (cut >= 0) message = message[..cut];
            string where = e.LineNumber is long line
                ? string.Create(CultureInfo.InvariantCulture, $" at line {line + 1}, byte {e.BytePositionInLine + 1 ?? 1}")
                : "";
            throw new CocoFormatException($"{source}: malformed JSON{where}: {message}", e);
        }
    }

    /// <summary>Compressed RLE strings use the characters '0'..'o', among them '&lt;', '&gt;' and a backslash,
    /// which the default encoder escapes as HTML-sensitive. COCO files are not HTML: write the
    /// characters plainly, as pycocotools does (still valid JSON).</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes through a temporary file renamed into place (<see cref="AtomicFile"/>), so a failed save
    /// never leaves half a file; a failed write (e.g. a full disk) is an <see cref="IOException"/> naming the file.</summary>
    public static void WriteAtomically(string path, Action<Utf8JsonWriter> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        AtomicFile.Write(path, stream =>
        {
            using var writer = new Utf8JsonWriter(stream, WriterOptions);
            write(writer);
        });
    }

    private static int FirstInvalidUtf8Byte(ReadOnlySpan<byte> bytes)
    {
        int offset = 0;
        while (offset < bytes.Length)
        {
            if (System.Text.Rune.DecodeFromUtf8(bytes[offset..], out _, out int consumed) != System.Buffers.OperationStatus.Done) return offset;
            offset += consumed;
        }
        return offset;
    }
}
