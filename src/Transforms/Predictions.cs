using Microsoft.ML.Data;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Transforms;

/// <summary>PredictionEngine input: an image already loaded (column <c>Image</c>, <c>MLImage</c>).</summary>
public sealed class SegmentationImageInput
{
    /// <summary>The image; the caller owns and disposes it.</summary>
    [ColumnName(SegmentationColumns.Image)]
    public MLImage? Image { get; set; }
}

/// <summary>PredictionEngine input: an image file (column <c>Image</c>, text).</summary>
public sealed class SegmentationPathInput
{
    /// <summary>The image file's path.</summary>
    [ColumnName(SegmentationColumns.Image)]
    public string Image { get; set; } = "";
}

/// <summary>
/// PredictionEngine output of any instance model: the detections' classes, scores and boxes
/// (ML.NET object detection's output columns). Key values are 1-based class indices into the
/// model's <c>ClassNames</c>.
/// </summary>
public class DetectionPrediction
{
    /// <summary>Class per detection (key: 1 = the first class after the background).</summary>
    [ColumnName(SegmentationColumns.PredictedLabel)]
    public uint[] PredictedLabel { get; set; } = Array.Empty<uint>();

    /// <summary>Score per detection, decreasing.</summary>
    [ColumnName(SegmentationColumns.Score)]
    public float[] Score { get; set; } = Array.Empty<float>();

    /// <summary>x0, y0, x1, y1 per detection, in pixels.</summary>
    [ColumnName(SegmentationColumns.PredictedBoundingBoxes)]
    public float[] PredictedBoundingBoxes { get; set; } = Array.Empty<float>();

    /// <summary>The number of detections.</summary>
    public int Count => Score.Length;

    /// <summary>The detections as typed <see cref="Instances"/> of an image of the given size (boxes, labels, scores, and masks/keypoints where the class has them).</summary>
    public virtual Instances ToInstances(int imageHeight, int imageWidth) =>
        new(imageHeight, imageWidth, Boxes.FromXyxy(PredictedBoundingBoxes.ToArray()), PredictedLabel.Select(l => (int)l).ToArray(), Score.ToArray());
}

/// <summary>PredictionEngine output of a mask model (Mask R-CNN, MaskLab, TensorMask): detections with masks.</summary>
public class SegmentationPrediction : DetectionPrediction
{
    /// <summary>Mask per detection (COCO RLE counts at the image's size; <see cref="MaskEncoding"/> decodes).</summary>
    [ColumnName(SegmentationColumns.PredictedMasks)]
    public string[] PredictedMasks { get; set; } = Array.Empty<string>();

    /// <inheritdoc/>
    public override Instances ToInstances(int imageHeight, int imageWidth) =>
        new(imageHeight, imageWidth, Boxes.FromXyxy(PredictedBoundingBoxes.ToArray()), PredictedLabel.Select(l => (int)l).ToArray(), Score.ToArray(),
            PredictedMasks.Select(m => MaskEncoding.Decode(m, imageHeight, imageWidth)).ToArray());
}

/// <summary>PredictionEngine output of a keypoint model (Keypoint R-CNN): detections with keypoints.</summary>
public class KeypointPrediction : DetectionPrediction
{
    /// <summary>x, y, score per keypoint per detection.</summary>
    [ColumnName(SegmentationColumns.PredictedKeypoints)]
    public float[] PredictedKeypoints { get; set; } = Array.Empty<float>();
}
