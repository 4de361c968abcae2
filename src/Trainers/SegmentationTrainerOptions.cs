using MLNetSeg.Data.Loading;
using MLNetSeg.Training;
using MLNetSeg.Transforms;

namespace MLNetSeg.Trainers;

/// <summary>
/// The options of a segmentation trainer in ML.NET's style: the columns it reads (defaults follow
/// ML.NET's object detection — <c>Image</c>, <c>Label</c>, <c>BoundingBoxes</c> — plus ours),
/// what the fitted transformer outputs, and the training itself (<see cref="Training"/>: model
/// family and architecture, optimizer, schedule, data, checkpoints, evaluation, runtime; one record
/// per concern, shared with the typed <see cref="SegmentationTrainer"/> and the CLI).
/// </summary>
public sealed class SegmentationTrainerOptions
{
    /// <summary>The model family, schedule and the rest of training. Required.</summary>
    public required TrainingOptions Training { get; set; }

    /// <summary>The image: <c>MLImage</c> (from <c>LoadImages</c>) or text (a file path; preferred: the loader then reads files in parallel).</summary>
    public string ImageColumnName { get; set; } = SegmentationColumns.Image;

    /// <summary><c>Vector&lt;Key&lt;UInt32&gt;&gt;</c> with the class names as key values.</summary>
    public string LabelColumnName { get; set; } = SegmentationColumns.Label;

    /// <summary><c>Vector&lt;Single&gt;</c>, x0, y0, x1, y1 per object.</summary>
    public string BoundingBoxColumnName { get; set; } = SegmentationColumns.BoundingBoxes;

    /// <summary><c>Vector&lt;Text&gt;</c> of COCO RLE counts per object; needed by mask families, ignored when absent for the others.</summary>
    public string MaskColumnName { get; set; } = SegmentationColumns.Masks;

    /// <summary>Text: the path of each image's label map (8-bit PNG of semantic classes, 255 = ignore); needed by the families with a
    /// semantic head (panoptic), ignored by the others.</summary>
    public string SemanticLabelsColumnName { get; set; } = SegmentationColumns.SemanticLabels;

    /// <summary><c>Vector&lt;Single&gt;</c>, x, y, v per keypoint per object; needed by keypoint families.</summary>
    public string KeypointColumnName { get; set; } = SegmentationColumns.Keypoints;

    /// <summary><c>Vector&lt;Boolean&gt;</c> per object (optional): crowd regions are ignored in training, as in torchvision.</summary>
    public string IsCrowdColumnName { get; set; } = SegmentationColumns.IsCrowd;

    /// <summary>Int32 image width (optional: read from the image when absent).</summary>
    public string WidthColumnName { get; set; } = SegmentationColumns.Width;

    /// <summary>Int32 image height (optional: read from the image when absent).</summary>
    public string HeightColumnName { get; set; } = SegmentationColumns.Height;

    /// <summary>What the fitted transformer outputs (column names, score threshold, batch size).</summary>
    public SegmentationScoringSettings Scoring { get; set; } = new();

    /// <summary>
    /// How rows become training samples (crowd handling, images without objects, keypoint schema);
    /// by default images without objects are left out of training, as torchvision's reference scripts do.
    /// </summary>
    public DetectionDatasetOptions Dataset { get; set; } = new() { RemoveImagesWithoutAnnotations = true };

    /// <summary>Also print progress on the console (besides <c>MLContext.Log</c>).</summary>
    public bool ConsoleProgress { get; set; } = true;
}
