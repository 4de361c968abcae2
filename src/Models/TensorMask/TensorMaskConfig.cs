using System.Text.Json;
using System.Text.Json.Serialization;

namespace MLNetSeg.Models.TensorMask;

/// <summary>
/// TensorMask's model-file section: <c>{ "type": "tensormask", "options": { ... } }</c>, the options record as JSON (enum
/// names as strings, <see cref="ModelOptions.PretrainedWeights"/> left out: the weights are in the file). Fields a file
/// lacks take today's defaults, so files keep loading when options are added.
/// </summary>
internal static class TensorMaskConfig
{
    public const string Type = "tensormask";

    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    public static void Write(Utf8JsonWriter writer, TensorMaskOptions options)
    {
        writer.WriteString("type", Type);
        writer.WritePropertyName("options");
        JsonSerializer.Serialize(writer, options with { PretrainedWeights = null }, Json);
    }

    /// <summary>The options of a "tensormask" section; errors name the field.</summary>
    public static TensorMaskOptions Read(ConfigField section)
    {
        var type = section.Get("type");
        if (type.String() != Type) throw type.Invalid($"a TensorMask section holds type '{Type}', not '{type.String()}'");
        var field = section.Get("options");
        TensorMaskOptions options;
        try { options = field.Element.Deserialize<TensorMaskOptions>(Json) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw field.Invalid($"not TensorMask options ({e.Message})"); }
        try { options.Validate(); }
        catch (ArgumentException e) { throw field.Invalid(e.Message); }
        return options;
    }
}
