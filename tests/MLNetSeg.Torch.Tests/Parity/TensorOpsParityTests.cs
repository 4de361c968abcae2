using MLNetSeg.Torch;

namespace MLNetSeg.Torch.Tests.Parity;

/// <summary>
/// Runs every fixture in tests/fixtures/ops (written by tools/fixtures/gen_ops.py from
/// PyTorch 1.13) through our Tensor method and compares outputs and input gradients.
/// </summary>
[TestClass]
public class TensorOpsParityTests
{
    private const string Area = "ops";

    private delegate IReadOnlyDictionary<string, Tensor> Runner(ParityFixture f, IReadOnlyDictionary<string, Tensor> inputs);

    /// <summary>A runner per fixture name and the tolerance its comparison uses.</summary>
    private sealed record OpCase(Runner Run, Tolerance Tolerance);

    private static IReadOnlyDictionary<string, Tensor> Out(Tensor t) => new Dictionary<string, Tensor> { ["out"] = t };

    private static OpCase Unary(Func<Tensor, Tensor> op, Tolerance? tolerance = null) =>
        new((_, x) => Out(op(x["x"])), tolerance ?? Tolerance.Float64);

    private static readonly Dictionary<string, OpCase> Cases = new()
    {
        ["exp"] = Unary(x => x.Exp()),
        ["log"] = Unary(x => x.Log()),
    };

    public static IEnumerable<object[]> Fixtures() => ParityFixture.Names(Area).Select(n => new object[] { n });

    [TestMethod]
    [DynamicData(nameof(Fixtures), DynamicDataSourceType.Method)]
    public void MatchesTorch(string name)
    {
        using var scope = DisposeScope.Enter();
        var f = ParityFixture.Load(Area, name);
        if (!Cases.TryGetValue(name, out var c)) Assert.Fail($"fixture {f.Path} has no runner in {nameof(TensorOpsParityTests)}");
        var grads = f.GradNames.ToHashSet();
        var inputs = f.InputNames.ToDictionary(n => n, n => f.Input(n, requiresGrad: grads.Contains(n)));
        var outputs = c.Run(f, inputs);
        foreach (var o in f.OutputNames)
        {
            if (!outputs.TryGetValue(o, out var actual)) Assert.Fail($"{f.OpName} [{name}]: runner produced no output '{o}'");
            f.AssertOutput(actual, c.Tolerance, o);
        }
        if (f.HasGrads) f.AssertGradients(inputs, outputs, c.Tolerance);
    }

    [TestMethod]
    public void EveryRunnerHasAFixture()
    {
        var names = ParityFixture.Names(Area).ToHashSet();
        var missing = Cases.Keys.Where(k => !names.Contains(k)).ToArray();
        Assert.AreEqual(0, missing.Length, $"runners without fixtures (rerun tools/fixtures/gen_ops.py): {string.Join(", ", missing)}");
    }
}
