using MLNetSeg.Torch;

namespace MLNetSeg.Models.TensorMask;

/// <summary>
/// Every sliding window of a batch's pyramid, in the order of the head's flattened outputs: level by level (finest
/// first), then row, column, window size (detectron2's (H, W, A) order). Window (k, y, x, a) is centred on (x·s, y·s),
/// s = 4·2^k the level's stride (detectron2's anchors: no half-stride offset), and has side size_a·2^k.
/// </summary>
public sealed class SlidingWindows : IDisposable
{
    private SlidingWindows(Tensor boxes, Tensor units, long[] levelStarts, (int Height, int Width)[] grids, int anchors)
    {
        Boxes = boxes;
        UnitLengths = units;
        LevelStarts = levelStarts;
        Grids = grids;
        Anchors = anchors;
    }

    /// <summary>[M, 4] (x1, y1, x2, y2) float32 window boxes.</summary>
    public Tensor Boxes { get; }

    /// <summary>[M] float32 unit length (the level's stride) of each window.</summary>
    public Tensor UnitLengths { get; }

    /// <summary>Index of each level's first window, and M at the end.</summary>
    public IReadOnlyList<long> LevelStarts { get; }

    /// <summary>(H_k, W_k) of each level.</summary>
    public IReadOnlyList<(int Height, int Width)> Grids { get; }

    /// <summary>Window sizes per position, A.</summary>
    public int Anchors { get; }

    /// <summary>M, windows in all.</summary>
    public long Count => LevelStarts[^1];

    /// <summary>(level, row, column, window size) of window <paramref name="index"/>.</summary>
    public (int Level, int Y, int X, int Anchor) Locate(long index)
    {
        int level = 0;
        while (index >= LevelStarts[level + 1]) level++;
        long local = index - LevelStarts[level];
        int anchor = (int)(local % Anchors);
        long cell = local / Anchors;
        int w = Grids[level].Width;
        return (level, (int)(cell / w), (int)(cell % w), anchor);
    }

    /// <summary>The windows of grids <paramref name="grids"/> (P2 first) for window sides <paramref name="sizes"/> on P2.</summary>
    public static SlidingWindows Create(IReadOnlyList<(int Height, int Width)> grids, IReadOnlyList<int> sizes, Device device)
    {
        var starts = new long[grids.Count + 1];
        for (int k = 0; k < grids.Count; k++) starts[k + 1] = starts[k] + (long)grids[k].Height * grids[k].Width * sizes.Count;
        var boxes = new float[starts[^1] * 4];
        var units = new float[starts[^1]];
        long at = 0;
        for (int k = 0; k < grids.Count; k++)
        {
            float stride = 4 << k;
            for (int y = 0; y < grids[k].Height; y++)
                for (int x = 0; x < grids[k].Width; x++)
                    foreach (var size in sizes)
                    {
                        float half = (size << k) / 2f;
                        boxes[at * 4] = x * stride - half;
                        boxes[at * 4 + 1] = y * stride - half;
                        boxes[at * 4 + 2] = x * stride + half;
                        boxes[at * 4 + 3] = y * stride + half;
                        units[at++] = stride;
                    }
        }
        return new SlidingWindows(Tensor.FromArray(boxes, new[] { starts[^1], 4 }, device), Tensor.FromArray(units, new[] { starts[^1] }, device),
            starts, grids.ToArray(), sizes.Count);
    }

    /// <summary>
    /// TensorMask's label assignment (§4, detectron2's <c>_assignment_rule</c>): window j is a positive of box i when it
    /// contains the box, its size minus its unit is at most 2× the box's longer side (at least
    /// <paramref name="minWindowSize"/>), and the squared offset between the centres, in units, is at most 1. A window that
    /// is the positive of two boxes or more is a negative.
    /// </summary>
    /// <param name="gtBoxes">[N, 4] ground-truth boxes (x1, y1, x2, y2).</param>
    /// <param name="minWindowSize">Floor of the size bound (the smallest window minus its unit: 40 by default).</param>
    /// <returns>Per window, the matched box (any value where not a positive) and whether it is a positive.</returns>
    public (Tensor Matches, Tensor Positive) Assign(Tensor gtBoxes, double minWindowSize)
    {
        ArgumentNullException.ThrowIfNull(gtBoxes);
        using var scope = DisposeScope.Enter();
        long n = gtBoxes.Size(0);
        if (n == 0)
        {
            var none = Tensor.Zeros(new[] { Count }, DType.Int64, Boxes.Device);
            return (scope.MoveToOuter(none), scope.MoveToOuter(none.Ne(0L)));
        }
        var gt = gtBoxes.To(DType.Float32, Boxes.Device);
        var g = gt.Unsqueeze(1);                                  // [N, 1, 4]
        var w = Boxes.Unsqueeze(0);                               // [1, M, 4]
        var contains = w.Select(2, 0).Le(g.Select(2, 0)).LogicalAnd(w.Select(2, 1).Le(g.Select(2, 1)))
            .LogicalAnd(w.Select(2, 2).Ge(g.Select(2, 2))).LogicalAnd(w.Select(2, 3).Ge(g.Select(2, 3)));
        var gtSize = gt.Narrow(1, 2, 2).Sub(gt.Narrow(1, 0, 2)).Amax(new long[] { 1 });          // [N] longer side
        var upper = gtSize.Mul(2.0).ClampMin(minWindowSize);
        var windowSize = Boxes.Narrow(1, 2, 2).Sub(Boxes.Narrow(1, 0, 2)).Amax(new long[] { 1 }).Sub(UnitLengths);   // [M]
        var scale = upper.Unsqueeze(1).Sub(windowSize.Unsqueeze(0)).Ge(0.0);
        var gtCentre = gt.Narrow(1, 0, 2).Add(gt.Narrow(1, 2, 2)).Div(2.0);
        var windowCentre = Boxes.Narrow(1, 0, 2).Add(Boxes.Narrow(1, 2, 2)).Div(2.0);
        var offset = gtCentre.Unsqueeze(1).Sub(windowCentre.Unsqueeze(0)).Div(UnitLengths.Reshape(1, -1, 1));
        var spatial = offset.Mul(offset).Sum(2).Le(1.0);
        var assign = contains.LogicalAnd(scale).LogicalAnd(spatial).To(DType.Int64);   // [N, M]
        var matches = assign.Argmax(0);
        var positive = assign.Sum(0).Eq(1L);
        return (scope.MoveToOuter(matches), scope.MoveToOuter(positive));
    }

    /// <summary>Disposes the window tensors.</summary>
    public void Dispose()
    {
        Boxes.Dispose();
        UnitLengths.Dispose();
    }
}
