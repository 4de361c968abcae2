using MLNetSeg.Torch;

namespace MLNetSeg.Vision.Ops;

/// <summary>How a window's (V, U) mask sub-tensor is upsampled (TensorMask Tab. 2b).</summary>
public enum WindowInterpolation
{
    /// <summary>Bilinear on (V, U): the default, keeps pixel-to-pixel alignment.</summary>
    Bilinear,

    /// <summary>Nearest neighbour on (V, U), the paper's "unaligned" variant (InstanceFCN-like): each output mask pixel copies
    /// the input cell its centre falls in.</summary>
    Nearest,
}

/// <summary>Which implementation of <see cref="VisionOps.SwapAlign2Nat"/> runs.</summary>
public enum Align2NatKernel
{
    /// <summary>Whichever measured faster (docs/benchmarks.md "TensorMask speed"): the fused kernel on the CPU (forward 1.2–5.7×,
    /// forward + backward 1.0–3.7× the composed op's speed), the composed aten ops on other devices. The environment variable
    /// MLNETSEG_ALIGN2NAT_KERNEL=composed or fused overrides the CPU choice for a whole process (benchmarks).</summary>
    Auto,

    /// <summary>Two separable passes of aten ops (embedding_bag of rows): any device, backward from autograd.</summary>
    Composed,

    /// <summary>One fused CPU kernel in the native shim (mlnetseg::swap_align2nat, forward and backward): the same two separable
    /// passes as plain loops, without the composed op's reordering copies and index tables.</summary>
    Fused,
}

public static partial class VisionOps
{
    private static readonly Op FusedSwapAlign2NatOp = new("mlnetseg::swap_align2nat");

    private static readonly Align2NatKernel AutoKernel =
        Enum.TryParse<Align2NatKernel>(Environment.GetEnvironmentVariable("MLNETSEG_ALIGN2NAT_KERNEL"), ignoreCase: true, out var k) ? k : Align2NatKernel.Auto;

    /// <summary>TensorMask's pad value: what samples outside the input read (sigmoid(−6) ≈ 0.0025, no mask there).</summary>
    public const double Align2NatPadValue = -6.0;

    /// <summary>
    /// detectron2's SwapAlign2Nat (TensorMask §3.6, Fig. 5): an aligned mask tensor with fine (H, W) and coarse (V, U) units
    /// becomes a natural one with the units swapped: <c>up_align2nat</c> by λ followed by subsampling (H, W) by λ, computed
    /// directly with O(V·U·H·W) work whatever λ. Input [N, V·U, H, W] (V = U); output [N, λV·λU, ⌈H/λ⌉, ⌈W/λ⌉].
    /// </summary>
    /// <remarks>
    /// The sampling is detectron2's CUDA kernel's, which the paper leaves open: output mask pixel (v, u) of the window at
    /// (y, x) reads the input bilinearly in all four coordinates at (v + 0.5)/λ − 0.5, (u + 0.5)/λ − 0.5,
    /// y·λ + v − λV/2 + 0.5, x·λ + u − λU/2 + 0.5; a tap outside the input in any coordinate reads
    /// <paramref name="padValue"/> (nothing is clamped). Two implementations (<see cref="Align2NatKernel"/>): a fused CPU kernel in
    /// the native shim with its own backward, and weighted row gathers of aten ops (embedding_bag) that run on any device, their
    /// gradient from autograd; both are the same separable passes and agree to rounding.
    /// </remarks>
    /// <param name="input">[N, V·U, H, W] aligned masks (logits), V = U.</param>
    /// <param name="lambda">The unit ratio λ ≥ 1 (2^k on bipyramid level k).</param>
    /// <param name="padValue">What taps outside the input read (−6).</param>
    /// <param name="kernel">The implementation (<see cref="Align2NatKernel.Auto"/>: whichever measured faster).</param>
    /// <exception cref="ArgumentException">The input is not 4-D with a square channel count, or λ &lt; 1, or the fused kernel was asked
    /// for off the CPU.</exception>
    public static Tensor SwapAlign2Nat(Tensor input, int lambda, double padValue = Align2NatPadValue, Align2NatKernel kernel = Align2NatKernel.Auto)
    {
        if (lambda < 1) throw new ArgumentException($"{nameof(SwapAlign2Nat)}: lambda must be at least 1, got {lambda}", nameof(lambda));
        int side = WindowSide(input, nameof(SwapAlign2Nat));
        bool cpu = input.Device.Type == DeviceType.Cpu;
        if (kernel == Align2NatKernel.Auto)
            kernel = !cpu ? Align2NatKernel.Composed : AutoKernel != Align2NatKernel.Auto ? AutoKernel : Align2NatKernel.Fused;
        if (kernel == Align2NatKernel.Fused && !cpu)
            throw new ArgumentException($"{nameof(SwapAlign2Nat)}: the fused kernel runs on the CPU only; the input is on {input.Device}", nameof(kernel));
        if (kernel == Align2NatKernel.Fused) return FusedSwapAlign2NatOp.Invoke(input, (long)lambda, padValue);
        return ResampleWindows(input, side, checked(side * lambda), lambda, aligned: true, WindowInterpolation.Bilinear, padValue);
    }

    /// <summary>
    /// The natural masks of a few windows of <see cref="SwapAlign2Nat"/>'s output, computed without the rest: row j is
    /// <c>SwapAlign2Nat(input, λ)[images[j], :, ys[j], xs[j]]</c>. Inference needs the masks of its ≤ 100 detections only;
    /// the dense op would resample every window of every level. Costs one reordered copy of each image's input plus
    /// O(λV·λU) per window.
    /// </summary>
    /// <param name="input">[N, V·U, H, W] aligned masks, V = U.</param>
    /// <param name="lambda">The unit ratio λ ≥ 1.</param>
    /// <param name="images">Image of each window, in [0, N).</param>
    /// <param name="ys">Output row of each window, in [0, ⌈H/λ⌉).</param>
    /// <param name="xs">Output column of each window, in [0, ⌈W/λ⌉).</param>
    /// <param name="padValue">What taps outside the input read (−6).</param>
    /// <returns>[K, λV·λU] in the input's dtype and device.</returns>
    public static Tensor SwapAlign2NatWindows(Tensor input, int lambda, IReadOnlyList<int> images, IReadOnlyList<int> ys, IReadOnlyList<int> xs,
        double padValue = Align2NatPadValue)
    {
        if (lambda < 1) throw new ArgumentException($"{nameof(SwapAlign2NatWindows)}: lambda must be at least 1, got {lambda}", nameof(lambda));
        int side = WindowSide(input, nameof(SwapAlign2NatWindows));
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(ys);
        ArgumentNullException.ThrowIfNull(xs);
        if (ys.Count != images.Count || xs.Count != images.Count)
            throw new ArgumentException($"{nameof(SwapAlign2NatWindows)}: {images.Count} images, {ys.Count} rows and {xs.Count} columns");
        long n = input.Size(0);
        int h = checked((int)input.Size(2)), w = checked((int)input.Size(3));
        int hOut = (h + lambda - 1) / lambda, wOut = (w + lambda - 1) / lambda, outSide = checked(side * lambda);
        for (int j = 0; j < images.Count; j++)
            if (images[j] < 0 || images[j] >= n || ys[j] < 0 || ys[j] >= hOut || xs[j] < 0 || xs[j] >= wOut)
                throw new ArgumentException($"{nameof(SwapAlign2NatWindows)}: window {j} (image {images[j]}, row {ys[j]}, column {xs[j]}) is outside " +
                                            $"the output [{n}, {outSide * outSide}, {hOut}, {wOut}]");
        using var scope = DisposeScope.Enter();
        var cells = WindowTaps(side, outSide, WindowInterpolation.Bilinear);
        var rows = new Tensor[images.Count];
        foreach (var image in images.Distinct())
        {
            // Rows (u, x) of [U·W, V·H] for pass 1, as the dense op, once per image.
            var table = input.Select(0, image).Sub(padValue).Reshape(side, side, h, w).Permute(1, 3, 0, 2).Reshape((long)side * w, (long)side * h);
            for (int j = 0; j < images.Count; j++)
            {
                if (images[j] != image) continue;
                var z = WeightedRows(table, PairTaps(cells, SpatialTaps(w, new[] { xs[j] }, outSide, lambda, aligned: true), w), input.Device, input.DType);   // [Uo, V·H]
                var o = WeightedRows(z.T().Contiguous(), PairTaps(cells, SpatialTaps(h, new[] { ys[j] }, outSide, lambda, aligned: true), h), input.Device, input.DType);  // [Vo, Uo]
                rows[j] = o.Reshape(1, (long)outSide * outSide);
            }
        }
        var result = images.Count == 0
            ? Tensor.Zeros(new long[] { 0, (long)outSide * outSide }, input.DType, input.Device)
            : Tensor.Cat(rows, 0).Add(padValue);
        return scope.MoveToOuter(result);
    }

    /// <summary>
    /// TensorMask's <c>align2nat</c> (§3.4, α = 1): aligned masks to natural ones at equal units, output mask pixel (v, u)
    /// of the window at (y, x) being the input's (v, u) at (y + v − V/2 + 0.5, x + u − U/2 + 0.5), an integer shift when V
    /// is odd; taps outside read <paramref name="padValue"/>. It is <see cref="SwapAlign2Nat"/> with λ = 1.
    /// </summary>
    /// <param name="input">[N, V·U, H, W] aligned masks, V = U.</param>
    /// <param name="padValue">What taps outside the input read (−6).</param>
    public static Tensor Align2Nat(Tensor input, double padValue = Align2NatPadValue) => SwapAlign2Nat(input, 1, padValue);

    /// <summary>
    /// TensorMask's <c>up_align2nat</c> (§3.5, Fig. 4): the coarse (V̂, Û) masks are upsampled to
    /// <paramref name="outputSide"/>² (unit λ = side / V̂ times smaller; λ need not be an integer, e.g. 15 from 10) and
    /// converted to the natural representation; (H, W) is unchanged. With bilinear interpolation it is
    /// <see cref="SwapAlign2Nat"/> before its subsampling: same sampling, same pad.
    /// </summary>
    /// <param name="input">[N, V̂·Û, H, W] aligned masks, V̂ = Û.</param>
    /// <param name="outputSide">V = U of the output (at least V̂).</param>
    /// <param name="interpolation">Bilinear (aligned) or nearest ("unaligned", Tab. 2b) on (V̂, Û).</param>
    /// <param name="padValue">What taps outside the input read (−6).</param>
    /// <returns>[N, V·U, H, W].</returns>
    public static Tensor UpAlign2Nat(Tensor input, int outputSide, WindowInterpolation interpolation = WindowInterpolation.Bilinear,
        double padValue = Align2NatPadValue)
    {
        int side = WindowSide(input, nameof(UpAlign2Nat));
        if (outputSide < side) throw new ArgumentException($"{nameof(UpAlign2Nat)}: output side {outputSide} is below the input's {side}", nameof(outputSide));
        return ResampleWindows(input, side, outputSide, 1, aligned: true, interpolation, padValue);
    }

    /// <summary>
    /// Upsampling of natural masks on (V̂, Û) to <paramref name="outputSide"/>² (TensorMask Fig. 6c, the "upscale natural"
    /// head): the same interpolation and pad as <see cref="UpAlign2Nat"/>, without the change of representation, so the two
    /// heads differ in the representation alone.
    /// </summary>
    /// <param name="input">[N, V̂·Û, H, W] natural masks.</param>
    /// <param name="outputSide">V = U of the output.</param>
    /// <param name="interpolation">Bilinear or nearest on (V̂, Û).</param>
    /// <param name="padValue">What taps outside the input read (−6).</param>
    public static Tensor UpsampleNaturalWindows(Tensor input, int outputSide, WindowInterpolation interpolation = WindowInterpolation.Bilinear,
        double padValue = Align2NatPadValue)
    {
        int side = WindowSide(input, nameof(UpsampleNaturalWindows));
        if (outputSide < side) throw new ArgumentException($"{nameof(UpsampleNaturalWindows)}: output side {outputSide} is below the input's {side}", nameof(outputSide));
        return ResampleWindows(input, side, outputSide, 1, aligned: false, interpolation, padValue);
    }

    private static int WindowSide(Tensor input, string op)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Dim != 4) throw new ArgumentException($"{op}: input must be [N, V·U, H, W], got [{string.Join(", ", input.Shape)}]", nameof(input));
        if (!input.DType.IsFloatingPoint()) throw new ArgumentException($"{op}: input must be floating point, got {input.DType}", nameof(input));
        long c = input.Size(1);
        int side = (int)Math.Round(Math.Sqrt(c));
        if (side < 1 || (long)side * side != c)
            throw new ArgumentException($"{op}: the channel count {c} is not a square V·U (V = U)", nameof(input));
        return side;
    }

    /// <summary>
    /// The one sampling behind the align2nat family. Output [N, Vo·Uo, ⌈H/s⌉, ⌈W/s⌉]: mask pixel v of an output window
    /// reads input mask cell (v + 0.5)/r − 0.5 (r = Vo/Vi; nearest: ⌊(v + 0.5)/r⌋) and, when <paramref name="aligned"/>,
    /// input row y·s + v − Vo/2 + 0.5 (else row y·s); likewise u and x. Computed as two separable passes of 4 taps each,
    /// (U, W) then (V, H), every pass one weighted gather of whole rows (embedding_bag) over a flattened pair of dimensions
    /// moved to the front: about 8 reads per element whatever r and s, and the intermediate is no larger than the input.
    /// </summary>
    private static Tensor ResampleWindows(Tensor input, int inSide, int outSide, int stride, bool aligned, WindowInterpolation interpolation,
        double padValue)
    {
        if (!aligned && stride != 1) throw new ArgumentException("natural windows are not subsampled spatially");
        using var scope = DisposeScope.Enter();
        long n = input.Size(0);
        int h = checked((int)input.Size(2)), w = checked((int)input.Size(3));
        int hOut = (h + stride - 1) / stride, wOut = (w + stride - 1) / stride;
        var device = input.Device;
        var dtype = input.DType;
        if (n == 0 || h == 0 || w == 0)
            return scope.MoveToOuter(Tensor.Zeros(new long[] { n, (long)outSide * outSide, hOut, wOut }, dtype, device));

        // Values are taken relative to the pad, so a tap outside the input is a tap of weight 0 and the pad comes back at the end
        // (the weights of an output element sum to 1).
        var shifted = input.Sub(padValue);
        var cells = WindowTaps(inSide, outSide, interpolation);
        var rows = SpatialTaps(h, Enumerable.Range(0, hOut).ToArray(), outSide, stride, aligned);
        var cols = SpatialTaps(w, Enumerable.Range(0, wOut).ToArray(), outSide, stride, aligned);

        // Pass 1, (U, W) → (Uo, Wo): rows (u, x) of [U·W, N·V·H] → [Uo·Wo, N·V·H].
        var table1 = shifted.Reshape(n, inSide, inSide, h, w).Permute(2, 4, 0, 1, 3).Reshape((long)inSide * w, n * inSide * h);
        var z = WeightedRows(table1, PairTaps(cells, cols, w), device, dtype);

        // Pass 2, (V, H) → (Vo, Ho): rows (v, y) of [V·H, Uo·Wo·N] → [Vo·Ho, Uo·Wo·N].
        var table2 = z.Reshape((long)outSide * wOut, n, inSide, h).Permute(2, 3, 0, 1).Reshape((long)inSide * h, (long)outSide * wOut * n);
        var o = WeightedRows(table2, PairTaps(cells, rows, h), device, dtype);

        var natural = o.Reshape(outSide, hOut, outSide, wOut, n).Permute(4, 0, 2, 1, 3).Reshape(n, (long)outSide * outSide, hOut, wOut).Add(padValue);
        return scope.MoveToOuter(natural);
    }

    /// <summary>Row j of the result is Σ over its 4 taps of weight · table row: one embedding_bag (sum mode, per-sample
    /// weights), which copies whole contiguous rows and has a dense backward.</summary>
    private static Tensor WeightedRows(Tensor table, (long[] Index, double[] Weight) taps, Device device, DType dtype)
    {
        long bags = taps.Weight.Length / 4;
        var index = Tensor.FromArray(taps.Index, new long[] { taps.Index.Length }, device);
        var offsets = Tensor.Arange(0, 4 * bags, 4, DType.Int64, device);
        using var weightCpu = Tensor.FromArray(taps.Weight, new long[] { taps.Weight.Length });
        var weight = weightCpu.To(dtype, device);
        return AtenOps.EmbeddingBagSum(table, index, offsets, weight);
    }

    /// <summary>
    /// The sampling of <see cref="ResampleWindows"/> along one axis pair, for writers of the same op elsewhere (the ONNX exporter):
    /// output mask cell v reads input cells <c>CellLow[v]</c> and <c>CellHigh[v]</c> (−1: outside, reads the pad) with their weights,
    /// and spatial rows <c>y·s + OffsetLow[v]</c> and <c>y·s + OffsetHigh[v]</c> (outside [0, H): the pad) with theirs; the four
    /// products weight the four taps. Offsets are exact because y·s is an integer and the kernel's float coordinate
    /// y·s + v − Vo/2 + 0.5 has an exact fractional part.
    /// </summary>
    internal static Align2NatAxisTaps Align2NatTaps(int inSide, int outSide, bool aligned, WindowInterpolation interpolation)
    {
        var cells = WindowTaps(inSide, outSide, interpolation);
        var offsetLow = new int[outSide];
        var offsetHigh = new int[outSide];
        var offsetLowWeight = new double[outSide];
        var offsetHighWeight = new double[outSide];
        float half = outSide / 2f;
        for (int v = 0; v < outSide; v++)
        {
            (offsetLow[v], offsetHigh[v], offsetHighWeight[v]) = Bracket(aligned ? (float)(v - half + 0.5) : 0f);
            offsetLowWeight[v] = 1.0 - offsetHighWeight[v];
        }
        return new Align2NatAxisTaps(cells.Low, cells.High, cells.LowWeight, cells.HighWeight, offsetLow, offsetHigh, offsetLowWeight, offsetHighWeight);
    }

    /// <summary>A 1-D interpolation table: for each output position, two taps (index, weight); an index of −1 is outside.</summary>
    private readonly record struct Taps(int[] Low, int[] High, double[] LowWeight, double[] HighWeight);

    /// <summary>Mask-cell taps: output cell v reads (v + 0.5)/r − 0.5 of the input cells (the kernel's float arithmetic).</summary>
    private static Taps WindowTaps(int inSide, int outSide, WindowInterpolation interpolation)
    {
        var taps = new Taps(new int[outSide], new int[outSide], new double[outSide], new double[outSide]);
        double ratio = (double)outSide / inSide;
        for (int v = 0; v < outSide; v++)
        {
            if (interpolation == WindowInterpolation.Nearest)
            {
                int cell = Math.Min(inSide - 1, (int)Math.Floor((v + 0.5) / ratio));
                (taps.Low[v], taps.High[v], taps.LowWeight[v], taps.HighWeight[v]) = (cell, -1, 1.0, 0.0);
                continue;
            }
            float o = (float)((v + 0.5) / ratio - 0.5);
            Linear(o, inSide, out taps.Low[v], out taps.High[v], out taps.LowWeight[v], out taps.HighWeight[v]);
        }
        return taps;
    }

    /// <summary>Spatial taps, one table per output mask offset v: [v][j] reads row y·s + v − Vo/2 + 0.5 for y = positions[j] when
    /// aligned, else row y·s.</summary>
    private static Taps[] SpatialTaps(int size, int[] positions, int outSide, int stride, bool aligned)
    {
        var tables = new Taps[outSide];
        float half = outSide / 2f;
        int outSize = positions.Length;
        for (int v = 0; v < outSide; v++)
        {
            var t = new Taps(new int[outSize], new int[outSize], new double[outSize], new double[outSize]);
            for (int j = 0; j < outSize; j++)
            {
                int y = positions[j];
                float o = aligned ? (float)((float)y * stride + v - half + 0.5) : y * stride;
                Linear(o, size, out t.Low[j], out t.High[j], out t.LowWeight[j], out t.HighWeight[j]);
            }
            tables[v] = t;
        }
        return tables;
    }

    /// <summary>Bilinear taps at <paramref name="o"/> over [0, size): floor and ceil with the kernel's weights (the ceil tap has
    /// weight o − floor, 0 on integers); a tap outside is −1. The coordinate is a float as in the kernel; the weights are kept
    /// in double (the kernel rounds them to float: within an ulp of float32 results, exact for float64 inputs).</summary>
    private static void Linear(float o, int size, out int low, out int high, out double lowWeight, out double highWeight)
    {
        (int f, int c, highWeight) = Bracket(o);
        lowWeight = 1.0 - highWeight;
        low = f >= 0 && f < size ? f : -1;
        high = c >= 0 && c < size ? c : -1;
    }

    /// <summary>The two integers around <paramref name="o"/> and the ceil tap's weight o − floor (computed in float, as the kernel does).</summary>
    private static (int Floor, int Ceil, double HighWeight) Bracket(float o)
    {
        int f = (int)MathF.Floor(o);
        return (f, (int)MathF.Ceiling(o), o - f);
    }

    /// <summary>
    /// The 4 taps of a (cell, coordinate) pair for every output (cell o, position p), bag by bag (output row o·P + p, then its
    /// 4 taps): flat indices into a [cells × <paramref name="size"/>] row table and weights (0 where either tap is outside, the
    /// index then 0).
    /// </summary>
    private static (long[] Index, double[] Weight) PairTaps(Taps cells, Taps[] positions, int size)
    {
        int outCells = cells.Low.Length, outSize = positions[0].Low.Length;
        long length = (long)outCells * outSize;
        var index = new long[4 * length];
        var weight = new double[4 * length];
        for (int o = 0; o < outCells; o++)
        {
            var p = positions[o];
            for (int q = 0; q < outSize; q++)
            {
                long at = ((long)o * outSize + q) * 4;
                for (int tap = 0; tap < 4; tap++)
                {
                    int cell = (tap & 2) == 0 ? cells.Low[o] : cells.High[o];
                    double cw = (tap & 2) == 0 ? cells.LowWeight[o] : cells.HighWeight[o];
                    int pos = (tap & 1) == 0 ? p.Low[q] : p.High[q];
                    double pw = (tap & 1) == 0 ? p.LowWeight[q] : p.HighWeight[q];
                    bool inside = cell >= 0 && pos >= 0;
                    index[at + tap] = inside ? (long)cell * size + pos : 0;
                    weight[at + tap] = inside ? cw * pw : 0.0;
                }
            }
        }
        return (index, weight);
    }
}

/// <summary>One axis pair's taps of the align2nat family (<see cref="VisionOps.Align2NatTaps"/>), per output mask cell.</summary>
internal sealed record Align2NatAxisTaps(int[] CellLow, int[] CellHigh, double[] CellLowWeight, double[] CellHighWeight,
    int[] OffsetLow, int[] OffsetHigh, double[] OffsetLowWeight, double[] OffsetHighWeight);
