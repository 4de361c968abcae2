using MLNetSeg.Models;
using MLNetSeg.Models.Panoptic;
using MLNetSeg.Onnx.Export.Rcnn;
using MLNetSeg.Onnx.Graph;
using MLNetSeg.Torch.Nn;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MLNetSeg.Onnx.Export.Panoptic;

/// <summary>
/// The panoptic family (Mask R-CNN-IMP, Semantic-/Panoptic-P2(-IMP), Semantic-/Panoptic-FPN(-IMP)) as one ONNX graph: the R-CNN
/// detector and mask branch when the model has instances (<see cref="RcnnOnnxExporter"/>), the semantic head's scale heads
/// (conv 3×3, GroupNorm as InstanceNormalization over the groups, ReLU, 2× bilinear Resize) summed, and either its predictor, or the
/// IMP canvas concatenated and the fusion head, or (Mask R-CNN-IMP) the canvas itself: <see cref="OnnxContract.SemanticScores"/>
/// [N, S, h, w] at 1/4 of the padded batch. Upsampling to each image, argmax and the panoptic merge happen after the graph
/// (MLNetSeg.Onnx.PostProcessing.SemanticDecoding), as they do for masks. A semantic-only model has no detections: its box, score,
/// label and batch-index outputs are empty.
/// </summary>
/// <remarks>
/// The IMP canvas without opset 18's ScatterElements max: every detection's mask × score is painted on a full canvas plane
/// [D, h, w] (each pixel centre reads the mask cell it falls in, as <see cref="Vision.Ops.VisionOps.InstanceMaskProjection"/>),
/// the planes are sorted by their channel (image · K + class), a segmented running maximum by doubling (⌈log₂ detections per
/// image⌉ steps: a channel's detections all belong to one image) leaves each channel's maximum on its last plane, and those
/// planes — one per channel, so no duplicate indices — are scattered into the zero canvas.
/// </remarks>
internal sealed class PanopticOnnxExporter : IOnnxFamilyExporter
{
    public IReadOnlyList<string> Families { get; } = new[] { PanopticFamily.Instance.Name };

    public void Write(ISegmentationModel model, OnnxGraphBuilder g, OnnxGraphInputs inputs, OnnxGraphOutputs outputs)
    {
        var panoptic = model as PanopticModel
                       ?? throw new NotSupportedException($"ONNX export: the panoptic exporter got a {model.GetType().Name}, not a PanopticModel");
        var f = RcnnOnnxExporter.WriteFeatures(panoptic, g, inputs);
        string? canvas = null;
        if (panoptic.Switches.Instances)
        {
            var d = RcnnOnnxExporter.WriteDetector(panoptic, g, inputs, outputs, f);
            (outputs.Masks, outputs.MaskSize) = RcnnOnnxExporter.WriteMasks(panoptic, d, g);
            if (panoptic.Switches.Imp)
                canvas = Canvas(g, outputs.Masks, d.Scores, d.Labels, d.Boxes, d.Images, g.Dim(inputs.ImageSizes, 0), f.PooledLevels[0],
                    panoptic.NumClasses - 1, panoptic.Options.BoxDetectionsPerImage);
        }
        else
        {
            outputs.Boxes = g.Float(Array.Empty<float>(), new long[] { 0, 4 });
            outputs.Scores = g.Float(Array.Empty<float>(), new long[] { 0 });
            outputs.Labels = g.Int64(Array.Empty<long>());
            outputs.BatchIndices = g.Int64(Array.Empty<long>());
            outputs.ResizedSizes = f.Resized;
        }

        string scores;
        if (panoptic.SemanticHead is not { } head) scores = canvas!;
        else
        {
            var levels = panoptic.Switches.SemanticHead == SemanticHeadKind.Fpn ? f.PooledLevels : new[] { f.PooledLevels[0] };
            var features = SemanticFeatures(g, f.Layers, head, levels);
            if (panoptic.ImpHead is not { } fusion)
                scores = f.Layers.EmitConv(head.Predictor!, features, "sem_seg_head.predictor", norm: null);
            else
            {
                var x = g.Concat(1, features, canvas!);
                for (int i = 0; i < fusion.ConvLayers.Count; i++) x = ConvNormRelu(g, f.Layers, fusion.ConvLayers[i], x, $"imp_head.convs.{i}");
                scores = f.Layers.EmitConv(fusion.Predictor, x, "imp_head.predictor", norm: null);
            }
        }
        outputs.SemanticScores = scores;
        outputs.SemanticChannels = panoptic.SemanticHead is null ? panoptic.NumClasses - 1 : panoptic.SemanticClassCount;
    }

    /// <summary>The semantic head's summed level features [N, F, h, w].</summary>
    private static string SemanticFeatures(OnnxGraphBuilder g, LayerExporter layers, SemanticFpnHead head, IReadOnlyList<string> levels)
    {
        string? sum = null;
        for (int i = 0; i < levels.Count; i++)
        {
            var x = levels[i];
            for (int k = 0; k < head.ScaleHeads[i].Count; k++)
            {
                string path = $"sem_seg_head.scale_heads.{i}.{k}";
                x = head.ScaleHeads[i][k] switch
                {
                    ConvNormRelu block => ConvNormRelu(g, layers, block, x, path),
                    // nn.Upsample(scale_factor 2, bilinear, align_corners False).
                    SemanticFpnHead.Upsample2x => g.ResizeBy(x, new[] { 1f, 1f, 2f, 2f }, "linear", "pytorch_half_pixel"),
                    var other => throw new NotSupportedException($"ONNX export: no ONNX form for {other.GetType().Name} at '{path}'"),
                };
            }
            sum = sum is null ? x : g.Add(sum, x);
        }
        return sum!;
    }

    /// <summary>detectron2's conv 3×3 (+ GroupNorm) + ReLU. GroupNorm (opset 18 has GroupNormalization, 17 does not) as an
    /// InstanceNormalization of the [N, G, C/G·H·W] view, then the per-channel affine.</summary>
    private static string ConvNormRelu(OnnxGraphBuilder g, LayerExporter layers, ConvNormRelu block, string x, string path)
    {
        var weight = g.Weight(path + ".weight", LayerExporter.Floats(block.Weight), block.Weight.Shape);
        var bias = block.Bias is null ? null : g.Weight(path + ".bias", LayerExporter.Floats(block.Bias), block.Bias.Shape);
        x = g.Conv(x, weight, bias, new long[] { 3, 3 }, new long[] { 1, 1 }, new long[] { 1, 1, 1, 1 }, new long[] { 1, 1 }, 1);
        if (block.Norm is { } norm)
        {
            long groups = norm.NumGroups, channels = norm.NumChannels;
            var grouped = g.Reshape(x, 0, groups, -1);
            var normalised = g.Op("InstanceNormalization", new[] { grouped, g.Float(Enumerable.Repeat(1f, (int)groups).ToArray(), new[] { groups }),
                g.Float(new float[groups], new[] { groups }) }, "group_norm", ("epsilon", (float)norm.Eps));
            x = g.Reshape(normalised, g.Shape(x));
            if (norm.Weight is { } gamma) x = g.Mul(x, g.Weight(path + ".norm.weight", LayerExporter.Floats(gamma), new long[] { 1, channels, 1, 1 }));
            if (norm.Bias is { } beta) x = g.Add(x, g.Weight(path + ".norm.bias", LayerExporter.Floats(beta), new long[] { 1, channels, 1, 1 }));
        }
        return g.Relu(x);
    }

    /// <summary>
    /// The IMP canvas [N, K, h, w] at P2's size and stride 4: masks [D, 1, M, M] probabilities, scores [D], labels [D] (1..K),
    /// boxes [D, 4] in the resized images' pixels, images [D].
    /// </summary>
    internal static string Canvas(OnnxGraphBuilder g, string masks, string scores, string labels, string boxes, string images, string numImages,
        string p2, int things, int detectionsPerImage)
    {
        const float stride = 4f;
        var m = g.Dim(masks, 3);                                                                   // [1]
        var mF = g.Cast(m, DataType.Float);
        var probabilities = g.Squeeze(masks, 1);                                                   // [D, M, M]
        var (cellY, insideY) = Axis(g, boxes, 1, 3, g.Dim(p2, 2), stride, mF, m);              // [D, h]
        var (cellX, insideX) = Axis(g, boxes, 0, 2, g.Dim(p2, 3), stride, mF, m);              // [D, w]
        var d = g.Dim(boxes, 0);
        var rows = g.GatherElements(probabilities, g.Expand(g.Unsqueeze(cellY, 2), g.Concat(0, d, g.Dim(cellY, 1), m)), 1);   // [D, h, M]
        var planeShape = g.Concat(0, d, g.Dim(cellY, 1), g.Dim(cellX, 1));
        var values = g.GatherElements(rows, g.Expand(g.Unsqueeze(cellX, 1), planeShape), 2);                                   // [D, h, w]
        var inside = g.Cast(g.And(g.Unsqueeze(insideY, 2), g.Unsqueeze(insideX, 1)), DataType.Float);
        var planes = g.Mul(g.Mul(values, inside), g.Reshape(scores, -1, 1, 1));

        // Sort by channel, running maximum within each channel's run, keep each run's last plane.
        var channel = g.Add(g.Mul(images, g.Int(things)), g.Sub(labels, g.Int(1)));                // [D]
        var (_, order) = g.TopK(channel, d, 0, largest: false);
        var sortedChannel = g.Gather(channel, order);
        var sorted = g.Gather(planes, order);
        var planeSize = g.Shape(planes, 1, 3);
        for (long shift = 1; shift < Math.Max(detectionsPerImage, 2); shift *= 2)
        {
            var earlier = g.Slice(g.Concat(0, g.ConstantOfShape(g.Concat(0, g.Ints(shift), planeSize)), sorted), g.Ints(0), d, g.Ints(0));
            var earlierChannel = g.Slice(g.Concat(0, g.Ints(Enumerable.Repeat(-1L, (int)shift).ToArray()), sortedChannel), g.Ints(0), d, g.Ints(0));
            var same = g.Reshape(g.Equal(earlierChannel, sortedChannel), -1, 1, 1);
            sorted = g.Where(same, g.Max(sorted, earlier), sorted);
        }
        var nextChannel = g.Slice(g.Concat(0, sortedChannel, g.Ints(-1)), g.Ints(1), g.Add(d, g.Ints(1)), g.Ints(0));
        var last = g.Op("Not", new[] { g.Equal(nextChannel, sortedChannel) }, "not");
        var channels = g.Mul(numImages, g.Ints(things));
        var zero = g.ConstantOfShape(g.Concat(0, channels, planeSize));
        var canvas = g.ScatterND(zero, g.Unsqueeze(g.Compress(sortedChannel, last), 1), g.Compress(sorted, last));
        return g.Reshape(canvas, g.Concat(0, numImages, g.Ints(things), planeSize));
    }

    /// <summary>Along one axis of the canvas: the mask cell each pixel centre reads, [D, size] int64 clamped into [0, M), and whether
    /// the centre lies in [lo, hi) of the box (an empty box covers nothing).</summary>
    private static (string Cell, string Inside) Axis(OnnxGraphBuilder g, string boxes, int loAt, int hiAt, string size, float stride,
        string mF, string m)
    {
        var centres = g.Reshape(g.Mul(g.Add(g.Cast(g.Range(g.Int(0), g.Squeeze(size, 0), g.Int(1)), DataType.Float), g.Float(0.5f)), g.Float(stride)), 1, -1);
        var lo = g.Slice(boxes, 1, loAt, loAt + 1);                                                // [D, 1]
        var hi = g.Slice(boxes, 1, hiAt, hiAt + 1);
        var extent = g.Sub(hi, lo);
        var inside = g.And(g.And(g.GreaterOrEqual(centres, lo), g.Less(centres, hi)), g.Greater(extent, g.Float(0f)));
        var cell = g.Floor(g.Mul(g.Div(g.Sub(centres, lo), g.Max(extent, g.Float(1e-12f))), mF));
        cell = g.Max(g.Min(cell, g.Sub(mF, g.Float(1f))), g.Float(0f));
        return (g.Cast(cell, DataType.Int64), inside);
    }
}
