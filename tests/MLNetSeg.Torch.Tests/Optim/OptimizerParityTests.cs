using System.Text.Json;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Optim;
using MLNetSeg.Torch.Serialization;
using MLNetSeg.Torch.Tests.Parity;

namespace MLNetSeg.Torch.Tests.Optim;

/// <summary>
/// Optimizers, schedules and clipping against tests/fixtures/optim (tools/fixtures/gen_optim.py,
/// torch 1.13). Parameters are float64 and we replay torch's exact op sequence, so parameters and
/// states may differ only in the last ulps: rtol 1e-10 / atol 1e-12 (<see cref="Tolerance.Float64"/>);
/// AdamW's float32 step counter compares exactly.
/// </summary>
[TestClass]
public class OptimizerParityTests
{
    private const string Area = "optim";

    /// <summary>Closed-form schedules against torch's chainable ones: torch's recursive
    /// multiplications drift by ~1e-16 per step, so rtol 1e-12 (plus atol 1e-15 where the rate is 0).</summary>
    private static readonly Tolerance ScheduleTolerance = new(1e-12, 1e-15);

    private sealed record Run(Dictionary<string, Tensor> Params, Optimizer Optimizer, string[] Order);

    private static Run Build(ParityFixture f)
    {
        var groups = f.Param("groups").EnumerateArray().ToArray();
        var order = groups.SelectMany(g => g.GetProperty("params").EnumerateArray().Select(n => n.GetString()!)).ToArray();
        var live = order.ToDictionary(n => n, n => f.Input($"init.{n}").RequiresGrad_());
        IEnumerable<Tensor> Members(JsonElement g) => g.GetProperty("params").EnumerateArray().Select(n => live[n.GetString()!]);
        double D(JsonElement g, string k) => g.GetProperty(k).GetDouble();
        Optimizer optimizer = f.OpName switch
        {
            "SGD" => new Sgd(groups.Select(g => new SgdGroup(Members(g), D(g, "lr"), D(g, "momentum"), D(g, "dampening"),
                D(g, "weight_decay"), g.GetProperty("nesterov").GetBoolean()))),
            "AdamW" => new AdamW(groups.Select(g => new AdamWGroup(Members(g), D(g, "lr"), g.GetProperty("betas")[0].GetDouble(),
                g.GetProperty("betas")[1].GetDouble(), D(g, "eps"), D(g, "weight_decay"), g.GetProperty("amsgrad").GetBoolean()))),
            var op => throw new InvalidDataException($"{f.Path}: unknown optimizer {op}"),
        };
        return new Run(live, optimizer, order);
    }

    /// <summary>Sets the fixture's gradients of <paramref name="step"/> (none where it has none) and steps.</summary>
    private static void Step(ParityFixture f, Run run, int step)
    {
        foreach (var (name, p) in run.Params)
            p.Grad = f.HasInput($"grad.{step}.{name}") ? f.Input($"grad.{step}.{name}") : null;
        run.Optimizer.Step();
    }

    [DataTestMethod]
    [DataRow("sgd_momentum_nesterov_wd")]
    [DataRow("sgd_plain")]
    [DataRow("adamw")]
    [DataRow("adamw_amsgrad")]
    public void ParametersAndStateFollowTorchStepByStep(string name)
    {
        using var scope = DisposeScope.Enter();
        var f = ParityFixture.Load(Area, name);
        var run = Build(f);
        using var optimizer = run.Optimizer;
        int steps = f.Int("steps");
        for (int step = 0; step < steps; step++)
        {
            Step(f, run, step);
            foreach (var (n, p) in run.Params) f.AssertOutput(p, Tolerance.Float64, $"param.{step}.{n}");
        }
        var state = optimizer.StateDict();
        var expectedKeys = f.OutputNames.Where(o => o.StartsWith("state.")).ToHashSet();
        Assert.IsTrue(expectedKeys.Count > 0 || name == "sgd_plain", "fixture records the optimizer state");
        int actualKeys = 0;
        for (int i = 0; i < run.Order.Length; i++)
        {
            if (!state.State.TryGetValue(i, out var entries)) continue;
            foreach (var (key, t) in entries)
            {
                actualKeys++;
                var id = $"state.{run.Order[i]}.{key}";
                Assert.IsTrue(expectedKeys.Contains(id), $"{name}: we keep {id}, torch does not");
                f.AssertOutput(t, key == "step" ? Tolerance.Exact : Tolerance.Float64, id);
            }
        }
        Assert.AreEqual(expectedKeys.Count, actualKeys, $"{name}: state entries");
    }

    [DataTestMethod]
    [DataRow("sgd_momentum_nesterov_wd")]
    [DataRow("adamw_amsgrad")]
    public void ResumingFromASavedStateContinuesExactly(string name)
    {
        using var scope = DisposeScope.Enter();
        var f = ParityFixture.Load(Area, name);
        int steps = f.Int("steps"), cut = 3;
        var path = Path.Combine(Path.GetTempPath(), $"mlnetseg-optim-{Guid.NewGuid():N}.safetensors");
        try
        {
            var straight = Build(f);
            using (straight.Optimizer)
                for (int s = 0; s < steps; s++) Step(f, straight, s);

            var first = Build(f);
            using (first.Optimizer)
            {
                for (int s = 0; s < cut; s++) Step(f, first, s);
                SafeTensors.Save(path, first.Optimizer);
            }
            // A fresh optimizer over fresh parameters holding the values reached at the cut,
            // with hyper-parameters that the loaded state must overwrite.
            var second = Build(f);
            foreach (var (n, p) in second.Params) using (NoGradScope.Enter()) p.CopyFrom(first.Params[n]);
            foreach (var g in second.Optimizer.ParamGroups) g.LearningRate = 123;
            using (second.Optimizer)
            {
                second.Optimizer.LoadStateDict(SafeTensors.LoadOptimizerState(path));
                CollectionAssert.AreEqual(first.Optimizer.ParamGroups.Select(g => g.LearningRate).ToArray(),
                    second.Optimizer.ParamGroups.Select(g => g.LearningRate).ToArray(), "learning rates restored");
                for (int s = cut; s < steps; s++) Step(f, second, s);
            }
            foreach (var (n, p) in second.Params)
                ParityFixture.AssertClose(p, straight.Params[n], Tolerance.Exact, $"{name}: {n} after resuming at step {cut}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void LoadStateDictRejectsStateThatDoesNotFit()
    {
        using var scope = DisposeScope.Enter();
        var a = Tensor.Zeros(new long[] { 2, 3 }, DType.Float64).RequiresGrad_();
        var b = Tensor.Zeros(new long[] { 4 }, DType.Float64).RequiresGrad_();
        using var sgd = new Sgd(new[] { a, b }, 0.1, momentum: 0.9);
        a.Grad = Tensor.Ones(new long[] { 2, 3 }, DType.Float64);
        b.Grad = Tensor.Ones(new long[] { 4 }, DType.Float64);
        sgd.Step();
        var state = sgd.StateDict();

        using var adam = new AdamW(new[] { a, b });
        StringAssert.Contains(Assert.ThrowsException<InvalidDataException>(() => adam.LoadStateDict(state)).Message, "is for SGD");

        using var wrongGroups = new Sgd(new[] { new SgdGroup(new[] { a }, 0.1), new SgdGroup(new[] { b }, 0.1) });
        StringAssert.Contains(Assert.ThrowsException<InvalidDataException>(() => wrongGroups.LoadStateDict(state)).Message, "2");

        var c = Tensor.Zeros(new long[] { 5 }, DType.Float64).RequiresGrad_();
        using var wrongShape = new Sgd(new[] { a, c }, 0.1, momentum: 0.9);
        var e = Assert.ThrowsException<InvalidDataException>(() => wrongShape.LoadStateDict(state));
        StringAssert.Contains(e.Message, "state.1.momentum_buffer");
        Assert.AreEqual(0.1, wrongShape.ParamGroups[0].LearningRate, "a rejected state changes nothing");

        Assert.ThrowsException<ArgumentException>(() => new Sgd(new[] { a }, 0.1, momentum: 0, nesterov: true));
        Assert.ThrowsException<ArgumentException>(() => new Sgd(new[] { new SgdGroup(new[] { a }, 0.1), new SgdGroup(new[] { a }, 0.1) }));
        Assert.ThrowsException<ArgumentOutOfRangeException>(() => new AdamW(new[] { a }, beta1: 1.0));
    }

    public static IEnumerable<object[]> Schedules() =>
        new[] { "warmup_linear_multistep", "warmup_constant_multistep", "multistep_no_warmup", "cosine_eta_min", "warmup_linear_cosine" }
            .Select(n => new object[] { n });

    [TestMethod]
    [DynamicData(nameof(Schedules), DynamicDataSourceType.Method)]
    public void SchedulesMatchTorchSchedulers(string name)
    {
        using var scope = DisposeScope.Enter();
        var f = ParityFixture.Load(Area, name);
        var baseLrs = f.Doubles("base_lrs");
        using var sgd = new Sgd(baseLrs.Select(lr => new SgdGroup(new[] { Tensor.Zeros(new long[] { 1 }).RequiresGrad_() }, lr)));
        var warmup = f.String("warmup");
        var method = warmup == "constant" ? WarmupMethod.Constant : WarmupMethod.Linear;
        long warmupIters = warmup == "none" ? 0 : f.Long("warmup_iters");
        double warmupFactor = warmup == "none" ? 1 : f.Double("warmup_factor");
        LrScheduler scheduler = f.HasParam("milestones")
            ? new WarmupMultiStepLr(sgd, f.Longs("milestones"), f.Double("gamma"), warmupFactor, warmupIters, method)
            : new WarmupCosineLr(sgd, f.Long("max_iters"), f.Double("eta_min"), warmupFactor, warmupIters, method);
        int steps = f.Int("steps");
        var lrs = new List<double>(sgd.ParamGroups.Select(g => g.LearningRate));
        for (int s = 0; s < steps; s++)
        {
            scheduler.Step();
            lrs.AddRange(sgd.ParamGroups.Select(g => g.LearningRate));
        }
        f.AssertOutput(Tensor.FromArray(lrs.ToArray(), steps + 1, baseLrs.Length), ScheduleTolerance, "lr");

        // Resuming at an iteration applies that iteration's rate.
        using var other = new Sgd(baseLrs.Select(lr => new SgdGroup(new[] { Tensor.Zeros(new long[] { 1 }).RequiresGrad_() }, lr)));
        var resumed = f.HasParam("milestones")
            ? (LrScheduler)new WarmupMultiStepLr(other, f.Longs("milestones"), f.Double("gamma"), warmupFactor, warmupIters, method)
            : new WarmupCosineLr(other, f.Long("max_iters"), f.Double("eta_min"), warmupFactor, warmupIters, method);
        resumed.LoadState(scheduler.LastEpoch);
        CollectionAssert.AreEqual(scheduler.LastLearningRates.ToArray(), resumed.LastLearningRates.ToArray());
    }

    [DataTestMethod]
    [DataRow("clip_l2")]
    [DataRow("clip_inf")]
    [DataRow("clip_l1_not_reached")]
    public void ClipGradNormMatchesTorch(string name)
    {
        using var scope = DisposeScope.Enter();
        var f = ParityFixture.Load(Area, name);
        var grads = f.InputNames.OrderBy(n => n, StringComparer.Ordinal).ToArray();
        var ps = grads.Select(g =>
        {
            var grad = f.Input(g);
            var p = Tensor.ZerosLike(grad).RequiresGrad_();
            p.Grad = grad;
            return p;
        }).ToArray();
        double normType = f.Param("norm_type").ValueKind == JsonValueKind.String ? double.PositiveInfinity : f.Double("norm_type");
        double total = GradientClipping.ClipGradNorm(ps, f.Double("max_norm"), normType);
        f.AssertOutput(Tensor.Scalar(total, DType.Float64), Tolerance.Float64, "total_norm");
        for (int i = 0; i < ps.Length; i++) f.AssertOutput(ps[i].Grad!, Tolerance.Float64, $"clipped{i}");
    }
}
