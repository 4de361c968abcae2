using MLNetSeg.Models.Panoptic;
using MLNetSeg.Onnx.PostProcessing;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Onnx.Runtime;

/// <summary>
/// The raw outputs of one graph run (<see cref="OnnxContract"/>), flat over the batch, and their
/// conversion into one <see cref="Instances"/> per image: masks pasted into the image and binarised,
/// heatmaps decoded into keypoints, all in C# (no libtorch). The ML.NET post-processing transformer
/// uses the same conversion on the columns ApplyOnnxModel produces.
/// </summary>
public sealed class OnnxDetections
{
    /// <summary>Wraps raw outputs; array lengths are checked against each other.</summary>
    /// <exception cref="ArgumentException">The arrays disagree on the number of detections or images.</exception>
    public OnnxDetections(float[] boxes, float[] scores, long[] labels, long[] batchIndices, long[] resizedSizes,
        float[]? masks = null, int maskSize = 0, float[]? keypointHeatmaps = null, float[]? networkBoxes = null, int numKeypoints = 0, int heatmapSize = 0,
        float[]? semanticScores = null, int semanticChannels = 0, int semanticHeight = 0, int semanticWidth = 0,
        float[]? maskBoxes = null, long[]? maskSides = null)
    {
        Boxes = boxes ?? throw new ArgumentNullException(nameof(boxes));
        Scores = scores ?? throw new ArgumentNullException(nameof(scores));
        Labels = labels ?? throw new ArgumentNullException(nameof(labels));
        BatchIndices = batchIndices ?? throw new ArgumentNullException(nameof(batchIndices));
        ResizedSizes = resizedSizes ?? throw new ArgumentNullException(nameof(resizedSizes));
        int d = scores.Length;
        void Require(bool ok, string what)
        {
            if (!ok) throw new ArgumentException($"ONNX outputs disagree: {what} ({d} scores)");
        }
        Require(boxes.Length == 4 * d, $"{OnnxContract.Boxes} has {boxes.Length} values, expected {4 * d}");
        Require(labels.Length == d, $"{OnnxContract.Labels} has {labels.Length} values");
        Require(batchIndices.Length == d, $"{OnnxContract.BatchIndices} has {batchIndices.Length} values");
        Require(resizedSizes.Length % 2 == 0, $"{OnnxContract.ResizedSizes} has an odd length {resizedSizes.Length}");
        if (masks is not null) Require(maskSize > 0 && masks.Length == d * maskSize * maskSize, $"{OnnxContract.Masks} has {masks.Length} values for {maskSize}×{maskSize} masks");
        if (keypointHeatmaps is not null)
        {
            Require(numKeypoints > 0 && heatmapSize > 0 && keypointHeatmaps.Length == (long)d * numKeypoints * heatmapSize * heatmapSize,
                $"{OnnxContract.KeypointHeatmaps} has {keypointHeatmaps.Length} values for {numKeypoints} keypoints of {heatmapSize}×{heatmapSize}");
            Require(networkBoxes is not null && networkBoxes.Length == 4 * d, $"{OnnxContract.NetworkBoxes} is missing or has the wrong length");
        }
        if (semanticScores is not null)
            Require(semanticChannels > 0 && semanticScores.Length == (long)resizedSizes.Length / 2 * semanticChannels * semanticHeight * semanticWidth,
                $"{OnnxContract.SemanticScores} has {semanticScores.Length} values for {resizedSizes.Length / 2} images of {semanticChannels}×{semanticHeight}×{semanticWidth}");
        if (maskBoxes is not null || maskSides is not null)
        {
            Require(masks is not null, $"{OnnxContract.MaskBoxes} and {OnnxContract.MaskSides} come without {OnnxContract.Masks}");
            Require(maskBoxes is not null && maskBoxes.Length == 4 * d, $"{OnnxContract.MaskBoxes} is missing or has the wrong length");
            Require(maskSides is not null && maskSides.Length == d, $"{OnnxContract.MaskSides} is missing or has the wrong length");
        }
        MaskBoxes = maskBoxes;
        MaskSides = maskSides;
        SemanticScores = semanticScores;
        SemanticShape = (semanticChannels, semanticHeight, semanticWidth);
        Masks = masks;
        MaskSize = maskSize;
        KeypointHeatmaps = keypointHeatmaps;
        NetworkBoxes = networkBoxes;
        NumKeypoints = numKeypoints;
        HeatmapSize = heatmapSize;
    }

    /// <summary>[D, 4] boxes in input-image pixels.</summary>
    public float[] Boxes { get; }
    /// <summary>[D] scores.</summary>
    public float[] Scores { get; }
    /// <summary>[D] contiguous labels.</summary>
    public long[] Labels { get; }
    /// <summary>[D] image index of each detection.</summary>
    public long[] BatchIndices { get; }
    /// <summary>[N, 2] resized (height, width) per image.</summary>
    public long[] ResizedSizes { get; }
    /// <summary>[D, 1, M, M] mask probabilities, or null.</summary>
    public float[]? Masks { get; }
    /// <summary>M.</summary>
    public int MaskSize { get; }
    /// <summary>[D, 4] boxes the masks are pasted into with detectron2's paste (TensorMask's windows), or null: the detection boxes,
    /// torchvision's paste.</summary>
    public float[]? MaskBoxes { get; }
    /// <summary>[D] side of each mask within its M × M row, with <see cref="MaskBoxes"/>.</summary>
    public long[]? MaskSides { get; }
    /// <summary>[D, K, S, S] heatmap logits, or null.</summary>
    public float[]? KeypointHeatmaps { get; }
    /// <summary>[D, 4] boxes in the resized image, or null.</summary>
    public float[]? NetworkBoxes { get; }
    /// <summary>K.</summary>
    public int NumKeypoints { get; }
    /// <summary>S.</summary>
    public int HeatmapSize { get; }
    /// <summary>[N, S, h, w] semantic scores at 1/4 of the padded batch, or null.</summary>
    public float[]? SemanticScores { get; }
    /// <summary>(S, h, w) of <see cref="SemanticScores"/>.</summary>
    public (int Channels, int Height, int Width) SemanticShape { get; }

    /// <summary>
    /// Everything one image's outputs make, in its own pixels: the instances (none for a semantic-only model), and with the
    /// panoptic family's <paramref name="panoptic"/> switches the label map and, with instances, the panoptic segmentation
    /// (<see cref="PanopticMerge"/>, as the libtorch model merges them).
    /// </summary>
    public SegmentationResult ToResult(int image, int height, int width, double maskThreshold, PanopticOptions? panoptic)
    {
        Instances? instances = panoptic is { Instances: false } ? null : ToInstances(image, height, width, maskThreshold);
        if (panoptic is null || SemanticScores is null) return new SegmentationResult(instances ?? ToInstances(image, height, width, maskThreshold));
        var things = panoptic.ThingSemanticLabels ?? throw new ArgumentException("the panoptic switches name no thing → semantic labels", nameof(panoptic));
        var semantic = ToSemantic(image, height, width, panoptic.SemanticHead == SemanticHeadKind.None ? things : null, panoptic.ImpCanvasThreshold);
        var merged = instances is null ? null
            : PanopticMerge.Combine(instances, semantic, things, panoptic.PanopticInstanceScore, panoptic.PanopticOverlap, panoptic.PanopticStuffArea);
        return new SegmentationResult(instances, semantic, merged);
    }

    /// <summary>One image's semantic label map in its own pixels (<see cref="SemanticDecoding"/>).</summary>
    /// <param name="image">The image's index in the batch.</param>
    /// <param name="height">The input image's height.</param>
    /// <param name="width">The input image's width.</param>
    /// <param name="canvasLabels">For an IMP canvas (Mask R-CNN-IMP), the semantic label of each thing class; null for logits.</param>
    /// <param name="canvasThreshold">The canvas value below which a pixel is unlabelled.</param>
    /// <exception cref="InvalidOperationException">The graph has no semantic output.</exception>
    public SemanticLabelMap ToSemantic(int image, int height, int width, IReadOnlyList<int>? canvasLabels = null, double canvasThreshold = 0.5)
    {
        if (SemanticScores is null) throw new InvalidOperationException($"the graph has no \"{OnnxContract.SemanticScores}\" output");
        if (image < 0 || 2 * image + 1 >= ResizedSizes.Length)
            throw new ArgumentOutOfRangeException(nameof(image), image, $"the batch has {ResizedSizes.Length / 2} images");
        var (channels, h, w) = SemanticShape;
        return SemanticDecoding.LabelMap(SemanticScores, image, channels, h, w, ((int)ResizedSizes[2 * image], (int)ResizedSizes[2 * image + 1]),
            (height, width), canvasLabels, canvasThreshold);
    }

    /// <summary>One image's detections as <see cref="Instances"/> in its own pixels.</summary>
    /// <param name="image">The image's index in the batch.</param>
    /// <param name="height">The input image's height.</param>
    /// <param name="width">The input image's width.</param>
    /// <param name="maskThreshold">Mask probabilities above this are foreground.</param>
    public Instances ToInstances(int image, int height, int width, double maskThreshold)
    {
        if (image < 0 || 2 * image + 1 >= ResizedSizes.Length)
            throw new ArgumentOutOfRangeException(nameof(image), image, $"the batch has {ResizedSizes.Length / 2} images");
        var rows = new List<int>();
        for (int d = 0; d < Scores.Length; d++)
            if (BatchIndices[d] == image) rows.Add(d);
        int n = rows.Count;
        var boxes = new float[4 * n];
        var labels = new int[n];
        var scores = new float[n];
        for (int i = 0; i < n; i++)
        {
            Array.Copy(Boxes, 4 * rows[i], boxes, 4 * i, 4);
            labels[i] = checked((int)Labels[rows[i]]);
            scores[i] = Scores[rows[i]];
        }
        Rle[]? masks = null;
        if (Masks is not null)
        {
            int cells = MaskSize * MaskSize;
            var selected = new float[n * cells];
            for (int i = 0; i < n; i++) Array.Copy(Masks, rows[i] * cells, selected, i * cells, cells);
            if (MaskBoxes is null) masks = MaskPasting.PasteToRle(selected, MaskSize, boxes, height, width, maskThreshold);
            else
            {
                var pasteBoxes = new float[4 * n];
                var sides = new long[n];
                for (int i = 0; i < n; i++)
                {
                    Array.Copy(MaskBoxes, 4 * rows[i], pasteBoxes, 4 * i, 4);
                    sides[i] = MaskSides![rows[i]];
                }
                masks = MaskPasting.PasteDetectron2ToRle(selected, MaskSize, sides, pasteBoxes, height, width, maskThreshold);
            }
        }
        Keypoints? keypoints = null;
        float[]? keypointScores = null;
        if (KeypointHeatmaps is not null)
        {
            int k = NumKeypoints, cells = HeatmapSize * HeatmapSize;
            var maps = new float[n * k * cells];
            var rois = new float[4 * n];
            for (int i = 0; i < n; i++)
            {
                Array.Copy(KeypointHeatmaps, (long)rows[i] * k * cells, maps, (long)i * k * cells, k * cells);
                Array.Copy(NetworkBoxes!, 4 * rows[i], rois, 4 * i, 4);
            }
            var (points, pointScores) = KeypointDecoding.HeatmapsToKeypoints(maps, k, HeatmapSize, rois);
            KeypointDecoding.ResizeKeypoints(points, (int)ResizedSizes[2 * image], (int)ResizedSizes[2 * image + 1], height, width);
            keypoints = new Keypoints(n, k, points);
            keypointScores = pointScores;
        }
        return new Instances(height, width, Vision.Structures.Boxes.FromXyxy(boxes), labels, scores, masks, keypoints, keypointScores);
    }
}
