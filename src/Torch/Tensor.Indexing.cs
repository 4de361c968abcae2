namespace MLNetSeg.Torch;

// Gathering, scattering, masking, advanced indexing, sorting and selection. Index tensors are
// int64 (torch raises otherwise); masks are bool.
public sealed partial class Tensor
{
    private static readonly Op GatherOp = new("gather"), ScatterSrc = new("scatter", "src"), ScatterValue = new("scatter", "value"),
        ScatterSrcInplace = new("scatter_", "src"), ScatterValueInplace = new("scatter_", "value"),
        ScatterAddOp = new("scatter_add"), ScatterAddInplace = new("scatter_add_"), ScatterReduceOp = new("scatter_reduce", "two"),
        IndexSelectOp = new("index_select"), IndexAddOp = new("index_add"), IndexPutOp = new("index_put"),
        IndexPutInplace = new("index_put_"), IndexOp = new("index", "Tensor"), MaskedSelectOp = new("masked_select"),
        MaskedFillS = new("masked_fill", "Scalar"), MaskedFillT = new("masked_fill", "Tensor"),
        MaskedFillInplaceS = new("masked_fill_", "Scalar"), MaskedFillInplaceT = new("masked_fill_", "Tensor"),
        NonzeroOp = new("nonzero"), TopkOp = new("topk"), SortStable = new("sort", "stable"), ArgsortStable = new("argsort", "stable"),
        Unique2Op = new("_unique2"), UniqueDimOp = new("unique_dim"), UniqueConsecutiveOp = new("unique_consecutive");

    /// <summary>out[i][j] = this[index[i][j]][j] for dim 0 (and likewise for other dims).</summary>
    public Tensor Gather(long dim, Tensor index) => GatherOp.Invoke(this, dim, index);

    /// <summary>A copy with src written at index along dim (out[index[i][j]][j] = src[i][j] for dim 0).
    /// With duplicate indices the winner is unspecified, as in torch.</summary>
    public Tensor Scatter(long dim, Tensor index, Tensor src) => ScatterSrc.Invoke(this, dim, index, src);
    /// <summary>A copy with the scalar <paramref name="value"/> written at <paramref name="index"/>
    /// along <paramref name="dim"/> (torch.scatter with a value).</summary>
    public Tensor Scatter(long dim, Tensor index, double value) => ScatterValue.Invoke(this, dim, index, value);

    /// <summary>In-place <see cref="Scatter(long, Tensor, Tensor)"/> (torch's <c>scatter_</c>); returns this.</summary>
    public Tensor Scatter_(long dim, Tensor index, Tensor src)
    {
        ScatterSrcInplace.InvokeVoid(this, dim, index, src);
        return this;
    }

    /// <summary>In-place <see cref="Scatter(long, Tensor, double)"/> (torch's <c>scatter_</c>); returns this.</summary>
    public Tensor Scatter_(long dim, Tensor index, double value)
    {
        ScatterValueInplace.InvokeVoid(this, dim, index, value);
        return this;
    }

    /// <summary>A copy with src added at index along dim; duplicate indices accumulate.</summary>
    public Tensor ScatterAdd(long dim, Tensor index, Tensor src) => ScatterAddOp.Invoke(this, dim, index, src);

    /// <summary>In-place <see cref="ScatterAdd"/> (torch's <c>scatter_add_</c>): duplicate indices
    /// accumulate; returns this.</summary>
    public Tensor ScatterAdd_(long dim, Tensor index, Tensor src)
    {
        ScatterAddInplace.InvokeVoid(this, dim, index, src);
        return this;
    }

    /// <summary>Scatter with a reduction: "sum", "prod", "mean", "amax" or "amin"; includeSelf
    /// decides whether this tensor's values take part.</summary>
    public Tensor ScatterReduce(long dim, Tensor index, Tensor src, string reduce, bool includeSelf = true) =>
        ScatterReduceOp.Invoke(this, dim, index, src, reduce, includeSelf);

    /// <summary>Rows (along dim) picked by a 1-d int64 index.</summary>
    public Tensor IndexSelect(long dim, Tensor index) => IndexSelectOp.Invoke(this, dim, index);

    /// <summary>A copy with alpha·source added to the slices picked by index along dim.</summary>
    public Tensor IndexAdd(long dim, Tensor index, Tensor source, double alpha = 1) =>
        IndexAddOp.Invoke(this, dim, index, source, alpha);

    /// <summary>Advanced indexing, x[i0, i1, ...] with tensors (null = ":" for that dim).
    /// Bool masks select their true positions.</summary>
    public Tensor Index(params Tensor?[] indices) => IndexOp.Invoke(this, indices);

    /// <summary>x[indices] = values in place (accumulate: +=, duplicates add up); returns this.</summary>
    public Tensor IndexPut_(Tensor?[] indices, Tensor values, bool accumulate = false)
    {
        IndexPutInplace.InvokeVoid(this, indices, values, accumulate);
        return this;
    }

    /// <summary>Out-of-place <see cref="IndexPut_"/>: differentiable w.r.t. this and values.</summary>
    public Tensor IndexPut(Tensor?[] indices, Tensor values, bool accumulate = false) =>
        IndexPutOp.Invoke(this, indices, values, accumulate);

    /// <summary>The elements where the (broadcast) mask is true, as a 1-d tensor.</summary>
    public Tensor MaskedSelect(Tensor mask) => MaskedSelectOp.Invoke(this, mask);

    /// <summary>A copy with value wherever the (broadcast) mask is true.</summary>
    public Tensor MaskedFill(Tensor mask, double value) => MaskedFillS.Invoke(this, mask, value);

    /// <summary>A copy with a 0-d value tensor wherever mask is true (differentiable w.r.t. value).</summary>
    public Tensor MaskedFill(Tensor mask, Tensor value) => MaskedFillT.Invoke(this, mask, value);

    /// <summary>In place, <paramref name="value"/> (converted to this dtype) wherever the broadcast
    /// bool mask is true (torch's <c>masked_fill_</c>); returns this.</summary>
    public Tensor MaskedFill_(Tensor mask, double value)
    {
        MaskedFillInplaceS.InvokeVoid(this, mask, value);
        return this;
    }

    /// <summary>In place, an integer value wherever mask is true (passed as an integer, so integer tensors
    /// are filled exactly).</summary>
    public Tensor MaskedFill_(Tensor mask, long value)
    {
        MaskedFillInplaceS.InvokeVoid(this, mask, value);
        return this;
    }

    /// <summary>In place, a 0-d <paramref name="value"/> tensor wherever the broadcast bool mask is
    /// true (torch's <c>masked_fill_</c>); returns this.</summary>
    public Tensor MaskedFill_(Tensor mask, Tensor value)
    {
        MaskedFillInplaceT.InvokeVoid(this, mask, value);
        return this;
    }

    /// <summary>Coordinates of the non-zero elements: int64 [count, Dim], row-major order.</summary>
    public Tensor Nonzero() => NonzeroOp.Invoke(this);

    /// <summary>One 1-d int64 tensor of coordinates per dim (torch.nonzero(as_tuple=True)).</summary>
    public Tensor[] NonzeroAsTuple()
    {
        using var scope = DisposeScope.Enter();  // frees the [N, dim] index tensor; the views keep its storage
        var parts = Dim == 0 ? Nonzero().Reshape(1, -1).Unbind(0)  // a 0-d tensor behaves as 1-d, as in torch
            : Nonzero().Unbind(1);
        scope.MoveToOuter(parts);
        return parts;
    }

    /// <summary>The k largest (or smallest) elements along dim and their indices.</summary>
    public (Tensor Values, Tensor Indices) TopK(long k, long dim = -1, bool largest = true, bool sorted = true) =>
        Pair(TopkOp.InvokeMany(this, k, dim, largest, sorted), "topk");

    /// <summary>Sorts along dim; stable keeps the order of equal elements.</summary>
    public (Tensor Values, Tensor Indices) Sort(long dim = -1, bool descending = false, bool stable = false) =>
        Pair(SortStable.InvokeMany(this, stable, dim, descending), "sort");

    /// <summary>The int64 indices that sort along <paramref name="dim"/> (torch.argsort), i.e.
    /// the Indices of <see cref="Sort"/>.</summary>
    public Tensor Argsort(long dim = -1, bool descending = false, bool stable = false) =>
        ArgsortStable.Invoke(this, stable, dim, descending);

    /// <summary>
    /// Distinct elements (of the flattened tensor, or distinct slices along dim), sorted ascending;
    /// optionally the index of each input element's value in Values (Inverse) and each value's count.
    /// Results not asked for are null.
    /// </summary>
    public (Tensor Values, Tensor? Inverse, Tensor? Counts) Unique(bool sorted = true, bool returnInverse = false,
        bool returnCounts = false, long? dim = null)
    {
        var r = dim is null
            ? Unique2Op.InvokeMany(this, sorted, returnInverse, returnCounts)
            : UniqueDimOp.InvokeMany(this, dim.Value, sorted, returnInverse, returnCounts);
        return Triple(r, returnInverse, returnCounts, "unique");
    }

    /// <summary>Collapses runs of equal consecutive elements (torch.unique_consecutive).</summary>
    public (Tensor Values, Tensor? Inverse, Tensor? Counts) UniqueConsecutive(bool returnInverse = false,
        bool returnCounts = false, long? dim = null) =>
        Triple(UniqueConsecutiveOp.InvokeMany(this, returnInverse, returnCounts, dim), returnInverse, returnCounts, "unique_consecutive");

    private static (Tensor, Tensor?, Tensor?) Triple(Tensor?[] r, bool keepInverse, bool keepCounts, string op)
    {
        if (r.Length != 3 || r[0] is null) throw new TorchException($"{op} returned {r.Length} results, expected 3");
        // torch returns empty placeholders for results not asked for: free them now.
        if (!keepInverse) r[1]?.Dispose();
        if (!keepCounts) r[2]?.Dispose();
        return (r[0]!, keepInverse ? r[1] : null, keepCounts ? r[2] : null);
    }
}
