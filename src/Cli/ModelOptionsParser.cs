using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetSeg.Models;

namespace MLNetSeg.Cli;

/// <summary>
/// A family's <see cref="ModelOptions"/> from the command line: the family's defaults (the library's),
/// then a JSON file (<c>--model-options F.json</c>, the options record as JSON), then
/// <c>--set Path=Value</c> assignments by property path ("Backbone=ResNet18", "Settings.MinSize=192",
/// "Settings.AnchorSizes=16,32,64,128,256", "Widths=Compact"). Values are JSON where they parse as
/// JSON, else strings (enum names, case-insensitive); a record-typed property also takes the name of
/// one of its type's static presets (DetectorWidths.Compact).
/// </summary>
internal static class ModelOptionsParser
{
    private static readonly JsonSerializerOptions Json = new() { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    public static ModelOptions Parse(ModelFamily family, string? jsonFile, IReadOnlyList<string> assignments)
    {
        JsonObject node;
        if (jsonFile is not null)
        {
            if (!File.Exists(jsonFile)) throw new FileNotFoundException($"--model-options: file not found: {jsonFile}", jsonFile);
            try { node = JsonNode.Parse(File.ReadAllText(jsonFile))?.AsObject() ?? throw new JsonException("the file holds null"); }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                throw new ArgumentException($"--model-options {jsonFile}: not a JSON object of {family.OptionsType.Name} settings ({e.Message})");
            }
            node = Merge(ToJson(family.CreateDefaultOptions()), node);
        }
        else
        {
            node = ToJson(family.CreateDefaultOptions());
        }
        foreach (var assignment in assignments)
        {
            int eq = assignment.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"--set {assignment}: expected Name=Value (e.g. Settings.MinSize=192)");
            Assign(node, family.OptionsType, assignment[..eq].Trim(), assignment[(eq + 1)..].Trim(), assignment);
        }
        try
        {
            var options = (ModelOptions)(node.Deserialize(family.OptionsType, Json) ?? throw new JsonException("null"));
            options.Validate();
            return options;
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{family.DisplayName} options: {e.Message}");
        }
    }

    /// <summary>The options as the JSON the parser reads (also what <c>mlnetseg families</c> prints).</summary>
    public static JsonObject ToJson(ModelOptions options) => JsonSerializer.SerializeToNode(options, options.GetType(), Json)!.AsObject();

    private static JsonObject Merge(JsonObject defaults, JsonObject given)
    {
        foreach (var (key, value) in given)
        {
            if (value is JsonObject child && defaults[key] is JsonObject baseChild) defaults[key] = Merge(baseChild, child.DeepClone().AsObject());
            else defaults[key] = value?.DeepClone();
        }
        return defaults;
    }

    private static void Assign(JsonObject root, Type type, string path, string value, string assignment)
    {
        var parts = path.Split('.');
        JsonObject target = root;
        var propertyType = type;
        for (int i = 0; i < parts.Length; i++)
        {
            var property = propertyType.GetProperty(parts[i], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase)
                ?? throw new ArgumentException($"--set {assignment}: {propertyType.Name} has no setting '{parts[i]}' " +
                                               $"(it has: {string.Join(", ", Settable(propertyType))})");
            string name = target.Select(kv => kv.Key).FirstOrDefault(k => string.Equals(k, property.Name, StringComparison.OrdinalIgnoreCase)) ?? property.Name;
            if (i < parts.Length - 1)
            {
                target = target[name] as JsonObject ?? throw new ArgumentException($"--set {assignment}: {property.Name} is not a group of settings");
                propertyType = property.PropertyType;
                continue;
            }
            target[name] = ValueFor(property.PropertyType, value, assignment);
        }
    }

    private static JsonNode? ValueFor(Type type, string value, string assignment)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (value == "null") return null;
        if (underlying.IsEnum)
        {
            var match = Enum.GetNames(underlying).FirstOrDefault(n => string.Equals(n, value, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException($"--set {assignment}: '{value}' is not one of {string.Join(", ", Enum.GetNames(underlying))}");
            return JsonValue.Create(match);
        }
        if (underlying.IsClass && underlying != typeof(string) && !typeof(System.Collections.IEnumerable).IsAssignableFrom(underlying)
            && underlying.GetProperty(value, BindingFlags.Public | BindingFlags.Static | BindingFlags.IgnoreCase) is { } preset && preset.PropertyType == underlying)
            return JsonSerializer.SerializeToNode(preset.GetValue(null), underlying, Json);
        if (typeof(System.Collections.IEnumerable).IsAssignableFrom(underlying) && underlying != typeof(string) && !value.StartsWith('['))
            value = "[" + value + "]";
        try { return JsonNode.Parse(value); }
        catch (JsonException) { return JsonValue.Create(value); }
    }

    private static IEnumerable<string> Settable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.GetCustomAttribute<System.Text.Json.Serialization.JsonIgnoreAttribute>() is null).Select(p => p.Name);
}
