using System.Text.Json;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Vision.Tests;

/// <summary>
/// One case written by tools/fixtures/gen_visionops.py (torchvision 0.14 outputs), read from
/// fixtures/visionops/&lt;name&gt;.json:
/// {"op", "inputs": {name: T}, "params": {...}, "outputs": {name: T}, "grad_outputs", "grads"}
/// with T = {"shape", "dtype", "data"}. float32 data are parsed as float32 directly (the
/// generator writes their shortest round-trip text), so inputs are bit-identical to torch's.
/// </summary>
internal sealed class VisionFixture
{
    private readonly JsonElement root;

    private VisionFixture(string path, JsonElement root)
    {
        Path = path;
        this.root = root;
    }

    public string Path { get; }
    public string Name => System.IO.Path.GetFileNameWithoutExtension(Path);

    public static VisionFixture Load(string name)
    {
        var path = System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", "visionops", name + ".json");
        if (!File.Exists(path))
            throw new FileNotFoundException($"fixture {path} is missing; regenerate it with /usr/bin/python3 tools/fixtures/gen_visionops.py", path);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return new VisionFixture(path, doc.RootElement.Clone());
    }

    public Tensor Input(string name) => Read("inputs", name);
    public Tensor Output(string name) => Read("outputs", name);
    public Tensor GradOutput(string name) => Read("grad_outputs", name);
    public Tensor Grad(string name) => Read("grads", name);

    public JsonElement Param(string name) =>
        root.TryGetProperty("params", out var p) && p.TryGetProperty(name, out var v)
            ? v
            : throw new InvalidDataException($"{Path}: params.{name} is missing");

    public double Double(string name) => Param(name).GetDouble();
    public int Int(string name) => Param(name).GetInt32();
    public bool Bool(string name) => Param(name).GetBoolean();
    public string String(string name) => Param(name).GetString()!;
    public long[] Longs(string name) => Param(name).EnumerateArray().Select(e => e.GetInt64()).ToArray();
    public double[] Doubles(string name) => Param(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();

    private Tensor Read(string section, string name)
    {
        if (!root.TryGetProperty(section, out var s) || !s.TryGetProperty(name, out var t))
            throw new InvalidDataException($"{Path}: {section}.{name} is missing");
        var shape = t.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        var dtype = t.GetProperty("dtype").GetString();
        var data = t.GetProperty("data");
        return dtype switch
        {
            "float32" => Tensor.FromArray(data.EnumerateArray().Select(e => e.GetSingle()).ToArray(), shape),
            "float64" => Tensor.FromArray(data.EnumerateArray().Select(e => e.GetDouble()).ToArray(), shape),
            "int64" => Tensor.FromArray(data.EnumerateArray().Select(e => e.GetInt64()).ToArray(), shape),
            "int32" => Tensor.FromArray(data.EnumerateArray().Select(e => e.GetInt32()).ToArray(), shape),
            "uint8" => Tensor.FromArray(data.EnumerateArray().Select(e => e.GetByte()).ToArray(), shape),
            "bool" => Tensor.FromArray(data.EnumerateArray().Select(e => e.GetBoolean()).ToArray(), shape),
            _ => throw new InvalidDataException($"{Path}: {section}.{name} has unsupported dtype '{dtype}'"),
        };
    }
}

/// <summary>Element-wise comparisons that name the fixture, the field and the first mismatch.</summary>
internal static class Expect
{
    /// <summary>float32 results of the same arithmetic in another order: a few ulps of the
    /// largest magnitudes involved (values here are O(1)–O(100)).</summary>
    public const double Float32Rtol = 1e-5, Float32Atol = 1e-5;

    /// <summary>float64 results: summation order only.</summary>
    public const double Float64Rtol = 1e-10, Float64Atol = 1e-10;

    /// <summary>|actual − expected| ≤ atol + rtol·|expected| everywhere, same shape.</summary>
    public static void Close(Tensor expected, Tensor actual, double rtol, double atol, string what)
    {
        CollectionAssert.AreEqual(expected.Shape, actual.Shape, $"{what}: shape [{string.Join(", ", actual.Shape)}], expected [{string.Join(", ", expected.Shape)}]");
        var e = expected.To(DType.Float64, Device.Cpu).Contiguous().ToArray<double>();
        var a = actual.Detach().To(DType.Float64, Device.Cpu).Contiguous().ToArray<double>();
        for (int i = 0; i < e.Length; i++)
        {
            if (!(Math.Abs(a[i] - e[i]) <= atol + rtol * Math.Abs(e[i])))
                Assert.Fail($"{what}: element {i} is {a[i]:R}, expected {e[i]:R} (rtol {rtol:G2}, atol {atol:G2})");
        }
    }

    public static void Close(Tensor expected, Tensor actual, string what) =>
        Close(expected, actual,
            expected.DType == DType.Float64 ? Float64Rtol : Float32Rtol,
            expected.DType == DType.Float64 ? Float64Atol : Float32Atol, what);

    /// <summary>Bit-exact equality of integer/bool results (indices, masks, codes).</summary>
    public static void Exact(Tensor expected, Tensor actual, string what)
    {
        CollectionAssert.AreEqual(expected.Shape, actual.Shape, $"{what}: shape [{string.Join(", ", actual.Shape)}], expected [{string.Join(", ", expected.Shape)}]");
        Assert.AreEqual(expected.DType, actual.DType, $"{what}: dtype");
        var e = expected.To(DType.Float64, Device.Cpu).Contiguous().ToArray<double>();
        var a = actual.To(DType.Float64, Device.Cpu).Contiguous().ToArray<double>();
        for (int i = 0; i < e.Length; i++)
            if (a[i] != e[i]) Assert.Fail($"{what}: element {i} is {a[i]}, expected {e[i]}");
    }

    /// <summary>Skips a Native-backend case on a machine without torchvision's operator library.</summary>
    public static void BackendAvailable(VisionOpsBackend backend)
    {
        if (backend == VisionOpsBackend.Native && !TorchvisionNative.IsAvailable)
            Assert.Inconclusive($"torchvision's operator library is not loaded: {TorchvisionNative.Unavailable}");
    }
}
