using System.Text.Json;

namespace MLNetSeg.Data.Coco;

/// <summary>Checks shared by datasets and results; <c>where</c> is the message prefix naming file and ids.</summary>
internal static class CocoValidation
{
    public static void CheckBox(double[]? box, string where)
    {
        if (box is null) return;
        if (box.Length != 4)
            throw new CocoFormatException($"{where}: 'bbox' must have 4 numbers [x, y, width, height], got {box.Length}");
        foreach (var v in box)
        {
            if (!double.IsFinite(v))
                throw new CocoFormatException($"{where}: 'bbox' must hold finite numbers, got [{string.Join(", ", box)}]");
        }
        if (box[2] < 0 || box[3] < 0)
            throw new CocoFormatException($"{where}: 'bbox' width and height must be non-negative, got width {box[2]}, height {box[3]}");
    }

    /// <summary>An RLE must have the size of its image; polygons are rasterised at the image size and need no check.</summary>
    public static void CheckSegmentationSize(CocoSegmentation? segmentation, CocoImage image, string where)
    {
        (int h, int w) = segmentation switch
        {
            CocoCompressedRle c => (c.Height, c.Width),
            CocoUncompressedRle u => (u.Height, u.Width),
            _ => (image.Height, image.Width),
        };
        if (h != image.Height || w != image.Width)
            throw new CocoFormatException(
                $"{where}: 'segmentation' RLE size [{h}, {w}] does not match the image size [{image.Height}, {image.Width}] (height, width)");
    }

    public static void CheckKeypointTriplets(double[] keypoints, string where)
    {
        if (keypoints.Length % 3 != 0)
            throw new CocoFormatException($"{where}: 'keypoints' must be (x, y, v) triplets, got {keypoints.Length} numbers");
    }

    public static void WriteNumbers(Utf8JsonWriter w, string name, double[] values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }
}
