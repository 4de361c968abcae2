using System.Reflection;
using System.Text;
using System.Text.Json;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models;

/// <summary>
/// The JSON config a model file keeps under the "mlnetseg" key of its safetensors metadata
/// (format version 1), written and read field by field so that every problem is named:
/// <code>
/// {"format_version": 1, "producer": "MLNetSeg",
///  "model": {"type": "maskrcnn", "version": 1, "backbone": "resnet50", "fpn_version": 1,
///            "num_classes": 91, "num_keypoints": null, "dtype": "float32"},
///  "classes": {"names": ["__background__", ...], "category_ids": [0, ...]},
///  "keypoints": null | {"names": [...], "skeleton": [[0, 1], ...] (0-based), "flip_map": [...]},
///  "preprocessing": {"input": "RGB, pixel / 255", "image_mean": [...], "image_std": [...],
///                    "min_size": 800, "max_size": 1333, "size_divisible": 32},
///  "options": {"rpn_pre_nms_top_n_train": 2000, ...every other RcnnOptions setting, snake_case},
///  "properties": {string: string}}
/// </code>
/// </summary>
internal static class ModelFileConfig
{
    public const string MetadataKey = "mlnetseg";
    private const string InputConvention = "RGB, pixel / 255";

    /// <summary>RcnnOptions settings stored outside "options" (in "model" and "preprocessing").</summary>
    private static readonly HashSet<string> StoredElsewhere = new(StringComparer.Ordinal)
    {
        nameof(RcnnOptions.NumClasses), nameof(RcnnOptions.NumKeypoints), nameof(RcnnOptions.MinSize), nameof(RcnnOptions.MaxSize),
        nameof(RcnnOptions.ImageMean), nameof(RcnnOptions.ImageStd), nameof(RcnnOptions.SizeDivisible),
    };

    /// <summary>Every other settable RcnnOptions property, by its snake_case name. Read by reflection
    /// so that a setting added to RcnnOptions is stored without touching this file.</summary>
    private static readonly IReadOnlyDictionary<string, PropertyInfo> OptionProperties =
        typeof(RcnnOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.GetIndexParameters().Length == 0 && !StoredElsewhere.Contains(p.Name))
            .ToDictionary(p => SnakeCase(p.Name), StringComparer.Ordinal);

    // ---- writing

    public static string Write(ModelFileInfo info, DType dtype)
    {
        var arch = info.Architecture!;
        var options = info.Options!;
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteNumber("format_version", ModelFileInfo.CurrentFormatVersion);
            w.WriteString("producer", "MLNetSeg");

            w.WriteStartObject("model");
            w.WriteString("type", arch.ModelType);
            w.WriteNumber("version", arch.Version);
            w.WriteString("backbone", arch.BackboneName);
            w.WriteNumber("fpn_version", arch.FpnVersion);
            w.WriteNumber("num_classes", arch.NumClasses);
            if (arch.NumKeypoints is { } k) w.WriteNumber("num_keypoints", k); else w.WriteNull("num_keypoints");
            w.WriteStartObject("widths");
            w.WriteNumber("backbone", arch.Widths.Backbone);
            w.WriteNumber("fpn", arch.Widths.Fpn);
            w.WriteNumber("box_head", arch.Widths.BoxHead);
            w.WriteNumber("mask_head", arch.Widths.MaskHead);
            w.WriteNumber("keypoint_head", arch.Widths.KeypointHead);
            w.WriteEndObject();
            w.WriteString("dtype", dtype.ToString().ToLowerInvariant());
            w.WriteEndObject();

            w.WriteStartObject("classes");
            WriteStrings(w, "names", info.ClassNames);
            WriteInts(w, "category_ids", info.LabelToCategoryId);
            w.WriteEndObject();

            if (info.Keypoints is { } schema)
            {
                w.WriteStartObject("keypoints");
                WriteStrings(w, "names", schema.Names);
                w.WriteStartArray("skeleton");
                foreach (var (from, to) in schema.Skeleton)
                {
                    w.WriteStartArray();
                    w.WriteNumberValue(from);
                    w.WriteNumberValue(to);
                    w.WriteEndArray();
                }
                w.WriteEndArray();
                WriteInts(w, "flip_map", schema.FlipMap);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("keypoints");
            }

            w.WriteStartObject("preprocessing");
            w.WriteString("input", InputConvention);
            WriteDoubles(w, "image_mean", options.ImageMean);
            WriteDoubles(w, "image_std", options.ImageStd);
            w.WriteNumber("min_size", options.MinSize);
            w.WriteNumber("max_size", options.MaxSize);
            w.WriteNumber("size_divisible", options.SizeDivisible);
            w.WriteEndObject();

            w.WriteStartObject("options");
            foreach (var (name, property) in OptionProperties.OrderBy(p => p.Value.MetadataToken))
                WriteValue(w, name, property.PropertyType, property.GetValue(options));
            w.WriteEndObject();

            w.WriteStartObject("properties");
            foreach (var (key, value) in info.Properties ?? new Dictionary<string, string>())
                w.WriteString(key, value);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The options as JSON text, for comparing two RcnnOptions by value.</summary>
    public static string OptionsFingerprint(RcnnOptions options)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            foreach (var p in typeof(RcnnOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).OrderBy(p => p.Name))
                WriteValue(w, p.Name, p.PropertyType, p.GetValue(options));
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteValue(Utf8JsonWriter w, string name, Type type, object? value)
    {
        switch (value)
        {
            case null: w.WriteNull(name); break;
            case int i: w.WriteNumber(name, i); break;
            case long l: w.WriteNumber(name, l); break;
            case double d: w.WriteNumber(name, d); break;
            case bool b: w.WriteBoolean(name, b); break;
            case string s: w.WriteString(name, s); break;
            case Enum e: w.WriteString(name, e.ToString()); break;
            case IReadOnlyList<double> ds: WriteDoubles(w, name, ds); break;
            case IReadOnlyList<int> ints: WriteInts(w, name, ints); break;
            default:
                throw new NotSupportedException($"RcnnOptions.{name} of type {type.Name} cannot be stored in a model file yet: teach ModelFileConfig its type");
        }
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static void WriteInts(Utf8JsonWriter w, string name, IEnumerable<int> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    private static void WriteDoubles(Utf8JsonWriter w, string name, IEnumerable<double> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    // ---- reading

    /// <summary>Parses the config of <paramref name="path"/>; every failure is a <see cref="ModelFileException"/>
    /// naming the file and the field.</summary>
    public static (ModelFileInfo Info, DType DType) Read(string json, string path)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new ModelFileException(path, $"the \"{MetadataKey}\" config is not valid JSON ({e.Message})", e); }
        using var _ = doc;
        var root = new Field(doc.RootElement, "", path);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new ModelFileException(path, $"the \"{MetadataKey}\" config is {doc.RootElement.ValueKind}, not a JSON object");

        // The version first: a newer file may be laid out differently.
        int formatVersion = root.Get("format_version").Int();
        if (formatVersion > ModelFileInfo.CurrentFormatVersion)
            throw new ModelFileException(path, $"model file format version {formatVersion} is newer than this build of MLNetSeg reads " +
                                               $"(format version {ModelFileInfo.CurrentFormatVersion}); update MLNetSeg to load it");
        if (formatVersion < 1) throw root.Get("format_version").Invalid($"{formatVersion} is not a format version (they start at 1)");

        var model = root.Get("model");
        var arch = new ModelArchitecture
        {
            ModelType = model.Get("type").String(),
            Version = model.Get("version").Int(),
            Backbone = model.Get("backbone").Parse(ParseBackbone),
            FpnVersion = model.Get("fpn_version").Int(),
            NumClasses = model.Get("num_classes").Int(),
            NumKeypoints = model.Get("num_keypoints").NullableInt(),
            Widths = formatVersion >= 2 ? ReadWidths(model.Get("widths")) : DetectorWidths.Torchvision,
        };
        try { arch.Validate(); }
        catch (ArgumentException e) { throw model.Invalid(e.Message); }
        var dtype = model.Get("dtype").Parse(ParseDType);

        var classes = root.Get("classes");
        var names = classes.Get("names").Array(e => e.String());
        var categoryIds = classes.Get("category_ids").Array(e => e.Int());

        KeypointSchema? keypoints = null;
        var keypointsField = root.Get("keypoints");
        if (!keypointsField.IsNull)
        {
            var kpNames = keypointsField.Get("names").Array(e => e.String());
            var skeleton = keypointsField.Get("skeleton").Array(edge =>
            {
                var ends = edge.Array(e => e.Int());
                return ends.Length == 2 ? (ends[0], ends[1]) : throw edge.Invalid($"an edge has 2 keypoint indices, not {ends.Length}");
            });
            var flipMap = keypointsField.Get("flip_map").Array(e => e.Int());
            try { keypoints = new KeypointSchema(kpNames, skeleton, flipMap); }
            catch (ArgumentException e) { throw keypointsField.Invalid(e.Message); }
        }

        var pre = root.Get("preprocessing");
        string input = pre.Get("input").String();
        if (input != InputConvention)
            throw pre.Get("input").Invalid($"'{input}' is not an input convention this build knows ('{InputConvention}')");
        var options = new RcnnOptions
        {
            NumClasses = arch.NumClasses,
            ImageMean = pre.Get("image_mean").Array(e => e.Double()),
            ImageStd = pre.Get("image_std").Array(e => e.Double()),
            MinSize = pre.Get("min_size").Int(),
            MaxSize = pre.Get("max_size").Int(),
            SizeDivisible = pre.Get("size_divisible").Int(),
        };
        if (arch.NumKeypoints is { } k) options = options with { NumKeypoints = k };
        ReadOptions(root.Get("options"), options);

        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in root.Get("properties").Object()) properties[key] = value.String();

        var info = new ModelFileInfo
        {
            ClassNames = names,
            CategoryIds = categoryIds,
            Keypoints = keypoints,
            Properties = properties,
            Architecture = arch,
            Options = options,
            FormatVersion = formatVersion,
        };
        if (info.ClassProblem(arch.NumClasses) is { } problem) throw classes.Invalid(problem);
        if ((keypoints is null) != (arch.NumKeypoints is null) || (keypoints is not null && keypoints.Count != arch.NumKeypoints))
            throw keypointsField.Invalid($"{(keypoints is null ? "no" : keypoints.Count.ToString())} keypoint names for a model with " +
                                         $"{(arch.NumKeypoints is null ? "no" : arch.NumKeypoints.ToString())} keypoints");
        return (info, dtype);
    }

    private static DetectorWidths ReadWidths(Field widths) => new()
    {
        Backbone = widths.Get("backbone").Int(),
        Fpn = widths.Get("fpn").Int(),
        BoxHead = widths.Get("box_head").Int(),
        MaskHead = widths.Get("mask_head").Int(),
        KeypointHead = widths.Get("keypoint_head").Int(),
    };

    /// <summary>Sets each stored setting on a fresh <paramref name="options"/> (not yet shared). Settings the
    /// file does not have keep their defaults; settings this build does not know are refused.</summary>
    private static void ReadOptions(Field field, RcnnOptions options)
    {
        foreach (var (name, value) in field.Object())
        {
            if (!OptionProperties.TryGetValue(name, out var property))
                throw value.Invalid("not a setting this build of MLNetSeg knows (written by a newer version?)");
            property.SetValue(options, ReadValue(value, property.PropertyType));
        }
    }

    private static object? ReadValue(Field value, Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (underlying is not null) return value.IsNull ? null : ReadValue(value, underlying);
        if (type == typeof(int)) return value.Int();
        if (type == typeof(long)) return value.Long();
        if (type == typeof(double)) return value.Double();
        if (type == typeof(bool)) return value.Bool();
        if (type == typeof(string)) return value.IsNull ? null : value.String();
        if (type.IsEnum) return value.Parse(s => Enum.Parse(type, s, ignoreCase: false));
        if (type == typeof(IReadOnlyList<double>)) return value.Array(e => e.Double());
        if (type == typeof(IReadOnlyList<int>)) return value.Array(e => e.Int());
        throw new NotSupportedException($"RcnnOptions setting of type {type.Name} cannot be read from a model file yet");
    }

    private static ResNetDepth ParseBackbone(string name) =>
        ModelArchitecture.BackboneNames.FirstOrDefault(b => b.Name == name) is { Name: not null } match ? match.Depth
            : throw new FormatException($"'{name}' is not a backbone this build knows ({string.Join(", ", ModelArchitecture.BackboneNames.Select(b => b.Name))})");

    private static DType ParseDType(string name) =>
        name switch
        {
            "float32" => DType.Float32,
            "float64" => DType.Float64,
            "float16" => DType.Float16,
            "bfloat16" => DType.BFloat16,
            _ => throw new FormatException($"'{name}' is not a floating-point dtype (float32, float64, float16, bfloat16)"),
        };

    /// <summary>"RpnPreNmsTopNTrain" → "rpn_pre_nms_top_n_train".</summary>
    internal static string SnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c) && i > 0 &&
                (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]) && char.IsUpper(name[i - 1]))))
                sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    /// <summary>A JSON value with its dotted location, for messages like "file: config field 'model.version' ...".</summary>
    private readonly struct Field(JsonElement element, string location, string path)
    {
        public bool IsNull => element.ValueKind == JsonValueKind.Null;

        public Field Get(string name)
        {
            string where = location.Length == 0 ? name : $"{location}.{name}";
            if (element.ValueKind != JsonValueKind.Object)
                throw Invalid($"expected an object, got {Describe(element)}");
            if (!element.TryGetProperty(name, out var child))
                throw new ModelFileException(path, $"config field '{where}' is missing");
            return new Field(child, where, path);
        }

        public IEnumerable<(string Name, Field Value)> Object()
        {
            if (element.ValueKind != JsonValueKind.Object) throw Invalid($"expected an object, got {Describe(element)}");
            foreach (var p in element.EnumerateObject())
                yield return (p.Name, new Field(p.Value, $"{location}.{p.Name}", path));
        }

        public T[] Array<T>(Func<Field, T> read)
        {
            if (element.ValueKind != JsonValueKind.Array) throw Invalid($"expected an array, got {Describe(element)}");
            var result = new T[element.GetArrayLength()];
            int i = 0;
            foreach (var e in element.EnumerateArray())
            {
                result[i] = read(new Field(e, $"{location}[{i}]", path));
                i++;
            }
            return result;
        }

        public string String() =>
            element.ValueKind == JsonValueKind.String ? element.GetString()! : throw Invalid($"expected a string, got {Describe(element)}");

        public int Int() =>
            element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out var v) ? v : throw Invalid($"expected a 32-bit integer, got {Describe(element)}");

        public int? NullableInt() => IsNull ? null : Int();

        public long Long() =>
            element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out var v) ? v : throw Invalid($"expected an integer, got {Describe(element)}");

        public double Double() =>
            element.ValueKind == JsonValueKind.Number ? element.GetDouble() : throw Invalid($"expected a number, got {Describe(element)}");

        public bool Bool() =>
            element.ValueKind is JsonValueKind.True or JsonValueKind.False ? element.GetBoolean() : throw Invalid($"expected true or false, got {Describe(element)}");

        public T Parse<T>(Func<string, T> parse)
        {
            string text = String();
            try { return parse(text); }
            catch (Exception e) when (e is FormatException or ArgumentException) { throw Invalid(e.Message); }
        }

        public ModelFileException Invalid(string problem) => new(path, $"config field '{location}': {problem}");

        private static string Describe(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.String or JsonValueKind.Number => $"{e.ValueKind.ToString().ToLowerInvariant()} {e.GetRawText()}",
            var kind => kind.ToString().ToLowerInvariant(),
        };
    }
}
