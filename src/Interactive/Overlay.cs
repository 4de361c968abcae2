using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Interactive;

/// <summary>
/// Something to look at in a notebook: an image with instances (and a semantic map) drawn on it, or, for
/// <see cref="Instances"/> shown alone, on a grey canvas of the image's size. Displays as a PNG.
/// </summary>
public sealed record Overlay(Image Image, SegmentationResult? Result = null, IReadOnlyList<string>? ClassNames = null, string? Caption = null)
{
    /// <summary>Instances scoring below this are not drawn (ground truth, without scores, is drawn whole).</summary>
    public float ScoreThreshold { get; init; } = 0.5f;

    /// <summary>The picture: the semantic map underneath (when there is one and no instances), then masks, boxes, keypoints, labels.</summary>
    public Image Render()
    {
        if (Result is null) return Image;
        if (Result.Instances is null)
            return Result.Semantic is { } semantic ? Visualizer.DrawSemantic(Image, semantic, ClassNames) : Image;
        var instances = Result.Instances.Scores is null ? Result.Instances : Result.Instances.WithMinimumScore(ScoreThreshold);  // ground truth has no scores
        return Visualizer.Draw(Image, instances, ClassNames);
    }

    /// <summary>Instances alone, drawn on a mid-grey canvas of their image's size.</summary>
    public static Overlay Of(Instances instances, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(instances);
        var canvas = new Image(instances.ImageHeight, instances.ImageWidth, 3);
        canvas.Pixels.Fill(128);
        return new Overlay(canvas, new SegmentationResult(instances), classNames) { ScoreThreshold = float.NegativeInfinity };
    }
}
