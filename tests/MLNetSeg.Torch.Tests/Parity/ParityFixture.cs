using System.Text.Json;
using MLNetSeg.Torch;

namespace MLNetSeg.Torch.Tests.Parity;

/// <summary>Relative and absolute tolerance: |actual − expected| ≤ Atol + Rtol·|expected|.</summary>
public readonly record struct Tolerance(double Rtol, double Atol)
{
    /// <summary>Bit-exact (integer, bool and index results; pure data movement).</summary>
    public static readonly Tolerance Exact = new(0, 0);

    /// <summary>float64 math: only the last few ulps may differ (summation order, libm).</summary>
    public static readonly Tolerance Float64 = new(1e-10, 1e-12);

    /// <summary>float32 math: ~100 ulps relative, for reductions and transcendental functions.</summary>
    public static readonly Tolerance Float32 = new(1e-5, 1e-6);

    public override string ToString() => $"rtol {Rtol:G3}, atol {Atol:G3}";
}

/// <summary>
/// One parity case produced by a reference script under tools/fixtures/ (PyTorch), read from
/// tests/fixtures/&lt;area&gt;/&lt;name&gt;.json. Layout (every member but "op" optional):
/// <code>
/// { "op": "gather",
///   "inputs":       { "x": T, "index": T },         // op arguments that are tensors
///   "params":       { "dim": 1, "keepdim": true },   // op arguments that are not
///   "outputs":      { "out": T } | { "values": T, "indices": T },
///   "grad_outputs": { "out": T },                    // random upstream gradients, per differentiable output
///   "grads":        { "x": T } }                     // d(Σ out·grad_out)/d input, from torch.autograd
/// </code>
/// where T = {"shape":[..], "dtype":"float32|float64|int64|int32|bool|uint8", "data":[row-major numbers]}
/// (non-finite floats are written as the strings "nan", "inf", "-inf").
/// Tensors created by the accessors belong to the caller (or the current <see cref="DisposeScope"/>).
/// </summary>
public sealed class ParityFixture
{
    private static readonly Op SumOp = new("sum");
    private readonly JsonElement root;

    private ParityFixture(string path, JsonElement root)
    {
        Path = path;
        this.root = root;
        OpName = root.TryGetProperty("op", out var op) && op.ValueKind == JsonValueKind.String
            ? op.GetString()!
            : throw new InvalidDataException($"{path}: missing string field 'op'");
    }

    /// <summary>Absolute path of the fixture file (named in every failure message).</summary>
    public string Path { get; }

    /// <summary>The reference op, as written by the generator (e.g. "gather", "index_put_accumulate").</summary>
    public string OpName { get; }

    /// <summary>File name without extension: the case's id.</summary>
    public string Name => System.IO.Path.GetFileNameWithoutExtension(Path);

    /// <summary>Folder the test run copies tests/fixtures/&lt;area&gt; to.</summary>
    public static string Directory(string area) => System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", area);

    /// <summary>Loads fixtures/&lt;area&gt;/&lt;name&gt;.json from the test output folder.</summary>
    public static ParityFixture Load(string area, string name)
    {
        var path = System.IO.Path.Combine(Directory(area), name.EndsWith(".json", StringComparison.Ordinal) ? name : name + ".json");
        if (!File.Exists(path))
            throw new FileNotFoundException($"parity fixture not found: {path} (regenerate with tools/fixtures/*.py)", path);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return new ParityFixture(path, doc.RootElement.Clone());
    }

    /// <summary>Names of all fixtures of an area (for data-driven tests).</summary>
    public static IEnumerable<string> Names(string area) =>
        System.IO.Directory.EnumerateFiles(Directory(area), "*.json")
            .Select(p => System.IO.Path.GetFileNameWithoutExtension(p)!)
            .Order(StringComparer.Ordinal);

    // ---- tensors

    public IEnumerable<string> InputNames => SectionNames("inputs");
    public IEnumerable<string> OutputNames => SectionNames("outputs");
    public IEnumerable<string> GradOutputNames => SectionNames("grad_outputs");
    public IEnumerable<string> GradNames => SectionNames("grads");

    /// <summary>True when the generator recorded input gradients (the op is differentiable).</summary>
    public bool HasGrads => root.TryGetProperty("grads", out var g) && g.ValueKind == JsonValueKind.Object && g.EnumerateObject().Any();

    public Tensor Input(string name, bool requiresGrad = false)
    {
        var t = ReadTensor("inputs", name);
        return requiresGrad ? t.RequiresGrad_() : t;
    }

    public bool HasInput(string name) => Has("inputs", name);
    public Tensor Output(string name = "out") => ReadTensor("outputs", name);
    public Tensor GradOutput(string name = "out") => ReadTensor("grad_outputs", name);
    public Tensor Grad(string name) => ReadTensor("grads", name);

    // ---- non-tensor parameters

    public bool HasParam(string name) => Has("params", name);
    public long Long(string name) => Param(name, JsonValueKind.Number).GetInt64();
    public int Int(string name) => checked((int)Long(name));
    public double Double(string name) => ReadDouble(Param(name, JsonValueKind.Number), $"params.{name}");
    public bool Bool(string name) => Param(name).ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        var k => throw new InvalidDataException($"{Path}: params.{name} should be a bool, found {k}"),
    };
    public string String(string name) => Param(name, JsonValueKind.String).GetString()!;
    public long[] Longs(string name) => Param(name, JsonValueKind.Array).EnumerateArray().Select(e => e.GetInt64()).ToArray();
    public double[] Doubles(string name) =>
        Param(name, JsonValueKind.Array).EnumerateArray().Select((e, i) => ReadDouble(e, $"params.{name}[{i}]")).ToArray();

    /// <summary>The raw JSON of a parameter, for shapes the typed getters don't cover.</summary>
    public JsonElement Param(string name)
    {
        if (!root.TryGetProperty("params", out var ps) || !ps.TryGetProperty(name, out var p))
            throw new InvalidDataException($"{Path}: missing params.{name}");
        return p;
    }

    private JsonElement Param(string name, JsonValueKind kind)
    {
        var p = Param(name);
        if (p.ValueKind != kind) throw new InvalidDataException($"{Path}: params.{name} should be {kind}, found {p.ValueKind}");
        return p;
    }

    private bool Has(string section, string name) =>
        root.TryGetProperty(section, out var s) && s.ValueKind == JsonValueKind.Object && s.TryGetProperty(name, out _);

    private IEnumerable<string> SectionNames(string section) =>
        root.TryGetProperty(section, out var s) && s.ValueKind == JsonValueKind.Object
            ? s.EnumerateObject().Select(p => p.Name).ToArray()
            : Array.Empty<string>();

    private Tensor ReadTensor(string section, string name)
    {
        if (!root.TryGetProperty(section, out var s) || !s.TryGetProperty(name, out var t))
            throw new InvalidDataException($"{Path}: missing {section}.{name}");
        return ToTensor(t, $"{Path}: {section}.{name}");
    }

    private double ReadDouble(JsonElement e, string where) => ParseDouble(e, $"{Path}: {where}");

    /// <summary>Decodes {"shape","dtype","data"}; <paramref name="where"/> prefixes error messages.</summary>
    public static Tensor ToTensor(JsonElement json, string where)
    {
        if (json.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where}: expected a tensor object, found {json.ValueKind}");
        if (!json.TryGetProperty("shape", out var shapeJson) || shapeJson.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{where}: missing array field 'shape'");
        if (!json.TryGetProperty("dtype", out var dtypeJson) || dtypeJson.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"{where}: missing string field 'dtype'");
        if (!json.TryGetProperty("data", out var dataJson) || dataJson.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{where}: missing array field 'data'");
        var shape = shapeJson.EnumerateArray().Select(e => e.GetInt64()).ToArray();
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count != dataJson.GetArrayLength())
            throw new InvalidDataException($"{where}: shape [{string.Join(", ", shape)}] holds {count} elements but 'data' has {dataJson.GetArrayLength()}");
        var values = dataJson.EnumerateArray().ToArray();
        string dtype = dtypeJson.GetString()!;
        return dtype switch
        {
            "float64" => Tensor.FromArray<double>(values.Select((e, i) => ParseDouble(e, $"{where}.data[{i}]")).ToArray(), shape, null),
            "float32" => Tensor.FromArray<float>(values.Select((e, i) => (float)ParseDouble(e, $"{where}.data[{i}]")).ToArray(), shape, null),
            "int64" => Tensor.FromArray<long>(values.Select(e => e.GetInt64()).ToArray(), shape, null),
            "int32" => Tensor.FromArray<int>(values.Select(e => e.GetInt32()).ToArray(), shape, null),
            "uint8" => Tensor.FromArray<byte>(values.Select(e => e.GetByte()).ToArray(), shape, null),
            "bool" => Tensor.FromArray<bool>(values.Select((e, i) => ParseBool(e, $"{where}.data[{i}]")).ToArray(), shape, null),
            _ => throw new InvalidDataException($"{where}: unsupported dtype '{dtype}'"),
        };
    }

    private static double ParseDouble(JsonElement e, string where) => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.String => e.GetString() switch
        {
            "nan" => double.NaN,
            "inf" => double.PositiveInfinity,
            "-inf" => double.NegativeInfinity,
            var s => throw new InvalidDataException($"{where}: '{s}' is not a number"),
        },
        var k => throw new InvalidDataException($"{where}: expected a number, found {k}"),
    };

    private static bool ParseBool(JsonElement e, string where) => e.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Number => e.GetInt64() != 0,
        var k => throw new InvalidDataException($"{where}: expected a bool, found {k}"),
    };

    // ---- comparison

    /// <summary>
    /// Asserts same shape, same dtype and |actual − expected| ≤ atol + rtol·|expected| everywhere
    /// (NaN matches NaN, infinities must match exactly). The failure message names
    /// <paramref name="what"/>, the number of offending elements, the largest absolute error,
    /// where it is (multi-index) and both values there.
    /// </summary>
    public static void AssertClose(Tensor actual, Tensor expected, Tolerance tolerance, string what)
    {
        var ashape = actual.Shape;
        var eshape = expected.Shape;
        if (!ashape.SequenceEqual(eshape))
            throw new AssertFailedException($"{what}: shape [{string.Join(", ", ashape)}], expected [{string.Join(", ", eshape)}]");
        if (actual.DType != expected.DType)
            throw new AssertFailedException($"{what}: dtype {actual.DType}, expected {expected.DType}");
        var a = ToDoubles(actual);
        var e = ToDoubles(expected);
        int bad = 0, worst = -1;
        double worstError = 0, maxError = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double x = a[i], y = e[i];
            if (double.IsNaN(x) && double.IsNaN(y)) continue;
            if (x == y) continue;  // also equal infinities
            double err = Math.Abs(x - y);
            if (double.IsNaN(err)) err = double.PositiveInfinity;
            maxError = Math.Max(maxError, err);
            if (err <= tolerance.Atol + tolerance.Rtol * Math.Abs(y)) continue;
            bad++;
            if (worst < 0 || err > worstError) { worst = i; worstError = err; }
        }
        if (bad == 0) return;
        throw new AssertFailedException(
            $"{what}: {bad} of {a.Length} elements differ beyond {tolerance}; max abs error {maxError:G6} " +
            $"at index [{string.Join(", ", Unravel(worst, ashape))}]: actual {a[worst]:R}, expected {e[worst]:R}");
    }

    /// <summary>Compares a tensor with outputs.&lt;name&gt;.</summary>
    public void AssertOutput(Tensor actual, Tolerance tolerance, string name = "out") =>
        AssertClose(actual, Output(name), tolerance, $"{OpName} [{Name}] outputs.{name}");

    /// <summary>
    /// Back-propagates grad_outputs through <paramref name="outputs"/> (keyed like the fixture's
    /// grad_outputs) and compares the gradient of every named input with grads.&lt;name&gt;.
    /// </summary>
    public void AssertGradients(IReadOnlyDictionary<string, Tensor> inputs, IReadOnlyDictionary<string, Tensor> outputs, Tolerance tolerance)
    {
        var names = GradOutputNames.ToArray();
        if (names.Length == 0) throw new InvalidDataException($"{Path}: no grad_outputs recorded");
        if (names.Length == 1)
        {
            outputs[names[0]].Backward(GradOutput(names[0]));
        }
        else
        {
            // Σ_k (out_k · g_k).sum() has exactly the input gradients of backward(outs, gs).
            Tensor? total = null;
            foreach (var n in names)
            {
                var term = SumOp.Invoke(outputs[n] * GradOutput(n));
                total = total is null ? term : total + term;
            }
            total!.Backward();
        }
        foreach (var name in GradNames)
        {
            if (!inputs.TryGetValue(name, out var input))
                throw new InvalidDataException($"{Path}: grads.{name} has no matching input passed to AssertGradients");
            var grad = input.Grad ?? throw new AssertFailedException($"{OpName} [{Name}]: input '{name}' received no gradient");
            AssertClose(grad, Grad(name), tolerance, $"{OpName} [{Name}] grads.{name}");
        }
    }

    /// <summary>Single-output convenience for <see cref="AssertGradients(IReadOnlyDictionary{string,Tensor},IReadOnlyDictionary{string,Tensor},Tolerance)"/>.</summary>
    public void AssertGradients(IReadOnlyDictionary<string, Tensor> inputs, Tensor output, Tolerance tolerance) =>
        AssertGradients(inputs, new Dictionary<string, Tensor> { [GradOutputNames.Single()] = output }, tolerance);

    private static double[] ToDoubles(Tensor t)
    {
        using var flat = t.Detach().Reshape(-1).To(DType.Float64, Device.Cpu);
        return flat.ToArray<double>();
    }

    private static long[] Unravel(int flat, long[] shape)
    {
        var index = new long[shape.Length];
        long rest = flat;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = shape[d] == 0 ? 0 : rest % shape[d];
            rest = shape[d] == 0 ? 0 : rest / shape[d];
        }
        return index;
    }
}
