using System.Text.Json;

namespace MLNetSeg.Models;

/// <summary>
/// A field of a model file's JSON config, with its location, so that every read error is a
/// <see cref="ModelFileException"/> naming the file and the field ("config field 'model.widths.fpn':
/// expected a 32-bit integer, got string \"x\""). Families read their sections with it.
/// </summary>
public readonly struct ConfigField
{
    private readonly JsonElement _element;

    /// <summary>Wraps a JSON value found at <paramref name="location"/> of <paramref name="path"/>'s config.</summary>
    /// <param name="element">The JSON value.</param>
    /// <param name="location">Its dotted location in the config ("" for the root).</param>
    /// <param name="path">The model file (for error messages).</param>
    public ConfigField(JsonElement element, string location, string path)
    {
        _element = element;
        Location = location;
        FilePath = path;
    }

    /// <summary>The dotted location of this field in the config.</summary>
    public string Location { get; }

    /// <summary>The model file the config came from.</summary>
    public string FilePath { get; }

    /// <summary>The raw JSON value.</summary>
    public JsonElement Element => _element;

    /// <summary>Whether the value is JSON null.</summary>
    public bool IsNull => _element.ValueKind == JsonValueKind.Null;

    /// <summary>Whether this object has a member <paramref name="name"/>.</summary>
    public bool Has(string name) => _element.ValueKind == JsonValueKind.Object && _element.TryGetProperty(name, out _);

    /// <summary>The member <paramref name="name"/> of this object; missing is an error.</summary>
    public ConfigField Get(string name)
    {
        string where = Location.Length == 0 ? name : $"{Location}.{name}";
        if (_element.ValueKind != JsonValueKind.Object)
            throw Invalid($"expected an object, got {Describe(_element)}");
        if (!_element.TryGetProperty(name, out var child))
            throw new ModelFileException(FilePath, $"config field '{where}' is missing");
        return new ConfigField(child, where, FilePath);
    }

    /// <summary>The members of this object.</summary>
    public IEnumerable<(string Name, ConfigField Value)> Object()
    {
        if (_element.ValueKind != JsonValueKind.Object) throw Invalid($"expected an object, got {Describe(_element)}");
        var location = Location;
        var path = FilePath;
        return _element.EnumerateObject().Select(p => (p.Name, new ConfigField(p.Value, location.Length == 0 ? p.Name : $"{location}.{p.Name}", path))).ToArray();
    }

    /// <summary>The elements of this array, each read by <paramref name="read"/> (whose errors name the element, "field[i]").</summary>
    /// <exception cref="ModelFileException">The value is not an array, or an element cannot be read.</exception>
    public T[] Array<T>(Func<ConfigField, T> read)
    {
        if (_element.ValueKind != JsonValueKind.Array) throw Invalid($"expected an array, got {Describe(_element)}");
        var result = new T[_element.GetArrayLength()];
        int i = 0;
        foreach (var e in _element.EnumerateArray())
        {
            result[i] = read(new ConfigField(e, $"{Location}[{i}]", FilePath));
            i++;
        }
        return result;
    }

    /// <summary>The value as a string.</summary>
    /// <exception cref="ModelFileException">The value is not a JSON string.</exception>
    public string String() =>
        _element.ValueKind == JsonValueKind.String ? _element.GetString()! : throw Invalid($"expected a string, got {Describe(_element)}");

    /// <summary>The value as a 32-bit integer.</summary>
    /// <exception cref="ModelFileException">The value is not a number that fits an <see cref="int"/> exactly (e.g. 1.5 or 3e9).</exception>
    public int Int() =>
        _element.ValueKind == JsonValueKind.Number && _element.TryGetInt32(out var v) ? v : throw Invalid($"expected a 32-bit integer, got {Describe(_element)}");

    /// <summary>Null for JSON null, otherwise <see cref="Int"/>.</summary>
    /// <exception cref="ModelFileException">The value is neither null nor a 32-bit integer.</exception>
    public int? NullableInt() => IsNull ? null : Int();

    /// <summary>The value as a 64-bit integer.</summary>
    /// <exception cref="ModelFileException">The value is not an integer that fits a <see cref="long"/>.</exception>
    public long Long() =>
        _element.ValueKind == JsonValueKind.Number && _element.TryGetInt64(out var v) ? v : throw Invalid($"expected an integer, got {Describe(_element)}");

    /// <summary>The value as a double (any JSON number, integers included).</summary>
    /// <exception cref="ModelFileException">The value is not a number.</exception>
    public double Double() =>
        _element.ValueKind == JsonValueKind.Number ? _element.GetDouble() : throw Invalid($"expected a number, got {Describe(_element)}");

    /// <summary>The value as a boolean.</summary>
    /// <exception cref="ModelFileException">The value is not true or false.</exception>
    public bool Bool() =>
        _element.ValueKind is JsonValueKind.True or JsonValueKind.False ? _element.GetBoolean() : throw Invalid($"expected true or false, got {Describe(_element)}");

    /// <summary>A string parsed by <paramref name="parse"/>; its FormatException/ArgumentException becomes a field error.</summary>
    public T Parse<T>(Func<string, T> parse)
    {
        string text = String();
        try { return parse(text); }
        catch (Exception e) when (e is FormatException or ArgumentException) { throw Invalid(e.Message); }
    }

    /// <summary>An error about this field.</summary>
    public ModelFileException Invalid(string problem) => new(FilePath, $"config field '{Location}': {problem}");

    private static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String or JsonValueKind.Number => $"{e.ValueKind.ToString().ToLowerInvariant()} {e.GetRawText()}",
        var kind => kind.ToString().ToLowerInvariant(),
    };
}
