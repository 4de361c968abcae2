namespace MLNetSeg.Vision.Structures;

/// <summary>One box in image pixels, <c>(X1, Y1)</c> the top-left and <c>(X2, Y2)</c> the bottom-right corner
/// in continuous coordinates (torchvision's xyxy; ML.NET's x0, y0, x1, y1).</summary>
/// <param name="X1">Left edge.</param>
/// <param name="Y1">Top edge.</param>
/// <param name="X2">Right edge.</param>
/// <param name="Y2">Bottom edge.</param>
public readonly record struct Box(float X1, float Y1, float X2, float Y2)
{
    /// <summary>X2 − X1.</summary>
    public float Width => X2 - X1;

    /// <summary>Y2 − Y1.</summary>
    public float Height => Y2 - Y1;

    /// <summary>Width · Height, computed as torchvision's <c>box_area</c> (negative for an inverted box).</summary>
    public float Area => (X2 - X1) * (Y2 - Y1);
}

/// <summary>One keypoint of one instance.</summary>
/// <param name="X">Horizontal position in image pixels.</param>
/// <param name="Y">Vertical position in image pixels.</param>
/// <param name="Visibility">COCO visibility: 0 not labelled, 1 labelled but hidden, 2 visible (predictions carry 1).</param>
/// <param name="Score">The model's confidence (torchvision's <c>keypoints_scores</c>, a heatmap logit); null for ground truth.</param>
public readonly record struct Keypoint(float X, float Y, float Visibility, float? Score);

/// <summary>
/// One row of an <see cref="Instances"/>: what <c>instances[i]</c> gives. Fields the instances
/// do not carry are null.
/// </summary>
/// <param name="Box">The box in image pixels.</param>
/// <param name="Label">Contiguous class index (0 is background).</param>
/// <param name="Score">Confidence; null for ground truth (every model's predictions have it).</param>
/// <param name="Mask">Full-image binary mask as COCO RLE; null without a mask head.</param>
/// <param name="Keypoints">The K keypoints; null without a keypoint head.</param>
public sealed record Instance(Box Box, int Label, float? Score, Rle? Mask, IReadOnlyList<Keypoint>? Keypoints);
