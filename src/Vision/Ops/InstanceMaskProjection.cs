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
        var canvas = Tensor.Zeros(new long[] { (long)batch * channels, height, width }, dtype, device);
        if (r == 0) return scope.MoveToOuter(canvas.Reshape(batch, channels, height, width));
        var groups = GroupIndices(labels, images, channels, batch);

        // Every canvas pixel's mask cell in every detection's box (pixel-driven; a cell's footprint is the set of pixels mapped to it).
        var b = boxes.To(DType.Float64, device);
        var (columns, insideX) = CellIndex(b.Select(1, 0), b.Select(1, 2), width, stride, m, device);   // [R, W]
        var (rows, insideY) = CellIndex(b.Select(1, 1), b.Select(1, 3), height, stride, m, device);     // [R, H]
        var cell = rows.Unsqueeze(2).Mul(m).Add(columns.Unsqueeze(1));                                   // [R, H, W]
        var inside = insideY.Unsqueeze(2).LogicalAnd(insideX.Unsqueeze(1));
        var values = masks.Reshape(r, m * m).Gather(1, cell.Reshape(r, -1)).Reshape(r, height, width);
        var projected = Tensor.Where(inside, values.Mul(scores.To(dtype, device).Reshape(r, 1, 1)), 0.0);

        // The largest value per (image, class) channel; the gradient goes to the winning detection (max over dim 0).
        var channelsOut = new List<Tensor>();
        var channelIndex = new List<long>();
        foreach (var (group, members) in groups)
        {
            var index = Tensor.FromArray(members, new long[] { members.Length }, device);
            channelsOut.Add(projected.IndexSelect(0, index).Max(0).Values);
            channelIndex.Add(group);
        }
        canvas = canvas.IndexPut(new[] { (Tensor?)Tensor.FromArray(channelIndex.ToArray(), new long[] { channelIndex.Count }, device) }, Tensor.Stack(channelsOut, 0));
        return scope.MoveToOuter(canvas.Reshape(batch, channels, height, width));
    }

    /// <summary>The detections of every (image, class) channel, by channel index image·C + label, checked.</summary>
    private static IEnumerable<(long Channel, long[] Members)> GroupIndices(Tensor labels, Tensor images, int channels, int batch)
    {
        using var scope = DisposeScope.Enter();
        var l = labels.To(DType.Int64, Device.Cpu).ToArray<long>();
        var n = images.To(DType.Int64, Device.Cpu).ToArray<long>();
        for (int i = 0; i < l.Length; i++)
        {
            if (l[i] < 0 || l[i] >= channels)
                throw new ArgumentException($"{nameof(InstanceMaskProjection)}: labels[{i}] = {l[i]} is not a canvas channel (0..{channels - 1})");
            if (n[i] < 0 || n[i] >= batch)
                throw new ArgumentException($"{nameof(InstanceMaskProjection)}: images[{i}] = {n[i]} is not an image of the batch (0..{batch - 1})");
        }
        return Enumerable.Range(0, l.Length).GroupBy(i => n[i] * channels + l[i])
            .Select(g => (g.Key, g.Select(i => (long)i).ToArray())).ToArray();
    }

    /// <summary>For every detection and canvas pixel along one axis: the mask cell (clamped into [0, M)) and whether the
    /// pixel centre lies in [lo, hi).</summary>
    private static (Tensor Cell, Tensor Inside) CellIndex(Tensor lo, Tensor hi, int size, double stride, long m, Device device)
    {
        var centres = Tensor.Arange(0, size, 1, DType.Float64, device).Add(0.5).Mul(stride).Unsqueeze(0);  // [1, S]
        var start = lo.Unsqueeze(1);
        var extent = hi.Unsqueeze(1) - start;
        var inside = centres.Ge(start).LogicalAnd(centres.Lt(hi.Unsqueeze(1))).LogicalAnd(extent.Gt(0.0));
        var cell = (centres - start).Div(extent.ClampMin(1e-12)).Mul(m).Floor().Clamp(0, m - 1).To(DType.Int64);
        return (cell, inside);
    }
}
