using MLNetSeg.Torch;

namespace MLNetSeg.Vision.Ops;

public static partial class VisionOps
{
    /// <summary>
    /// Instance Mask Projection (IMP, §3.1 and Algorithm 1 of the paper): every detection's mask probabilities,
    /// multiplied by its score, are painted into channel <c>label</c> of its image's canvas over its box, each mask
    /// cell covering the canvas pixels whose centres fall in the cell's part of the box (nearest, as the paper's
    /// kernel writes each cell to its whole footprint); where several detections cover a pixel of the same channel,
    /// the largest value is kept (the paper's atomicMax). Pixels no detection of a class covers are 0.
    /// Differentiable with respect to the masks and the scores: the gradient of each canvas pixel goes to the cell of
    /// the detection whose value won it.
    /// </summary>
    /// <param name="masks">[R, M, M] (or [R, 1, M, M]) mask probabilities in [0, 1] (e.g. the sigmoid of Mask R-CNN's 28×28 logits).</param>
    /// <param name="scores">[R] detection scores.</param>
    /// <param name="labels">[R] int64 classes, each in [0, <paramref name="channels"/>).</param>
    /// <param name="boxes">[R, 4] (x1, y1, x2, y2) in image pixels.</param>
    /// <param name="images">[R] int64 index of each detection's image in [0, <paramref name="batch"/>).</param>
    /// <param name="batch">Images in the batch, N.</param>
    /// <param name="channels">Canvas channels C (classes with the background; channel 0 stays 0 unless a detection is labelled 0).</param>
    /// <param name="height">Canvas height (e.g. the image height / 4).</param>
    /// <param name="width">Canvas width.</param>
    /// <param name="stride">Image pixels per canvas pixel (4 at 1/4 scale): canvas pixel (i, j) is at ((j + 0.5)·stride, (i + 0.5)·stride).</param>
    /// <returns>[N, C, height, width] in the masks' dtype.</returns>
    /// <exception cref="ArgumentException">A shape, a label or an image index is out of range.</exception>
    public static Tensor InstanceMaskProjection(Tensor masks, Tensor scores, Tensor labels, Tensor boxes, Tensor images,
        int batch, int channels, int height, int width, double stride)
    {
        ArgumentNullException.ThrowIfNull(masks);
        if (masks.Dim == 4 && masks.Size(1) == 1) masks = masks.Squeeze(1);
        if (masks.Dim != 3 || masks.Size(1) != masks.Size(2))
            throw new ArgumentException($"{nameof(InstanceMaskProjection)}: masks must be [R, M, M], got [{string.Join(", ", masks.Shape)}]");
        long r = masks.Size(0), m = masks.Size(1);
        foreach (var (t, name) in new[] { (scores, nameof(scores)), (labels, nameof(labels)), (images, nameof(images)) })
            if (t is null || t.Dim != 1 || t.Size(0) != r)
                throw new ArgumentException($"{nameof(InstanceMaskProjection)}: {name} must be [{r}], got [{(t is null ? "null" : string.Join(", ", t.Shape))}]");
        AtenOps.CheckShape2(boxes, 4, nameof(boxes), nameof(InstanceMaskProjection));
        if (boxes.Size(0) != r) throw new ArgumentException($"{nameof(InstanceMaskProjection)}: {r} masks but {boxes.Size(0)} boxes");
        if (batch < 1 || channels < 1 || height < 1 || width < 1 || !(stride > 0))
            throw new ArgumentException($"{nameof(InstanceMaskProjection)}: batch {batch}, channels {channels}, size {height}×{width} and stride {stride} must be positive");

        using var scope = DisposeScope.Enter();
        var dtype = masks.DType;
        var device = masks.Device;
        long planes = (long)batch * channels, plane = (long)height * width;
        if (r == 0) return scope.MoveToOuter(Tensor.Zeros(new[] { planes, height, width }, dtype, device).Reshape(batch, channels, height, width));
        var channelOf = ChannelIndices(labels, images, channels, batch);

        // Each detection is computed over its box's window of the canvas only (padded to the largest window), pixel-driven:
        // a pixel inside the box reads the mask cell its centre falls in.
        var b = boxes.To(DType.Float64, Device.Cpu).Contiguous().ToArray<double>();
        var (rows, insideY, cellY) = Window(b, 1, 3, height, stride, m, device);   // [R, h]
        var (cols, insideX, cellX) = Window(b, 0, 2, width, stride, m, device);    // [R, w]
        long h = rows.Size(1), w = cols.Size(1);
        var inside = insideY.Unsqueeze(2).LogicalAnd(insideX.Unsqueeze(1));                       // [R, h, w]
        var cell = cellY.Unsqueeze(2).Mul(m).Add(cellX.Unsqueeze(1));
        var values = masks.Reshape(r, m * m).Gather(1, cell.Reshape(r, -1)).Reshape(r, h, w);
        var projected = Tensor.Where(inside, values.Mul(scores.To(dtype, device).Reshape(r, 1, 1)), 0.0);

        // The largest value per canvas pixel (the paper's atomicMax) as one scatter with amax; pixels outside a box go to a
        // spare last element. The gradient goes to the winning detection.
        var target = Tensor.FromArray(channelOf, new long[] { r, 1, 1 }, device).Mul(plane)
            .Add(rows.Unsqueeze(2).Mul(width)).Add(cols.Unsqueeze(1));
        target = Tensor.Where(inside, target, Tensor.Full(new long[] { 1 }, planes * plane, DType.Int64, device));
        var canvas = Tensor.Zeros(new[] { planes * plane + 1 }, dtype, device)
            .ScatterReduce(0, target.Reshape(-1), projected.Reshape(-1), "amax", includeSelf: true);
        return scope.MoveToOuter(canvas.Narrow(0, 0, planes * plane).Reshape(batch, channels, height, width));
    }

    /// <summary>Every detection's canvas channel, image·C + label, checked.</summary>
    private static long[] ChannelIndices(Tensor labels, Tensor images, int channels, int batch)
    {
        using var scope = DisposeScope.Enter();
        var l = labels.To(DType.Int64, Device.Cpu).ToArray<long>();
        var n = images.To(DType.Int64, Device.Cpu).ToArray<long>();
        var channel = new long[l.Length];
        for (int i = 0; i < l.Length; i++)
        {
            if (l[i] < 0 || l[i] >= channels)
                throw new ArgumentException($"{nameof(InstanceMaskProjection)}: labels[{i}] = {l[i]} is not a canvas channel (0..{channels - 1})");
            if (n[i] < 0 || n[i] >= batch)
                throw new ArgumentException($"{nameof(InstanceMaskProjection)}: images[{i}] = {n[i]} is not an image of the batch (0..{batch - 1})");
            channel[i] = n[i] * channels + l[i];
        }
        return channel;
    }

    /// <summary>
    /// Along one axis, each detection's window of canvas pixels ([R, S], S the widest window; indices clamped into the canvas),
    /// whether each pixel centre lies in [lo, hi) of the box (and in the canvas), and the mask cell it reads (clamped into [0, M)).
    /// The window only bounds the work: the inside test alone decides, so a window one pixel too wide changes nothing.
    /// </summary>
    private static (Tensor Index, Tensor Inside, Tensor Cell) Window(double[] boxes, int loAt, int hiAt, int size, double stride, long m, Device device)
    {
        int r = boxes.Length / 4;
        var first = new long[r];
        long widest = 1;
        for (int i = 0; i < r; i++)
        {
            double lo = boxes[4 * i + loAt], hi = boxes[4 * i + hiAt];
            long a = (long)Math.Clamp(Math.Floor(lo / stride - 0.5), 0, size), b = (long)Math.Clamp(Math.Ceiling(hi / stride - 0.5) + 1, 0, size);
            first[i] = a;
            widest = Math.Max(widest, b - a);
        }
        var index = Tensor.FromArray(first, new long[] { r, 1 }, device).Add(Tensor.Arange(0, widest, 1, DType.Int64, device).Unsqueeze(0));  // [R, S]
        var inCanvas = index.Lt(size);
        index = index.ClampMax(size - 1);
        var box = Tensor.FromArray(boxes, new long[] { r, 4 }, device);
        var start = box.Select(1, loAt).Unsqueeze(1);
        var end = box.Select(1, hiAt).Unsqueeze(1);
        var extent = end - start;
        var centres = index.To(DType.Float64).Add(0.5).Mul(stride);
        var inside = centres.Ge(start).LogicalAnd(centres.Lt(end)).LogicalAnd(extent.Gt(0.0)).LogicalAnd(inCanvas);
        var cell = (centres - start).Div(extent.ClampMin(1e-12)).Mul(m).Floor().Clamp(0, m - 1).To(DType.Int64);
        return (index, inside, cell);
    }
}
