using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models;

/// <summary>
/// The JSON config of a model file (the "mlnetseg" entry of its safetensors metadata). Format 3:
/// <code>
/// { "format_version": 3, "producer": "MLNetSeg", "family": "maskrcnn", "dtype": "float32",
///   "classes": { "names": [...], "category_ids": [...] }, "keypoints": { "names", "skeleton", "flip_map" } | null,
///   "properties": { ... }, "model": { the family's section } }
/// </code>
/// Formats 1 and 2 (R-CNN only) kept the R-CNN settings at the top level ("model", "preprocessing",
/// "options"); they are read by assembling that section, so old files keep loading.
/// </summary>
internal static class ModelFileConfig
{
    public const string MetadataKey = "mlnetseg";

    public static string Write(ISegmentationModel model, ModelFileInfo info, DType dtype)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteNumber("format_version", ModelFileInfo.CurrentFormatVersion);
            w.WriteString("producer", "MLNetSeg");
            w.WriteString("family", model.Family.Name);
            w.WriteString("dtype", DTypeName(dtype));

            w.WriteStartObject("classes");
            WriteArray(w, "names", info.ClassNames, w.WriteStringValue);
            WriteArray(w, "category_ids", info.LabelToCategoryId, w.WriteNumberValue);
            w.WriteEndObject();

            if (info.Keypoints is { } schema)
            {
                w.WriteStartObject("keypoints");
                WriteArray(w, "names", schema.Names, w.WriteStringValue);
                w.WriteStartArray("skeleton");
                foreach (var (from, to) in schema.Skeleton)
                {
                    w.WriteStartArray();
                    w.WriteNumberValue(from);
                    w.WriteNumberValue(to);
                    w.WriteEndArray();
                }
                w.WriteEndArray();
                WriteArray(w, "flip_map", schema.FlipMap, w.WriteNumberValue);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("keypoints");
            }

            w.WriteStartObject("properties");
            foreach (var (key, value) in info.Properties ?? new Dictionary<string, string>())
                w.WriteString(key, value);
            w.WriteEndObject();

            w.WriteStartObject("model");
            model.WriteConfig(w);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The header of a config: the labels and provenance (with <see cref="ModelFileInfo.Family"/>
    /// and <see cref="ModelFileInfo.FormatVersion"/> set), the weights' dtype and the family's section.</summary>
    public static (ModelFileInfo Info, DType DType, ConfigField Section) Read(string json, string path)
    {
        JsonElement rootElement;
        try
        {
            using var doc = JsonDocument.Parse(json);
            rootElement = doc.RootElement.Clone();
        }
        catch (JsonException e) { throw new ModelFileException(path, $"the \"{MetadataKey}\" config is not valid JSON ({e.Message})", e); }
        if (rootElement.ValueKind != JsonValueKind.Object)
            throw new ModelFileException(path, $"the \"{MetadataKey}\" config is {rootElement.ValueKind}, not a JSON object");
        var root = new ConfigField(rootElement, "", path);

        // The version first: a newer file may be laid out differently.
        int formatVersion = root.Get("format_version").Int();
        if (formatVersion > ModelFileInfo.CurrentFormatVersion)
            throw new ModelFileException(path, $"model file format version {formatVersion} is newer than this build of MLNetSeg reads " +
                                               $"(format version {ModelFileInfo.CurrentFormatVersion}); update MLNetSeg to load it");
        if (formatVersion < 1) throw root.Get("format_version").Invalid($"{formatVersion} is not a format version (they start at 1)");

        string family;
        DType dtype;
        ConfigField section;
        if (formatVersion >= 3)
        {
            family = root.Get("family").String();
            dtype = root.Get("dtype").Parse(ParseDType);
            section = root.Get("model");
        }
        else
        {
            // Formats 1-2: R-CNN settings spread over "model" (with the dtype), "preprocessing" and "options".
            var model = root.Get("model");
            family = model.Get("type").String();
            dtype = model.Get("dtype").Parse(ParseDType);
            var assembled = JsonNode.Parse(model.Element.GetRawText())!.AsObject();
            assembled.Remove("dtype");
            assembled["preprocessing"] = JsonNode.Parse(root.Get("preprocessing").Element.GetRawText());
            assembled["options"] = JsonNode.Parse(root.Get("options").Element.GetRawText());
            using var doc = JsonDocument.Parse(assembled.ToJsonString());
            section = new ConfigField(doc.RootElement.Clone(), "model", path);
        }

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

        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in root.Get("properties").Object()) properties[key] = value.String();

        var info = new ModelFileInfo
        {
            Family = family,
            ClassNames = names,
            CategoryIds = categoryIds,
            Keypoints = keypoints,
            Properties = properties,
            FormatVersion = formatVersion,
        };
        if (info.ClassProblem(names.Length) is { } problem) throw classes.Invalid(problem);
        return (info, dtype, section);
    }

    private static void WriteArray<T>(Utf8JsonWriter w, string name, IEnumerable<T> values, Action<T> write)
    {
        w.WriteStartArray(name);
        foreach (var v in values) write(v);
        w.WriteEndArray();
    }

    internal static string DTypeName(DType dtype) => dtype switch
    {
        DType.Float32 => "float32",
        DType.Float64 => "float64",
        DType.Float16 => "float16",
        DType.BFloat16 => "bfloat16",
        _ => throw new ArgumentException($"model weights are floating point, not {dtype}"),
    };

    private static DType ParseDType(string name) =>
        name switch
        {
            "float32" => DType.Float32,
            "float64" => DType.Float64,
            "float16" => DType.Float16,
            "bfloat16" => DType.BFloat16,
            _ => throw new FormatException($"'{name}' is not a floating-point dtype (float32, float64, float16, bfloat16)"),
        };
}
