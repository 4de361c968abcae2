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

    private static IReadOnlyDictionary<string, Tensor> Outs(params (string Name, Tensor Value)[] outputs) =>
        outputs.ToDictionary(o => o.Name, o => o.Value);

    private static IReadOnlyDictionary<string, Tensor> ValuesIndices((Tensor Values, Tensor Indices) r) =>
        Outs(("values", r.Values), ("indices", r.Indices));

    private static IReadOnlyDictionary<string, Tensor> Numbered(Tensor[] parts) =>
        parts.Select((t, i) => ($"out{i}", t)).ToDictionary(p => p.Item1, p => p.t);

    // Tolerances: float64 results may differ from torch in the last few ulps only (different
    // summation order in reductions/BLAS, libm versions), so rtol 1e-10 / atol 1e-12; float32
    // cases use rtol 1e-5 / atol 1e-6 (~100 ulps, for 2000-element sums and dot products).
    // Integer, bool and index outputs compare exactly whatever the tolerance (x == y first).
    private static OpCase Case(Runner run) => new(run, Tolerance.Float64);
    private static OpCase Case32(Runner run) => new(run, Tolerance.Float32);
    private static OpCase X(Func<Tensor, Tensor> op) => Case((_, i) => Out(op(i["x"])));
    private static OpCase AB(Func<Tensor, Tensor, Tensor> op) => Case((_, i) => Out(op(i["a"], i["b"])));

    private static readonly Dictionary<string, OpCase> Cases = new()
    {
        // elementwise math
        ["exp"] = X(x => x.Exp()),
        ["log"] = X(x => x.Log()),
        ["sqrt"] = X(x => x.Sqrt()),
        ["rsqrt"] = X(x => x.Rsqrt()),
        ["abs"] = X(x => x.Abs()),
        ["sigmoid"] = X(x => x.Sigmoid()),
        ["sigmoid_float32"] = Case32((_, i) => Out(i["x"].Sigmoid())),
        ["tanh"] = X(x => x.Tanh()),
        ["relu"] = X(x => x.Relu()),
        ["floor"] = X(x => x.Floor()),
        ["ceil"] = X(x => x.Ceil()),
        ["round"] = X(x => x.Round()),
        ["round_decimals"] = Case((f, i) => Out(i["x"].Round(f.Long("decimals")))),
        ["sign"] = X(x => x.Sign()),
        ["clamp"] = Case((f, i) => Out(i["x"].Clamp(f.Double("min"), f.Double("max")))),
        ["clamp_min_only"] = Case((f, i) => Out(i["x"].Clamp(min: f.Double("min")))),
        ["clamp_tensor"] = Case((_, i) => Out(i["x"].Clamp(i["lo"], i["hi"]))),
        ["clamp_max_scalar"] = Case((f, i) => Out(i["x"].ClampMax(f.Double("max")))),
        ["maximum"] = AB((a, b) => Tensor.Maximum(a, b)),
        ["minimum"] = AB((a, b) => a.Minimum(b)),
        ["where"] = Case((_, i) => Out(Tensor.Where(i["cond"], i["a"], i["b"]))),
        ["where_scalar_other"] = Case((f, i) => Out(Tensor.Where(i["cond"], i["a"], f.Double("other")))),

        // comparisons and logic
        ["eq_tensor"] = AB((a, b) => a.Eq(b)),
        ["eq_scalar"] = Case((f, i) => Out(i["a"].Eq(f.Double("other")))),
        ["ne_tensor"] = AB((a, b) => a.Ne(b)),
        ["ne_scalar"] = Case((f, i) => Out(i["a"].Ne(f.Double("other")))),
        ["lt_tensor"] = AB((a, b) => a.Lt(b)),
        ["lt_scalar"] = Case((f, i) => Out(i["a"].Lt(f.Double("other")))),
        ["le_tensor"] = AB((a, b) => a.Le(b)),
        ["le_scalar"] = Case((f, i) => Out(i["a"].Le(f.Double("other")))),
        ["gt_tensor"] = AB((a, b) => a.Gt(b)),
        ["gt_scalar"] = Case((f, i) => Out(i["a"].Gt(f.Double("other")))),
        ["ge_tensor"] = AB((a, b) => a.Ge(b)),
        ["ge_scalar"] = Case((f, i) => Out(i["a"].Ge(f.Double("other")))),
        ["logical_and"] = AB((a, b) => a.LogicalAnd(b)),
        ["logical_or"] = AB((a, b) => a.LogicalOr(b)),
        ["logical_xor"] = AB((a, b) => a.LogicalXor(b)),
        ["logical_not"] = Case((_, i) => Out(i["a"].LogicalNot())),
        ["bitwise_and_or_not"] = Case((_, i) => Outs(("and", i["a"] & i["b"]), ("or", i["a"] | i["b"]), ("xor", i["a"] ^ i["b"]), ("not", ~i["a"]))),
        ["isnan_isfinite"] = Case((_, i) => Outs(("isnan", i["x"].IsNan()), ("isfinite", i["x"].IsFinite()))),

        // reductions
        ["sum_all"] = X(x => x.Sum()),
        ["sum_float32"] = Case32((_, i) => Out(i["x"].Sum())),
        ["sum_dim_keepdim"] = Case((f, i) => Out(i["x"].Sum(f.Long("dim"), f.Bool("keepdim")))),
        ["sum_dims"] = Case((f, i) => Out(i["x"].Sum(f.Longs("dims")))),
        ["sum_bool"] = Case((_, i) => Outs(("all", i["x"].Sum()), ("dim", i["x"].Sum(0)))),
        ["mean_all"] = X(x => x.Mean()),
        ["mean_dims_keepdim"] = Case((f, i) => Out(i["x"].Mean(f.Longs("dims"), keepDim: true))),
        ["prod_all"] = X(x => x.Prod()),
        ["prod_dim"] = Case((f, i) => Out(i["x"].Prod(f.Long("dim")))),
        ["max_all"] = X(x => x.Max()),
        ["max_dim"] = Case((f, i) => ValuesIndices(i["x"].Max(f.Long("dim")))),
        ["min_dim_keepdim"] = Case((f, i) => ValuesIndices(i["x"].Min(f.Long("dim"), keepDim: true))),
        ["min_all"] = X(x => x.Min()),
        ["amax"] = Case((f, i) => Out(i["x"].Amax(f.Longs("dims")))),
        ["argmax"] = Case((_, i) => Outs(("all", i["x"].Argmax()), ("dim1", i["x"].Argmax(1)), ("dim0_keepdim", i["x"].Argmax(0, keepDim: true)))),
        ["argmin"] = Case((_, i) => Outs(("all", i["x"].Argmin()), ("dim1", i["x"].Argmin(1)))),
        ["all_any"] = Case((_, i) => Outs(("all", i["x"].All()), ("any", i["x"].Any()), ("all_dim", i["x"].All(1)), ("any_dim_keepdim", i["x"].Any(0, keepDim: true)))),
        ["std_all"] = X(x => x.Std()),
        ["std_dim_biased"] = Case((f, i) => Out(i["x"].Std(f.Long("dim"), unbiased: false, keepDim: true))),
        ["var_dims"] = Case((f, i) => Out(i["x"].Var(f.Longs("dims")))),
        ["norm"] = Case((_, i) => Outs(("l2", i["x"].Norm()), ("l1_dim", i["x"].Norm(1, new long[] { 1 })))),
        ["logsumexp"] = Case((f, i) => Out(i["x"].Logsumexp(f.Long("dim")))),
        ["cumsum"] = Case((f, i) => Out(i["x"].Cumsum(f.Long("dim")))),
        ["cumprod"] = Case((f, i) => Out(i["x"].Cumprod(f.Long("dim")))),
        ["count_nonzero"] = Case((_, i) => Outs(("all", i["x"].CountNonzero()), ("dim", i["x"].CountNonzero(0)))),

        // shape
        ["permute"] = Case((f, i) => Out(i["x"].Permute(f.Longs("dims")))),
        ["transpose"] = X(x => x.Transpose(0, 2)),
        ["t"] = X(x => x.T()),
        ["movedim"] = X(x => x.Movedim(0, -1)),
        ["flatten"] = X(x => x.Flatten(1)),
        ["flatten_range"] = X(x => x.Flatten(0, 1)),
        ["unflatten"] = X(x => x.Unflatten(1, 2, -1)),
        ["unsqueeze"] = X(x => x.Unsqueeze(-1)),
        ["squeeze"] = Case((_, i) => Outs(("all", i["x"].Squeeze()), ("dim", i["x"].Squeeze(2)), ("noop", i["x"].Squeeze(1)))),
        ["expand"] = X(x => x.Expand(2, 3, -1)),
        ["expand_as"] = Case((_, i) => Out(i["x"].ExpandAs(i["y"]))),
        ["repeat"] = X(x => x.Repeat(2, 1, 3)),
        ["tile"] = X(x => x.Tile(2)),
        ["repeat_interleave"] = X(x => x.RepeatInterleave(2, dim: 0)),
        ["repeat_interleave_tensor"] = Case((_, i) => Out(i["x"].RepeatInterleave(i["r"], dim: 1))),
        ["cat"] = Case((_, i) => Out(Tensor.Cat(new[] { i["a"], i["b"], i["c"] }, 1))),
        ["stack"] = Case((_, i) => Out(Tensor.Stack(new List<Tensor> { i["a"], i["b"] }, -1))),
        ["split_size"] = Case((_, i) => Numbered(i["x"].Split(2, 1))),
        ["split_sizes"] = Case((_, i) => Numbered(i["x"].Split(new long[] { 1, 3, 1 }, 1))),
        ["chunk"] = Case((_, i) => Numbered(i["x"].Chunk(3, 0))),
        ["unbind"] = Case((_, i) => Numbered(i["x"].Unbind(1))),
        ["narrow"] = X(x => x.Narrow(1, 1, 2)),
        ["select"] = X(x => x.Select(1, -1)),
        ["slice_step"] = X(x => x.Slice(1, 1, 5, 2)),
        ["slice_negative"] = X(x => x.Slice(1, -3)),
        ["flip"] = X(x => x.Flip(0, 2)),
        ["roll"] = X(x => x.Roll(2, 1)),
        ["roll_flat"] = X(x => x.Roll(-1)),
        ["roll_multi"] = X(x => x.Roll(new long[] { 1, -2 }, new long[] { 0, 1 })),

        // indexing and selection
        ["gather"] = Case((_, i) => Out(i["x"].Gather(1, i["index"]))),
        ["scatter_src"] = Case((_, i) => Out(i["x"].Scatter(1, i["index"], i["src"]))),
        ["scatter_value"] = Case((f, i) => Out(i["x"].Scatter(0, i["index"], f.Double("value")))),
        ["scatter_add"] = Case((_, i) => Out(i["x"].ScatterAdd(0, i["index"], i["src"]))),
        ["scatter_reduce_amax"] = Case((f, i) => Out(i["x"].ScatterReduce(0, i["index"], i["src"], f.String("reduce"), f.Bool("include_self")))),
        ["index_select"] = Case((_, i) => Out(i["x"].IndexSelect(1, i["index"]))),
        ["index_add"] = Case((f, i) => Out(i["x"].IndexAdd(0, i["index"], i["source"], f.Double("alpha")))),
        ["index"] = Case((_, i) => Out(i["x"].Index(i["i0"], null, i["i2"]))),
        ["index_put"] = Case((_, i) => Out(i["x"].IndexPut(new[] { i["i0"], i["i1"] }, i["values"]))),
        ["index_put_accumulate"] = Case((f, i) => Out(i["x"].IndexPut(new[] { i["i0"] }, i["values"], f.Bool("accumulate")))),
        ["index_put_inplace"] = Case((_, i) => Out(i["x"].Clone().IndexPut_(new[] { i["mask"] }, i["values"]))),
        ["masked_select"] = Case((_, i) => Out(i["x"].MaskedSelect(i["mask"]))),
        ["masked_fill_scalar"] = Case((f, i) => Out(i["x"].MaskedFill(i["mask"], f.Double("value")))),
        ["masked_fill_tensor"] = Case((_, i) => Out(i["x"].MaskedFill(i["mask"], i["value"]))),
        ["nonzero"] = Case((_, i) =>
        {
            var parts = i["x"].NonzeroAsTuple();
            return Outs(new[] { ("out", i["x"].Nonzero()) }.Concat(parts.Select((t, k) => ($"tuple{k}", t))).ToArray());
        }),
        ["topk"] = Case((_, i) => ValuesIndices(i["x"].TopK(3))),
        ["topk_smallest_dim0"] = Case((_, i) => ValuesIndices(i["x"].TopK(2, dim: 0, largest: false))),
        ["sort"] = Case((_, i) => ValuesIndices(i["x"].Sort(1, descending: true))),
        ["sort_stable_ties"] = Case((_, i) => ValuesIndices(i["x"].Sort(stable: true))),
        ["argsort"] = X(x => x.Argsort(0)),
        ["unique"] = Case((_, i) =>
        {
            var (values, inverse, counts) = i["x"].Unique(returnInverse: true, returnCounts: true);
            return Outs(("values", values), ("inverse", inverse!), ("counts", counts!));
        }),
        ["unique_dim"] = Case((_, i) =>
        {
            var (values, inverse, counts) = i["x"].Unique(returnInverse: true, dim: 0);
            Assert.IsNull(counts, "counts were not asked for");
            return Outs(("values", values), ("inverse", inverse!));
        }),
        ["unique_consecutive"] = Case((_, i) =>
        {
            var (values, _, counts) = i["x"].UniqueConsecutive(returnCounts: true);
            return Outs(("values", values), ("counts", counts!));
        }),

        // linear algebra
        ["matmul_batched_broadcast"] = AB((a, b) => a.Matmul(b)),
        ["matmul_float32"] = Case32((_, i) => Out(i["a"].Matmul(i["b"]))),
        ["matmul_vector"] = AB((a, b) => a.Matmul(b)),
        ["mm"] = AB((a, b) => a.Mm(b)),
        ["bmm"] = AB((a, b) => a.Bmm(b)),
        ["outer"] = AB((a, b) => a.Outer(b)),
        ["dot"] = AB((a, b) => a.Dot(b)),
        ["einsum"] = AB((a, b) => Tensor.Einsum("bij,bkj->bik", a, b)),

        // the C# indexer against Python's x[...] and x[...] = v
        ["getitem_int"] = X(x => x[1]),
        ["getitem_negative_int"] = X(x => x[^1]),
        ["getitem_slice"] = X(x => x[1..3]),
        ["getitem_colon_int"] = X(x => x[.., 2]),
        ["getitem_ellipsis"] = X(x => x[TensorIndex.Ellipsis, 1]),
        ["getitem_newaxis"] = X(x => x[TensorIndex.NewAxis, 1, TensorIndex.Ellipsis, TensorIndex.NewAxis]),
        ["getitem_slice_step"] = X(x => x[.., TensorIndex.Slice(1, null, 2)]),
        ["getitem_from_end"] = X(x => x[^2.., ..^1]),
        ["getitem_index_tensor"] = Case((_, i) => Out(i["x"][.., i["idx"]])),
        ["getitem_mask"] = Case((_, i) => Out(i["x"][i["mask"]])),
        ["getitem_mask_after_slice"] = Case((_, i) => Out(i["x"][1.., i["mask"]])),
        ["getitem_two_tensors"] = Case((_, i) => Out(i["x"][i["i0"], i["i1"]])),
        ["getitem_separated_tensors"] = Case((_, i) => Out(i["x"][i["i0"], .., i["i2"]])),
        ["getitem_int_and_tensor"] = Case((_, i) => Out(i["x"][1, i["idx"]])),
        ["getitem_0d_int_tensor"] = Case((_, i) => Out(i["x"][i["i"]])),
        ["getitem_0d_bool_tensor"] = Case((_, i) => Out(i["x"][i["flag"], 0])),
        ["setitem_int_prefix_ones"] = Case((_, i) => Out(Assign(i["x"], y => y[1] = i["v"]))),
        ["setitem_slice_broadcast"] = Case((_, i) => Out(Assign(i["x"], y => y[.., 1..3] = i["v"]))),
        ["setitem_mask_scalar"] = Case((f, i) => Out(Assign(i["x"], y => y.Fill_(f.Double("value"), i["mask"])))),
        ["setitem_index_tensor"] = Case((_, i) => Out(Assign(i["x"], y => y[i["idx"]] = i["v"]))),
        ["setitem_mixed"] = Case((_, i) => Out(Assign(i["x"], y => y[1, .., i["idx"]] = i["v"]))),
        ["setitem_int_dtype"] = Case((f, i) => Out(Assign(i["x"], y => y.Fill_(f.Double("value"), .., ^1)))),
    };

    /// <summary>y = x.Clone(); write(y); as the generator's assign(): gradients reach x and the value.</summary>
    private static Tensor Assign(Tensor x, Action<Tensor> write)
    {
        var y = x.Clone();
        write(y);
        return y;
    }

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
        Assert.IsTrue(f.OutputNames.Any(), $"{f.Path}: the fixture has no outputs to compare");
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
