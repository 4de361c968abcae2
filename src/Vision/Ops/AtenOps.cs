using MLNetSeg.Torch;

namespace MLNetSeg.Vision.Ops;

/// <summary>
/// The aten operators the vision ops are composed of, called through the dispatcher so the
/// same code runs on any device and records autograd. Kept private to this assembly: the
/// public tensor surface is MLNetSeg.Torch's; these are only the few calls it may not have yet.
/// </summary>
internal static class AtenOps
{
    private static readonly Op SelectOp = new("select", "int"), NarrowOp = new("narrow"), SliceOp = new("slice", "Tensor"),
        UnsqueezeOp = new("unsqueeze"), PermuteOp = new("permute"), ExpandOp = new("expand"), FlattenOp = new("flatten", "using_ints"),
        StackOp = new("stack"), CatOp = new("cat"), SortOp = new("sort"), SortStableOp = new("sort", "stable"),
        MaxDimOp = new("max", "dim"), MaxAllOp = new("max"), MinAllOp = new("min"), SumOp = new("sum"),
        SumDimOp = new("sum", "dim_IntList"), CumsumOp = new("cumsum"), ArgmaxOp = new("argmax"), GatherOp = new("gather"),
        NonzeroOp = new("nonzero"), IndexOp = new("index", "Tensor"), IndexPutOp = new("index_put_"),
        EqScalarOp = new("eq", "Scalar"), EqTensorOp = new("eq", "Tensor"), GeScalarOp = new("ge", "Scalar"),
        GeTensorOp = new("ge", "Tensor"), LtScalarOp = new("lt", "Scalar"), LtTensorOp = new("lt", "Tensor"),
        LeScalarOp = new("le", "Scalar"), LogicalAndOp = new("logical_and"),
        AddTensorOp = new("add", "Tensor"), SubTensorOp = new("sub", "Tensor"), AddScalarOp = new("add", "Scalar"),
        MulScalarOp = new("mul", "Scalar"), ClampMaxOp = new("clamp_max"), RemainderTensorOp = new("remainder", "Tensor"),
        DivModeOp = new("div", "Tensor_mode"),
        PadOp = new("constant_pad_nd"), UpsampleBilinearOp = new("upsample_bilinear2d"),
        UpsampleBicubicOp = new("upsample_bicubic2d"), GridSamplerOp = new("grid_sampler_2d"), EmbeddingBagOp = new("embedding_bag");

    // Integer scalars must reach the dispatcher as ints: a double scalar would promote an
    // int64 tensor to float, and a double alpha is refused for integer tensors (Tensor's
    // operators pass doubles), so integer arithmetic goes through these.
    public static Tensor AddExact(Tensor a, Tensor b) => AddTensorOp.Invoke(a, b, 1L);
    public static Tensor SubExact(Tensor a, Tensor b) => SubTensorOp.Invoke(a, b, 1L);
    public static Tensor AddInt(Tensor t, long v) => AddScalarOp.Invoke(t, v, 1L);
    public static Tensor MulInt(Tensor t, long v) => MulScalarOp.Invoke(t, v);
    public static Tensor ClampMaxInt(Tensor t, long max) => ClampMaxOp.Invoke(t, max);
    public static Tensor Remainder(Tensor a, Tensor b) => RemainderTensorOp.Invoke(a, b);
    public static Tensor FloorDivide(Tensor a, Tensor b) => DivModeOp.Invoke(a, b, "floor");
    public static Tensor Le(Tensor t, double v) => LeScalarOp.Invoke(t, v);

    public static Tensor Select(Tensor t, long dim, long index) => SelectOp.Invoke(t, dim, index);
    public static Tensor Narrow(Tensor t, long dim, long start, long length) => NarrowOp.Invoke(t, dim, start, length);

    /// <summary>t[start:end:step] along dim (a view).</summary>
    public static Tensor Slice(Tensor t, long dim, long? start, long? end, long step = 1) => SliceOp.Invoke(t, dim, start, end, step);

    /// <summary>Column j of an [N, K] tensor as an [N] view.</summary>
    public static Tensor Col(Tensor t, long j) => SelectOp.Invoke(t, 1L, j);

    public static Tensor Unsqueeze(Tensor t, long dim) => UnsqueezeOp.Invoke(t, dim);
    public static Tensor Permute(Tensor t, params long[] dims) => PermuteOp.Invoke(t, dims);
    public static Tensor Expand(Tensor t, params long[] shape) => ExpandOp.Invoke(t, shape);
    public static Tensor Flatten(Tensor t, long start, long end = -1) => FlattenOp.Invoke(t, start, end);
    public static Tensor Stack(Tensor[] tensors, long dim = 0) => StackOp.Invoke(tensors, dim);
    public static Tensor Cat(Tensor[] tensors, long dim = 0) => CatOp.Invoke(tensors, dim);

    /// <summary>torch.sort (not stable), returning the indices. Used where the reference calls
    /// the same unstable sort, so ties come out in the same order on the same device.</summary>
    public static Tensor ArgSort(Tensor t, long dim, bool descending)
    {
        var r = SortOp.InvokeMany(t, dim, descending);
        r[0]!.Dispose();
        return r[1]!;
    }

    public static Tensor ArgSortStable(Tensor t, long dim, bool descending)
    {
        var r = SortStableOp.InvokeMany(t, true, dim, descending);
        r[0]!.Dispose();
        return r[1]!;
    }

    /// <summary>torch.max(t, dim): (values, indices).</summary>
    public static (Tensor Values, Tensor Indices) MaxDim(Tensor t, long dim, bool keepdim = false)
    {
        var r = MaxDimOp.InvokeMany(t, dim, keepdim);
        return (r[0]!, r[1]!);
    }

    public static Tensor MaxAll(Tensor t) => MaxAllOp.Invoke(t);
    public static Tensor MinAll(Tensor t) => MinAllOp.Invoke(t);
    public static Tensor Sum(Tensor t) => SumOp.Invoke(t);
    public static Tensor Sum(Tensor t, long[] dims, bool keepdim = false) => SumDimOp.Invoke(t, dims, keepdim);
    public static Tensor Cumsum(Tensor t, long dim) => CumsumOp.Invoke(t, dim);

    /// <summary>Indices of the true elements of a 1-d mask (torch.where(mask)[0]).</summary>
    public static Tensor WhereIndices(Tensor mask1d)
    {
        using var nz = NonzeroOp.Invoke(mask1d);
        return SelectOp.Invoke(nz, 1L, 0L);
    }

    /// <summary>The [K, D] coordinates of the true elements (torch.nonzero).</summary>
    public static Tensor Nonzero(Tensor mask) => NonzeroOp.Invoke(mask);

    /// <summary>t[index] along dim 0 with an integer or bool index (torch advanced indexing).</summary>
    public static Tensor Index(Tensor t, Tensor index) => IndexOp.Invoke(t, new Tensor?[] { index });

    /// <summary>t[index] = values along dim 0, in place.</summary>
    public static void IndexPut_(Tensor t, Tensor index, Tensor values, bool accumulate = false) =>
        IndexPutOp.InvokeVoid(t, new Tensor?[] { index }, values, accumulate);

    public static Tensor Eq(Tensor t, double v) => EqScalarOp.Invoke(t, v);
    public static Tensor Eq(Tensor a, Tensor b) => EqTensorOp.Invoke(a, b);
    public static Tensor Ge(Tensor t, double v) => GeScalarOp.Invoke(t, v);
    public static Tensor Ge(Tensor a, Tensor b) => GeTensorOp.Invoke(a, b);
    public static Tensor Lt(Tensor t, double v) => LtScalarOp.Invoke(t, v);
    public static Tensor Lt(Tensor a, Tensor b) => LtTensorOp.Invoke(a, b);
    public static Tensor And(Tensor a, Tensor b) => LogicalAndOp.Invoke(a, b);
    public static Tensor Argmax(Tensor t, long dim) => ArgmaxOp.Invoke(t, dim, false);
    public static Tensor Gather(Tensor t, long dim, Tensor index) => GatherOp.Invoke(t, dim, index);

    /// <summary>F.pad with constant 0; pad lists (left, right, top, bottom, ...) from the last dim.</summary>
    public static Tensor Pad(Tensor t, long[] pad) => PadOp.Invoke(t, pad, 0.0);

    /// <summary>F.interpolate(mode="bilinear", align_corners=False) to an explicit size.</summary>
    public static Tensor ResizeBilinear(Tensor nchw, long height, long width) =>
        UpsampleBilinearOp.Invoke(nchw, new[] { height, width }, false);

    /// <summary>F.interpolate(mode="bicubic", align_corners=False) to an explicit size.</summary>
    public static Tensor ResizeBicubic(Tensor nchw, long height, long width) =>
        UpsampleBicubicOp.Invoke(nchw, new[] { height, width }, false);

    /// <summary>F.grid_sample(bilinear, zeros padding).</summary>
    public static Tensor GridSampleBilinearZeros(Tensor input, Tensor grid, bool alignCorners) =>
        GridSamplerOp.Invoke(input, grid, 0L, 0L, alignCorners);

    /// <summary>F.embedding_bag(mode="sum") with per-sample weights: out[b] = Σ w[i]·weight[indices[i]]
    /// over the bag's entries. Differentiable w.r.t. <paramref name="weight"/>.</summary>
    public static Tensor EmbeddingBagSum(Tensor weight, Tensor indices, Tensor offsets, Tensor perSampleWeights)
    {
        var r = EmbeddingBagOp.InvokeMany(weight, indices, offsets, false, 0L, false, perSampleWeights, false);
        for (int i = 1; i < r.Length; i++) r[i]?.Dispose();
        return r[0]!;
    }

    /// <summary>Throws unless <paramref name="t"/> is [N, <paramref name="cols"/>].</summary>
    public static void CheckShape2(Tensor t, long cols, string what, string where)
    {
        var s = t.Shape;
        if (s.Length != 2 || s[1] != cols)
            throw new ArgumentException($"{where}: {what} must be a [N, {cols}] tensor, got [{string.Join(", ", s)}]");
    }

    public static void CheckShape1(Tensor t, long n, string what, string where)
    {
        var s = t.Shape;
        if (s.Length != 1 || s[0] != n)
            throw new ArgumentException($"{where}: {what} must be a [{n}] tensor, got [{string.Join(", ", s)}]");
    }
}
