using MLNetSeg.Models;
using MLNetSeg.Models.MaskLab;
using MLNetSeg.Onnx.Export.Rcnn;
using MLNetSeg.Onnx.Graph;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MLNetSeg.Onnx.Export.MaskLab;

/// <summary>
/// MaskLab as one ONNX graph: the R-CNN detector (<see cref="RcnnOnnxExporter.WriteDetector"/>), then the semantic and
/// direction 1×1 convolutions, crop and resize of every detection as GridSample (bilinear, zeros outside, the cell
/// centres of <see cref="Vision.Ops.VisionOps.CropAndResize"/>), the box class's semantic channel and direction pooling
/// as GatherElements, the 1×1 fusion and the refinement convolutions, and a sigmoid: [D, 1, S, S] masks that the
/// runtime pastes as it pastes Mask R-CNN's. The deformable box pooler is not written (its offsets move crop windows
/// per box; the detector exporter writes RoIAlign only): export models trained with <see cref="MaskLabOptions.DeformableCrop"/> off.
/// </summary>
internal sealed class MaskLabOnnxExporter : IOnnxFamilyExporter
{
    public IReadOnlyList<string> Families { get; } = new[] { MaskLabFamily.Instance.Name };

    public void Write(ISegmentationModel model, OnnxGraphBuilder g, OnnxGraphInputs inputs, OnnxGraphOutputs outputs)
    {
        var masklab = model as MaskLabModel
                      ?? throw new NotSupportedException($"ONNX export: the MaskLab exporter got a {model.GetType().Name}, not a MaskLabModel");
        if (masklab.DeformableCrop)
            throw new NotSupportedException("ONNX export: this MaskLab model pools boxes with deformable crop and resize, which the exporter does not " +
                                            "write; export a model trained with MaskLabOptions.DeformableCrop = false");
        var d = RcnnOnnxExporter.WriteDetector(masklab, g, inputs, outputs);
        var branch = masklab.Branch;
        int size = branch.CropSize;
        var trunk = d.PooledLevels[branch.LogitStride == 4 ? 0 : 1];
        double scale = 1.0 / branch.LogitStride;

        var features = new List<string>(2);
        if (branch.Semantic is { } semanticConv)
        {
            var crops = CropAndResize(g, d.Layers.Emit(semanticConv, trunk, "masklab.semantic"), d.Boxes, d.Images, size, scale);  // [D, K, S, S]
            var channel = g.Expand(g.Reshape(d.Labels, -1, 1, 1, 1), g.Concat(0, g.Dim(d.Labels, 0), g.Ints(1, size, size)));
            features.Add(g.GatherElements(crops, channel, 1));
        }
        if (branch.Direction is { } directionConv)
        {
            var crops = CropAndResize(g, d.Layers.Emit(directionConv, trunk, "masklab.direction"), d.Boxes, d.Images, size, scale);
            var pooling = g.Reshape(g.Ints(branch.Coding.PoolingChannels(size, size)), 1, 1, size, size);
            features.Add(g.GatherElements(crops, g.Expand(pooling, g.Concat(0, g.Dim(d.Boxes, 0), g.Ints(1, size, size))), 1));
        }
        var logits = d.Layers.Emit(branch.Coarse.Fuse, features.Count == 1 ? features[0] : g.Concat(1, features.ToArray()), "masklab.coarse.fuse");
        if (branch.Refinement is { } refinement)
        {
            var hypercolumns = CropAndResize(g, d.PooledLevels[0], d.Boxes, d.Images, size, 1.0 / 4);
            var x = g.Concat(1, logits, hypercolumns);
            foreach (var (name, block) in refinement.NamedChildren())  // the 5×5 blocks "0".."2", then "predictor"
                x = d.Layers.Emit(block, x, $"masklab.refinement.{name}");
            logits = x;
        }
        outputs.Masks = g.Sigmoid(logits);
        outputs.MaskSize = size;
    }

    /// <summary>
    /// Crop and resize of boxes [D, 4] (images [D]) from features [N, C, H, W] to [D, C, S, S]: every box's grid of cell
    /// centres is sampled from every image in one GridSample ([N, C, D·S, S]), and each box keeps its own image's rows —
    /// no copy of a feature map per box (N is 1 in the usual deployment).
    /// </summary>
    private static string CropAndResize(OnnxGraphBuilder g, string features, string boxes, string images, int size, double scale)
    {
        var fractions = Enumerable.Range(0, size).Select(j => (float)((j + 0.5) / size)).ToArray();
        var f = g.Float(fractions, new long[] { 1, size });
        var x1 = g.Slice(boxes, 1, 0, 1);
        var y1 = g.Slice(boxes, 1, 1, 2);
        var s = g.Float((float)scale);
        var half = g.Float(0.5f);
        // Index coordinates of the cell centres, then grid_sample's normalised coordinates ((2i + 1) / size − 1, align_corners = 0).
        var xs = g.Sub(g.Mul(g.Add(x1, g.Mul(f, g.Sub(g.Slice(boxes, 1, 2, 3), x1))), s), half);   // [D, S]
        var ys = g.Sub(g.Mul(g.Add(y1, g.Mul(f, g.Sub(g.Slice(boxes, 1, 3, 4), y1))), s), half);
        var two = g.Float(2f);
        var one = g.Float(1f);
        var mapH = g.Cast(g.Dim(features, 2), DataType.Float);
        var mapW = g.Cast(g.Dim(features, 3), DataType.Float);
        var gx = g.Sub(g.Div(g.Add(g.Mul(xs, two), one), mapW), one);
        var gy = g.Sub(g.Div(g.Add(g.Mul(ys, two), one), mapH), one);
        var cells = g.Concat(0, g.Dim(boxes, 0), g.Ints(size, size));                               // [D, S, S]
        var gridX = g.Expand(g.Unsqueeze(gx, 1), cells);
        var gridY = g.Expand(g.Unsqueeze(gy, 2), cells);
        var grid = g.Concat(3, g.Unsqueeze(gridX, 3), g.Unsqueeze(gridY, 3));                      // [D, S, S, 2]
        var numImages = g.Dim(features, 0);
        var batched = g.Expand(g.Reshape(grid, 1, -1, size, 2), g.Concat(0, numImages, g.Ints(1, 1, 1)));  // [N, D·S, S, 2]
        var sampled = g.Op("GridSample", new[] { features, batched }, "grid_sample",
            ("mode", "bilinear"), ("padding_mode", "zeros"), ("align_corners", 0L));                  // [N, C, D·S, S]
        var perBox = g.Reshape(sampled, g.Concat(0, numImages, g.Dim(features, 1), g.Ints(-1, size, size)));  // [N, C, D, S, S]
        var boxMajor = g.Transpose(perBox, 2, 0, 1, 3, 4);                                           // [D, N, C, S, S]
        var own = g.Add(g.Mul(g.Range(g.Int(0), g.Size(images), g.Int(1)), g.Squeeze(numImages, 0)), images);
        var flat = g.Reshape(boxMajor, g.Concat(0, g.Ints(-1), g.Dim(features, 1), g.Ints(size, size)));   // [D·N, C, S, S]
        return g.Gather(flat, own);
    }
}
