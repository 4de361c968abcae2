using MLNetSeg.Torch;

namespace MLNetSeg.Vision.Ops;

/// <summary>How <see cref="VisionOps.PasteMasksInImage"/> maps an M×M mask onto its box.</summary>
public enum MaskPasteMode
{
    /// <summary>torchvision's paste_masks_in_image: pad the mask by one cell, grow the box by
    /// (M+2)/M, truncate it to integers, bilinear-resize to (x2−x1+1)×(y2−y1+1) and copy the part
    /// inside the image.</summary>
    Torchvision,

    /// <summary>detectron2's paste_masks_in_image: sample the mask with grid_sample at every pixel
    /// centre of the box's region (continuous box, no padding), over the box grown by one pixel
    /// (detectron2's CPU path; its GPU path samples the whole image, which differs only where
    /// zero-padded interpolation reaches more than a pixel past the box).</summary>
    Detectron2,
}

public static partial class VisionOps
{
    /// <summary>
    /// Pastes per-detection masks into full-image canvases. Returns the soft values (not
    /// thresholded): torchvision's users threshold at &gt; 0.5, detectron2 binarises with ≥ 0.5.
    /// </summary>
    /// <param name="masks">[N, 1, M, M] or [N, M, M] mask probabilities.</param>
    /// <param name="boxes">[N, 4] boxes in image coordinates (clipped to the image, as the detectors'
    /// post-processing leaves them; a box with no pixel in the image pastes nothing).</param>
    /// <param name="imageHeight">Height of the canvas in pixels.</param>
    /// <param name="imageWidth">Width of the canvas in pixels.</param>
    /// <param name="mode">Whose pasting to reproduce: torchvision's (the default) or detectron2's.</param>
    /// <param name="padding">Torchvision mode's padding in mask cells (torchvision uses 1).</param>
    /// <returns>[N, 1, imageHeight, imageWidth] in the masks' dtype, on their device.</returns>
    public static Tensor PasteMasksInImage(Tensor masks, Tensor boxes, long imageHeight, long imageWidth,
        MaskPasteMode mode = MaskPasteMode.Torchvision, int padding = 1)
    {
        const string op = nameof(PasteMasksInImage);
        var shape = masks.Shape;
        if (!(shape.Length == 4 && shape[1] == 1 || shape.Length == 3))
            throw new ArgumentException($"{op}: masks must be [N, 1, M, M] or [N, M, M], got [{string.Join(", ", shape)}]");
        AtenOps.CheckShape2(boxes, 4, "boxes", op);
        if (boxes.Size(0) != shape[0])
            throw new ArgumentException($"{op}: {shape[0]} masks but {boxes.Size(0)} boxes");
        if (shape[^1] != shape[^2])
            throw new ArgumentException($"{op}: masks must be square, got {shape[^2]}×{shape[^1]}");
        if (!masks.DType.IsFloatingPoint())
            throw new ArgumentException($"{op}: masks must be floating point (probabilities), got {masks.DType}");
        if (imageHeight <= 0 || imageWidth <= 0)
            throw new ArgumentOutOfRangeException(nameof(imageHeight), $"{op}: image size {imageHeight}×{imageWidth} must be positive");
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), $"{op}: padding {padding} is negative");

        using var scope = DisposeScope.Enter();
        var m4 = shape.Length == 3 ? masks.Unsqueeze(1) : masks;
        var result = mode == MaskPasteMode.Torchvision
            ? PasteTorchvision(m4, boxes, imageHeight, imageWidth, padding)
            : PasteDetectron2(m4, boxes, imageHeight, imageWidth);
        return scope.MoveToOuter(result);
    }

    private static Tensor PasteTorchvision(Tensor masks, Tensor boxes, long imH, long imW, int padding)
    {
        long n = masks.Size(0), m = masks.Size(-1);
        var canvas = Tensor.Zeros(new long[] { n, 1, imH, imW }, masks.DType, masks.Device);
        if (n == 0) return canvas;
        var padded = Functional.Pad(masks, new long[] { padding, padding, padding, padding });
        double scale = (double)(m + 2 * padding) / m;
        // expand_boxes, then truncation to int64, in the boxes' own precision as torchvision does.
        var wHalf = (boxes.Select(1, 2) - boxes.Select(1, 0)) * 0.5 * scale;
        var hHalf = (boxes.Select(1, 3) - boxes.Select(1, 1)) * 0.5 * scale;
        var xc = (boxes.Select(1, 2) + boxes.Select(1, 0)) * 0.5;
        var yc = (boxes.Select(1, 3) + boxes.Select(1, 1)) * 0.5;
        var expanded = Tensor.Stack(new[] { xc - wHalf, yc - hHalf, xc + wHalf, yc + hHalf }, 1).To(DType.Int64, Device.Cpu);
        var b = expanded.ToArray<long>();
        for (long i = 0; i < n; i++)
        {
            using var step = DisposeScope.Enter();
            long bx0 = b[4 * i], by0 = b[4 * i + 1], bx1 = b[4 * i + 2], by1 = b[4 * i + 3];
            long w = Math.Max(bx1 - bx0 + 1, 1), h = Math.Max(by1 - by0 + 1, 1);
            long x0 = Math.Max(bx0, 0), x1 = Math.Min(bx1 + 1, imW), y0 = Math.Max(by0, 0), y1 = Math.Min(by1 + 1, imH);
            // torchvision slices resized[y0-by0 : y1-by0]; clipping to the resized mask keeps a
            // box reaching past the image (or a degenerate one) from indexing outside it.
            y1 = Math.Min(y1, by0 + h);
            x1 = Math.Min(x1, bx0 + w);
            if (x1 <= x0 || y1 <= y0) continue;
            var resized = Functional.Interpolate(padded.Narrow(0, i, 1), size: (h, w), mode: InterpolationMode.Bilinear, alignCorners: false);
            var source = resized.Narrow(2, y0 - by0, y1 - y0).Narrow(3, x0 - bx0, x1 - x0);
            var target = canvas.Narrow(0, i, 1).Narrow(2, y0, y1 - y0).Narrow(3, x0, x1 - x0);
            target.CopyFrom(source);
        }
        return canvas;
    }

    private static Tensor PasteDetectron2(Tensor masks, Tensor boxes, long imH, long imW)
    {
        long n = masks.Size(0);
        var canvas = Tensor.Zeros(new long[] { n, 1, imH, imW }, masks.DType, masks.Device);
        if (n == 0) return canvas;
        var b = boxes.To(DType.Float64, Device.Cpu).ToArray<double>();
        for (long i = 0; i < n; i++)
        {
            using var step = DisposeScope.Enter();
            // detectron2's skip_empty region: the box grown by a pixel, clipped to the image.
            long x0Int = (long)Math.Max(Math.Floor(b[4 * i]) - 1, 0), y0Int = (long)Math.Max(Math.Floor(b[4 * i + 1]) - 1, 0);
            long x1Int = (long)Math.Min(Math.Ceiling(b[4 * i + 2]) + 1, imW), y1Int = (long)Math.Min(Math.Ceiling(b[4 * i + 3]) + 1, imH);
            if (x1Int <= x0Int || y1Int <= y0Int) continue;
            var box = boxes.Narrow(0, i, 1);  // [1, 4]: each coordinate stays [1, 1] as in torch.split
            Tensor Coord(long j) => box.Slice(1, j, j + 1);
            var imgY = Tensor.Arange(y0Int, y1Int, 1, DType.Float32, masks.Device) + 0.5;
            var imgX = Tensor.Arange(x0Int, x1Int, 1, DType.Float32, masks.Device) + 0.5;
            var gy = (imgY - Coord(1)) / (Coord(3) - Coord(1)) * 2 - 1;  // [1, h']
            var gx = (imgX - Coord(0)) / (Coord(2) - Coord(0)) * 2 - 1;  // [1, w']
            long hh = y1Int - y0Int, ww = x1Int - x0Int;
            var grid = Tensor.Stack(new[] {
                gx.Unsqueeze(1).Expand(1, hh, ww),
                gy.Unsqueeze(2).Expand(1, hh, ww) }, 3);
            var sampled = Functional.GridSample(masks.Narrow(0, i, 1), grid.To(masks.DType), alignCorners: false);
            var target = canvas.Narrow(0, i, 1).Narrow(2, y0Int, hh).Narrow(3, x0Int, ww);
            target.CopyFrom(sampled);
        }
        return canvas;
    }
}
