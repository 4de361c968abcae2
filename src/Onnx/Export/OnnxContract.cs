namespace MLNetSeg.Onnx;

/// <summary>
/// The interface of every graph the exporter writes, shared by the exporter, the ONNX Runtime
/// predictor and the ML.NET post-processing transformer.
/// </summary>
/// <remarks>
/// <para>Inputs. <c>images</c>: float32 [N, L], one row per image: its pixels as RGB planes
/// (C, H, W order, values 0–255, as ML.NET's ExtractPixels writes them), followed by zeros up to the
/// longest row. <c>image_sizes</c>: int64 [N, 2], each image's (height, width). Flat rows rather than
/// [N, 3, H, W] because ML.NET's ApplyOnnxModel feeds at most one dimension of unknown size, and
/// images of different sizes share a batch without a padded pixel reaching the network: the graph
/// crops, normalises and resizes each image itself.</para>
/// <para>Outputs, one row per detection over the whole batch, grouped by image (ascending) and by
/// decreasing score within an image: <c>boxes</c> float32 [D, 4] (x1, y1, x2, y2) in the input
/// image's pixels, <c>scores</c> float32 [D], <c>labels</c> int64 [D] (contiguous class indices,
/// 0 = background never appears), <c>batch_indices</c> int64 [D] (the image each detection belongs
/// to), and <c>resized_sizes</c> int64 [N, 2] (the size each image was resized to inside the graph).
/// Mask models add <c>masks</c> float32 [D, 1, M, M], the mask probabilities of the detection's
/// class on its box (M = 28 for Mask R-CNN). Keypoint models add <c>keypoint_heatmaps</c> float32
/// [D, K, S, S] (logits, S = 56) and <c>network_boxes</c> float32 [D, 4] (the boxes in the resized image
/// the heatmaps were pooled from). Semantic models (the panoptic family) add <c>semantic_scores</c> float32 [N, S, h, w]: the
/// semantic prediction at 1/4 of the padded batch (h = padded height / 4), class logits, or for Mask R-CNN-IMP the IMP canvas (one
/// channel per thing class, values in [0, 1]); a semantic-only model's detection outputs are empty.</para>
/// <para>Pasting masks into the image and decoding heatmaps into keypoints happen after the graph,
/// in C# (MLNetSeg.Onnx.PostProcessing): both resize each detection's map to its own box size, which
/// in ONNX needs a Loop of per-detection Resize nodes, while the C# paste touches only each box's pixels
/// and writes the RLE directly; and the 28×28 masks are far smaller to return than image-sized ones. Likewise the semantic scores are upsampled to each image
/// and turned into a label map (and, with instances, a panoptic segmentation) in C#.</para>
/// </remarks>
public static class OnnxContract
{
    /// <summary>The flat image rows, float32 [N, L].</summary>
    public const string Images = "images";
    /// <summary>Each image's (height, width), int64 [N, 2].</summary>
    public const string ImageSizes = "image_sizes";

    /// <summary>Detection boxes in input-image pixels, float32 [D, 4].</summary>
    public const string Boxes = "boxes";
    /// <summary>Detection scores, float32 [D].</summary>
    public const string Scores = "scores";
    /// <summary>Contiguous class indices, int64 [D].</summary>
    public const string Labels = "labels";
    /// <summary>The image index of each detection, int64 [D].</summary>
    public const string BatchIndices = "batch_indices";
    /// <summary>The size each image was resized to inside the network, int64 [N, 2].</summary>
    public const string ResizedSizes = "resized_sizes";
    /// <summary>Mask probabilities on each detection's box, float32 [D, 1, M, M].</summary>
    public const string Masks = "masks";
    /// <summary>The boxes the masks are pasted into, in input-image pixels, float32 [D, 4], when they are not the detection boxes
    /// (TensorMask: each detection's sliding window). Graphs with this output paste as detectron2 does (<see cref="MaskPasteKey"/>).</summary>
    public const string MaskBoxes = "mask_boxes";
    /// <summary>The side of each detection's mask, int64 [D], when masks differ in size: mask d is the top-left side × side of its
    /// M × M row, the rest zeros (TensorMask: the side depends on the window's size and level).</summary>
    public const string MaskSides = "mask_sides";
    /// <summary>Keypoint heatmap logits, float32 [D, K, S, S].</summary>
    public const string KeypointHeatmaps = "keypoint_heatmaps";
    /// <summary>Detection boxes in the resized image (what the heatmaps were pooled from), float32 [D, 4].</summary>
    public const string NetworkBoxes = "network_boxes";

    /// <summary>Semantic scores at 1/4 of the padded batch, float32 [N, S, h, w].</summary>
    public const string SemanticScores = "semantic_scores";

    /// <summary>Metadata key: the model family's name ("maskrcnn").</summary>
    public const string FamilyKey = "mlnetseg.family";
    /// <summary>Metadata key: the model file's header JSON (classes, keypoint schema, thresholds) the post-processing reads.</summary>
    public const string ModelInfoKey = "mlnetseg.model_info";
    /// <summary>Metadata key: the probability above which a mask pixel is foreground (the model's MaskThreshold).</summary>
    public const string MaskThresholdKey = "mlnetseg.mask_threshold";
    /// <summary>Metadata key: how masks are pasted, "torchvision" (absent: the default) or "detectron2" (grid sampling of the mask over
    /// its box, no padding: TensorMask).</summary>
    public const string MaskPasteKey = "mlnetseg.mask_paste";
    /// <summary>Metadata key: the version of this interface; bumped when inputs or outputs change meaning.</summary>
    public const string ContractVersionKey = "mlnetseg.onnx_contract";
    /// <summary>The newest version of this interface, the one this build reads. Version 2 adds <see cref="MaskBoxes"/>,
    /// <see cref="MaskSides"/> and <see cref="MaskPasteKey"/>; the exporter writes it only for graphs that have them (TensorMask), so
    /// that an older reader refuses them rather than pasting their masks wrongly, and still reads every other export.</summary>
    public const int ContractVersion = 2;
}
