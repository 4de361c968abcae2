using System.Text.Json;

namespace MLNetSeg.Data.Coco;

/// <summary>
/// Checks shared by datasets and results. Each returns the problem ("'bbox' must …") or null, so
/// callers only build their "file: annotation 17 (image 3)" prefix when something is wrong.
/// </summary>
internal static class CocoValidation
{
    public static string? BoxProblem(double[]? box)
    {
        if (box is null) return null;
        if (box.Length != 4)
            return $"'bbox' must have 4 numbers [x, y, width, height], got {box.Length}";
        foreach (var v in box)
        {
            if (!double.IsFinite(v))
                return $"'bbox' must hold finite numbers, got [{string.Join(", ", box)}]";
        }
        if (box[2] < 0 || box[3] < 0)
            return $"'bbox' width and height must be non-negative, got width {box[2]}, height {box[3]}";
        return null;
    }

    /// <summary>An RLE must have the size of its image; polygons are rasterised at the image size and need no check.</summary>
    public static string? SegmentationSizeProblem(CocoSegmentation? segmentation, CocoImage image)
    {
        (int h, int w) = segmentation switch
        {
            CocoCompressedRle c => (c.Height, c.Width),
            CocoUncompressedRle u => (u.Height, u.Width),
            _ => (image.Height, image.Width),
        };
        return h == image.Height && w == image.Width
            ? null
            : $"'segmentation' RLE size [{h}, {w}] does not match the image size [{image.Height}, {image.Width}] (height, width)";
    }

    public static string? KeypointTripletsProblem(double[]? keypoints) =>
        keypoints is null || keypoints.Length % 3 == 0 ? null : $"'keypoints' must be (x, y, v) triplets, got {keypoints.Length} numbers";

    public static void WriteNumbers(Utf8JsonWriter w, string name, double[] values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }
}
