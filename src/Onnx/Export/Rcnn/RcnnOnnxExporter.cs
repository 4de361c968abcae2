using MLNetSeg.Models;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Onnx.Graph;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Vision.Ops;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MLNetSeg.Onnx.Export.Rcnn;

/// <summary>
/// Mask R-CNN and Keypoint R-CNN (torchvision's GeneralizedRCNN) as one ONNX graph: preprocessing,
/// ResNet + FPN, the RPN with its anchors, top-k, clipping and per-level NMS, the box head with
/// per-class decoding, score threshold and class-wise NMS, and the mask or keypoint branch on the
/// kept detections — each step as the libtorch model runs it, with the thresholds it holds now
/// (<see cref="RegionProposalNetwork.Settings"/>, <see cref="RoiHeads.Settings"/>).
/// </summary>
internal sealed class RcnnOnnxExporter : IOnnxFamilyExporter
{
    public IReadOnlyList<string> Families { get; } = new[] { MaskRcnnFamily.Instance.Name, KeypointRcnnFamily.Instance.Name };

    public void Write(ISegmentationModel model, OnnxGraphBuilder g, OnnxGraphInputs inputs, OnnxGraphOutputs outputs)
    {
        var rcnn = model as GeneralizedRcnn
                   ?? throw new NotSupportedException($"ONNX export: the R-CNN exporter got a {model.GetType().Name}, not a GeneralizedRcnn");
        var d = WriteDetector(rcnn, g, inputs, outputs);
        var heads = rcnn.RoiHeads;
        if (heads.HasMask) (outputs.Masks, outputs.MaskSize) = WriteMasks(rcnn, d, g);
        if (heads.HasKeypoint)
        {
            var pool = heads.KeypointRoiPool!;
            var features = d.Detection.MultiScaleRoiAlign(d.PooledLevels, d.Channels, d.Boxes, d.Images, d.Resized, pool.OutputSize.Height, pool.SamplingRatio);
            outputs.KeypointHeatmaps = d.Layers.Emit(heads.KeypointPredictor!, d.Layers.Emit(heads.KeypointHead!, features, "roi_heads.keypoint_head"),
                "roi_heads.keypoint_predictor");
            outputs.NetworkBoxes = d.Boxes;
            outputs.NumKeypoints = heads.KeypointPredictor!.NumKeypoints;
            outputs.HeatmapSize = 4 * pool.OutputSize.Height;  // 2× transposed conv, then 2× upsampling
        }
    }

    /// <summary>Mask R-CNN's mask branch on the kept detections: the probabilities of each detection's own class on its box,
    /// [D, 1, M, M], and M.</summary>
    internal static (string Masks, int Size) WriteMasks(GeneralizedRcnn rcnn, DetectorGraph d, OnnxGraphBuilder g)
    {
        var heads = rcnn.RoiHeads;
        var pool = heads.MaskRoiPool ?? throw new NotSupportedException("ONNX export: the model has no mask branch");
        var features = d.Detection.MultiScaleRoiAlign(d.PooledLevels, d.Channels, d.Boxes, d.Images, d.Resized, pool.OutputSize.Height, pool.SamplingRatio);
        var logits = d.Layers.Emit(heads.MaskPredictor!, d.Layers.Emit(heads.MaskHead!, features, "roi_heads.mask_head"), "roi_heads.mask_predictor");
        // Each detection's own class: row d·C + label of the [D·C, M, M] logits.
        var flat = g.Reshape(logits, g.Concat(0, g.Ints(-1), g.Shape(logits, 2, 4)));
        var rows = g.Add(g.Mul(g.Range(g.Int(0), g.Size(d.Labels), g.Int(1)), g.Int(heads.BoxPredictor.NumClasses)), d.Labels);
        return (g.Sigmoid(g.Unsqueeze(g.Gather(flat, rows), 1)), 2 * pool.OutputSize.Height);
    }

    /// <summary>
    /// Preprocessing and the backbone every R-CNN-based family shares: the normalised, resized, padded batch, the resized sizes,
    /// and the FPN levels (also what a semantic head alone reads).
    /// </summary>
    internal static FeatureGraph WriteFeatures(GeneralizedRcnn rcnn, OnnxGraphBuilder g, OnnxGraphInputs inputs)
    {
        var layers = new LayerExporter(g);
        var detection = new DetectionGraph(g);
        var t = rcnn.Transform;
        var (batch, resized) = detection.Preprocess(inputs.Images, inputs.ImageSizes, t.MinSize, t.MaxSize, t.ImageMean, t.ImageStd, t.SizeDivisible);
        var pyramid = Backbone(rcnn.Backbone, batch, layers, g);
        var pooledLevels = GeneralizedRcnn.PooledFeatureNames
            .Select(name => pyramid.FirstOrDefault(p => p.Name == name).Value
                            ?? throw new NotSupportedException($"ONNX export: the backbone has no level \"{name}\""))
            .ToArray();
        return new FeatureGraph(layers, detection, batch, resized, pyramid.Select(p => p.Value).ToArray(), pooledLevels, rcnn.Backbone.OutChannels);
    }

    /// <summary>
    /// The detector every R-CNN-based family shares: preprocessing, backbone, RPN and the box branch with its
    /// post-processing; sets the box, score, label, batch-index and resized-size outputs and returns what a mask or
    /// keypoint branch reads (also MaskLab's and the panoptic exporter); on the backbone of <paramref name="features"/> when given.
    /// </summary>
    internal static DetectorGraph WriteDetector(GeneralizedRcnn rcnn, OnnxGraphBuilder g, OnnxGraphInputs inputs, OnnxGraphOutputs outputs,
        FeatureGraph? features = null)
    {
        var f = features ?? WriteFeatures(rcnn, g, inputs);
        var (layers, detection, batch, resized, pooledLevels) = (f.Layers, f.Detection, f.Batch, f.Resized, f.PooledLevels);
        var numImages = g.Dim(inputs.ImageSizes, 0);                      // [1]
        var resizedF = g.Cast(resized, DataType.Float);
        var (proposals, proposalImages) = Rpn(rcnn.Rpn, f.Levels, batch, resizedF, numImages, layers, detection, g);

        // Box branch.
        var heads = rcnn.RoiHeads;
        var settings = heads.Settings;
        long channels = f.Channels;
        var boxPool = heads.BoxRoiPool as MultiScaleRoiAlign
                      ?? throw new NotSupportedException($"ONNX export: the box branch pools with {heads.BoxRoiPool.GetType().Name}; the exporter writes RoIAlign (MultiScaleRoiAlign) only");
        var boxFeatures = layers.Emit(heads.BoxHead, detection.MultiScaleRoiAlign(pooledLevels, channels, proposals, proposalImages, resized,
            boxPool.OutputSize.Height, boxPool.SamplingRatio), "roi_heads.box_head");
        var classLogits = layers.Emit(heads.BoxPredictor.ClsScore, boxFeatures, "roi_heads.box_predictor.cls_score");
        var boxRegression = layers.Emit(heads.BoxPredictor.BboxPred, boxFeatures, "roi_heads.box_predictor.bbox_pred");
        int numClasses = heads.BoxPredictor.NumClasses;
        var classScores = g.Softmax(classLogits, -1);                                        // [P, C]
        var codes = g.Reshape(boxRegression, 0, numClasses, 4);                               // [P, C, 4]
        var perClass = detection.Decode(codes, g.Unsqueeze(proposals, 1), heads.BoxCoder.Weights);
        var roiSizes = g.Unsqueeze(g.Gather(resizedF, proposalImages), 1);                   // [P, 1, 2]
        perClass = detection.Clip(perClass, g.Slice(roiSizes, -1, 0, 1), g.Slice(roiSizes, -1, 1, 2));

        // Every (proposal, foreground class) pair is a candidate.
        var fgShape = g.Concat(0, g.Dim(proposals, 0), g.Ints(numClasses - 1));
        var candBoxes = g.Reshape(g.Slice(perClass, 1, 1, numClasses), -1, 4);
        var candScores = g.Reshape(g.Slice(classScores, 1, 1, numClasses), -1);
        var candLabels = g.Reshape(g.Expand(g.Unsqueeze(g.Range(g.Int(1), g.Int(numClasses), g.Int(1)), 0), fgShape), -1);
        var candImages = g.Reshape(g.Expand(g.Unsqueeze(proposalImages, 1), fgShape), -1);
        var keep = g.And(g.Greater(candScores, g.Float((float)settings.ScoreThresh)), detection.NotSmall(candBoxes, settings.MinSize));
        (candBoxes, candScores, candLabels, candImages) =
            (g.Compress(candBoxes, keep), g.Compress(candScores, keep), g.Compress(candLabels, keep), g.Compress(candImages, keep));
        var groups = g.Add(g.Mul(candImages, g.Int(numClasses)), candLabels);
        var kept = detection.GroupedNms(candBoxes, candScores, groups, g.Mul(numImages, g.Ints(numClasses)), settings.NmsThresh);
        kept = detection.TopPerImage(kept, candImages, candScores, numImages, settings.DetectionsPerImage);
        var detBoxes = g.Gather(candBoxes, kept);
        var detScores = g.Gather(candScores, kept);
        var detLabels = g.Gather(candLabels, kept);
        var detImages = g.Gather(candImages, kept);

        outputs.Boxes = detection.ToInputPixels(detBoxes, detImages, inputs.ImageSizes, resized);
        outputs.Scores = detScores;
        outputs.Labels = detLabels;
        outputs.BatchIndices = detImages;
        outputs.ResizedSizes = resized;
        return new DetectorGraph(layers, detection, pooledLevels, channels, detBoxes, detImages, detLabels, detScores, resized);
    }

    /// <summary>ResNet body (stages 1–4) and FPN, with its extra levels (the max-pool level, or RetinaNet's P6 and P7): (name, value)
    /// per level, torchvision's names.</summary>
    internal static List<(string Name, string Value)> Backbone(BackboneWithFpn backbone, string batch, LayerExporter layers, OnnxGraphBuilder g)
    {
        var resnet = backbone.Body.Model;
        var stageChannels = Enumerable.Range(1, 4).Select(s => resnet.Spec.StageChannels(s)).ToArray();
        if (!backbone.Body.OutChannels.SequenceEqual(stageChannels))
            throw new NotSupportedException("ONNX export: the backbone must return ResNet stages 1–4 to the FPN " +
                                            $"(it returns channels [{string.Join(", ", backbone.Body.OutChannels)}])");
        var x = g.Relu(layers.EmitConv(resnet.Conv1, batch, "backbone.body.conv1", resnet.Bn1));
        x = layers.Emit(resnet.MaxPool, x, "backbone.body.maxpool");
        var stages = new string[4];
        for (int s = 1; s <= 4; s++) stages[s - 1] = x = layers.Emit(resnet.Stage(s), x, $"backbone.body.layer{s}");

        var fpn = backbone.Fpn;
        var results = new string[4];
        var lastInner = layers.Emit(fpn.InnerBlocks[3], stages[3], "backbone.fpn.inner_blocks.3");
        results[3] = layers.Emit(fpn.LayerBlocks[3], lastInner, "backbone.fpn.layer_blocks.3");
        for (int i = 2; i >= 0; i--)
        {
            var lateral = layers.Emit(fpn.InnerBlocks[i], stages[i], $"backbone.fpn.inner_blocks.{i}");
            // interpolate(mode="nearest") to the lateral's size: source index floor(dst · in / out).
            var topDown = g.ResizeTo(lastInner, g.Shape(lateral), "nearest", "asymmetric", "floor");
            lastInner = g.Add(lateral, topDown);
            results[i] = layers.Emit(fpn.LayerBlocks[i], lastInner, $"backbone.fpn.layer_blocks.{i}");
        }
        var pyramid = results.Select((v, i) => (i.ToString(), v)).ToList();
        switch (fpn.ExtraBlocks)
        {
            case null: break;
            case LastLevelMaxPool:
                pyramid.Add(("pool", g.Op("MaxPool", new[] { results[3] }, "pool", ("kernel_shape", new[] { 1L, 1L }), ("strides", new[] { 2L, 2L }))));
                break;
            case LastLevelP6P7 p6p7:
                var p6 = layers.Emit(p6p7.P6, p6p7.UseP5 ? results[3] : stages[3], "backbone.fpn.extra_blocks.p6");
                pyramid.Add(("p6", p6));
                pyramid.Add(("p7", layers.Emit(p6p7.P7, g.Relu(p6), "backbone.fpn.extra_blocks.p7")));
                break;
            default:
                throw new NotSupportedException($"ONNX export: FPN extra block {fpn.ExtraBlocks.GetType().Name} has no ONNX form here");
        }
        return pyramid;
    }

    /// <summary>The RPN in eval mode (torchvision's filter_proposals); returns proposals [P, 4] and their image indices [P].</summary>
    private static (string Boxes, string Images) Rpn(RegionProposalNetwork rpn, IReadOnlyList<string> levels, string batch, string resizedF,
        string numImages, LayerExporter layers, DetectionGraph detection, OnnxGraphBuilder g)
    {
        var settings = rpn.Settings;
        var head = rpn.Head;
        long anchorsPerLocation = head.NumAnchors;
        var paddedHw = g.Shape(batch, 2, 4);
        var boxesPerLevel = new List<string>();
        var logitsPerLevel = new List<string>();
        var levelIdsPerLevel = new List<string>();
        for (int l = 0; l < levels.Count; l++)
        {
            var t = layers.Emit(head.Conv, levels[l], "rpn.head.conv");
            var logits = layers.Emit(head.ClsLogits, t, "rpn.head.cls_logits");                 // [N, A, H, W]
            var deltas = layers.Emit(head.BboxPred, t, "rpn.head.bbox_pred");                   // [N, 4A, H, W]
            logits = g.Reshape(g.Transpose(logits, 0, 2, 3, 1), 0, -1);                          // [N, H·W·A]
            deltas = g.Reshape(deltas, g.Concat(0, g.Dim(deltas, 0), g.Ints(anchorsPerLocation, 4), g.Shape(deltas, 2, 4)));
            deltas = g.Reshape(g.Transpose(deltas, 0, 3, 4, 1, 2), 0, -1, 4);                   // [N, H·W·A, 4]
            var anchors = Anchors(rpn, l, levels[l], paddedHw, g);                              // [H·W·A, 4]

            // Top-k by objectness first, then decode only those (decoding is per box, so the values are the same).
            var k = g.Min(g.Dim(logits, 1), g.Ints(rpn.Settings.PreNmsTopNTest));
            var (topLogits, topIndex) = g.TopK(logits, k, 1);
            var topDeltas = g.GatherElements(deltas, g.Expand(g.Unsqueeze(topIndex, 2), g.Concat(0, g.Shape(topIndex), g.Ints(4))), 1);
            boxesPerLevel.Add(detection.Decode(topDeltas, g.Gather(anchors, topIndex), rpn.BoxCoder.Weights));
            logitsPerLevel.Add(topLogits);
            levelIdsPerLevel.Add(g.Expand(g.Int(l), g.Shape(topIndex)));
        }
        var boxes = g.Concat(1, boxesPerLevel.ToArray());                                         // [N, K, 4]
        var scores = g.Sigmoid(g.Concat(1, logitsPerLevel.ToArray()));                            // [N, K]
        var levelIds = g.Concat(1, levelIdsPerLevel.ToArray());
        var sizes = g.Unsqueeze(resizedF, 1);                                                     // [N, 1, 2]
        boxes = detection.Clip(boxes, g.Slice(sizes, -1, 0, 1), g.Slice(sizes, -1, 1, 2));
        var imageIds = g.Expand(g.Unsqueeze(g.Range(g.Int(0), g.Squeeze(numImages, 0), g.Int(1)), 1), g.Shape(scores));

        var flatBoxes = g.Reshape(boxes, -1, 4);
        var flatScores = g.Reshape(scores, -1);
        var flatLevels = g.Reshape(levelIds, -1);
        var flatImages = g.Reshape(imageIds, -1);
        var keep = g.And(detection.NotSmall(flatBoxes, settings.MinSize), g.GreaterOrEqual(flatScores, g.Float((float)settings.ScoreThresh)));
        (flatBoxes, flatScores, flatLevels, flatImages) =
            (g.Compress(flatBoxes, keep), g.Compress(flatScores, keep), g.Compress(flatLevels, keep), g.Compress(flatImages, keep));
        var groups = g.Add(g.Mul(flatImages, g.Int(levels.Count)), flatLevels);
        var kept = detection.GroupedNms(flatBoxes, flatScores, groups, g.Mul(numImages, g.Ints(levels.Count)), settings.NmsThresh);
        kept = detection.TopPerImage(kept, flatImages, flatScores, numImages, settings.PostNmsTopNTest);
        return (g.Gather(flatBoxes, kept), g.Gather(flatImages, kept));
    }

    /// <summary>torchvision's AnchorGenerator for one level: the rounded cell anchors shifted to every grid cell,
    /// the stride being the padded batch size // the grid size; location-major, anchor-minor.</summary>
    private static string Anchors(RegionProposalNetwork rpn, int level, string feature, string paddedHw, OnnxGraphBuilder g)
    {
        var cell = LayerExporter.Floats(rpn.AnchorGenerator.CellAnchors(level));
        var baseAnchors = g.Float(cell, new long[] { 1, cell.Length / 4, 4 });
        var grid = g.Shape(feature, 2, 4);                                                         // [gh, gw]
        var strides = g.Div(paddedHw, grid);
        var gh = g.Squeeze(g.Slice(grid, 0, 0, 1), 0);
        var gw = g.Squeeze(g.Slice(grid, 0, 1, 2), 0);
        var shiftsX = g.Mul(g.Range(g.Int(0), gw, g.Int(1)), g.Squeeze(g.Slice(strides, 0, 1, 2), 0));
        var shiftsY = g.Mul(g.Range(g.Int(0), gh, g.Int(1)), g.Squeeze(g.Slice(strides, 0, 0, 1), 0));
        var shiftX = g.Reshape(g.Expand(g.Unsqueeze(shiftsX, 0), grid), -1);
        var shiftY = g.Reshape(g.Expand(g.Unsqueeze(shiftsY, 1), grid), -1);
        var x = g.Unsqueeze(shiftX, 1);
        var y = g.Unsqueeze(shiftY, 1);
        var shifts = g.Cast(g.Concat(1, x, y, x, y), DataType.Float);                               // [H·W, 4]
        return g.Reshape(g.Add(g.Unsqueeze(shifts, 1), baseAnchors), -1, 4);
    }
}

/// <summary>The values of an exported R-CNN detector that its second-stage branches read.</summary>
/// <param name="Layers">Emits the model's layers into the graph.</param>
/// <param name="Detection">The detection ops (RoIAlign, decoding, NMS...).</param>
/// <param name="PooledLevels">FPN levels "0".."3".</param>
/// <param name="Channels">Channels of the FPN levels.</param>
/// <param name="Boxes">[D, 4] kept detections in the resized images' pixels.</param>
/// <param name="Images">[D] batch index of each detection.</param>
/// <param name="Labels">[D] class of each detection.</param>
/// <param name="Scores">[D] score of each detection.</param>
/// <param name="Resized">[N, 2] resized image sizes.</param>
internal sealed record DetectorGraph(LayerExporter Layers, DetectionGraph Detection, string[] PooledLevels, long Channels,
    string Boxes, string Images, string Labels, string Scores, string Resized);

/// <summary>The preprocessed batch and the backbone's levels of an exported R-CNN model.</summary>
/// <param name="Layers">Emits the model's layers into the graph.</param>
/// <param name="Detection">The detection ops.</param>
/// <param name="Batch">[N, 3, H, W] the normalised, resized, padded batch.</param>
/// <param name="Resized">[N, 2] resized image sizes.</param>
/// <param name="Levels">Every FPN level, finest first (with the extra "pool" level).</param>
/// <param name="PooledLevels">FPN levels "0".."3" (P2–P5).</param>
/// <param name="Channels">Channels of the FPN levels.</param>
internal sealed record FeatureGraph(LayerExporter Layers, DetectionGraph Detection, string Batch, string Resized, string[] Levels,
    string[] PooledLevels, long Channels);
