using System.Text.Json;
using MLNetSeg.Torch;

namespace MLNetSeg.Models.Tests.Rcnn;

/// <summary>
/// A fixture written by tools/fixtures/gen_detection.py (torchvision 0.14 outputs), read from
/// fixtures/models/detection/&lt;name&gt;: {"model", "params": {...}, "outputs": {name: T}, "masks": {name: [[counts]]}}
/// with T = {"shape", "dtype", "data"}; float32 data are written as their shortest round-trip
/// text and parsed as float32, so values are bit-identical to torch's.
/// </summary>
internal sealed class DetectionFixture
{
    private readonly JsonElement root;

    private DetectionFixture(string path, JsonElement root)
    {
        Path = path;
        this.root = root;
    }

    public string Path { get; }

    public static string File(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "detection", name);

    public static DetectionFixture Load(string name)
    {
        var path = File(name);
        if (!System.IO.File.Exists(path))
            throw new FileNotFoundException($"fixture {path} is missing; regenerate it with /usr/bin/python3 tools/fixtures/gen_detection.py", path);
        using var doc = JsonDocument.Parse(System.IO.File.ReadAllBytes(path));
        return new DetectionFixture(path, doc.RootElement.Clone());
    }

    public JsonElement Root => root;

    public JsonElement Param(string name) =>
        root.TryGetProperty("params", out var p) && p.TryGetProperty(name, out var v) ? v : throw new InvalidDataException($"{Path}: params.{name} is missing");

    public int Int(string name) => Param(name).GetInt32();
    public double Double(string name) => Param(name).GetDouble();

    public bool Has(string output) => root.GetProperty("outputs").TryGetProperty(output, out _);

    public Tensor Output(string name)
    {
        if (!root.TryGetProperty("outputs", out var outputs) || !outputs.TryGetProperty(name, out var t))
            throw new InvalidDataException($"{Path}: outputs.{name} is missing");
        var shape = t.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        var data = t.GetProperty("data");
        return t.GetProperty("dtype").GetString() switch
        {
            "float32" => Tensor.FromArray(data.EnumerateArray().Select(e => e.GetSingle()).ToArray(), shape),
            "float64" => Tensor.FromArray(data.EnumerateArray().Select(e => e.GetDouble()).ToArray(), shape),
            "int64" => Tensor.FromArray(data.EnumerateArray().Select(e => e.GetInt64()).ToArray(), shape),
            var other => throw new InvalidDataException($"{Path}: outputs.{name} has unsupported dtype '{other}'"),
        };
    }

    /// <summary>The RLE counts of each mask stored under <paramref name="name"/>.</summary>
    public uint[][] Masks(string name)
    {
        if (!root.TryGetProperty("masks", out var masks) || !masks.TryGetProperty(name, out var list))
            throw new InvalidDataException($"{Path}: masks.{name} is missing");
        return list.EnumerateArray().Select(m => m.EnumerateArray().Select(c => c.GetUInt32()).ToArray()).ToArray();
    }
}
