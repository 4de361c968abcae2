using MLNetSeg.Torch;

namespace MLNetSeg.Vision.Ops;

public static partial class VisionOps
{
    private static readonly Op NativeRoiAlign = new("torchvision::roi_align");

    /// <summary>
    /// What Auto runs for CPU tensors. Auto (the default) is the measured policy (1000 RoIs on a
    /// 256×200×272 map, 7×7, 2 threads): torchvision's kernel when no gradient is needed — its
    /// forward took 0.56–0.59 s against 0.59–0.76 s composed — and the composed one when the
    /// input requires grad, whose backward took 0.43–0.59 s against torchvision's 1.3–2.0 s.
    /// Native or Composed force one. On other devices Auto runs torchvision's kernel when its
    /// library is loaded; without the library every device runs the composed one.
    /// </summary>
    public static VisionOpsBackend RoiAlignCpuBackend { get; set; } = VisionOpsBackend.Auto;

    /// <summary>
    /// RoIAlign (torchvision.ops.roi_align): average of bilinear samples on a regular grid in
    /// each of the output bins of every RoI. Differentiable w.r.t. <paramref name="input"/>
    /// on both backends (no gradient flows to the boxes, as in torchvision).
    /// </summary>
    /// <param name="input">[N, C, H, W] features.</param>
    /// <param name="rois">[K, 5] rows (batch index, x1, y1, x2, y2) in image coordinates.</param>
    /// <param name="outputSize">(height, width) of the pooled output.</param>
    /// <param name="spatialScale">Maps box coordinates to feature coordinates (1/stride).</param>
    /// <param name="samplingRatio">Samples per bin side; ≤ 0 means ceil(roi size / output size) per RoI.</param>
    /// <param name="aligned">Shift boxes by −0.5 pixel (detectron2); false is torchvision's legacy mode,
    /// which also forces RoIs to be at least 1×1.</param>
    /// <param name="backend">Which implementation runs; Auto follows <see cref="RoiAlignCpuBackend"/> on the CPU.</param>
    /// <returns>[K, C, outputHeight, outputWidth], contiguous, in the input's dtype.</returns>
    /// <exception cref="ArgumentException">A shape is wrong or a RoI's batch index is outside [0, N).</exception>
    public static Tensor RoiAlign(Tensor input, Tensor rois, (int Height, int Width) outputSize, double spatialScale = 1.0,
        int samplingRatio = -1, bool aligned = false, VisionOpsBackend backend = VisionOpsBackend.Auto)
    {
        CheckRoiAlignInputs(input, rois, outputSize);
        using var scope = DisposeScope.Enter();
        if (input.DType is DType.Float16 or DType.BFloat16)
        {
            // torchvision's autocast rule for roi_align: pool in float32, return the input's dtype.
            var pooled = RoiAlign(input.To(DType.Float32), rois.To(DType.Float32), outputSize, spatialScale, samplingRatio, aligned, backend);
            return scope.MoveToOuter(pooled.To(input.DType));
        }
        var r = rois.DType == input.DType && rois.Device == input.Device ? rois : rois.To(input.DType, input.Device);
        CheckBatchIndices(r, input.Size(0));
        bool native = backend == VisionOpsBackend.Auto ? AutoPicksNative(input) : TorchvisionNative.UseNative(backend, nameof(RoiAlign));
        var output = native
            ? NativeRoiAlign.Invoke(input, r, spatialScale, (long)outputSize.Height, (long)outputSize.Width, (long)samplingRatio, aligned)
            : ComposedRoiAlign(input, r, outputSize.Height, outputSize.Width, spatialScale, samplingRatio, aligned);
        return scope.MoveToOuter(output);
    }

    private static bool AutoPicksNative(Tensor input)
    {
        if (!TorchvisionNative.IsAvailable) return false;
        if (input.Device.Type != DeviceType.Cpu) return true;
        return RoiAlignCpuBackend switch
        {
            VisionOpsBackend.Native => true,
            VisionOpsBackend.Composed => false,
            _ => !(input.RequiresGrad && NoGradScope.IsGradEnabled),
        };
    }

    /// <summary>RoIAlign with a square <paramref name="outputSize"/>×<paramref name="outputSize"/> output; see
    /// <see cref="RoiAlign(Tensor, Tensor, ValueTuple{int, int}, double, int, bool, VisionOpsBackend)"/>.</summary>
    /// <param name="input">[N, C, H, W] features.</param>
    /// <param name="rois">[K, 5] rows (batch index, x1, y1, x2, y2) in image coordinates.</param>
    /// <param name="outputSize">Side of the pooled output in cells.</param>
    /// <param name="spatialScale">Maps box coordinates to feature coordinates (1/stride).</param>
    /// <param name="samplingRatio">Samples per bin side; ≤ 0 means ceil(roi size / output size) per RoI.</param>
    /// <param name="aligned">Shift boxes by −0.5 pixel (detectron2); false is torchvision's legacy mode.</param>
    /// <param name="backend">Which implementation runs.</param>
    public static Tensor RoiAlign(Tensor input, Tensor rois, int outputSize, double spatialScale = 1.0,
        int samplingRatio = -1, bool aligned = false, VisionOpsBackend backend = VisionOpsBackend.Auto) =>
        RoiAlign(input, rois, (outputSize, outputSize), spatialScale, samplingRatio, aligned, backend);

    /// <summary>RoIAlign with boxes given per image: <paramref name="boxes"/>[i] is [L_i, 4] for image i.</summary>
    public static Tensor RoiAlign(Tensor input, IReadOnlyList<Tensor> boxes, (int Height, int Width) outputSize, double spatialScale = 1.0,
        int samplingRatio = -1, bool aligned = false, VisionOpsBackend backend = VisionOpsBackend.Auto)
    {
        using var scope = DisposeScope.Enter();
        var rois = BoxesToRois(boxes);
        return scope.MoveToOuter(RoiAlign(input, rois, outputSize, spatialScale, samplingRatio, aligned, backend));
    }

    /// <summary>Concatenates per-image [L_i, 4] boxes into [ΣL_i, 5] rows (image index, x1, y1, x2, y2)
    /// (torchvision's convert_boxes_to_roi_format).</summary>
    public static Tensor BoxesToRois(IReadOnlyList<Tensor> boxes)
    {
        if (boxes.Count == 0) throw new ArgumentException("BoxesToRois: the list of per-image boxes is empty");
        using var scope = DisposeScope.Enter();
        var parts = new Tensor[boxes.Count];
        for (int i = 0; i < boxes.Count; i++)
        {
            AtenOps.CheckShape2(boxes[i], 4, $"boxes[{i}]", nameof(BoxesToRois));
            var ids = Tensor.Full(new long[] { boxes[i].Size(0), 1 }, i, boxes[i].DType, boxes[i].Device);
            parts[i] = Tensor.Cat(new[] { ids, boxes[i] }, 1);
        }
        return scope.MoveToOuter(parts.Length == 1 ? parts[0] : Tensor.Cat(parts, 0));
    }

    private static void CheckRoiAlignInputs(Tensor input, Tensor rois, (int Height, int Width) outputSize)
    {
        if (input.Dim != 4)
            throw new ArgumentException($"RoiAlign: input must be [N, C, H, W], got [{string.Join(", ", input.Shape)}]");
        if (!input.DType.IsFloatingPoint())
            throw new ArgumentException($"RoiAlign: input must be floating point, got {input.DType}");
        AtenOps.CheckShape2(rois, 5, "rois", nameof(RoiAlign));
        if (outputSize.Height <= 0 || outputSize.Width <= 0)
            throw new ArgumentOutOfRangeException(nameof(outputSize), $"RoiAlign: output size must be positive, got {outputSize.Height}×{outputSize.Width}");
    }

    /// <summary>Neither kernel checks the batch column (torchvision's reads out of bounds), so it is
    /// checked here: one host round trip.</summary>
    private static void CheckBatchIndices(Tensor rois, long images)
    {
        if (rois.Size(0) == 0) return;
        using var scope = DisposeScope.Enter();
        var column = rois.Select(1, 0);
        double min = column.Min().ItemDouble(), max = column.Max().ItemDouble();
        if (min < 0 || max >= images || double.IsNaN(min) || double.IsNaN(max))
            throw new ArgumentException($"RoiAlign: rois[:, 0] holds batch indices in [{min}, {max}] but the input has {images} image(s)");
    }

    /// <summary>Memory bound of the composed RoIAlign: at most this many bilinear taps (12 bytes
    /// each, plus temporaries) are built at once; RoIs are processed in chunks below it. A
    /// single RoI whose adaptive grid alone exceeds it still forms one chunk.</summary>
    public static long ComposedRoiAlignTapBudget
    {
        get => composedTapBudget;
        set => composedTapBudget = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), $"tap budget {value} must be positive");
    }

    private static long composedTapBudget = 8_000_000;

    /// <summary>
    /// RoIAlign composed from aten ops. Every (RoI, bin, sample) point is turned into its four
    /// bilinear taps exactly as torchvision's kernel computes them (same coordinate arithmetic,
    /// same clamping, samples outside [−1, size] contribute nothing); the taps become one
    /// weighted embedding_bag sum per output bin over the channels-last feature rows, which
    /// gives the forward pass and, through embedding_bag's backward, the input gradient.
    /// The adaptive grid (sampling ratio ≤ 0) varies per RoI: points are laid out for the
    /// chunk's largest grid and the unused ones dropped before the sum.
    /// </summary>
    private static Tensor ComposedRoiAlign(Tensor input, Tensor rois, long pooledH, long pooledW, double spatialScale, int samplingRatio, bool aligned)
    {
        var shape = input.Shape;
        long n = shape[0], channels = shape[1], height = shape[2], width = shape[3];
        long k = rois.Size(0);
        if (k == 0) return Tensor.Zeros(new long[] { 0, channels, pooledH, pooledW }, input.DType, input.Device);

        var geometry = new RoiGeometry(rois.Detach(), pooledH, pooledW, spatialScale, samplingRatio, aligned);
        // Channels-last rows: row b·H·W + y·W + x holds the C features of that pixel. Made
        // contiguous once: embedding_bag reads whole rows.
        var rows = input.Permute(0, 2, 3, 1).Reshape(n * height * width, channels).Contiguous();
        var chunks = new List<Tensor>();
        foreach (var (start, count, gridH, gridW) in geometry.Chunks(ComposedRoiAlignTapBudget))
        {
            Tensor indices, weights, offsets;
            using (NoGradScope.Enter())
                (indices, weights, offsets) = geometry.Taps(start, count, gridH, gridW, height, width);
            chunks.Add(AtenOps.EmbeddingBagSum(rows, indices, offsets, weights));  // [count·PH·PW, C]
        }
        var pooled = chunks.Count == 1 ? chunks[0] : Tensor.Cat(chunks);
        return pooled.Reshape(k, pooledH, pooledW, channels).Permute(0, 3, 1, 2).Contiguous();
    }

    /// <summary>Per-RoI sampling geometry of RoIAlign, in torchvision's kernel arithmetic.</summary>
    private sealed class RoiGeometry
    {
        private readonly Tensor batch, startH, startW, binH, binW, gridH, gridW, invCount;
        private readonly long k, pooledH, pooledW;
        private readonly long[]? hostGridH, hostGridW;
        private readonly int samplingRatio;

        public RoiGeometry(Tensor rois, long pooledH, long pooledW, double spatialScale, int samplingRatio, bool aligned)
        {
            this.pooledH = pooledH;
            this.pooledW = pooledW;
            this.samplingRatio = samplingRatio;
            k = rois.Size(0);
            var dtype = rois.DType;
            double offset = aligned ? 0.5 : 0.0;
            batch = rois.Select(1, 0).To(DType.Int64);
            startW = rois.Select(1, 1) * spatialScale - offset;
            startH = rois.Select(1, 2) * spatialScale - offset;
            var roiW = rois.Select(1, 3) * spatialScale - offset - startW;
            var roiH = rois.Select(1, 4) * spatialScale - offset - startH;
            if (!aligned)
            {
                // torchvision forces malformed RoIs to 1×1 in legacy mode.
                roiW = roiW.ClampMin(1.0);
                roiH = roiH.ClampMin(1.0);
            }
            binH = roiH / pooledH;
            binW = roiW / pooledW;
            if (samplingRatio > 0)
            {
                gridH = gridW = Tensor.Full(new long[] { k }, samplingRatio, dtype, rois.Device);
            }
            else
            {
                gridH = (roiH / pooledH).Ceil();
                gridW = (roiW / pooledW).Ceil();
                hostGridH = gridH.To(DType.Int64, Device.Cpu).ToArray<long>();
                hostGridW = gridW.To(DType.Int64, Device.Cpu).ToArray<long>();
            }
            // When the grid is empty the kernel outputs zeros: count ≥ 1 and no sample survives.
            invCount = (gridH * gridW).ClampMin(1.0).Reciprocal();
        }

        /// <summary>Consecutive RoI ranges whose padded taps stay under the budget (at least one RoI each),
        /// with the largest grid of the range.</summary>
        public IEnumerable<(long Start, long Count, long GridH, long GridW)> Chunks(long budget)
        {
            long perCell = pooledH * pooledW * 4;
            if (hostGridH is null)
            {
                long perRoi = perCell * samplingRatio * samplingRatio;
                long step = Math.Max(1, budget / perRoi);
                for (long s = 0; s < k; s += step) yield return (s, Math.Min(step, k - s), samplingRatio, samplingRatio);
                yield break;
            }
            long start = 0, gh = 1, gw = 1;
            for (long i = 0; i < k; i++)
            {
                long nh = Math.Max(gh, hostGridH[i]), nw = Math.Max(gw, hostGridW![i]);
                if (i > start && (i - start + 1) * perCell * nh * nw > budget)
                {
                    yield return (start, i - start, gh, gw);
                    start = i;
                    nh = Math.Max(1, hostGridH[i]);
                    nw = Math.Max(1, hostGridW[i]);
                }
                gh = nh;
                gw = nw;
            }
            yield return (start, k - start, gh, gw);
        }

        /// <summary>The kept taps of RoIs [start, start+count): flat feature-row indices, weights
        /// (bilinear weight / sample count) and the offset of each output bin's bag.</summary>
        public (Tensor Indices, Tensor Weights, Tensor Offsets) Taps(long start, long count, long maxGridH, long maxGridW, long height, long width)
        {
            Tensor Part(Tensor t) => t.Narrow(0, start, count);
            var y = SampleAxis(Part(startH), Part(binH), Part(gridH), pooledH, maxGridH, height);  // [R, PH, GH]
            var x = SampleAxis(Part(startW), Part(binW), Part(gridW), pooledW, maxGridW, width);   // [R, PW, GW]

            // Broadcast to [R, PH, PW, GH, GW]: y axes at (1, 3), x axes at (2, 4).
            Tensor Y(Tensor t) => t.Unsqueeze(2).Unsqueeze(4);
            Tensor X(Tensor t) => t.Unsqueeze(1).Unsqueeze(3);
            Tensor PerRoi(Tensor t) => t.Unsqueeze(1).Unsqueeze(2).Unsqueeze(3).Unsqueeze(4).Unsqueeze(5);
            var valid = Y(y.Valid).LogicalAnd(X(x.Valid));
            var hy = Y(y.High); var ly = Y(y.Low);
            var hx = X(x.High); var lx = X(x.Low);
            var w = Tensor.Stack(new[] { hy * hx, hy * lx, ly * hx, ly * lx }, -1) * PerRoi(Part(invCount));

            var rowLow = Y(y.Floor).Mul(width); var rowHigh = Y(y.Ceiling).Mul(width);
            var colLow = X(x.Floor); var colHigh = X(x.Ceiling);
            var taps = Tensor.Stack(new[] { rowLow + colLow, rowLow + colHigh, rowHigh + colLow, rowHigh + colHigh }, -1)
                + PerRoi(Part(batch).Mul(height * width));

            // Drop the samples the kernel skips; each output bin is one bag of what remains.
            long bags = count * pooledH * pooledW;
            var keep = valid.Unsqueeze(5).Expand(count, pooledH, pooledW, maxGridH, maxGridW, 4).Reshape(bags, -1);
            var perBag = keep.Sum(new long[] { 1 });
            var offsets = perBag.Cumsum(0) - perBag;
            var keepFlat = keep.Reshape(-1);
            return (taps.Reshape(-1).Index(keepFlat), w.Reshape(-1).Index(keepFlat), offsets);
        }
    }

    /// <summary>Sample coordinates along one axis and their bilinear taps, as the kernel computes them.</summary>
    private sealed record AxisSamples(Tensor Valid, Tensor Floor, Tensor Ceiling, Tensor Low, Tensor High);

    /// <param name="start">[K] RoI start in feature coordinates.</param>
    /// <param name="bin">[K] bin size.</param>
    /// <param name="grid">[K] samples per bin along this axis (float).</param>
    /// <param name="pooled">Output bins along this axis.</param>
    /// <param name="maxGrid">Largest number of samples per bin over all RoIs (the G dimension).</param>
    /// <param name="size">Feature map extent along this axis.</param>
    /// <returns>Tensors of [K, P, G]: whether the sample is used, the lower/upper tap index, and
    /// the weights of the upper (Low = fraction l) and lower (High = 1 − l) tap.</returns>
    private static AxisSamples SampleAxis(Tensor start, Tensor bin, Tensor grid, long pooled, long maxGrid, long size)
    {
        var dtype = start.DType;
        var device = start.Device;
        var p = Tensor.Arange(0, pooled, 1, dtype, device);                 // [P]
        var i = Tensor.Arange(0, maxGrid, 1, dtype, device) + 0.5;         // [G]
        var s = start.Unsqueeze(1).Unsqueeze(2);
        var b = bin.Unsqueeze(1).Unsqueeze(2);
        var g = grid.Unsqueeze(1).Unsqueeze(2);
        // yy = start + p·bin + (i + .5)·bin / grid, in the kernel's order of operations.
        var coord = s + p.Unsqueeze(0).Unsqueeze(2) * b + i.Unsqueeze(0).Unsqueeze(1) * b / g;
        var inGrid = (i - 0.5).Unsqueeze(0).Unsqueeze(1).Lt(g);
        var inside = coord.Ge(-1.0).LogicalAnd(coord.Le(size));
        var valid = inGrid.Expand(coord.Shape).LogicalAnd(inside);
        var clamped = coord.ClampMin(0.0);
        var low = clamped.To(DType.Int64);
        // At or past the last row/column both taps sit on it and the coordinate snaps to it.
        var atEdge = low.Ge(size - 1);
        var floor = low.ClampMax(size - 1);
        var ceiling = low.Add(1L).ClampMax(size - 1);
        var c = Tensor.Where(atEdge, floor.To(dtype), clamped);
        var l = c - floor.To(dtype);
        var h = 1.0 - l;
        return new AxisSamples(valid, floor, ceiling, l, h);
    }
}
