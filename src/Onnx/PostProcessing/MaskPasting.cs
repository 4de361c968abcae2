using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Onnx.PostProcessing;

/// <summary>
/// Pastes the graph's per-detection M×M mask probabilities into their images and binarises them,
/// as torchvision 0.14's <c>paste_masks_in_image</c> followed by <c>mask &gt; threshold</c> does,
/// in plain C# (no libtorch).
/// </summary>
/// <remarks>
/// <para>torchvision pads each mask by one cell, grows its box by (M+2)/M about the centre
/// (float32), truncates the box to integers, bilinearly resizes the padded mask
/// (align_corners=False) to the box's (y2−y1+1)×(x2−x1+1) pixels (each side at least 1) and copies
/// the part that overlaps the image. Here only that overlap is computed, and each pixel's value is
/// the one torch 1.13's CPU kernel produces: float32 interpolation weights, their float32 products,
/// the four weighted values summed in float64 and rounded once to float32. The pasted values are
/// then bit-identical to torchvision's (checked against it in MLNetSeg.Onnx.Tests), so the
/// binary masks are too.</para>
/// <para>Detections run in parallel; each needs a few small buffers (the padded mask and one row
/// of interpolation coefficients per image row and column of its box), never an image-sized one.</para>
/// </remarks>
public static class MaskPasting
{
    /// <summary>The padding torchvision's paste_masks_in_image adds around each mask, in mask cells.</summary>
    public const int Padding = 1;

    /// <summary>
    /// Pastes every detection's mask into an <paramref name="imageHeight"/>×<paramref name="imageWidth"/>
    /// image and returns its pixels whose probability exceeds <paramref name="threshold"/>, as COCO
    /// run-length encodings.
    /// </summary>
    /// <param name="masks">Mask probabilities, [D, M, M] row-major (the graph's [D, 1, M, M] has the same layout).</param>
    /// <param name="maskSize">M, the side of each mask.</param>
    /// <param name="boxes">Boxes, [D, 4] as (x1, y1, x2, y2) in the image's pixels.</param>
    /// <param name="imageHeight">Rows of the image the masks are pasted into.</param>
    /// <param name="imageWidth">Columns of the image.</param>
    /// <param name="threshold">A pixel is set when its pasted probability is greater than this
    /// (compared in float32, as <c>masks &gt; threshold</c> on a float32 tensor does); 0.5 by default.</param>
    /// <returns>One <see cref="Rle"/> per detection, in order, each <paramref name="imageHeight"/>×<paramref name="imageWidth"/>.</returns>
    /// <exception cref="ArgumentException">The spans' lengths disagree with each other or with
    /// <paramref name="maskSize"/>, or a box coordinate is not finite.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or the threshold is NaN.</exception>
    public static Rle[] PasteToRle(ReadOnlySpan<float> masks, int maskSize, ReadOnlySpan<float> boxes,
        int imageHeight, int imageWidth, double threshold = 0.5) =>
        PasteToRle(masks, maskSize, boxes, imageHeight, imageWidth, threshold, maxDegreeOfParallelism: -1);

    /// <summary><see cref="PasteToRle(ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, int, double)"/>
    /// with a bound on the threads used (-1: no bound); the benchmark measures one thread with it.</summary>
    internal static unsafe Rle[] PasteToRle(ReadOnlySpan<float> masks, int maskSize, ReadOnlySpan<float> boxes,
        int imageHeight, int imageWidth, double threshold, int maxDegreeOfParallelism)
    {
        int count = CheckBatch(masks.Length, maskSize, boxes, imageHeight, imageWidth);
        if (double.IsNaN(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), "MaskPasting: the threshold is NaN");
        for (int i = 0; i < count; i++) CheckFinite(boxes.Slice(4 * i, 4), i);  // here, not as an AggregateException
        var result = new Rle[count];
        if (count == 0) return result;
        float limit = (float)threshold;
        fixed (float* m = masks)
        fixed (float* b = boxes)
        {
            // Spans cannot enter the lambda; the pinned addresses can, and stay valid until Parallel.For returns.
            nint maskAddress = (nint)m, boxAddress = (nint)b;
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism }, i =>
            {
                var mask = new ReadOnlySpan<float>((float*)maskAddress + (long)i * maskSize * maskSize, maskSize * maskSize);
                var box = new ReadOnlySpan<float>((float*)boxAddress + 4L * i, 4);
                result[i] = PasteOneToRle(mask, maskSize, box, i, imageHeight, imageWidth, limit);
            });
        }
        return result;
    }

    /// <summary>
    /// The soft (not thresholded) values of one pasted mask: exactly what torchvision's
    /// paste_masks_in_image gives for it, zeros outside the box.
    /// </summary>
    /// <param name="mask">One mask's probabilities, [M, M] row-major.</param>
    /// <param name="maskSize">M.</param>
    /// <param name="box">(x1, y1, x2, y2) in the image's pixels.</param>
    /// <param name="imageHeight">Rows of the image.</param>
    /// <param name="imageWidth">Columns of the image.</param>
    /// <returns>[imageHeight, imageWidth] row-major float32 values.</returns>
    /// <exception cref="ArgumentException">The mask does not hold M×M values, the box 4, or a box coordinate is not finite.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public static float[] PasteSoft(ReadOnlySpan<float> mask, int maskSize, ReadOnlySpan<float> box, int imageHeight, int imageWidth)
    {
        if (box.Length != 4) throw new ArgumentException($"MaskPasting.PasteSoft: one box of 4 values expected, got {box.Length}", nameof(box));
        CheckBatch(mask.Length, maskSize, box, imageHeight, imageWidth);
        var image = new float[(long)imageHeight * imageWidth];
        var p = Place(box, 0, maskSize, imageHeight, imageWidth);
        if (p.IsEmpty) return image;
        using var work = new Workspace(mask, maskSize, p);
        for (int x = p.Left; x < p.Right; x++)
        {
            var column = work.Column(x - p.Left);
            for (int y = p.Top; y < p.Bottom; y++)
                image[(long)y * imageWidth + x] = work.Value(column, y - p.Top);
        }
        return image;
    }

    /// <summary>
    /// Pastes masks of different sides into their boxes as detectron2's <c>paste_masks_in_image</c> does (TensorMask's windows) and
    /// returns the pixels whose probability exceeds <paramref name="threshold"/>: every pixel of the box grown by one pixel (clipped to
    /// the image) samples the mask bilinearly at its centre, <c>grid_sample</c> with align_corners = false and zeros outside, in
    /// float32 as torch's CPU kernel computes it; pixels farther out are 0.
    /// </summary>
    /// <param name="masks">Mask probabilities, [D, M, M] row-major; mask d occupies the top-left <paramref name="sides"/>[d]² of its row.</param>
    /// <param name="maskStride">M.</param>
    /// <param name="sides">Each mask's side (1 ≤ side ≤ M).</param>
    /// <param name="boxes">[D, 4] (x1, y1, x2, y2) in the image's pixels.</param>
    /// <param name="imageHeight">Rows of the image.</param>
    /// <param name="imageWidth">Columns of the image.</param>
    /// <param name="threshold">A pixel is set when its value is greater than this (float32 comparison).</param>
    /// <exception cref="ArgumentException">Lengths disagree, a side is outside [1, M], or a box is not finite.</exception>
    public static Rle[] PasteDetectron2ToRle(ReadOnlySpan<float> masks, int maskStride, ReadOnlySpan<long> sides, ReadOnlySpan<float> boxes,
        int imageHeight, int imageWidth, double threshold = 0.5)
    {
        int count = CheckBatch(masks.Length, maskStride, boxes, imageHeight, imageWidth);
        if (sides.Length != count) throw new ArgumentException($"MaskPasting: {count} boxes but {sides.Length} mask sides", nameof(sides));
        if (double.IsNaN(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), "MaskPasting: the threshold is NaN");
        var result = new Rle[count];
        float limit = (float)threshold;
        for (int i = 0; i < count; i++)
        {
            if (sides[i] < 1 || sides[i] > maskStride)
                throw new ArgumentException($"MaskPasting: mask {i} has side {sides[i]}, outside [1, {maskStride}]", nameof(sides));
            var box = boxes.Slice(4 * i, 4);
            CheckFinite(box, i);
            result[i] = PasteOneDetectron2(masks.Slice(i * maskStride * maskStride, maskStride * maskStride), maskStride, (int)sides[i], box,
                imageHeight, imageWidth, limit);
        }
        return result;
    }

    private static Rle PasteOneDetectron2(ReadOnlySpan<float> mask, int stride, int side, ReadOnlySpan<float> box, int imageHeight, int imageWidth, float limit)
    {
        float bx1 = box[0], by1 = box[1], bx2 = box[2], by2 = box[3];
        // detectron2's region: the box grown by a pixel, clipped to the image.
        int left = (int)Math.Max(Math.Floor((double)bx1) - 1, 0), top = (int)Math.Max(Math.Floor((double)by1) - 1, 0);
        int right = (int)Math.Min(Math.Ceiling((double)bx2) + 1, imageWidth), bottom = (int)Math.Min(Math.Ceiling((double)by2) + 1, imageHeight);
        var runs = new RunBuilder();
        if (right <= left || bottom <= top) return runs.Finish(imageHeight, imageWidth, (uint)(imageHeight * imageWidth));
        // grid_sample's source coordinate of a pixel centre: g = (c + 0.5 − b1) / (b2 − b1) · 2 − 1, then ((g + 1) · side − 1) / 2.
        static float Source(int pixel, float b1, float b2, int side)
        {
            float g = ((pixel + 0.5f) - b1) / (b2 - b1) * 2f - 1f;
            return ((g + 1f) * side - 1f) / 2f;
        }
        var rowSource = new float[bottom - top];
        for (int y = top; y < bottom; y++) rowSource[y - top] = Source(y, by1, by2, side);
        float At(ReadOnlySpan<float> m, int yy, int xx) => yy >= 0 && yy < side && xx >= 0 && xx < side ? m[yy * stride + xx] : 0f;

        runs.Zeros((uint)((long)left * imageHeight));
        uint above = (uint)top, below = (uint)(imageHeight - bottom);
        for (int x = left; x < right; x++)
        {
            float ix = Source(x, bx1, bx2, side);
            int x0 = (int)MathF.Floor(ix);
            float east = ix - x0, west = x0 + 1 - ix;
            runs.Zeros(above);
            for (int r = 0; r < rowSource.Length; r++)
            {
                float iy = rowSource[r];
                int y0 = (int)MathF.Floor(iy);
                float south = iy - y0, north = y0 + 1 - iy;
                float value = west * north * At(mask, y0, x0) + east * north * At(mask, y0, x0 + 1)
                              + west * south * At(mask, y0 + 1, x0) + east * south * At(mask, y0 + 1, x0 + 1);
                runs.Bit(value > limit);
            }
            runs.Zeros(below);
        }
        return runs.Finish(imageHeight, imageWidth, (uint)((long)(imageWidth - right) * imageHeight));
    }

    private static Rle PasteOneToRle(ReadOnlySpan<float> mask, int maskSize, ReadOnlySpan<float> box, int index,
        int imageHeight, int imageWidth, float limit)
    {
        var runs = new RunBuilder();
        var p = Place(box, index, maskSize, imageHeight, imageWidth);
        if (p.IsEmpty) return runs.Finish(imageHeight, imageWidth, (uint)(imageHeight * imageWidth));
        using var work = new Workspace(mask, maskSize, p);
        // COCO runs go down each column, left to right: columns before the box, then per box
        // column the rows above it, its pixels and the rows below it.
        runs.Zeros((uint)((long)p.Left * imageHeight));
        uint above = (uint)p.Top, below = (uint)(imageHeight - p.Bottom);
        int rows = p.Bottom - p.Top;
        for (int x = p.Left; x < p.Right; x++)
        {
            var column = work.Column(x - p.Left);
            runs.Zeros(above);
            for (int r = 0; r < rows; r++) runs.Bit(work.Value(column, r) > limit);
            runs.Zeros(below);
        }
        return runs.Finish(imageHeight, imageWidth, (uint)((long)(imageWidth - p.Right) * imageHeight));
    }

    private static int CheckBatch(int maskValues, int maskSize, ReadOnlySpan<float> boxes, int imageHeight, int imageWidth)
    {
        if (maskSize <= 0) throw new ArgumentOutOfRangeException(nameof(maskSize), $"MaskPasting: mask size {maskSize} must be positive");
        if (imageHeight <= 0 || imageWidth <= 0)
            throw new ArgumentOutOfRangeException(nameof(imageHeight), $"MaskPasting: image size {imageHeight}x{imageWidth} must be positive");
        if ((long)imageHeight * imageWidth > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(imageHeight), $"MaskPasting: a {imageHeight}x{imageWidth} image has more pixels than a mask can hold");
        if (boxes.Length % 4 != 0)
            throw new ArgumentException($"MaskPasting: boxes must be [D, 4], got {boxes.Length} values", nameof(boxes));
        int count = boxes.Length / 4;
        if ((long)count * maskSize * maskSize != maskValues)
            throw new ArgumentException($"MaskPasting: {count} boxes need {count}x{maskSize}x{maskSize} mask values, got {maskValues}", nameof(boxes));
        return count;
    }

    /// <summary>Where torchvision puts one mask: its integer box (X0, Y0, Width, Height) after
    /// expand_boxes and the int64 cast, and the part of it inside the image, [Left, Right) × [Top, Bottom).</summary>
    private readonly record struct Placement(long X0, long Y0, long Width, long Height, int Left, int Top, int Right, int Bottom)
    {
        public bool IsEmpty => Right <= Left || Bottom <= Top;
    }

    private static Placement Place(ReadOnlySpan<float> box, int index, int maskSize, int imageHeight, int imageWidth)
    {
        CheckFinite(box, index);
        float bx1 = box[0], by1 = box[1], bx2 = box[2], by2 = box[3];
        // expand_boxes, float32 step by step as torch evaluates it; the Python float scale is
        // rounded to float32 when it multiplies a float32 tensor.
        float scale = (float)((double)(maskSize + 2 * Padding) / maskSize);
        float wHalf = (bx2 - bx1) * 0.5f;
        float hHalf = (by2 - by1) * 0.5f;
        float xc = (bx2 + bx1) * 0.5f;
        float yc = (by2 + by1) * 0.5f;
        wHalf *= scale;
        hHalf *= scale;
        long x0 = Truncate(xc - wHalf), x1 = Truncate(xc + wHalf), y0 = Truncate(yc - hHalf), y1 = Truncate(yc + hHalf);
        long w = Math.Max(x1 - x0 + 1, 1), h = Math.Max(y1 - y0 + 1, 1);
        // paste_mask_in_image's slice of the image; the extra bound keeps a box whose x2 < x1
        // (which torchvision turns into a 1-pixel mask) from reading past that mask.
        long left = Math.Max(x0, 0), right = Math.Min(Math.Min(x1 + 1, imageWidth), x0 + w);
        long top = Math.Max(y0, 0), bottom = Math.Min(Math.Min(y1 + 1, imageHeight), y0 + h);
        if (right <= left || bottom <= top) return new Placement(x0, y0, w, h, 0, 0, 0, 0);
        return new Placement(x0, y0, w, h, (int)left, (int)top, (int)right, (int)bottom);
    }

    private static void CheckFinite(ReadOnlySpan<float> box, int index)
    {
        if (!float.IsFinite(box[0]) || !float.IsFinite(box[1]) || !float.IsFinite(box[2]) || !float.IsFinite(box[3]))
            throw new ArgumentException($"MaskPasting: box {index} ({box[0]}, {box[1]}, {box[2]}, {box[3]}) is not finite", "boxes");
    }

    /// <summary>torch's float → int64 cast (truncation toward zero); the clamp only keeps absurd
    /// coordinates from overflowing the integer arithmetic after it.</summary>
    private static long Truncate(float v) => (long)Math.Clamp(v, -1e15f, 1e15f);

    /// <summary>
    /// One detection's padded mask and the interpolation coefficients of the box columns and rows
    /// inside the image (torch's upsample_bilinear2d, align_corners=False), from pooled arrays.
    /// </summary>
    private readonly struct Workspace : IDisposable
    {
        private readonly float[] _padded;
        private readonly int _stride;
        private readonly Coefficients _columns, _rows;

        public Workspace(ReadOnlySpan<float> mask, int maskSize, Placement p)
        {
            _stride = maskSize + 2 * Padding;
            _padded = System.Buffers.ArrayPool<float>.Shared.Rent(_stride * _stride);
            var padded = _padded.AsSpan(0, _stride * _stride);
            padded.Clear();
            for (int y = 0; y < maskSize; y++)
                mask.Slice(y * maskSize, maskSize).CopyTo(padded.Slice((y + Padding) * _stride + Padding, maskSize));
            _columns = new Coefficients(_stride, p.Width, p.Left - p.X0, p.Right - p.Left);
            _rows = new Coefficients(_stride, p.Height, p.Top - p.Y0, p.Bottom - p.Top);
        }

        /// <summary>The coefficients of box column <paramref name="c"/> (0 = the first one inside the image).</summary>
        public (int I0, int I1, float L0, float L1) Column(int c) => (_columns.I0[c], _columns.I1[c], _columns.L0[c], _columns.L1[c]);

        /// <summary>torch's value at box row <paramref name="r"/> of a column: float32 weight products,
        /// the weighted sum in float64, one rounding to float32.</summary>
        public float Value((int I0, int I1, float L0, float L1) column, int r)
        {
            float h0 = _rows.L0[r], h1 = _rows.L1[r];
            int row0 = _rows.I0[r] * _stride, row1 = _rows.I1[r] * _stride;
            float w00 = h0 * column.L0, w01 = h0 * column.L1, w10 = h1 * column.L0, w11 = h1 * column.L1;
            var p = _padded;
            double sum = (double)w00 * p[row0 + column.I0] + (double)w01 * p[row0 + column.I1]
                       + (double)w10 * p[row1 + column.I0] + (double)w11 * p[row1 + column.I1];
            return (float)sum;
        }

        public void Dispose()
        {
            System.Buffers.ArrayPool<float>.Shared.Return(_padded);
            _columns.Dispose();
            _rows.Dispose();
        }
    }

    /// <summary>
    /// Bilinear source indices and weights of output positions first..first+count−1 when resizing
    /// <c>inputSize</c> cells to <c>outputSize</c> (torch's compute_source_index_and_lambda): the
    /// float32 ratio, the source position in float64 (clamped at 0), its truncation, and the
    /// fraction rounded to float32 as lambda1 with lambda0 = 1 − lambda1 in float32.
    /// </summary>
    private readonly struct Coefficients : IDisposable
    {
        public readonly int[] I0, I1;
        public readonly float[] L0, L1;

        public Coefficients(int inputSize, long outputSize, long first, int count)
        {
            I0 = System.Buffers.ArrayPool<int>.Shared.Rent(count);
            I1 = System.Buffers.ArrayPool<int>.Shared.Rent(count);
            L0 = System.Buffers.ArrayPool<float>.Shared.Rent(count);
            L1 = System.Buffers.ArrayPool<float>.Shared.Rent(count);
            if (outputSize == inputSize)
            {
                for (int k = 0; k < count; k++)
                {
                    I0[k] = I1[k] = (int)(first + k);
                    L0[k] = 1f;
                    L1[k] = 0f;
                }
                return;
            }
            float ratio = (float)inputSize / outputSize;
            for (int k = 0; k < count; k++)
            {
                double real = ratio * ((double)(first + k) + 0.5) - 0.5;
                if (real < 0) real = 0;
                int index = (int)real;
                I0[k] = index;
                I1[k] = index < inputSize - 1 ? index + 1 : index;
                float lambda1 = (float)(real - index);
                L1[k] = lambda1;
                L0[k] = 1f - lambda1;
            }
        }

        public void Dispose()
        {
            System.Buffers.ArrayPool<int>.Shared.Return(I0);
            System.Buffers.ArrayPool<int>.Shared.Return(I1);
            System.Buffers.ArrayPool<float>.Shared.Return(L0);
            System.Buffers.ArrayPool<float>.Shared.Return(L1);
        }
    }

    /// <summary>Accumulates COCO run lengths (zeros first) pixel by pixel or run by run.</summary>
    private sealed class RunBuilder
    {
        private readonly List<uint> _counts = new();
        private uint _current;
        private bool _ones;

        public void Zeros(uint n)
        {
            if (n == 0) return;
            if (_ones) { _counts.Add(_current); _current = 0; _ones = false; }
            _current += n;
        }

        public void Bit(bool set)
        {
            if (set != _ones) { _counts.Add(_current); _current = 0; _ones = set; }
            _current++;
        }

        public Rle Finish(int height, int width, uint trailingZeros)
        {
            Zeros(trailingZeros);
            _counts.Add(_current);
            return new Rle(height, width, _counts.ToArray());
        }
    }
}
