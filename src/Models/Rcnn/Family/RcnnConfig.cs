using System.Reflection;
using System.Text;
using System.Text.Json;
using MLNetSeg.Models.Backbones;

namespace MLNetSeg.Models.Rcnn;

/// <summary>
/// The R-CNN families' section of a model file:
/// <code>
/// { "type": "maskrcnn", "version": 1, "backbone": "resnet50", "fpn_version": 1, "num_classes": 91, "num_keypoints": null,
///   "widths": { "backbone", "fpn", "box_head", "mask_head", "keypoint_head" },
///   "preprocessing": { "input": "RGB, pixel / 255", "image_mean", "image_std", "min_size", "max_size", "size_divisible" },
///   "options": { every other RcnnOptions setting, snake_case } }
/// </code>
/// Format 1 had no "widths" (torchvision's); formats 1–2 kept "preprocessing" and "options" beside
/// "model", which the file reader folds into this section.
/// </summary>
internal static class RcnnConfig
{
    private const string InputConvention = "RGB, pixel / 255";

    private static readonly HashSet<string> StoredElsewhere = new(StringComparer.Ordinal)
    {
        nameof(RcnnOptions.NumClasses), nameof(RcnnOptions.NumKeypoints), nameof(RcnnOptions.MinSize), nameof(RcnnOptions.MaxSize),
        nameof(RcnnOptions.ImageMean), nameof(RcnnOptions.ImageStd), nameof(RcnnOptions.SizeDivisible),
    };

    private static readonly IReadOnlyDictionary<string, PropertyInfo> OptionProperties =
        typeof(RcnnOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.GetIndexParameters().Length == 0 && !StoredElsewhere.Contains(p.Name))
            .ToDictionary(p => SnakeCase(p.Name), StringComparer.Ordinal);

    public static void Write(Utf8JsonWriter w, ModelArchitecture arch, RcnnOptions options)
    {
        w.WriteString("type", arch.ModelType);
        w.WriteNumber("version", arch.Version);
        w.WriteString("backbone", arch.BackboneName);
        w.WriteNumber("fpn_version", arch.FpnVersion);
        if (arch.DilateLastStage) w.WriteBoolean("dilate_last_stage", true);  // written only when set: files without it read as false
        w.WriteNumber("num_classes", arch.NumClasses);
        if (arch.NumKeypoints is { } k) w.WriteNumber("num_keypoints", k); else w.WriteNull("num_keypoints");
        w.WriteStartObject("widths");
        w.WriteNumber("backbone", arch.Widths.Backbone);
        w.WriteNumber("fpn", arch.Widths.Fpn);
        w.WriteNumber("box_head", arch.Widths.BoxHead);
        w.WriteNumber("mask_head", arch.Widths.MaskHead);
        w.WriteNumber("keypoint_head", arch.Widths.KeypointHead);
        w.WriteEndObject();

        w.WriteStartObject("preprocessing");
        w.WriteString("input", InputConvention);
        WriteValue(w, "image_mean", options.ImageMean);
        WriteValue(w, "image_std", options.ImageStd);
        w.WriteNumber("min_size", options.MinSize);
        w.WriteNumber("max_size", options.MaxSize);
        w.WriteNumber("size_divisible", options.SizeDivisible);
        w.WriteEndObject();

        w.WriteStartObject("options");
        foreach (var (name, property) in OptionProperties.OrderBy(p => p.Value.MetadataToken))
            WriteValue(w, name, property.GetValue(options));
        w.WriteEndObject();
    }

    public static (ModelArchitecture Architecture, RcnnOptions Options) Read(ConfigField section, int formatVersion)
    {
        var arch = new ModelArchitecture
        {
            ModelType = section.Get("type").String(),
            Version = section.Get("version").Int(),
            Backbone = section.Get("backbone").Parse(ParseBackbone),
            FpnVersion = section.Get("fpn_version").Int(),
            DilateLastStage = section.Has("dilate_last_stage") && section.Get("dilate_last_stage").Bool(),
            NumClasses = section.Get("num_classes").Int(),
            NumKeypoints = section.Get("num_keypoints").NullableInt(),
            Widths = formatVersion >= 2 ? ReadWidths(section.Get("widths")) : DetectorWidths.Torchvision,
        };
        try { arch.Validate(); }
        catch (ArgumentException e) { throw section.Invalid(e.Message); }

        var pre = section.Get("preprocessing");
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
        foreach (var (name, value) in section.Get("options").Object())
        {
            if (!OptionProperties.TryGetValue(name, out var property))
                throw value.Invalid("not a setting this build of MLNetSeg knows (written by a newer version?)");
            property.SetValue(options, ReadValue(value, property.PropertyType));
        }
        return (arch, options);
    }

    private static DetectorWidths ReadWidths(ConfigField widths) => new()
    {
        Backbone = widths.Get("backbone").Int(),
        Fpn = widths.Get("fpn").Int(),
        BoxHead = widths.Get("box_head").Int(),
        MaskHead = widths.Get("mask_head").Int(),
        KeypointHead = widths.Get("keypoint_head").Int(),
    };

    private static void WriteValue(Utf8JsonWriter w, string name, object? value)
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
            case IReadOnlyList<double> ds:
                w.WriteStartArray(name);
                foreach (var v in ds) w.WriteNumberValue(v);
                w.WriteEndArray();
                break;
            case IReadOnlyList<int> ints:
                w.WriteStartArray(name);
                foreach (var v in ints) w.WriteNumberValue(v);
                w.WriteEndArray();
                break;
            default:
                throw new NotSupportedException($"RcnnOptions.{name} of type {value.GetType().Name} cannot be stored in a model file yet: teach RcnnConfig its type");
        }
    }

    private static object? ReadValue(ConfigField value, Type type)
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
}
