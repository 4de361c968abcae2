using MLNetSeg.Models;
using MLNetSeg.Models.TensorMask;
using MLNetSeg.Onnx.Export.Rcnn;
using MLNetSeg.Onnx.Graph;
using MLNetSeg.Vision.Ops;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MLNetSeg.Onnx.Export.TensorMask;

/// <summary>
/// TensorMask as one ONNX graph: preprocessing, ResNet-FPN with P6/P7, the class, box and mask towers on each level, the
/// sliding windows (built from the levels' sizes), the per-image candidates (score threshold, top n), their boxes,
/// class-wise NMS and the best detections, as <see cref="TensorMaskModel.Detect"/> does. Masks are computed for the kept
/// windows only: every head's resampling (align2nat, up_align2nat, swap_align2nat on the bipyramid, the upscale natural head)
/// is one sampling with 16 taps per mask pixel (<see cref="VisionOps"/>' two separable passes, here in one), written as a
/// Gather from the head's 1×1 predictions with constant weights and a ReduceSum. Window masks differ in side by level and
/// window size: they come out zero-padded to the largest side with their own side in <see cref="OnnxContract.MaskSides"/>,
/// and the windows they are pasted into (detectron2's paste) in <see cref="OnnxContract.MaskBoxes"/>.
/// </summary>
internal sealed class TensorMaskOnnxExporter : IOnnxFamilyExporter
{
    public IReadOnlyList<string> Families { get; } = new[] { TensorMaskFamily.Instance.Name };

    public void Write(ISegmentationModel model, OnnxGraphBuilder g, OnnxGraphInputs inputs, OnnxGraphOutputs outputs)
    {
        var tm = model as TensorMaskModel
                 ?? throw new NotSupportedException($"ONNX export: the TensorMask exporter got a {model.GetType().Name}, not a TensorMaskModel");
        var o = tm.Options;
        var head = tm.Head;
        var (clsTower, boxTower, maskTower, maskPredictors, maskFuse) = head.Parts;
        var layers = new LayerExporter(g);
        var detection = new DetectionGraph(g);
        var t = tm.Transform;
        var (batch, resized) = detection.Preprocess(inputs.Images, inputs.ImageSizes, t.MinSize, t.MaxSize, t.ImageMean, t.ImageStd, t.SizeDivisible);
        var levels = RcnnOnnxExporter.Backbone(tm.Backbone, batch, layers, g).Take(o.Levels).Select(p => p.Value).ToArray();
        int k = head.NumClasses, anchors = head.MaskSides.Count;
        var numImages = g.Dim(inputs.ImageSizes, 0);

        // Class logits and box offsets per level, flattened to the windows' order (row, column, window size).
        var logits = new string[levels.Length];
        var deltas = new string[levels.Length];
        var windows = new WindowGrid[levels.Length];
        for (int level = 0; level < levels.Length; level++)
        {
            var x = levels[level];
            logits[level] = Flatten(g, layers.Emit(head.ClsScore, layers.Emit(clsTower, x, "head.cls_subnet"), "head.cls_score"), anchors, k);
            deltas[level] = Flatten(g, layers.Emit(head.BboxPred, layers.Emit(boxTower, x, "head.bbox_subnet"), "head.bbox_pred"), anchors, 4);
            windows[level] = Windows(g, x, level, o.WindowSizes);
        }
        var allLogits = g.Concat(1, logits);                                                   // [N, M, K]
        var allDeltas = g.Reshape(g.Concat(1, deltas), -1, 4);                                 // [N·M, 4]
        var windowBoxes = g.Concat(0, windows.Select(w => w.Boxes).ToArray());                 // [M, 4]
        var windowLevel = g.Concat(0, windows.Select(w => w.Level).ToArray());                 // [M] each
        var windowY = g.Concat(0, windows.Select(w => w.Y).ToArray());
        var windowX = g.Concat(0, windows.Select(w => w.X).ToArray());
        var windowAnchor = g.Concat(0, windows.Select(w => w.Anchor).ToArray());
        var windowCount = g.Dim(windowBoxes, 0);

        // Candidates: every (image, window, class) scoring above the threshold, the best n per image.
        var scores = g.Reshape(g.Sigmoid(allLogits), -1);                                      // [N·M·K]
        var flat = g.Range(g.Int(0), g.Size(scores), g.Int(1));
        var above = g.Greater(scores, g.Float((float)o.ScoreThreshold));
        flat = g.Compress(flat, above);
        var perImage = g.Squeeze(g.Mul(windowCount, g.Ints(k)), 0);
        var candImages = g.Div(flat, perImage);
        var candScores = g.Compress(scores, above);
        var top = detection.TopPerImage(g.Range(g.Int(0), g.Size(flat), g.Int(1)), candImages, candScores, numImages, o.CandidatesPerImage);
        flat = g.Gather(flat, top);
        candImages = g.Gather(candImages, top);
        candScores = g.Gather(candScores, top);
        var classes = g.Op("Mod", new[] { flat, g.Int(k) }, "class");
        var imageWindow = g.Div(flat, g.Int(k));                                               // image·M + window
        var window = g.Op("Mod", new[] { imageWindow, g.Squeeze(windowCount, 0) }, "window");
        var candWindows = g.Gather(windowBoxes, window);
        var candBoxes = detection.Decode(g.Gather(allDeltas, imageWindow), candWindows, TensorMaskModel.BoxWeights);

        // Class-wise NMS per image, the best detections, then boxes in input pixels, clipped, empty ones dropped.
        var groups = g.Add(g.Mul(candImages, g.Int(k)), classes);
        var kept = detection.GroupedNms(candBoxes, candScores, groups, g.Mul(numImages, g.Ints(k)), o.NmsThreshold);
        kept = detection.TopPerImage(kept, candImages, candScores, numImages, o.DetectionsPerImage);
        var images = g.Gather(candImages, kept);
        var inputSizes = g.Gather(g.Cast(inputs.ImageSizes, DataType.Float), images);      // [D, 2]
        var boxes = detection.Clip(detection.ToInputPixels(g.Gather(candBoxes, kept), images, inputs.ImageSizes, resized),
            g.Slice(inputSizes, 1, 0, 1), g.Slice(inputSizes, 1, 1, 2));
        string C(int j) => g.Squeeze(g.Slice(boxes, 1, j, j + 1), 1);
        var nonEmpty = g.And(g.Greater(C(2), C(0)), g.Greater(C(3), C(1)));
        kept = g.Compress(kept, nonEmpty);
        images = g.Compress(images, nonEmpty);
        var detWindows = g.Gather(window, kept);

        outputs.Boxes = g.Compress(boxes, nonEmpty);
        outputs.Scores = g.Gather(candScores, kept);
        outputs.Labels = g.Add(g.Gather(classes, kept), g.Int(1));
        outputs.BatchIndices = images;
        outputs.ResizedSizes = resized;
        outputs.MaskBoxes = detection.ToInputPixels(g.Gather(windowBoxes, detWindows), images, inputs.ImageSizes, resized);

        // Mask features per level (the bipyramid's fused at P2 resolution), then each (level, window size) group's masks.
        var maskFeatures = levels.Select(x => layers.Emit(maskTower, x, "head.mask_subnet")).ToArray();
        if (maskFuse is not null) maskFeatures = BipyramidFeatures(g, layers, maskFuse, maskFeatures);
        var detLevel = g.Gather(windowLevel, detWindows);
        var detAnchor = g.Gather(windowAnchor, detWindows);
        var detY = g.Gather(windowY, detWindows);
        var detX = g.Gather(windowX, detWindows);
        int largest = Enumerable.Range(0, levels.Length).SelectMany(l => Enumerable.Range(0, anchors).Select(a => head.MaskSide(l, a))).Max();
        var masks = g.ConstantOfShape(g.Concat(0, g.Dim(detWindows, 0), g.Ints(largest, largest)));
        var sides = g.Mul(detLevel, g.Int(0));
        for (int level = 0; level < levels.Length; level++)
            for (int a = 0; a < anchors; a++)
            {
                var inGroup = g.And(g.Equal(detLevel, g.Int(level)), g.Equal(detAnchor, g.Int(a)));
                var members = g.Squeeze(g.NonZero(inGroup), 0);
                var prediction = layers.Emit(maskPredictors[a], maskFeatures[level], $"head.mask_pred_{head.MaskSides[a]:00}");
                int outSide = head.MaskSide(level, a);
                var (stride, aligned) = head.Kind switch
                {
                    TensorMaskHeadKind.Bipyramid => (1 << level, true),
                    TensorMaskHeadKind.SimpleNatural or TensorMaskHeadKind.UpscaleNatural => (1, false),
                    _ => (1, true),
                };
                var interpolation = head.Kind is TensorMaskHeadKind.UpscaleNatural or TensorMaskHeadKind.UpscaleAligned ? head.Interpolation : WindowInterpolation.Bilinear;
                var taps = VisionOps.Align2NatTaps(head.PredictedSides[a], outSide, aligned, interpolation);
                var logitsOfGroup = SampleWindows(g, prediction, head.PredictedSides[a], taps, stride,
                    g.Gather(images, members), g.Gather(detY, members), g.Gather(detX, members));        // [Dg, S, S]
                var padded = g.Op("Pad", new[] { g.Sigmoid(logitsOfGroup), g.Ints(0, 0, 0, 0, largest - outSide, largest - outSide), g.Float(0f) }, "pad");
                masks = g.ScatterND(masks, g.Unsqueeze(members, 1), padded);
                sides = g.Add(sides, g.Mul(g.Cast(inGroup, DataType.Int64), g.Int(outSide)));
            }
        outputs.Masks = g.Unsqueeze(masks, 1);
        outputs.MaskSize = largest;
        outputs.MaskSides = sides;
    }

    /// <summary>[N, A·C, H, W] to [N, H·W·A, C], the windows' order.</summary>
    private static string Flatten(OnnxGraphBuilder g, string x, int anchors, int channels) =>
        g.Reshape(g.Transpose(g.Reshape(x, 0, anchors, channels, -1), 0, 3, 1, 2), 0, -1, channels);

    /// <summary>One level's windows in <see cref="SlidingWindows"/>' order: boxes [H·W·A, 4] centred on (x·s, y·s) with sides
    /// size·2^level, and each window's level, row, column and window size (int64 [H·W·A]).</summary>
    private static WindowGrid Windows(OnnxGraphBuilder g, string feature, int level, IReadOnlyList<int> sizes)
    {
        int a = sizes.Count;
        long stride = 4L << level;
        var grid = g.Shape(feature, 2, 4);
        var h = g.Squeeze(g.Slice(grid, 0, 0, 1), 0);
        var w = g.Squeeze(g.Slice(grid, 0, 1, 2), 0);
        var full = g.Concat(0, grid, g.Ints(a));                                                // [H, W, A]
        var ys = g.Expand(g.Reshape(g.Range(g.Int(0), h, g.Int(1)), -1, 1, 1), full);
        var xs = g.Expand(g.Reshape(g.Range(g.Int(0), w, g.Int(1)), 1, -1, 1), full);
        var anchor = g.Expand(g.Reshape(g.Ints(Enumerable.Range(0, a).Select(i => (long)i).ToArray()), 1, 1, -1), full);
        var half = g.Float(sizes.Select(s => (s << level) / 2f).ToArray(), new long[] { 1, 1, a });
        var cx = g.Cast(g.Mul(xs, g.Int(stride)), DataType.Float);
        var cy = g.Cast(g.Mul(ys, g.Int(stride)), DataType.Float);
        var boxes = g.Reshape(g.Concat(-1, g.Unsqueeze(g.Sub(cx, half), 3), g.Unsqueeze(g.Sub(cy, half), 3),
            g.Unsqueeze(g.Add(cx, half), 3), g.Unsqueeze(g.Add(cy, half), 3)), -1, 4);
        var levelIds = g.Add(g.Mul(g.Reshape(anchor, -1), g.Int(0)), g.Int(level));
        return new WindowGrid(boxes, levelIds, g.Reshape(ys, -1), g.Reshape(xs, -1), g.Reshape(anchor, -1));
    }

    private sealed record WindowGrid(string Boxes, string Level, string Y, string X, string Anchor);

    /// <summary>Fig. 8 as <see cref="TensorMaskHead"/> computes it: each level upsampled bilinearly by 2^k, cropped to P2's size,
    /// P2 added, then "mask_fuse".</summary>
    private static string[] BipyramidFeatures(OnnxGraphBuilder g, LayerExporter layers, Torch.Nn.Sequential fuse, string[] features)
    {
        var finest = features[0];
        var fineSize = g.Shape(finest, 2, 4);
        var fused = new string[features.Length];
        for (int level = 0; level < features.Length; level++)
        {
            var up = finest;
            if (level > 0)
            {
                var f = features[level];
                var size = g.Concat(0, g.Shape(f, 0, 2), g.Mul(g.Shape(f, 2, 4), g.Ints(1L << level)));
                var upsampled = g.ResizeTo(f, size, "linear", "pytorch_half_pixel");
                up = g.Slice(upsampled, g.Ints(0, 0), fineSize, g.Ints(2, 3));
            }
            fused[level] = layers.Emit(fuse, g.Add(up, finest), "head.mask_fuse");
        }
        return fused;
    }

    /// <summary>
    /// The natural mask logits [D, S, S] of windows (image, y, x) of the resampled <paramref name="prediction"/> [N, Si², H, W]: pixel
    /// (v, u) is the pad plus Σ over 16 taps of weight · (input − pad), the taps being the (cell, row) pairs of v and the (cell,
    /// column) pairs of u (<see cref="VisionOps.Align2NatTaps"/>), rows y·s + offset; a tap outside the input in any coordinate
    /// contributes nothing, i.e. reads the pad.
    /// </summary>
    private static string SampleWindows(OnnxGraphBuilder g, string prediction, int inSide, Align2NatAxisTaps taps, int stride,
        string images, string ys, string xs)
    {
        int side = taps.CellLow.Length;
        // Per output cell v and tap j (cell tap j / 2, spatial tap j % 2): the cell index, the spatial offset and the weight.
        var cell = new long[side * 4];
        var offset = new long[side * 4];
        var weight = new float[side * 4];
        for (int v = 0; v < side; v++)
            for (int j = 0; j < 4; j++)
            {
                bool lowCell = j / 2 == 0, lowOffset = j % 2 == 0;
                cell[4 * v + j] = lowCell ? taps.CellLow[v] : taps.CellHigh[v];
                offset[4 * v + j] = lowOffset ? taps.OffsetLow[v] : taps.OffsetHigh[v];
                double product = (lowCell ? taps.CellLowWeight[v] : taps.CellHighWeight[v]) * (lowOffset ? taps.OffsetLowWeight[v] : taps.OffsetHighWeight[v]);
                weight[4 * v + j] = cell[4 * v + j] < 0 ? 0f : (float)product;
            }
        var cells = g.Int64(cell.Select(c => Math.Max(c, 0)).ToArray());
        var cellValid = g.Cast(g.Float(cell.Select(c => c < 0 ? 0f : 1f).ToArray(), new long[] { side * 4 }), DataType.Bool);
        var offsets = g.Int64(offset);
        var weights = g.Float(weight, new long[] { side * 4 });
        var hw = g.Shape(prediction, 2, 4);
        var h = g.Squeeze(g.Slice(hw, 0, 0, 1), 0);
        var w = g.Squeeze(g.Slice(hw, 0, 1, 2), 0);

        // One axis pair: spatial index [D, S·4] and validity, for positions p (rows y or columns x).
        (string Index, string Valid) Axis(string positions, string size)
        {
            var index = g.Add(g.Unsqueeze(g.Mul(positions, g.Int(stride)), 1), g.Unsqueeze(offsets, 0));
            var valid = g.And(g.And(g.GreaterOrEqual(index, g.Int(0)), g.Less(index, size)), g.Unsqueeze(cellValid, 0));
            return (index, valid);
        }
        var (rows, rowValid) = Axis(ys, h);
        var (cols, colValid) = Axis(xs, w);
        // Flat index into [N, Si·Si, H, W] of every (d, v·4 + tap, u·4 + tap): ((n·Si² + cv·Si + cu)·H + row)·W + column.
        var channel = g.Add(g.Unsqueeze(g.Add(g.Unsqueeze(g.Mul(images, g.Int((long)inSide * inSide)), 1), g.Unsqueeze(g.Mul(cells, g.Int(inSide)), 0)), 2),
            g.Unsqueeze(g.Unsqueeze(cells, 0), 0));                                                        // [D, 4S, 4S]
        var index3 = g.Add(g.Mul(g.Add(g.Mul(channel, h), g.Unsqueeze(rows, 2)), w), g.Unsqueeze(cols, 1));
        var valid = g.And(g.Unsqueeze(rowValid, 2), g.Unsqueeze(colValid, 1));
        var pad = g.Float((float)VisionOps.Align2NatPadValue);
        var values = g.Gather(g.Reshape(prediction, -1), g.Where(valid, index3, g.Int(0)));
        var relative = g.Where(valid, g.Sub(values, pad), g.Float(0f));
        var weighted = g.Mul(g.Mul(relative, g.Unsqueeze(g.Unsqueeze(weights, 0), 2)), g.Unsqueeze(g.Unsqueeze(weights, 0), 0));
        var perTap = g.Reshape(weighted, g.Concat(0, g.Dim(images, 0), g.Ints(side, 4, side, 4)));
        return g.Add(g.ReduceSum(perTap, new long[] { 2, 4 }), pad);
    }
}
