using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MLNetSeg.Onnx.PostProcessing;

/// <summary>
/// Keypoint locations and scores from the graph's per-detection heatmaps, as torchvision 0.14's
/// <c>heatmaps_to_keypoints</c> and <c>transform.resize_keypoints</c> compute them, in plain C#
/// (no libtorch).
/// </summary>
/// <remarks>
/// <para>For each detection and keypoint torchvision resizes the S×S heatmap bicubically
/// (align_corners=False, A = −0.75, edge indices clamped) to ceil(h)×ceil(w), where w and h are
/// the RoI's sides clamped to at least 1, takes the first maximum in row-major order (ix, iy) and
/// returns x = (ix + 0.5)·w/ceil(w) + x1, y likewise, and the resized value there as the score.</para>
/// <para>The resize reproduces torch 1.13's CPU kernel as its x86-64 AVX2 build runs it (the build
/// CPUs since 2013 use; others may differ in the last bit) operation for operation: the source position in float64 from the float32 scale, the
/// fraction and the cubic coefficients in float32 with the fused multiply-adds its compiler
/// emitted, then each output the fused sum of four weighted rows of four weighted inputs. The
/// maps are therefore bit-identical to torch's and so are the argmax, the positions and the
/// scores (checked in MLNetSeg.Onnx.Tests). The resized map is never stored: the horizontal pass
/// is kept for up to 512 output columns at a time and each output row is reduced to its maximum
/// as it is computed; both passes run as vectorised fused multiply-adds (exact in every lane),
/// the horizontal one down the columns of the transposed heatmap.</para>
/// <para>Detections and keypoints run in parallel; a detection's keypoints share its resize coefficients.</para>
/// </remarks>
public static class KeypointDecoding
{
    /// <summary>Output columns whose horizontal pass is held at once (S × this floats per worker).</summary>
    private const int ColumnBlock = 512;

    /// <summary>The largest resized heatmap side accepted (a RoI over a million pixels wide is not a detection).</summary>
    private const int MaxMapSide = 1 << 20;

    /// <summary>
    /// Decodes heatmaps into keypoints: torchvision's heatmaps_to_keypoints.
    /// </summary>
    /// <param name="heatmaps">Heatmap logits, [D, K, S, S] row-major.</param>
    /// <param name="keypointCount">K, the keypoints per detection.</param>
    /// <param name="heatmapSize">S, the side of each heatmap (56 for Keypoint R-CNN).</param>
    /// <param name="rois">The boxes the heatmaps were pooled from, [D, 4] as (x1, y1, x2, y2):
    /// the network's boxes, in the resized image's pixels.</param>
    /// <returns>Keypoints [D, K, 3] as (x, y, 1) in the same pixels as <paramref name="rois"/>,
    /// and scores [D, K] (the resized heatmap's value at each keypoint), both row-major float32.</returns>
    /// <exception cref="ArgumentException">The spans' lengths disagree, or a RoI coordinate is not finite
    /// or resizes a heatmap to more than 2^20 pixels a side.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A negative keypoint count or a heatmap size below 1.</exception>
    public static (float[] Keypoints, float[] Scores) HeatmapsToKeypoints(ReadOnlySpan<float> heatmaps, int keypointCount,
        int heatmapSize, ReadOnlySpan<float> rois) =>
        HeatmapsToKeypoints(heatmaps, keypointCount, heatmapSize, rois, maxDegreeOfParallelism: -1);

    /// <summary><see cref="HeatmapsToKeypoints(ReadOnlySpan{float}, int, int, ReadOnlySpan{float})"/> with a
    /// bound on the threads used (-1: no bound); the benchmark measures one thread with it.</summary>
    internal static unsafe (float[] Keypoints, float[] Scores) HeatmapsToKeypoints(ReadOnlySpan<float> heatmaps, int keypointCount,
        int heatmapSize, ReadOnlySpan<float> rois, int maxDegreeOfParallelism)
    {
        const string op = nameof(HeatmapsToKeypoints);
        if (keypointCount < 0) throw new ArgumentOutOfRangeException(nameof(keypointCount), $"{op}: keypoint count {keypointCount} is negative");
        if (heatmapSize < 1) throw new ArgumentOutOfRangeException(nameof(heatmapSize), $"{op}: heatmap size {heatmapSize} must be positive");
        if (rois.Length % 4 != 0) throw new ArgumentException($"{op}: rois must be [D, 4], got {rois.Length} values", nameof(rois));
        int count = rois.Length / 4;
        long mapArea = (long)heatmapSize * heatmapSize;
        if ((long)count * keypointCount * mapArea != heatmaps.Length)
            throw new ArgumentException($"{op}: {count} rois with {keypointCount} keypoints need {count}x{keypointCount}x{heatmapSize}x{heatmapSize} heatmap values, got {heatmaps.Length}", nameof(heatmaps));

        // torchvision's per-RoI quantities, float32: sides clamped to ≥ 1, their ceilings as the
        // map size, and side / ceil(side) as the step back to RoI pixels.
        var geometry = new RoiGeometry[count];
        for (int i = 0; i < count; i++)
        {
            float x1 = rois[4 * i], y1 = rois[4 * i + 1], x2 = rois[4 * i + 2], y2 = rois[4 * i + 3];
            if (!float.IsFinite(x1) || !float.IsFinite(y1) || !float.IsFinite(x2) || !float.IsFinite(y2))
                throw new ArgumentException($"{op}: roi {i} ({x1}, {y1}, {x2}, {y2}) is not finite", nameof(rois));
            float width = MathF.Max(x2 - x1, 1f), height = MathF.Max(y2 - y1, 1f);
            float mapWidth = MathF.Ceiling(width), mapHeight = MathF.Ceiling(height);
            if (mapWidth > MaxMapSide || mapHeight > MaxMapSide)
                throw new ArgumentException($"{op}: roi {i} ({x1}, {y1}, {x2}, {y2}) is too large: heatmaps are resized to at most {MaxMapSide} pixels a side", nameof(rois));
            geometry[i] = new RoiGeometry(x1, y1, (int)mapWidth, (int)mapHeight, width / mapWidth, height / mapHeight);
        }

        var keypoints = new float[(long)count * keypointCount * 3];
        var scores = new float[(long)count * keypointCount];
        int items = count * keypointCount;
        if (items == 0) return (keypoints, scores);
        // A detection's K maps share their resize coefficients: computed once, by whichever of its
        // items comes first.
        var tables = new Lazy<(CubicTable Rows, CubicTable Columns)>[count];
        for (int i = 0; i < count; i++)
        {
            var g = geometry[i];
            tables[i] = new(() => (new CubicTable(heatmapSize, g.MapHeight), new CubicTable(heatmapSize, g.MapWidth)));
        }
        fixed (float* maps = heatmaps)
        {
            nint address = (nint)maps;  // pinned until Parallel.For returns
            Parallel.For(0, items, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism }, item =>
            {
                var g = geometry[item / keypointCount];
                var (rowTable, columnTable) = tables[item / keypointCount].Value;
                var map = new ReadOnlySpan<float>((float*)address + item * mapArea, (int)mapArea);
                var (ix, iy, score) = ResizedArgmax(map, heatmapSize, rowTable, columnTable);
                // (ix + 0.5) · correction + offset, each step rounded to float32 as torch does.
                float x = ((float)ix + 0.5f) * g.WidthCorrection;
                float y = ((float)iy + 0.5f) * g.HeightCorrection;
                keypoints[3 * item] = x + g.X1;
                keypoints[3 * item + 1] = y + g.Y1;
                keypoints[3 * item + 2] = 1f;
                scores[item] = score;
            });
        }
        return (keypoints, scores);
    }

    /// <summary>
    /// Maps keypoints from the resized image the network saw back to the original image, as
    /// torchvision's transform.postprocess does (resize_keypoints): x · (W_orig / W_resized) and
    /// y · (H_orig / H_resized), each ratio a float32 division; the third value is left alone.
    /// </summary>
    /// <param name="keypoints">[..., 3] (x, y, v) values, updated in place.</param>
    /// <param name="resizedHeight">Height of the image the keypoints are in.</param>
    /// <param name="resizedWidth">Width of the image the keypoints are in.</param>
    /// <param name="originalHeight">Height of the image to map them to.</param>
    /// <param name="originalWidth">Width of the image to map them to.</param>
    /// <exception cref="ArgumentException">The span's length is not a multiple of 3.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public static void ResizeKeypoints(Span<float> keypoints, int resizedHeight, int resizedWidth, int originalHeight, int originalWidth)
    {
        if (keypoints.Length % 3 != 0)
            throw new ArgumentException($"{nameof(ResizeKeypoints)}: keypoints must be [..., 3], got {keypoints.Length} values", nameof(keypoints));
        if (resizedHeight <= 0 || resizedWidth <= 0 || originalHeight <= 0 || originalWidth <= 0)
            throw new ArgumentOutOfRangeException(nameof(resizedHeight),
                $"{nameof(ResizeKeypoints)}: sizes {resizedHeight}x{resizedWidth} → {originalHeight}x{originalWidth} must be positive");
        float ratioH = (float)originalHeight / (float)resizedHeight;
        float ratioW = (float)originalWidth / (float)resizedWidth;
        for (int i = 0; i < keypoints.Length; i += 3)
        {
            keypoints[i] *= ratioW;
            keypoints[i + 1] *= ratioH;
        }
    }

    private readonly record struct RoiGeometry(float X1, float Y1, int MapWidth, int MapHeight, float WidthCorrection, float HeightCorrection);

    /// <summary>
    /// The first maximum, in row-major order, of <paramref name="map"/> (S×S) bicubically resized
    /// to <paramref name="outHeight"/>×<paramref name="outWidth"/>, and its value.
    /// </summary>
    internal static (int X, int Y, float Value) ResizedArgmax(ReadOnlySpan<float> map, int s, int outHeight, int outWidth) =>
        ResizedArgmax(map, s, new CubicTable(s, outHeight), new CubicTable(s, outWidth));

    private static (int X, int Y, float Value) ResizedArgmax(ReadOnlySpan<float> map, int s, CubicTable rows, CubicTable columns)
    {
        int outHeight = rows.Count, outWidth = columns.Count;
        var best = new Best();
        if (outHeight == s && outWidth == s)
        {
            // torch copies the input when the size does not change.
            for (int y = 0; y < s; y++) best.ScanRow(map.Slice(y * s, s), y, 0);
            return (best.X, best.Y, best.Value);
        }
        int blockWidth = Math.Min(ColumnBlock, outWidth);
        var pool = ArrayPool<float>.Shared;
        var transposed = pool.Rent(s * s);             // the map's columns, each contiguous
        var horizontalT = pool.Rent(s * blockWidth);   // horizontal pass, [output column][input row]
        var horizontal = pool.Rent(s * blockWidth);    // the same, [input row][output column]
        var row = pool.Rent(blockWidth);
        try
        {
            Transpose(map, s, s, transposed);
            for (int x0 = 0; x0 < outWidth; x0 += blockWidth)
            {
                int width = Math.Min(blockWidth, outWidth - x0);
                // Horizontal pass: each output column of the block mixes four input columns, for
                // all input rows at once (vectorised down the contiguous transposed columns).
                for (int c = 0; c < width; c++)
                {
                    int k = 4 * (x0 + c);
                    var index = columns.Index;
                    var weight = columns.Weight;
                    Combine(transposed.AsSpan(index[k] * s, s), transposed.AsSpan(index[k + 1] * s, s),
                        transposed.AsSpan(index[k + 2] * s, s), transposed.AsSpan(index[k + 3] * s, s),
                        weight[k], weight[k + 1], weight[k + 2], weight[k + 3], horizontalT.AsSpan(c * s, s));
                }
                Transpose(horizontalT, width, s, horizontal);
                // Vertical pass, one output row at a time, reduced to its maximum straight away.
                var rowSpan = row.AsSpan(0, width);
                for (int y = 0; y < outHeight; y++)
                {
                    int k = 4 * y;
                    var index = rows.Index;
                    var weight = rows.Weight;
                    Combine(horizontal.AsSpan(index[k] * width, width), horizontal.AsSpan(index[k + 1] * width, width),
                        horizontal.AsSpan(index[k + 2] * width, width), horizontal.AsSpan(index[k + 3] * width, width),
                        weight[k], weight[k + 1], weight[k + 2], weight[k + 3], rowSpan);
                    best.ScanRow(rowSpan, y, x0);
                }
            }
        }
        finally
        {
            pool.Return(transposed);
            pool.Return(horizontalT);
            pool.Return(horizontal);
            pool.Return(row);
        }
        return (best.X, best.Y, best.Value);
    }

    /// <summary>destination[c * rows + r] = source[r * cols + c] for a rows×cols source, in tiles.</summary>
    private static void Transpose(ReadOnlySpan<float> source, int rows, int cols, Span<float> destination)
    {
        if (source.Length < rows * cols || destination.Length < rows * cols) throw new ArgumentException("transpose buffers are too small");
        ref float src = ref MemoryMarshal.GetReference(source);
        ref float dst = ref MemoryMarshal.GetReference(destination);
        const int tile = 16;
        for (int r0 = 0; r0 < rows; r0 += tile)
        {
            int r1 = Math.Min(r0 + tile, rows);
            for (int c0 = 0; c0 < cols; c0 += tile)
            {
                int c1 = Math.Min(c0 + tile, cols);
                for (int r = r0; r < r1; r++)
                {
                    ref float from = ref Unsafe.Add(ref src, r * cols);
                    for (int c = c0; c < c1; c++)
                        Unsafe.Add(ref dst, c * rows + r) = Unsafe.Add(ref from, c);
                }
            }
        }
    }

    /// <summary>The running first maximum over positions visited in any order: larger values win,
    /// NaN beats every number (torch's argmax), and a tie goes to the earlier row-major position.
    /// Rows come in increasing y within a column block and blocks in increasing x.</summary>
    private struct Best
    {
        public float Value;
        public int X, Y;
        private bool _any;

        public void ScanRow(ReadOnlySpan<float> values, int y, int x0)
        {
            if (values.IsEmpty) return;
            var (max, hasNaN) = RowMaximum(values);
            if (hasNaN || (_any && float.IsNaN(Value)))
            {
                ScanScalar(values, y, x0);
                return;
            }
            // A row can only win with a larger maximum, or an equal one at an earlier position:
            // positions in an earlier row (of a later block) come first.
            if (_any && !(max > Value || (max == Value && y < Y))) return;
            int x = values.IndexOf(max);  // the first occurrence (−0 and +0 compare equal, as in torch)
            if (x < 0) x = FirstEqual(values, max);
            Value = values[x];
            X = x0 + x;
            Y = y;
            _any = true;
        }

        private static int FirstEqual(ReadOnlySpan<float> values, float target)
        {
            for (int i = 0; i < values.Length; i++)
                if (values[i] == target) return i;
            throw new InvalidOperationException("the row maximum is not in the row");
        }

        private void ScanScalar(ReadOnlySpan<float> values, int y, int x0)
        {
            for (int i = 0; i < values.Length; i++)
            {
                float v = values[i];
                int x = x0 + i;
                bool better;
                if (!_any) better = true;
                else if (float.IsNaN(Value)) better = float.IsNaN(v) && (y < Y || (y == Y && x < X));
                else if (float.IsNaN(v)) better = true;
                else better = v > Value || (v == Value && (y < Y || (y == Y && x < X)));
                if (better)
                {
                    Value = v;
                    X = x;
                    Y = y;
                    _any = true;
                }
            }
        }

        /// <summary>The row's largest value, and whether it holds a NaN (then the maximum is meaningless).</summary>
        private static (float Max, bool HasNaN) RowMaximum(ReadOnlySpan<float> values)
        {
            int i = 0;
            float max = float.NegativeInfinity;
            bool nan = false;
            if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
            {
                ref float start = ref MemoryMarshal.GetReference(values);
                var maxV = new Vector<float>(float.NegativeInfinity);
                var nanV = Vector<int>.Zero;
                for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
                {
                    var v = Vector.LoadUnsafe(ref start, (nuint)i);
                    maxV = Vector.ConditionalSelect(Vector.GreaterThan(v, maxV), v, maxV);
                    nanV |= ~Vector.Equals(v, v);
                }
                nan = nanV != Vector<int>.Zero;
                for (int k = 0; k < Vector<float>.Count; k++) max = MathF.Max(max, maxV[k]);
            }
            for (; i < values.Length; i++)
            {
                float v = values[i];
                if (float.IsNaN(v)) nan = true;
                else if (v > max) max = v;
            }
            return (max, nan);
        }
    }

    /// <summary>output[i] = fma(r3[i], w3, fma(r2[i], w2, fma(r0[i], w0, r1[i] · w1))): torch's
    /// x0·c0 + x1·c1 + x2·c2 + x3·c3 as its compiler fused it; exact in every vector lane.</summary>
    private static void Combine(ReadOnlySpan<float> r0, ReadOnlySpan<float> r1, ReadOnlySpan<float> r2, ReadOnlySpan<float> r3,
        float w0, float w1, float w2, float w3, Span<float> output)
    {
        int n = output.Length;
        if (r0.Length < n || r1.Length < n || r2.Length < n || r3.Length < n) throw new ArgumentException("row shorter than the output");
        int i = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            ref float a = ref MemoryMarshal.GetReference(r0), b = ref MemoryMarshal.GetReference(r1);
            ref float c = ref MemoryMarshal.GetReference(r2), d = ref MemoryMarshal.GetReference(r3);
            ref float o = ref MemoryMarshal.GetReference(output);
            Vector<float> v0 = new(w0), v1 = new(w1), v2 = new(w2), v3 = new(w3);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                nuint at = (nuint)i;
                var acc = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref a, at), v0, Vector.LoadUnsafe(ref b, at) * v1);
                acc = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref c, at), v2, acc);
                acc = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref d, at), v3, acc);
                acc.StoreUnsafe(ref o, at);
            }
        }
        for (; i < n; i++)
            output[i] = Interpolate(r0[i], r1[i], r2[i], r3[i], w0, w1, w2, w3);
    }

    private static float Interpolate(float x0, float x1, float x2, float x3, float c0, float c1, float c2, float c3)
    {
        float acc = MathF.FusedMultiplyAdd(x0, c0, x1 * c1);
        acc = MathF.FusedMultiplyAdd(x2, c2, acc);
        return MathF.FusedMultiplyAdd(x3, c3, acc);
    }

    /// <summary>
    /// Source indices (clamped to the input) and weights of every output position when resizing
    /// <c>inputSize</c> cells to <c>Count</c>: four each, for sources i−1, i, i+1, i+2
    /// (torch's upsample_bicubic2d, align_corners=False).
    /// </summary>
    private sealed class CubicTable
    {
        public readonly int Count;
        public readonly int[] Index;
        public readonly float[] Weight;

        public CubicTable(int inputSize, int outputSize)
        {
            Count = outputSize;
            Index = new int[4 * outputSize];
            Weight = new float[4 * outputSize];
            float scale = (float)inputSize / outputSize;
            for (int k = 0; k < outputSize; k++)
            {
                // The source position in float64 from the float32 scale; its floor taken in float32.
                double real = scale * ((double)k + 0.5) - 0.5;
                int source = (int)MathF.Floor((float)real);
                float t = (float)(real - source);
                float u = (float)(1.0 - t);
                Weight[4 * k] = Convolution2((float)(t + 1.0));
                Weight[4 * k + 1] = Convolution1(t);
                Weight[4 * k + 2] = Convolution1(u);
                Weight[4 * k + 3] = Convolution2((float)(u + 1.0));
                for (int j = 0; j < 4; j++)
                    Index[4 * k + j] = Math.Clamp(source - 1 + j, 0, inputSize - 1);
            }
        }
    }

    // torch's cubic_convolution1/2 with A = −0.75, fused where its compiler fused them:
    // ((A + 2)·x − (A + 3))·x·x + 1 and ((A·x − 5A)·x + 8A)·x − 4A.
    private static float Convolution1(float x)
    {
        float u = MathF.FusedMultiplyAdd(1.25f, x, -2.25f);
        float v = u * x;
        return v * x + 1f;
    }

    private static float Convolution2(float x)
    {
        float u = MathF.FusedMultiplyAdd(-0.75f, x, 3.75f);
        float v = MathF.FusedMultiplyAdd(u, x, -6f);
        return v * x + 3f;
    }
}
