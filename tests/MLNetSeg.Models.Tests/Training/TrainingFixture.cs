using System.Text.Json;
using MLNetSeg.Torch;

namespace MLNetSeg.Models.Tests.Training;

/// <summary>
/// A fixture written by tools/fixtures/gen_training.py (torchvision 0.14), read from
/// fixtures/models/training/&lt;name&gt;: {"params", "outputs": {name: T}, "masks": {name: [[counts]]}, ...}
/// with T = {"shape", "dtype", "data"}. float32 data are their shortest round-trip text, parsed as
/// float32, so values are bit-identical to torch's; masks are COCO RLE counts (column-major runs,
/// zeros first).
/// </summary>
internal sealed class TrainingFixture
{
    private TrainingFixture(string path, JsonElement root)
    {
        Path = path;
        Root = root;
    }

    public string Path { get; }
    public JsonElement Root { get; }

    public static TrainingFixture Load(string name)
    {
        var path = System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "training", name);
        if (!File.Exists(path))
            throw new FileNotFoundException($"fixture {path} is missing; regenerate it with /usr/bin/python3 tools/fixtures/gen_training.py", path);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return new TrainingFixture(path, doc.RootElement.Clone());
    }

    public JsonElement Param(string name) =>
        Root.GetProperty("params").TryGetProperty(name, out var v) ? v : throw new InvalidDataException($"{Path}: params.{name} is missing");

    public Tensor Output(string name) =>
        Root.GetProperty("outputs").TryGetProperty(name, out var t) ? ParseTensor(t, $"outputs.{name}") : throw new InvalidDataException($"{Path}: outputs.{name} is missing");

    public Tensor ParseTensor(JsonElement t, string what)
    {
        var shape = t.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        var data = t.GetProperty("data");
        return t.GetProperty("dtype").GetString() switch
        {
            "float32" => Tensor.FromArray(data.EnumerateArray().Select(e => e.GetSingle()).ToArray(), shape),
            "float64" => Tensor.FromArray(data.EnumerateArray().Select(e => e.GetDouble()).ToArray(), shape),
            "int64" => Tensor.FromArray(data.EnumerateArray().Select(e => e.GetInt64()).ToArray(), shape),
            var other => throw new InvalidDataException($"{Path}: {what} has unsupported dtype '{other}'"),
        };
    }

    /// <summary>The masks stored under <paramref name="name"/> as a uint8 [N, H, W] tensor.</summary>
    public Tensor Masks(string name, int height, int width)
    {
        if (!Root.GetProperty("masks").TryGetProperty(name, out var list))
            throw new InvalidDataException($"{Path}: masks.{name} is missing");
        var rles = list.EnumerateArray().Select(m => m.EnumerateArray().Select(c => c.GetInt32()).ToArray()).ToArray();
        var data = new byte[rles.Length * height * width];
        for (int n = 0; n < rles.Length; n++)
        {
            // Runs over column-major pixels, zeros first.
            int position = 0;
            for (int r = 0; r < rles[n].Length; r++)
            {
                for (int k = 0; k < rles[n][r]; k++, position++)
                {
                    if (r % 2 == 0) continue;
                    int x = position / height, y = position % height;
                    data[(n * height + y) * width + x] = 1;
                }
            }
            if (position != height * width)
                throw new InvalidDataException($"{Path}: masks.{name}[{n}] covers {position} pixels, expected {height}×{width}");
        }
        return Tensor.FromArray(data, rles.Length, height, width);
    }
}

/// <summary>Comparisons naming the fixture field and the first differing element.</summary>
internal static class TrainingAssert
{
    public static double[] Floats(Tensor t) => t.Detach().To(DType.Float64, Device.Cpu).Contiguous().ToArray<double>();
    public static long[] Longs(Tensor t) => t.To(DType.Int64, Device.Cpu).Contiguous().ToArray<long>();

    public static void SameShape(Tensor expected, Tensor actual, string what) =>
        CollectionAssert.AreEqual(expected.Shape, actual.Shape,
            $"{what}: shape [{string.Join(", ", actual.Shape)}], torchvision [{string.Join(", ", expected.Shape)}]");

    public static void Equal(Tensor expected, Tensor actual, string what)
    {
        SameShape(expected, actual, what);
        var e = Longs(expected);
        var a = Longs(actual);
        for (int i = 0; i < e.Length; i++)
            if (e[i] != a[i]) Assert.Fail($"{what}: element {i} is {a[i]}, torchvision {e[i]} ({e.Length} elements)");
    }

    /// <summary>|actual − expected| ≤ tolerance elementwise.</summary>
    public static void Close(Tensor expected, Tensor actual, double tolerance, string what)
    {
        SameShape(expected, actual, what);
        var e = Floats(expected);
        var a = Floats(actual);
        for (int i = 0; i < e.Length; i++)
            if (!(Math.Abs(a[i] - e[i]) <= tolerance))
                Assert.Fail($"{what}: element {i} is {a[i]:R}, torchvision {e[i]:R} (tolerance {tolerance})");
    }

    /// <summary>A scalar within a relative tolerance: |a − e| ≤ rel · max(|e|, 1e-12).</summary>
    public static void Relative(double expected, double actual, double relative, string what)
    {
        double bound = relative * Math.Max(Math.Abs(expected), 1e-12);
        if (!(Math.Abs(actual - expected) <= bound))
            Assert.Fail($"{what}: {actual:R}, torchvision {expected:R} (relative error {Math.Abs(actual - expected) / Math.Abs(expected):G3}, allowed {relative})");
    }
}
