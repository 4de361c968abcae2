using System.Text.Json;

namespace MLNetSeg.Data.Semantic;

/// <summary>
/// Reads a label-map class list: a JSON file <c>{"classes": [{"label": 0, "name": "person"}, ...]}</c> (the synthetic generator's
/// <c>semantic/labels.json</c>; other fields are ignored). Labels must be 0..S-1, each once.
/// </summary>
public static class SemanticClassList
{
    /// <summary>The class names in label order.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="SemanticDatasetException">The file is not such a list (the message names the file and the problem).</exception>
    public static string[] Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"class list not found: {path}", path);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            if (!doc.RootElement.TryGetProperty("classes", out var classes) || classes.ValueKind != JsonValueKind.Array)
                throw new SemanticDatasetException($"{path}: expected an object with a \"classes\" array");
            var names = new SortedDictionary<int, string>();
            int i = 0;
            foreach (var c in classes.EnumerateArray())
            {
                if (c.ValueKind != JsonValueKind.Object || !c.TryGetProperty("label", out var label) || label.ValueKind != JsonValueKind.Number
                    || !label.TryGetInt32(out int value) || !c.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
                    throw new SemanticDatasetException($"{path}: classes[{i}] needs an integer \"label\" and a string \"name\"");
                if (!names.TryAdd(value, name.GetString()!)) throw new SemanticDatasetException($"{path}: label {value} is listed twice");
                i++;
            }
            if (names.Count == 0 || names.Keys.First() != 0 || names.Keys.Last() != names.Count - 1)
                throw new SemanticDatasetException($"{path}: the labels must be 0..{names.Count - 1}, each once (got {string.Join(", ", names.Keys)})");
            return names.Values.ToArray();
        }
        catch (JsonException e) { throw new SemanticDatasetException($"{path}: not valid JSON: {e.Message}", e); }
    }
}
