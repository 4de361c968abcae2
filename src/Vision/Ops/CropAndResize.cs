using MLNetSeg.Torch;

namespace MLNetSeg.Vision.Ops;

public static partial class VisionOps
{
    /// <summary>
    /// "Crop and resize" (MaskLab §3, TensorFlow's crop_and_resize in the paper): every RoI's box is cut
    /// into <paramref name="size"/> equal cells and the features are bilinearly sampled once at each cell
    /// centre, reading zeros outside the map. It is RoIAlign with one sample per bin and aligned boxes
    /// (pixel centres at +0.5), with one difference that matters: it is differentiable with respect to
    /// the boxes as well as the features (bilinear sampling through grid_sample), which the deformable
    /// variant needs for its learned offsets.
    /// </summary>
    /// <remarks>Where the paper is silent we follow torchvision's box convention rather than TensorFlow's
    /// corner-aligned samples: a box that touches the image border then samples inside the image.</remarks>
    /// <param name="input">[N, C, H, W] features.</param>
    /// <param name="rois">[K, 5] rows (batch index, x1, y1, x2, y2) in image coordinates.</param>
    /// <param name="size">(height, width) of every crop.</param>
    /// <param name="spatialScale">Maps box coordinates to feature coordinates (1/stride).</param>
    /// <returns>[K, C, height, width] in the input's dtype.</returns>
    /// <exception cref="ArgumentException">A shape is wrong or a RoI's batch index is outside [0, N).</exception>
    public static Tensor CropAndResize(Tensor input, Tensor rois, (int Height, int Width) size, double spatialScale = 1.0)
    {
        CheckCropInputs(input, rois, size, nameof(CropAndResize));
        using var scope = DisposeScope.Enter();
        var r = rois.DType == input.DType && rois.Device == input.Device ? rois : rois.To(input.DType, input.Device);
        long k = r.Size(0), channels = input.Size(1);
        if (k == 0) return scope.MoveToOuter(Tensor.Zeros(new[] { 0, channels, size.Height, size.Width }, input.DType, input.Device));
        var grid = SampleGrid(r, size, spatialScale, input.Size(2), input.Size(3));
        var images = BatchIndices(r, input.Size(0), nameof(CropAndResize));

        // One grid_sample per image over all its RoIs (no copy of the feature map per RoI).
        var parts = new List<Tensor>();
        var order = new List<long>();
        foreach (var image in images.Distinct().Order())
        {
            var members = Enumerable.Range(0, images.Length).Where(i => images[i] == image).Select(i => (long)i).ToArray();
            var index = Tensor.FromArray(members, new long[] { members.Length }, input.Device);
            var g = grid.IndexSelect(0, index).Reshape(1, members.Length * size.Height, size.Width, 2);
            var sampled = Functional.GridSample(input.Narrow(0, image, 1), g, GridSampleMode.Bilinear, GridSamplePadding.Zeros, alignCorners: false);
            parts.Add(sampled.Reshape(channels, members.Length, size.Height, size.Width).Permute(1, 0, 2, 3));
            order.AddRange(members);
        }
        var all = parts.Count == 1 ? parts[0] : Tensor.Cat(parts, 0);
        if (parts.Count > 1)
        {
            var inverse = new long[k];
            for (int i = 0; i < order.Count; i++) inverse[order[i]] = i;
            all = all.IndexSelect(0, Tensor.FromArray(inverse, new[] { k }, input.Device));
        }
        return scope.MoveToOuter(all.Contiguous());
    }

    /// <summary>
    /// Deformable crop and resize (MaskLab §3, Fig. 5): each RoI's crop is divided into
    /// <c>Kh × Kw</c> sub-boxes (the grid of <paramref name="offsets"/>); sub-box (a, b) is moved by
    /// (dx·w, dy·h) — its offset as a fraction of the RoI's width and height — and cropped and resized
    /// again on its own, so the paper's "crop and resize twice" is one crop of every moved sub-box.
    /// With zero offsets the result equals <see cref="CropAndResize"/>. Differentiable w.r.t. the
    /// features, the boxes and the offsets (which a small network predicts from the first crop).
    /// </summary>
    /// <param name="input">[N, C, H, W] features.</param>
    /// <param name="rois">[K, 5] rows (batch index, x1, y1, x2, y2) in image coordinates.</param>
    /// <param name="offsets">[K, Kh, Kw, 2] (dx, dy) of every sub-box, in units of the RoI's width and height.</param>
    /// <param name="size">(height, width) of every crop: multiples of Kh and Kw.</param>
    /// <param name="spatialScale">Maps box coordinates to feature coordinates (1/stride).</param>
    /// <returns>[K, C, height, width] in the input's dtype.</returns>
    public static Tensor DeformableCropAndResize(Tensor input, Tensor rois, Tensor offsets, (int Height, int Width) size, double spatialScale = 1.0)
    {
        CheckCropInputs(input, rois, size, nameof(DeformableCropAndResize));
        if (offsets.Dim != 4 || offsets.Size(0) != rois.Size(0) || offsets.Size(3) != 2)
            throw new ArgumentException($"{nameof(DeformableCropAndResize)}: offsets must be [K, Kh, Kw, 2] with K = {rois.Size(0)} RoIs, got [{string.Join(", ", offsets.Shape)}]");
        long kh = offsets.Size(1), kw = offsets.Size(2), k = rois.Size(0), channels = input.Size(1);
        if (kh < 1 || kw < 1 || size.Height % kh != 0 || size.Width % kw != 0)
            throw new ArgumentException($"{nameof(DeformableCropAndResize)}: the crop {size.Height}×{size.Width} must divide into the {kh}×{kw} sub-boxes of the offsets");
        using var scope = DisposeScope.Enter();
        var r = rois.DType == input.DType && rois.Device == input.Device ? rois : rois.To(input.DType, input.Device);
        var o = offsets.DType == input.DType && offsets.Device == input.Device ? offsets : offsets.To(input.DType, input.Device);
        long sh = size.Height / kh, sw = size.Width / kw;
        if (k == 0) return scope.MoveToOuter(Tensor.Zeros(new[] { 0, channels, size.Height, size.Width }, input.DType, input.Device));

        var x1 = r.Select(1, 1).Reshape(k, 1, 1);
        var y1 = r.Select(1, 2).Reshape(k, 1, 1);
        var w = r.Select(1, 3).Reshape(k, 1, 1) - x1;
        var h = r.Select(1, 4).Reshape(k, 1, 1) - y1;
        var cellX = Tensor.Arange(0, kw, 1, input.DType, input.Device).Div(kw).Reshape(1, 1, kw);
        var cellY = Tensor.Arange(0, kh, 1, input.DType, input.Device).Div(kh).Reshape(1, kh, 1);
        var subX1 = x1 + (cellX + o.Select(3, 0)) * w;  // [K, Kh, Kw]
        var subY1 = y1 + (cellY + o.Select(3, 1)) * h;
        var subX2 = subX1 + w / kw;
        var subY2 = subY1 + h / kh;
        var batch = r.Select(1, 0).Reshape(k, 1, 1).Expand(k, kh, kw);
        var subRois = Tensor.Stack(new[] { batch, subX1, subY1, subX2, subY2 }, 3).Reshape(k * kh * kw, 5);
        var crops = CropAndResize(input, subRois, ((int)sh, (int)sw), spatialScale);  // [K·Kh·Kw, C, sh, sw]
        var tiled = crops.Reshape(k, kh, kw, channels, sh, sw).Permute(0, 3, 1, 4, 2, 5).Reshape(k, channels, size.Height, size.Width);
        return scope.MoveToOuter(tiled.Contiguous());
    }

    /// <summary>grid_sample's normalised (x, y) of every cell centre of every RoI: [K, height, width, 2].</summary>
    private static Tensor SampleGrid(Tensor rois, (int Height, int Width) size, double spatialScale, long mapHeight, long mapWidth)
    {
        long k = rois.Size(0);
        var dtype = rois.DType;
        var device = rois.Device;
        // Cell centres as fractions of the box, then feature-map index coordinates (pixel centres at integers).
        var fy = (Tensor.Arange(0, size.Height, 1, dtype, device) + 0.5).Div(size.Height).Reshape(1, size.Height);
        var fx = (Tensor.Arange(0, size.Width, 1, dtype, device) + 0.5).Div(size.Width).Reshape(1, size.Width);
        var x1 = rois.Select(1, 1).Reshape(k, 1);
        var y1 = rois.Select(1, 2).Reshape(k, 1);
        var xs = (x1 + fx * (rois.Select(1, 3).Reshape(k, 1) - x1)) * spatialScale - 0.5;  // [K, W]
        var ys = (y1 + fy * (rois.Select(1, 4).Reshape(k, 1) - y1)) * spatialScale - 0.5;  // [K, H]
        // grid_sample with align_corners = false maps index coordinate i to (2i + 1) / size − 1.
        var gx = (xs * 2 + 1).Div(mapWidth) - 1;
        var gy = (ys * 2 + 1).Div(mapHeight) - 1;
        var gridX = gx.Reshape(k, 1, size.Width).Expand(k, size.Height, size.Width);
        var gridY = gy.Reshape(k, size.Height, 1).Expand(k, size.Height, size.Width);
        return Tensor.Stack(new[] { gridX, gridY }, 3);
    }

    /// <summary>Every RoI's batch index (column 0), checked to name an image of the batch.</summary>
    private static long[] BatchIndices(Tensor rois, long images, string op)
    {
        using var scope = DisposeScope.Enter();
        var column = rois.Select(1, 0).To(DType.Float64, Device.Cpu).ToArray<double>();
        var indices = new long[column.Length];
        for (int i = 0; i < column.Length; i++)
        {
            double b = column[i];
            if (!(b >= 0 && b < images) || b != Math.Floor(b))
                throw new ArgumentException($"{op}: rois[{i}, 0] = {b} is not the index of one of the {images} image(s)");
            indices[i] = (long)b;
        }
        return indices;
    }

    private static void CheckCropInputs(Tensor input, Tensor rois, (int Height, int Width) size, string op)
    {
        if (input.Dim != 4)
            throw new ArgumentException($"{op}: input must be [N, C, H, W], got [{string.Join(", ", input.Shape)}]");
        if (!input.DType.IsFloatingPoint())
            throw new ArgumentException($"{op}: input must be floating point, got {input.DType}");
        AtenOps.CheckShape2(rois, 5, "rois", op);
        if (size.Height <= 0 || size.Width <= 0)
            throw new ArgumentOutOfRangeException(nameof(size), $"{op}: crop size must be positive, got {size.Height}×{size.Width}");
    }
}
