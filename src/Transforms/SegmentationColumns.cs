namespace MLNetSeg.Transforms;

/// <summary>
/// The column contract of MLNetSeg's ML.NET components: default column names and what each holds.
/// Names and layouts follow ML.NET's own object detection (<c>Microsoft.ML.TorchSharp</c>'s
/// <c>ObjectDetection</c> trainer: <c>Image</c>, <c>Label</c>, <c>BoundingBoxes</c>,
/// <c>PredictedLabel</c>, <c>Score</c>, <c>PredictedBoundingBoxes</c>) and add masks, keypoints and
/// semantic label maps. Every vector is variable-length: one entry (or a fixed group of entries) per
/// object, objects in the same order in every column of a row.
/// </summary>
public static class SegmentationColumns
{
    // ---- inputs -------------------------------------------------------------------------------

    /// <summary>The image: an <c>MLImage</c> (from <c>mlContext.Transforms.LoadImages</c>) or text (a file path).</summary>
    public const string Image = "Image";

    /// <summary>Text: the image file's full path (what <c>LoadFromCoco</c> gives; <c>LoadImages</c> reads it).</summary>
    public const string ImagePath = "ImagePath";

    /// <summary>Int32: the image's width in pixels, as the annotation file gives it.</summary>
    public const string Width = "Width";

    /// <summary>Int32: the image's height in pixels, as the annotation file gives it.</summary>
    public const string Height = "Height";

    /// <summary>Int64: the COCO image id (the link back to the annotation file and to COCO results).</summary>
    public const string ImageId = "ImageId";

    /// <summary>
    /// <c>Vector&lt;Key&lt;UInt32&gt;&gt;</c>, one per object. The key's values (the "KeyValues"
    /// annotation) are the class names without the background; key k (1-based, as ML.NET's keys)
    /// is the model's label k, whose name is <c>ClassNames[k]</c> of a trained model.
    /// </summary>
    public const string Label = "Label";

    /// <summary><c>Vector&lt;Single&gt;</c>, four per object: x0, y0, x1, y1 in pixels (ML.NET's object-detection layout).</summary>
    public const string BoundingBoxes = "BoundingBoxes";

    /// <summary>
    /// <c>Vector&lt;Text&gt;</c>, one per object: the object's mask as a COCO compressed RLE
    /// <c>counts</c> string (pycocotools' encoding, column-major) at the image's full size
    /// (<see cref="Height"/> × <see cref="Width"/>, or the image's size). Decode with
    /// <see cref="MaskEncoding"/>.
    /// </summary>
    public const string Masks = "Masks";

    /// <summary>
    /// <c>Vector&lt;Single&gt;</c>, 3·K per object: x, y, v per keypoint (COCO's layout; v = 0 not
    /// labelled, 1 labelled but hidden, 2 visible). The keypoint names are the column's
    /// <see cref="KeypointNamesAnnotation"/> annotation.
    /// </summary>
    public const string Keypoints = "Keypoints";

    /// <summary><c>Vector&lt;Boolean&gt;</c>, one per object: COCO's <c>iscrowd</c>.</summary>
    public const string IsCrowd = "IsCrowd";

    /// <summary><c>Vector&lt;Double&gt;</c>, one per object: COCO's <c>area</c> (the mask's area; used by the evaluation's area ranges).</summary>
    public const string Area = "Area";

    /// <summary>Text: the path of the image's semantic label map (a PNG of class indices; 255 = ignore).</summary>
    public const string SemanticLabels = "SemanticLabels";

    // ---- outputs ------------------------------------------------------------------------------

    /// <summary><c>Vector&lt;Key&lt;UInt32&gt;&gt;</c>, one per detection, with the class names as key values (keys as <see cref="Label"/>).</summary>
    public const string PredictedLabel = "PredictedLabel";

    /// <summary><c>Vector&lt;Single&gt;</c>, one per detection: its score, detections in decreasing score.</summary>
    public const string Score = "Score";

    /// <summary><c>Vector&lt;Single&gt;</c>, four per detection: x0, y0, x1, y1 in pixels of the input image.</summary>
    public const string PredictedBoundingBoxes = "PredictedBoundingBoxes";

    /// <summary><c>Vector&lt;Text&gt;</c>, one per detection: its binary mask at the input image's size, as <see cref="Masks"/>.</summary>
    public const string PredictedMasks = "PredictedMasks";

    /// <summary><c>Vector&lt;Single&gt;</c>, 3·K per detection: x, y, score per keypoint (as the keypoint head predicts them).</summary>
    public const string PredictedKeypoints = "PredictedKeypoints";

    /// <summary><c>Vector&lt;UInt16&gt;</c> of Height·Width, row-major: the predicted class per pixel (semantic models).</summary>
    public const string PredictedSemanticLabels = "PredictedSemanticLabels";

    // ---- annotations --------------------------------------------------------------------------

    /// <summary>Annotation on a keypoint column: <c>Vector&lt;Text&gt;</c> of the K keypoint names.</summary>
    public const string KeypointNamesAnnotation = "KeypointNames";
}
