using MLNetSeg.Torch;

namespace MLNetSeg.Vision.Ops;

/// <summary>
/// Box utilities on [N, 4] (x1, y1, x2, y2) tensors, torchvision.ops.boxes semantics: integer
/// boxes stay integer where torchvision's do (half and small integer types are upcast first,
/// as torchvision's _upcast does), IoU is a true division.
/// </summary>
public static class BoxOps
{
    /// <summary>(x2 − x1)·(y2 − y1) per box: [N].</summary>
    public static Tensor BoxArea(Tensor boxes)
    {
        AtenOps.CheckShape2(boxes, 4, "boxes", nameof(BoxArea));
        using var scope = DisposeScope.Enter();
        var b = Upcast(boxes);
        var area = (b.Select(1, 2) - b.Select(1, 0)) * (b.Select(1, 3) - b.Select(1, 1));
        return scope.MoveToOuter(area);
    }

    /// <summary>Pairwise intersection over union: [N, M] for [N, 4] and [M, 4] boxes.</summary>
    public static Tensor BoxIou(Tensor boxes1, Tensor boxes2)
    {
        AtenOps.CheckShape2(boxes1, 4, "boxes1", nameof(BoxIou));
        AtenOps.CheckShape2(boxes2, 4, "boxes2", nameof(BoxIou));
        using var scope = DisposeScope.Enter();
        var area1 = BoxArea(boxes1);
        var area2 = BoxArea(boxes2);
        var b1 = boxes1.Unsqueeze(1);  // [N, 1, 4]
        var lt = Tensor.Maximum(b1.Slice(2, 0, 2), boxes2.Slice(1, 0, 2));  // [N, M, 2]
        var rb = Tensor.Minimum(b1.Slice(2, 2, 4), boxes2.Slice(1, 2, 4));
        var wh = Upcast(rb - lt).ClampMin(0L);
        var inter = wh.Select(2, 0) * wh.Select(2, 1);
        var union = area1.Unsqueeze(1) + area2 - inter;
        return scope.MoveToOuter(inter / union);
    }

    /// <summary>Clamps x into [0, width] and y into [0, height]; keeps the shape ([..., 4]) and dtype.</summary>
    public static Tensor ClipBoxesToImage(Tensor boxes, long height, long width)
    {
        if (boxes.Dim < 1 || boxes.Size(-1) != 4)
            throw new ArgumentException($"{nameof(ClipBoxesToImage)}: boxes must be [..., 4], got [{string.Join(", ", boxes.Shape)}]");
        if (height < 0 || width < 0)
            throw new ArgumentOutOfRangeException(nameof(height), $"{nameof(ClipBoxesToImage)}: image size {height}×{width} is negative");
        using var scope = DisposeScope.Enter();
        int last = boxes.Dim - 1;
        // Integer bounds keep integer boxes integer (a double bound would promote them).
        var x = boxes.Slice(last, 0, null, 2).Clamp(0L, width);
        var y = boxes.Slice(last, 1, null, 2).Clamp(0L, height);
        var clipped = Tensor.Stack(new[] { x, y }, boxes.Dim).Reshape(boxes.Shape);
        return scope.MoveToOuter(clipped);
    }

    /// <summary>int64 indices of the boxes whose width and height are both ≥ <paramref name="minSize"/>.</summary>
    public static Tensor RemoveSmallBoxes(Tensor boxes, double minSize)
    {
        AtenOps.CheckShape2(boxes, 4, "boxes", nameof(RemoveSmallBoxes));
        using var scope = DisposeScope.Enter();
        var ws = boxes.Select(1, 2) - boxes.Select(1, 0);
        var hs = boxes.Select(1, 3) - boxes.Select(1, 1);
        var keep = ws.Ge(minSize).LogicalAnd(hs.Ge(minSize));
        return scope.MoveToOuter(keep.NonzeroAsTuple()[0]);
    }

    /// <summary>torchvision's _upcast: float16/bfloat16 → float32, int8/int16/uint8 → int32.</summary>
    internal static Tensor Upcast(Tensor t) => t.DType switch
    {
        DType.Float32 or DType.Float64 or DType.Int32 or DType.Int64 => t,
        DType.Float16 or DType.BFloat16 => t.To(DType.Float32),
        _ => t.To(DType.Int32),
    };
}
