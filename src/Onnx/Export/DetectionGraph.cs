using MLNetSeg.Onnx.Graph;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MLNetSeg.Onnx.Export;

/// <summary>
/// The detection post-processing every family's graph needs, written once: torchvision's
/// preprocessing (crop each flat row, normalise, resize, batch), box decoding, grouped NMS over a
/// flat candidate list, per-image top-n, multi-level RoIAlign and the mapping back to the input
/// image. Candidates travel as flat lists with an image index beside them, so images of one batch
/// can keep different numbers of boxes without padding.
/// </summary>
internal sealed class DetectionGraph
{
    private readonly OnnxGraphBuilder g;

    public DetectionGraph(OnnxGraphBuilder graph) => g = graph;

    /// <summary>
    /// GeneralizedRCNNTransform in the graph: per image (a Loop over the rows), crop its 3·h·w pixels,
    /// divide by 255, normalise, resize bilinearly to floor(side · scale) with torchvision's float32
    /// scale, and zero-pad to the batch size rounded up to <paramref name="sizeDivisible"/>.
    /// Returns the batch [N, 3, Hp, Wp] and the resized sizes int64 [N, 2].
    /// </summary>
    public (string Batch, string ResizedSizes) Preprocess(string images, string imageSizes, int minSize, int maxSize,
        IReadOnlyList<double> mean, IReadOnlyList<double> std, int sizeDivisible)
    {
        // scale = min((1 / short) · minSize, (1 / long) · maxSize) in float32, as torchvision computes it.
        var sizesF = g.Cast(imageSizes, DataType.Float);
        var byShort = g.Mul(g.Reciprocal(g.ReduceMin(sizesF, new long[] { 1 })), g.Float(minSize));
        var byLong = g.Mul(g.Reciprocal(g.ReduceMax(sizesF, new long[] { 1 })), g.Float(maxSize));
        var scale = g.Cast(g.Min(byShort, byLong), DataType.Double);
        // floor(side · scale) in float64 (Python's arithmetic in interpolate's output size).
        var resized = g.Cast(g.Floor(g.Mul(g.Cast(imageSizes, DataType.Double), g.Unsqueeze(scale, 1))), DataType.Int64);
        var divisor = g.Ints(sizeDivisible);
        var padded = g.Mul(g.Div(g.Add(g.ReduceMax(resized, new long[] { 0 }), g.Ints(sizeDivisible - 1)), divisor), divisor);

        var body = g.Subgraph("preprocess_image");
        string iteration = g.Fresh("pre_i"), condIn = g.Fresh("pre_cond"), condOut = g.Fresh("pre_cond_out");
        body.BodyInput(iteration, DataType.Int64, Array.Empty<long?>());
        body.BodyInput(condIn, DataType.Bool, Array.Empty<long?>());
        var row = body.Gather(images, iteration);                                  // [L]
        var hw = body.Gather(imageSizes, iteration);                               // [2]
        var count = body.Mul(body.Op("ReduceProd", new[] { hw }, "prod", ("keepdims", 1L)), body.Ints(3));
        var pixels = body.Slice(row, body.Ints(0), count, body.Ints(0));
        var image = body.Reshape(pixels, body.Concat(0, body.Ints(1, 3), hw));    // [1, 3, h, w]
        var mean4 = body.Float(mean.Select(v => (float)v).ToArray(), new long[] { 1, mean.Count, 1, 1 });
        var std4 = body.Float(std.Select(v => (float)v).ToArray(), new long[] { 1, std.Count, 1, 1 });
        var normalized = body.Div(body.Sub(body.Div(image, body.Float(255f)), mean4), std4);
        var target = body.Gather(resized, iteration);
        var scaled = body.ResizeTo(normalized, body.Concat(0, body.Ints(1, 3), target), "linear", "pytorch_half_pixel");
        var pads = body.Concat(0, body.Ints(0, 0, 0, 0, 0, 0), body.Sub(padded, target));
        var paddedImage = body.Squeeze(body.Op("Pad", new[] { scaled, pads, body.Float(0f) }, "pad", ("mode", "constant")), 0);
        body.OpTo("Identity", new[] { condIn }, new[] { condOut });
        body.BodyOutput(condOut, DataType.Bool, Array.Empty<long?>());
        body.BodyOutput(paddedImage, DataType.Float, null);

        var n = g.Squeeze(g.Dim(images, 0), 0);
        var batch = g.Op("Loop", new[] { n, "" }, "batch", ("body", body.Graph));
        return (batch, resized);
    }

    /// <summary>torchvision's BoxCoder.decode_single for codes and reference boxes broadcast on the last axis (4 values):
    /// weights divide the codes, dw and dh are clamped at log(1000 / 16), and the box is centre ± half size.</summary>
    public string Decode(string codes, string reference, (double X, double Y, double W, double H) weights)
    {
        var r = Enumerable.Range(0, 4).Select(j => g.Slice(reference, -1, j, j + 1)).ToArray();
        var c = Enumerable.Range(0, 4).Select(j => g.Slice(codes, -1, j, j + 1)).ToArray();
        var widths = g.Sub(r[2], r[0]);
        var heights = g.Sub(r[3], r[1]);
        var half = g.Float(0.5f);
        var ctrX = g.Add(r[0], g.Mul(half, widths));
        var ctrY = g.Add(r[1], g.Mul(half, heights));
        var clip = g.Float((float)Math.Log(1000.0 / 16));
        var dx = g.Div(c[0], g.Float((float)weights.X));
        var dy = g.Div(c[1], g.Float((float)weights.Y));
        var dw = g.Min(g.Div(c[2], g.Float((float)weights.W)), clip);
        var dh = g.Min(g.Div(c[3], g.Float((float)weights.H)), clip);
        var predCtrX = g.Add(g.Mul(dx, widths), ctrX);
        var predCtrY = g.Add(g.Mul(dy, heights), ctrY);
        var halfW = g.Mul(half, g.Mul(g.Exp(dw), widths));
        var halfH = g.Mul(half, g.Mul(g.Exp(dh), heights));
        return g.Concat(-1, g.Sub(predCtrX, halfW), g.Sub(predCtrY, halfH), g.Add(predCtrX, halfW), g.Add(predCtrY, halfH));
    }

    /// <summary>clamp(x, 0, width), clamp(y, 0, height) for boxes [..., 4] and sizes broadcastable as [..., 1] (height, width given separately).</summary>
    public string Clip(string boxes, string height, string width)
    {
        var zero = g.Float(0f);
        string C(int j) => g.Slice(boxes, -1, j, j + 1);
        string Clamp(string v, string hi) => g.Min(g.Max(v, zero), hi);
        return g.Concat(-1, Clamp(C(0), width), Clamp(C(1), height), Clamp(C(2), width), Clamp(C(3), height));
    }

    /// <summary>Boxes [M, 4] whose width and height are both ≥ <paramref name="minSize"/> (torchvision's remove_small_boxes), as bool [M].</summary>
    public string NotSmall(string boxes, double minSize)
    {
        var ws = g.Squeeze(g.Sub(g.Slice(boxes, 1, 2, 3), g.Slice(boxes, 1, 0, 1)), 1);
        var hs = g.Squeeze(g.Sub(g.Slice(boxes, 1, 3, 4), g.Slice(boxes, 1, 1, 2)), 1);
        var min = g.Float((float)minSize);
        return g.And(g.GreaterOrEqual(ws, min), g.GreaterOrEqual(hs, min));
    }

    /// <summary>
    /// NMS run separately in every group (torchvision's batched_nms), over a flat list: boxes [M, 4],
    /// scores [M] (≥ 0), groups int64 [M] in [0, numGroups). ONNX's NonMaxSuppression takes the groups
    /// as its classes (a score of −1 where a box is not in the class, filtered by a −0.5 threshold), so
    /// no coordinate offsets disturb the IoUs. Returns indices into the list, by group then decreasing score.
    /// </summary>
    public string GroupedNms(string boxes, string scores, string groups, string numGroups, double iouThreshold)
    {
        var member = g.Cast(g.OneHot(groups, numGroups, g.Float(new[] { 0f, 1f }, new long[] { 2 })), DataType.Bool);  // [M, G]
        var dense = g.Where(member, g.Unsqueeze(scores, 1), g.Float(-1f));
        var classScores = g.Unsqueeze(g.Transpose(dense, 1, 0), 0);                  // [1, G, M]
        var selected = g.Op("NonMaxSuppression", new[]
        {
            g.Unsqueeze(boxes, 0), classScores, g.Unsqueeze(g.Size(scores), 0),
            g.Float(new[] { (float)iouThreshold }, new long[] { 1 }), g.Float(new[] { -0.5f }, new long[] { 1 }),
        }, "nms", ("center_point_box", 0L));
        return g.Squeeze(g.Slice(selected, 1, 2, 3), 1);
    }

    /// <summary>
    /// Orders <paramref name="indices"/> (into a list with image indices <paramref name="images"/> and
    /// <paramref name="scores"/>) by image, then by decreasing score (ties keep their order), and keeps the first
    /// <paramref name="perImage"/> of each image. Returns the kept indices.
    /// </summary>
    public string TopPerImage(string indices, string images, string scores, string numImages, int perImage)
    {
        var img = g.Gather(images, indices);
        var score = g.Gather(scores, indices);
        // key = 2·image + (1 − score) in float64: ascending = by image, then by decreasing score.
        var key = g.Add(g.Mul(g.Cast(img, DataType.Double), g.Double(2)), g.Sub(g.Double(1), g.Cast(score, DataType.Double)));
        var (_, order) = g.TopK(key, g.Unsqueeze(g.Size(key), 0), 0, largest: false);
        var sorted = g.Gather(indices, order);
        var sortedImg = g.Gather(img, order);
        var counts = g.ReduceSum(g.OneHot(sortedImg, numImages, g.Ints(0, 1)), new long[] { 0 });
        var starts = g.CumSum(counts, g.Int(0), exclusive: true);
        var rank = g.Sub(g.Range(g.Int(0), g.Size(sorted), g.Int(1)), g.Gather(starts, sortedImg));
        return g.Compress(sorted, g.Less(rank, g.Int(perImage)));
    }

    /// <summary>
    /// torchvision's MultiScaleRoIAlign: each box [R, 4] (image <paramref name="boxImages"/>) is pooled from the
    /// FPN level its size maps to (level = floor(4 + log2(√area / 224) + 1e-6), clamped), with RoIAlign
    /// (average, aligned = false). Level scales are inferred as torchvision does, 2^round(log2(feature height /
    /// largest resized height)); the boxes are multiplied by them before RoIAlign (spatial_scale 1), the same
    /// float product RoIAlign would form. Returns [R, C, size, size].
    /// </summary>
    public string MultiScaleRoiAlign(IReadOnlyList<string> features, long channels, string boxes, string boxImages, string resizedSizes,
        int outputSize, int samplingRatio)
    {
        var ln2 = g.Float((float)Math.Log(2));
        var maxHeight = g.Cast(g.ReduceMax(g.Slice(resizedSizes, 1, 0, 1), new long[] { 0, 1 }), DataType.Float);
        var scales = new string[features.Count];
        var levelExponents = new string[features.Count];
        for (int l = 0; l < features.Count; l++)
        {
            var approx = g.Div(g.Cast(g.Squeeze(g.Dim(features[l], 2), 0), DataType.Float), maxHeight);
            levelExponents[l] = g.Op("Round", new[] { g.Div(g.Log(approx), ln2) }, "round");   // log2(scale), half to even
            scales[l] = g.Op("Pow", new[] { g.Float(2f), levelExponents[l] }, "scale");
        }
        var kMin = g.Floor(g.Neg(levelExponents[0]));       // -log2(scale) is an integer here
        var kMax = g.Floor(g.Neg(levelExponents[^1]));

        var area = g.Mul(g.Sub(g.Slice(boxes, 1, 2, 3), g.Slice(boxes, 1, 0, 1)), g.Sub(g.Slice(boxes, 1, 3, 4), g.Slice(boxes, 1, 1, 2)));
        var s = g.Squeeze(g.Sqrt(area), 1);
        var raw = g.Floor(g.Add(g.Add(g.Div(g.Log(g.Div(s, g.Float(224f))), ln2), g.Float(4f)), g.Float(1e-6f)));
        var levels = g.Cast(g.Sub(g.Op("Clip", new[] { raw, kMin, kMax }, "clip"), kMin), DataType.Int64);

        var result = g.ConstantOfShape(g.Concat(0, g.Dim(boxes, 0), g.Ints(channels, outputSize, outputSize)));
        for (int l = 0; l < features.Count; l++)
        {
            var inLevel = g.Squeeze(g.NonZero(g.Equal(levels, g.Int(l))), 0);
            var rois = g.Mul(g.Gather(boxes, inLevel), scales[l]);
            var pooled = g.Op("RoiAlign", new[] { features[l], rois, g.Gather(boxImages, inLevel) }, "roi_align",
                ("mode", "avg"), ("output_height", (long)outputSize), ("output_width", (long)outputSize),
                ("sampling_ratio", (long)samplingRatio), ("spatial_scale", 1f), ("coordinate_transformation_mode", "output_half_pixel"));
            result = g.ScatterND(result, g.Unsqueeze(inLevel, 1), pooled);
        }
        return result;
    }

    /// <summary>Boxes [D, 4] of images <paramref name="boxImages"/> scaled from the resized images back to the input
    /// images (torchvision's resize_boxes: float32 ratios input / resized).</summary>
    public string ToInputPixels(string boxes, string boxImages, string imageSizes, string resizedSizes)
    {
        var ratios = g.Gather(g.Div(g.Cast(imageSizes, DataType.Float), g.Cast(resizedSizes, DataType.Float)), boxImages);  // [D, 2] (h, w)
        var rh = g.Slice(ratios, 1, 0, 1);
        var rw = g.Slice(ratios, 1, 1, 2);
        string C(int j) => g.Slice(boxes, 1, j, j + 1);
        return g.Concat(1, g.Mul(C(0), rw), g.Mul(C(1), rh), g.Mul(C(2), rw), g.Mul(C(3), rh));
    }
}
