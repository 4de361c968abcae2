using MLNetSeg.Torch;

namespace MLNetSeg.Vision.Ops;

/// <summary>
/// Detection ops with torchvision 0.14 semantics. Every op takes and returns tensors on the
/// caller's device; where part of the work must run on the host (NMS's greedy pass) the data
/// is copied there and the result copied back.
/// </summary>
public static partial class VisionOps
{
    private static readonly Op NativeNms = new("torchvision::nms");

    /// <summary>torchvision's speed heuristic: above this many box coordinates batched NMS runs one
    /// NMS per class instead of the coordinate-offset trick. Following it keeps results identical
    /// to torchvision's, since shifted coordinates round differently.</summary>
    private const long BatchedNmsVanillaAboveCpu = 4000, BatchedNmsVanillaAboveCuda = 20000;

    /// <summary>
    /// Greedy non-maximum suppression (torchvision.ops.nms): visits boxes by decreasing score
    /// and drops every later box whose IoU with a kept one is &gt; <paramref name="iouThreshold"/>.
    /// </summary>
    /// <param name="boxes">[N, 4] (x1, y1, x2, y2), floating point.</param>
    /// <param name="scores">[N], same dtype as boxes.</param>
    /// <param name="iouThreshold">Boxes overlapping a kept box by an IoU strictly above this are dropped.</param>
    /// <param name="backend">Which implementation runs; both give the same indices.</param>
    /// <returns>int64 [K] indices of the kept boxes, by decreasing score.</returns>
    /// <exception cref="ArgumentException">The shapes, dtypes or devices do not match as described.</exception>
    public static Tensor Nms(Tensor boxes, Tensor scores, double iouThreshold, VisionOpsBackend backend = VisionOpsBackend.Auto)
    {
        if (IsReducedPrecision(boxes) || IsReducedPrecision(scores))
        {
            using var scope = DisposeScope.Enter();
            return scope.MoveToOuter(Nms(boxes.To(DType.Float32), scores.To(DType.Float32), iouThreshold, backend));
        }
        CheckNmsInputs(boxes, scores, nameof(Nms));
        if (TorchvisionNative.UseNative(backend, nameof(Nms)))
            return NativeNms.Invoke(boxes, scores, iouThreshold);
        return ComposedNms(boxes, scores, iouThreshold);
    }

    /// <summary>
    /// NMS applied independently per category (torchvision.ops.batched_nms): boxes of different
    /// <paramref name="idxs"/> never suppress each other. Up to 4000 coordinates on the CPU
    /// (20000 elsewhere) every box is shifted by idx·(max coordinate + 1) and one NMS runs;
    /// above that, one NMS per category — exactly torchvision's switch, so results match it.
    /// </summary>
    /// <param name="boxes">[N, 4] (x1, y1, x2, y2), floating point.</param>
    /// <param name="scores">[N], same dtype as boxes.</param>
    /// <param name="idxs">[N] integer category of each box.</param>
    /// <param name="iouThreshold">Boxes overlapping a kept box of the same category by an IoU strictly above this are dropped.</param>
    /// <param name="backend">Which NMS implementation runs.</param>
    /// <returns>int64 [K] indices of the kept boxes, by decreasing score.</returns>
    /// <exception cref="ArgumentException">The shapes, dtypes or devices do not match.</exception>
    public static Tensor BatchedNms(Tensor boxes, Tensor scores, Tensor idxs, double iouThreshold, VisionOpsBackend backend = VisionOpsBackend.Auto)
    {
        if (IsReducedPrecision(boxes) || IsReducedPrecision(scores))
        {
            using var scope = DisposeScope.Enter();
            return scope.MoveToOuter(BatchedNms(boxes.To(DType.Float32), scores.To(DType.Float32), idxs, iouThreshold, backend));
        }
        CheckNmsInputs(boxes, scores, nameof(BatchedNms));
        AtenOps.CheckShape1(idxs, boxes.Size(0), "idxs", nameof(BatchedNms));
        if (idxs.Device != boxes.Device)
            throw new ArgumentException($"{nameof(BatchedNms)}: boxes are on {boxes.Device} but idxs on {idxs.Device}");
        if (boxes.NumEl == 0) return Tensor.Empty(new long[] { 0 }, DType.Int64, boxes.Device);
        long vanillaAbove = boxes.Device.Type == DeviceType.Cpu ? BatchedNmsVanillaAboveCpu : BatchedNmsVanillaAboveCuda;
        return boxes.NumEl > vanillaAbove
            ? BatchedNmsPerCategory(boxes, scores, idxs, iouThreshold, backend)
            : BatchedNmsCoordinateTrick(boxes, scores, idxs, iouThreshold, backend);
    }

    /// <summary>The coordinate-offset strategy alone (torchvision's _batched_nms_coordinate_trick).</summary>
    public static Tensor BatchedNmsCoordinateTrick(Tensor boxes, Tensor scores, Tensor idxs, double iouThreshold, VisionOpsBackend backend = VisionOpsBackend.Auto)
    {
        if (boxes.NumEl == 0) return Tensor.Empty(new long[] { 0 }, DType.Int64, boxes.Device);
        using var scope = DisposeScope.Enter();
        var maxCoordinate = boxes.Max();
        var offsets = idxs.To(boxes.DType) * (maxCoordinate + 1);
        var shifted = boxes + offsets.Unsqueeze(1);
        return scope.MoveToOuter(Nms(shifted, scores, iouThreshold, backend));
    }

    /// <summary>One NMS per category (torchvision's _batched_nms_vanilla).</summary>
    public static Tensor BatchedNmsPerCategory(Tensor boxes, Tensor scores, Tensor idxs, double iouThreshold, VisionOpsBackend backend = VisionOpsBackend.Auto)
    {
        if (boxes.NumEl == 0) return Tensor.Empty(new long[] { 0 }, DType.Int64, boxes.Device);
        using var scope = DisposeScope.Enter();
        var keepMask = Tensor.Zeros(scores.Shape, DType.Bool, scores.Device);
        var categories = idxs.To(DType.Int64, Device.Cpu).ToArray<long>().Distinct().Order();
        var one = Tensor.Ones(new long[] { 1 }, DType.Bool, scores.Device);
        foreach (var category in categories)
        {
            var members = idxs.Eq(category).NonzeroAsTuple()[0];
            var kept = Nms(boxes.Index(members), scores.Index(members), iouThreshold, backend);
            keepMask.IndexPut_(new[] { members.Index(kept) }, one);
        }
        var keepIndices = keepMask.NonzeroAsTuple()[0];
        var order = scores.Index(keepIndices).Argsort(0, descending: true);
        return scope.MoveToOuter(keepIndices.Index(order));
    }

    /// <summary>float16/bfloat16 (from autocast): NMS then runs in float32, torchvision's autocast rule for nms
    /// (its kernels have no reduced-precision CPU version, and 8 mantissa bits would move boxes by pixels).</summary>
    private static bool IsReducedPrecision(Tensor t) => t.DType is DType.Float16 or DType.BFloat16;

    private static void CheckNmsInputs(Tensor boxes, Tensor scores, string op)
    {
        AtenOps.CheckShape2(boxes, 4, "boxes", op);
        AtenOps.CheckShape1(scores, boxes.Size(0), "scores", op);
        if (!boxes.DType.IsFloatingPoint() || boxes.DType != scores.DType)
            throw new ArgumentException($"{op}: boxes and scores must share one floating dtype, got {boxes.DType} and {scores.DType}");
        if (boxes.Device != scores.Device)
            throw new ArgumentException($"{op}: boxes are on {boxes.Device} but scores on {scores.Device}");
    }

    /// <summary>
    /// torchvision 0.14's CPU kernel, transcribed: boxes are visited in the order of a stable
    /// descending sort of the scores, as the kernel sorts (so tied scores keep index order);
    /// the greedy pass runs on the host in the boxes' precision with the kernel's arithmetic
    /// (areas (x2−x1)(y2−y1), IoU = inter / (area_i + area_j − inter)), so kept indices are identical.
    /// </summary>
    private static Tensor ComposedNms(Tensor boxes, Tensor scores, double iouThreshold)
    {
        long n = boxes.Size(0);
        if (n == 0) return Tensor.Empty(new long[] { 0 }, DType.Int64, boxes.Device);
        using var scope = DisposeScope.Enter();
        var order = scores.Argsort(0, descending: true, stable: true).To(DType.Int64, Device.Cpu).ToArray<long>();
        long[] keep = boxes.DType == DType.Float64
            ? GreedyNms(boxes.To(DType.Float64, Device.Cpu).Contiguous().ToArray<double>(), order, iouThreshold)
            : GreedyNms(boxes.To(DType.Float32, Device.Cpu).Contiguous().ToArray<float>(), order, iouThreshold);
        return scope.MoveToOuter(Tensor.FromArray<long>(keep, new long[] { keep.Length }, boxes.Device));
    }

    // Generic math: the JIT compiles a separate body for float and for double (value-type
    // instantiations are specialised), so the inner loop is plain scalar arithmetic in the boxes'
    // precision, like the C++ kernel; it is the whole cost.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static long[] GreedyNms<T>(T[] boxes, long[] order, double iouThreshold)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        // Boxes are laid out in visiting order so the inner loop reads memory sequentially.
        int n = order.Length;
        var x1 = new T[n]; var y1 = new T[n]; var x2 = new T[n]; var y2 = new T[n]; var areas = new T[n];
        for (int p = 0; p < n; p++)
        {
            long b = 4 * order[p];
            x1[p] = boxes[b]; y1[p] = boxes[b + 1]; x2[p] = boxes[b + 2]; y2[p] = boxes[b + 3];
            areas[p] = (x2[p] - x1[p]) * (y2[p] - y1[p]);
        }
        var suppressed = new bool[n];
        var keep = new List<long>();
        for (int i = 0; i < n; i++)
        {
            if (suppressed[i]) continue;
            keep.Add(order[i]);
            T ix1 = x1[i], iy1 = y1[i], ix2 = x2[i], iy2 = y2[i], iarea = areas[i];
            for (int j = i + 1; j < n; j++)
            {
                if (suppressed[j]) continue;
                // std::max(a, b) = a < b ? b : a; std::min(a, b) = b < a ? b : a.
                T xx1 = ix1 < x1[j] ? x1[j] : ix1, yy1 = iy1 < y1[j] ? y1[j] : iy1;
                T xx2 = x2[j] < ix2 ? x2[j] : ix2, yy2 = y2[j] < iy2 ? y2[j] : iy2;
                T w = T.Zero < xx2 - xx1 ? xx2 - xx1 : T.Zero, h = T.Zero < yy2 - yy1 ? yy2 - yy1 : T.Zero;
                T inter = w * h;
                T ovr = inter / (iarea + areas[j] - inter);
                if (double.CreateChecked(ovr) > iouThreshold) suppressed[j] = true;
            }
        }
        return keep.ToArray();
    }
}
