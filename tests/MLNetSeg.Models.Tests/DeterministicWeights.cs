using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Tests;

/// <summary>
/// Weights regenerated from state-dict entry names, so model parity fixtures need not carry
/// them. Identical to tools/fixtures/deterministic_weights.py (the fixture generators apply
/// that one to the torchvision models):
/// <list type="bullet">
/// <item>seed = FNV-1a 64 of the UTF-8 name; per element (row-major) the LCG
/// state = state·6364136223846793005 + 1442695040888963407 (mod 2^64) is advanced first, then
/// u = (state ≫ 11) / 2^53 ∈ [0, 1) and r = 2u − 1;</item>
/// <item>"*.weight" with ≥ 2 dims: r·√(3 / fan_in), fan_in = shape[1]·∏shape[2:]; "*.bias": 0.01 r;
/// "*.weight" with 1 dim (norms): 1 + 0.1 r; "*.running_mean": 0.1 r; "*.running_var": 1 + 0.5 u;
/// "*.num_batches_tracked": 0.</item>
/// </list>
/// Values are computed in double and then cast to the entry's dtype (round to nearest, as torch does).
/// </summary>
public static class DeterministicWeights
{
    private const ulong FnvOffset = 14695981039346656037UL, FnvPrime = 1099511628211UL;
    private const ulong LcgMultiplier = 6364136223846793005UL, LcgIncrement = 1442695040888963407UL;

    public static ulong Fnv1a64(string name)
    {
        ulong h = FnvOffset;
        foreach (byte b in System.Text.Encoding.UTF8.GetBytes(name))
        {
            h ^= b;
            h *= FnvPrime;  // unchecked: C# integer arithmetic wraps mod 2^64
        }
        return h;
    }

    /// <summary>The first <paramref name="count"/> values u ∈ [0, 1) of the stream seeded by <paramref name="name"/>.</summary>
    public static double[] UniformStream(string name, long count)
    {
        var u = new double[count];
        ulong state = Fnv1a64(name);
        for (long i = 0; i < count; i++)
        {
            state = state * LcgMultiplier + LcgIncrement;
            u[i] = (state >> 11) / 9007199254740992.0;  // 2^53
        }
        return u;
    }

    /// <summary>The values (in double) of the state-dict entry <paramref name="name"/> of shape <paramref name="shape"/>.</summary>
    public static double[] Values(string name, long[] shape)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (Is(name, "num_batches_tracked")) return new double[count];
        var u = UniformStream(name, count);
        Func<double, double> rule;
        if (Is(name, "weight") && shape.Length >= 2)
        {
            long fanIn = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
            double bound = Math.Sqrt(3.0 / fanIn);
            rule = v => (2 * v - 1) * bound;
        }
        else if (Is(name, "weight") && shape.Length == 1) rule = v => 1 + 0.1 * (2 * v - 1);
        else if (Is(name, "bias")) rule = v => 0.01 * (2 * v - 1);
        else if (Is(name, "running_mean")) rule = v => 0.1 * (2 * v - 1);
        else if (Is(name, "running_var")) rule = v => 1 + 0.5 * v;
        else throw new ArgumentException($"DeterministicWeights: no rule for state-dict entry '{name}' with shape [{string.Join(", ", shape)}]");
        for (long i = 0; i < count; i++) u[i] = rule(u[i]);
        return u;
    }

    /// <summary>A tensor of the bare u stream (e.g. a deterministic test image in [0, 1)).</summary>
    public static Tensor Uniform(string name, long[] shape, DType dtype = DType.Float32) =>
        ToTensor(UniformStream(name, shape.Aggregate(1L, (a, b) => a * b)), shape, dtype);

    /// <summary>New tensors (in the current dispose scope) for every state-dict entry of <paramref name="module"/>,
    /// with each entry's dtype.</summary>
    public static Dictionary<string, Tensor> For(Module module)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using (var scope = DisposeScope.Enter())
        {
            foreach (var (name, entry) in module.StateDict())
                result[name] = ToTensor(Values(name, entry.Shape), entry.Shape, entry.DType).MoveToOuterDisposeScope();
        }
        return result;
    }

    /// <summary>Overwrites every parameter and buffer of <paramref name="module"/> with its deterministic values.</summary>
    public static T Apply<T>(T module) where T : Module
    {
        using var scope = DisposeScope.Enter();
        module.LoadStateDict(For(module), strict: true);
        return module;
    }

    private static bool Is(string name, string member) => name == member || name.EndsWith("." + member, StringComparison.Ordinal);

    private static Tensor ToTensor(double[] values, long[] shape, DType dtype)
    {
        switch (dtype)
        {
            case DType.Float32:
                var f = new float[values.Length];
                for (int i = 0; i < f.Length; i++) f[i] = (float)values[i];
                return Tensor.FromArray(f, shape);
            case DType.Int64:
                return Tensor.FromArray(values.Select(v => (long)v).ToArray(), shape);
            default:
                using (var scope = DisposeScope.Enter())
                    return Tensor.FromArray(values, shape).To(dtype).MoveToOuterDisposeScope();
        }
    }
}
