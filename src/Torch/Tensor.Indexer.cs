namespace MLNetSeg.Torch;

/// <summary>
/// One entry of a torch-style index, as in <c>x[1, .., TensorIndex.NewAxis, mask]</c>.
/// Converts implicitly from int/long and System.Index (select: removes the dim; ^1 is the last),
/// System.Range (slice: keeps the dim; <c>..</c> is ":"), and Tensor (advanced indexing with an
/// int64 index or a bool mask). <see cref="Ellipsis"/> stands for all remaining dims and
/// <see cref="NewAxis"/> inserts a size-1 dim (Python's None).
/// </summary>
public readonly struct TensorIndex
{
    /// <summary>What an index entry does.</summary>
    public enum IndexKind
    {
        /// <summary>An integer: picks one position and removes the dim (<see cref="Index"/>).</summary>
        Select,
        /// <summary>start:stop:step: keeps the dim (<see cref="Start"/>, <see cref="Stop"/>, <see cref="Step"/>).</summary>
        Slice,
        /// <summary>"...": as many full slices as needed.</summary>
        Ellipsis,
        /// <summary>None: inserts a dim of size 1.</summary>
        NewAxis,
        /// <summary>An int64 index or bool mask tensor (<see cref="TensorIndex.Tensor"/>).</summary>
        Tensor,
    }

    private TensorIndex(IndexKind kind, long index = 0, long? start = null, long? stop = null, long step = 1, Tensor? tensor = null)
    {
        Kind = kind; Index = index; Start = start; Stop = stop; Step = step; Tensor = tensor;
    }

    /// <summary>What this entry does; decides which of the other properties apply.</summary>
    public IndexKind Kind { get; }

    /// <summary>The position a Select index picks (negative counts from the end).</summary>
    public long Index { get; }

    /// <summary>The inclusive start of a slice (null = open; negative counts from the end;
    /// out-of-range bounds are clamped, as in Python).</summary>
    public long? Start { get; }
    /// <summary>The exclusive end of a slice (null = open; negative counts from the end).</summary>
    public long? Stop { get; }
    /// <summary>The step of a slice (positive; 1 for a plain range).</summary>
    public long Step { get; }

    /// <summary>The index or mask of an advanced index.</summary>
    public Tensor? Tensor { get; }

    /// <summary>Python's "..." : as many ":" as needed to index every dim.</summary>
    public static readonly TensorIndex Ellipsis = new(IndexKind.Ellipsis);

    /// <summary>Python's None: inserts a dim of size 1.</summary>
    public static readonly TensorIndex NewAxis = new(IndexKind.NewAxis);

    /// <summary>Python's ":" (the same as the range <c>..</c>).</summary>
    public static readonly TensorIndex All = new(IndexKind.Slice);

    /// <summary>Python's start:stop:step.</summary>
    public static TensorIndex Slice(long? start = null, long? stop = null, long step = 1)
    {
        // Python indexing refuses non-positive steps with this message (flip the tensor instead).
        if (step <= 0) throw new ArgumentOutOfRangeException(nameof(step), step, "step must be greater than zero");
        return new(IndexKind.Slice, start: start, stop: stop, step: step);
    }

    /// <summary>Python's integer index: picks one position and removes the dim (negative counts from the end).</summary>
    public static TensorIndex Select(long index) => new(IndexKind.Select, index: index);

    /// <summary>An integer selects one position (<see cref="Select"/>).</summary>
    public static implicit operator TensorIndex(long index) => Select(index);
    /// <summary>An integer selects one position (<see cref="Select"/>).</summary>
    public static implicit operator TensorIndex(int index) => Select(index);

    /// <summary>A <see cref="System.Index"/> selects one position; <c>^1</c> is the last, like Python's −1.</summary>
    public static implicit operator TensorIndex(Index index) =>
        Select(index.IsFromEnd ? -(long)index.Value : index.Value);

    /// <summary>A <see cref="System.Range"/> is a slice with step 1: <c>1..3</c> is Python's <c>1:3</c>,
    /// <c>..^1</c> is <c>:-1</c>, <c>..</c> is <c>:</c>.</summary>
    public static implicit operator TensorIndex(Range range)
    {
        // ^0 as a start means "at the end" (an empty slice); as a stop, "no bound".
        long? start = range.Start.IsFromEnd
            ? (range.Start.Value == 0 ? long.MaxValue : -(long)range.Start.Value)
            : range.Start.Value == 0 ? null : range.Start.Value;
        long? stop = range.End.IsFromEnd
            ? (range.End.Value == 0 ? null : -(long)range.End.Value)
            : range.End.Value;
        return new(IndexKind.Slice, start: start, stop: stop);
    }

    /// <summary>A tensor is an advanced index: int64 positions (gathered, a copy) or a bool mask
    /// (its true positions). Null is refused; use <see cref="NewAxis"/> for Python's None.</summary>
    public static implicit operator TensorIndex(Tensor tensor) =>
        new(IndexKind.Tensor, tensor: tensor ?? throw new ArgumentNullException(nameof(tensor), "use TensorIndex.NewAxis for Python's None"));

    /// <summary>The entry in Python's notation ("3", "1:5:2", "...", "None"), or the shape and dtype of a tensor index.</summary>
    public override string ToString() => Kind switch
    {
        IndexKind.Select => Index.ToString(),
        IndexKind.Slice => $"{Start}:{Stop}" + (Step == 1 ? "" : $":{Step}"),
        IndexKind.Ellipsis => "...",
        IndexKind.NewAxis => "None",
        _ => $"Tensor[{string.Join(", ", Tensor!.Shape)}] {Tensor.DType}",
    };
}

// x[...] with Python's semantics (torch/csrc/autograd/python_variable_indexing.cpp): ints select,
// ranges slice, None/ellipsis reshape the index, tensors are gathered with aten::index after the
// basic indexing is applied; assignment copies into the basic-indexed view or calls index_put_.
public sealed partial class Tensor
{
    /// <summary>
    /// torch-style indexing. The getter returns a view when only ints, ranges, NewAxis and
    /// Ellipsis are used, and a copy when a tensor index is involved. The setter writes
    /// <c>value</c> (broadcast) into the indexed elements of this tensor.
    /// </summary>
    public Tensor this[params TensorIndex[] indices]
    {
        get => GetItem(indices);
        set => SetItem(indices, value);
    }

    /// <summary>x[indices] = value for a number (converted to this tensor's dtype, like Python).</summary>
    public Tensor Fill_(double value, params TensorIndex[] indices)
    {
        using var scalar = Scalar(value, DType, Device);
        SetItem(indices, scalar);
        return this;
    }

    private Tensor GetItem(TensorIndex[] indices)
    {
        var basic = ApplyBasicIndexing(indices, out var tensorIndices);
        if (tensorIndices.Count == 0) return ReferenceEquals(basic, this) ? Alias() : basic;
        var result = basic.Index(tensorIndices.ToArray());
        if (!ReferenceEquals(basic, this)) basic.Dispose();
        DisposeCreatedIndices(tensorIndices, indices);
        return result;
    }

    private void SetItem(TensorIndex[] indices, Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var basic = ApplyBasicIndexing(indices, out var tensorIndices);
        // Leading size-1 dims of the value are dropped first, so x[0] = v[None] works as in Python.
        var prefixFree = StripLeadingOnes(value);
        try
        {
            if (tensorIndices.Count == 0)
            {
                if (basic.Shape.SequenceEqual(prefixFree.Shape)) basic.CopyFrom(prefixFree);
                else
                {
                    using var expanded = prefixFree.Expand(basic.Shape);
                    basic.CopyFrom(expanded);
                }
            }
            else
            {
                basic.IndexPut_(tensorIndices.ToArray(), prefixFree);
            }
        }
        finally
        {
            if (!ReferenceEquals(prefixFree, value)) prefixFree.Dispose();
            if (!ReferenceEquals(basic, this)) basic.Dispose();
            DisposeCreatedIndices(tensorIndices, indices);
        }
    }

    private static Tensor StripLeadingOnes(Tensor value)
    {
        var shape = value.Shape;
        int k = 0;
        while (k < shape.Length && shape[k] == 1) k++;
        return k == 0 ? value : value.View(shape[k..]);
    }

    /// <summary>Applies ints, slices, NewAxis and Ellipsis; returns the (view) result, or this
    /// when nothing was applied, and the tensor indices to hand to aten::index(_put_), one slot
    /// per dim of that result (null = whole dim).</summary>
    private Tensor ApplyBasicIndexing(TensorIndex[] indices, out List<Tensor?> tensorIndices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        tensorIndices = new List<Tensor?>();
        int ndim = Dim;
        int specified = 0, ellipses = 0;
        foreach (var index in indices)
        {
            switch (index.Kind)
            {
                case TensorIndex.IndexKind.Ellipsis: ellipses++; break;
                case TensorIndex.IndexKind.NewAxis: break;
                case TensorIndex.IndexKind.Tensor when index.Tensor!.DType is DType.Bool or DType.UInt8:
                    specified += index.Tensor.Dim; break;
                default: specified++; break;
            }
        }
        if (ellipses > 1) throw new TorchException("an index can only have a single ellipsis ('...')");
        if (ndim == 0 && indices.Length == 1 && indices[0].Kind == TensorIndex.IndexKind.Select)
            throw new TorchException("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a number");
        if (specified > ndim) throw new TorchException($"too many indices for tensor of dimension {ndim}");

        Tensor result = this;
        long dim = 0, realDim = 0;
        foreach (var index in indices)
        {
            switch (index.Kind)
            {
                case TensorIndex.IndexKind.Select:
                    result = Replace(result, SelectChecked(result, dim, index.Index, realDim));
                    realDim++;
                    break;
                case TensorIndex.IndexKind.Slice:
                    if (index.Start is not null || index.Stop is not null || index.Step != 1)
                        result = Replace(result, result.Slice(dim, index.Start, index.Stop, index.Step));
                    dim++; realDim++;
                    break;
                case TensorIndex.IndexKind.Ellipsis:
                    dim += ndim - specified;
                    realDim += ndim - specified;
                    break;
                case TensorIndex.IndexKind.NewAxis:
                    result = Replace(result, result.Unsqueeze(dim));
                    dim++;
                    break;
                case TensorIndex.IndexKind.Tensor:
                {
                    var t = index.Tensor!;
                    bool boolLike = t.DType is DType.Bool or DType.UInt8;
                    if (t.Dim == 0 && !boolLike && !t.DType.IsFloatingPoint())
                    {
                        // A 0-d integer tensor is a plain int index (Python does the same).
                        result = Replace(result, SelectChecked(result, dim, t.ItemLong(), realDim));
                        realDim++;
                    }
                    else if (t.Dim == 0 && boolLike)
                    {
                        // x[True] adds a dim and keeps it; x[False] adds a dim and empties it.
                        result = Replace(result, result.Unsqueeze(dim));
                        Record(tensorIndices, dim, t.ItemLong() != 0 ? Zeros(new long[] { 1 }, DType.Int64) : Empty(new long[] { 0 }, DType.Int64));
                        dim++;
                    }
                    else
                    {
                        Record(tensorIndices, dim, t);
                        dim++; realDim++;
                    }
                    break;
                }
            }
        }
        return result;
    }

    private static void Record(List<Tensor?> tensorIndices, long dim, Tensor index)
    {
        while (tensorIndices.Count <= dim) tensorIndices.Add(null);
        tensorIndices[(int)dim] = index;
    }

    /// <summary>Disposes the index tensors the indexer made itself (for 0-d bool indices), not the caller's.</summary>
    private static void DisposeCreatedIndices(List<Tensor?> tensorIndices, TensorIndex[] indices)
    {
        foreach (var t in tensorIndices)
            if (t is not null && !indices.Any(i => ReferenceEquals(i.Tensor, t))) t.Dispose();
    }

    /// <summary>Frees an intermediate result (never this tensor) once the next one exists.</summary>
    private Tensor Replace(Tensor previous, Tensor next)
    {
        if (!ReferenceEquals(previous, this)) previous.Dispose();
        return next;
    }

    private static Tensor SelectChecked(Tensor t, long dim, long index, long realDim)
    {
        long size = t.Size((int)dim);
        // Python's message (aten::select's own would say "select(): index ... out of range").
        if (index < -size || index >= size)
            throw new TorchException($"index {index} is out of bounds for dimension {realDim} with size {size}");
        return t.Select(dim, index);
    }
}
