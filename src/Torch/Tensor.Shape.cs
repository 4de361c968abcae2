namespace MLNetSeg.Torch;

// Shape and layout operations. Those torch documents as views (permute, transpose, select,
// narrow, slice, expand, unsqueeze, squeeze, split, chunk, unbind, ...) share storage with
// this tensor; writing into them writes here too.
public sealed partial class Tensor
{
    private static readonly Op PermuteOp = new("permute"), TransposeOp = new("transpose", "int"), TOp = new("t"),
        FlattenOp = new("flatten", "using_ints"), UnflattenOp = new("unflatten", "int"), UnsqueezeOp = new("unsqueeze"),
        SqueezeOp = new("squeeze"), SqueezeDim = new("squeeze", "dim"), ExpandOp = new("expand"), ExpandAsOp = new("expand_as"),
        RepeatOp = new("repeat"), RepeatInterleaveInt = new("repeat_interleave", "self_int"),
        RepeatInterleaveTensor = new("repeat_interleave", "self_Tensor"), TileOp = new("tile"), CatOp = new("cat"),
        StackOp = new("stack"), SplitOp = new("split", "Tensor"), SplitSizes = new("split_with_sizes"), ChunkOp = new("chunk"),
        UnbindOp = new("unbind", "int"), NarrowOp = new("narrow"), SelectOp = new("select", "int"), SliceOp = new("slice", "Tensor"),
        FlipOp = new("flip"), RollOp = new("roll"), MovedimOp = new("movedim", "int");

    /// <summary>Reorders the dimensions (a view).</summary>
    public Tensor Permute(params long[] dims) => PermuteOp.Invoke(this, dims);

    /// <summary>Swaps two dimensions (a view).</summary>
    public Tensor Transpose(long dim0, long dim1) => TransposeOp.Invoke(this, dim0, dim1);

    /// <summary>Transpose of a matrix (≤ 2-d).</summary>
    public Tensor T() => TOp.Invoke(this);

    /// <summary>Moves one dimension to a new position, keeping the others' order.</summary>
    public Tensor Movedim(long source, long destination) => MovedimOp.Invoke(this, source, destination);

    /// <summary>Merges dims startDim..endDim (inclusive) into one.</summary>
    public Tensor Flatten(long startDim = 0, long endDim = -1) => FlattenOp.Invoke(this, startDim, endDim);

    /// <summary>Splits one dim into the given sizes (one may be −1).</summary>
    public Tensor Unflatten(long dim, params long[] sizes) => UnflattenOp.Invoke(this, dim, sizes);

    /// <summary>Inserts a dimension of size 1 at <paramref name="dim"/> (a view; torch.unsqueeze);
    /// −1 appends one at the end.</summary>
    public Tensor Unsqueeze(long dim) => UnsqueezeOp.Invoke(this, dim);

    /// <summary>Removes every size-1 dimension (a view; torch.squeeze).</summary>
    public Tensor Squeeze() => SqueezeOp.Invoke(this);

    /// <summary>Removes the dim if its size is 1 (otherwise returns an alias, like torch).</summary>
    public Tensor Squeeze(long dim) => SqueezeDim.Invoke(this, dim);

    /// <summary>Broadcasts size-1 dims to the given sizes without copying (−1 keeps a size).</summary>
    public Tensor Expand(params long[] sizes) => ExpandOp.Invoke(this, sizes);
    /// <summary><see cref="Expand"/> to the shape of <paramref name="other"/> (a view; torch's <c>expand_as</c>).</summary>
    public Tensor ExpandAs(Tensor other) => ExpandAsOp.Invoke(this, other);

    /// <summary>Tiles the data: dim i is repeated repeats[i] times (copies, unlike Expand).</summary>
    public Tensor Repeat(params long[] repeats) => RepeatOp.Invoke(this, repeats);
    /// <summary>Repeats the data like <see cref="Repeat"/> (copies; torch.tile), but a shorter
    /// <paramref name="repeats"/> list is padded with leading ones instead of being refused.</summary>
    public Tensor Tile(params long[] repeats) => TileOp.Invoke(this, repeats);

    /// <summary>Repeats each element (of the flattened tensor when dim is null) `repeats` times.</summary>
    public Tensor RepeatInterleave(long repeats, long? dim = null) => RepeatInterleaveInt.Invoke(this, repeats, dim);
    /// <summary>Repeats element (or slice along <paramref name="dim"/>) i <c>repeats[i]</c> times,
    /// with a 1-d int64 tensor of counts (torch.repeat_interleave); the flattened tensor when dim is null.</summary>
    public Tensor RepeatInterleave(Tensor repeats, long? dim = null) => RepeatInterleaveTensor.Invoke(this, repeats, dim);

    /// <summary>Concatenates along an existing dim; all other sizes must match.</summary>
    public static Tensor Cat(IReadOnlyList<Tensor> tensors, long dim = 0) => CatOp.Invoke(ToArgList(tensors, "Cat"), dim);

    /// <summary>Stacks equal-shaped tensors along a new dim.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, long dim = 0) => StackOp.Invoke(ToArgList(tensors, "Stack"), dim);

    /// <summary>Views of splitSize along dim (the last may be smaller).</summary>
    public Tensor[] Split(long splitSize, long dim = 0) => SplitOp.InvokeList(this, splitSize, dim);

    /// <summary>Views with the given sizes along dim; they must add up to the dim's size.</summary>
    public Tensor[] Split(long[] sizes, long dim = 0) => SplitSizes.InvokeList(this, sizes, dim);

    /// <summary>At most `chunks` views of equal size (the last may be smaller).</summary>
    public Tensor[] Chunk(long chunks, long dim = 0) => ChunkOp.InvokeList(this, chunks, dim);

    /// <summary>Every slice along dim, with that dim removed.</summary>
    public Tensor[] Unbind(long dim = 0) => UnbindOp.InvokeList(this, dim);

    /// <summary>Elements start..start+length−1 along dim (a view).</summary>
    public Tensor Narrow(long dim, long start, long length) => NarrowOp.Invoke(this, dim, start, length);

    /// <summary>The slice at `index` along dim, with dim removed (a view; negative counts from the end).</summary>
    public Tensor Select(long dim, long index) => SelectOp.Invoke(this, dim, index);

    /// <summary>Python's x[..., start:end:step] on one dim (a view). Null bounds are open, negative
    /// ones count from the end, out-of-range ones are clamped; step must be positive.</summary>
    public Tensor Slice(long dim, long? start = null, long? end = null, long step = 1) => SliceOp.Invoke(this, dim, start, end, step);

    /// <summary>Reverses the order along the given dims (copies).</summary>
    public Tensor Flip(params long[] dims) => FlipOp.Invoke(this, dims);

    /// <summary>Rolls elements along dim (wrapping around); with no dim, rolls the flattened tensor.</summary>
    public Tensor Roll(long shift, long? dim = null) =>
        RollOp.Invoke(this, new[] { shift }, dim is null ? Array.Empty<long>() : new[] { dim.Value });

    /// <summary>Rolls by <c>shifts[i]</c> along <c>dims[i]</c> for each pair, wrapping around (torch.roll; copies).</summary>
    public Tensor Roll(long[] shifts, long[] dims) => RollOp.Invoke(this, shifts, dims);

    private static Tensor?[] ToArgList(IReadOnlyList<Tensor> tensors, string op)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = new Tensor?[tensors.Count];
        for (int i = 0; i < list.Length; i++)
            list[i] = tensors[i] ?? throw new ArgumentNullException(nameof(tensors), $"{op}: tensor {i} of the list is null");
        return list;
    }
}
