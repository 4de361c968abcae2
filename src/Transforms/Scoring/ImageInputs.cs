using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Transforms.Scoring;

/// <summary>The two kinds of image column a transformer reads.</summary>
internal enum ImageColumnKind
{
    /// <summary><c>MLImage</c>, from <c>mlContext.Transforms.LoadImages</c>.</summary>
    MLImage,
    /// <summary>Text: a file path, read with MLNetSeg's decoder.</summary>
    Path,
}

/// <summary>Reading images out of ML.NET columns: type checks with clear messages and MLImage → <see cref="Image"/>.</summary>
internal static class ImageInputs
{
    /// <summary>What kind of image column <paramref name="name"/> is in <paramref name="schema"/>; throws naming the column when it is missing or of another type.</summary>
    public static ImageColumnKind Check(DataViewSchema schema, string name, string role = "image")
    {
        if (schema.GetColumnOrNull(name) is not { } column)
            throw new ArgumentOutOfRangeException(nameof(schema),
                $"the {role} column '{name}' is not in the input (columns: {string.Join(", ", schema.Select(c => c.Name))})");
        return Kind(column.Type)
            ?? throw new ArgumentOutOfRangeException(nameof(schema),
                $"the {role} column '{name}' has type {column.Type}; expected an image (MLImage, from mlContext.Transforms.LoadImages) or text (an image file path)");
    }

    /// <summary>The kind an ML.NET column type gives, or null when it is neither an image nor text.</summary>
    public static ImageColumnKind? Kind(DataViewType type) => type switch
    {
        ImageDataViewType => ImageColumnKind.MLImage,
        TextDataViewType => ImageColumnKind.Path,
        _ => null,
    };

    /// <summary>A 3-channel RGB copy of <paramref name="image"/> (alpha dropped, as PIL's <c>convert("RGB")</c>).</summary>
    public static Image FromMLImage(MLImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var pixels = image.Pixels;
        int h = image.Height, w = image.Width;
        if (pixels.Length < h * w * 4) throw new InvalidOperationException($"MLImage {w}x{h}: {pixels.Length} bytes of pixels, expected {h * w * 4}");
        var (r, b) = image.PixelFormat switch
        {
            MLPixelFormat.Bgra32 => (2, 0),
            MLPixelFormat.Rgba32 => (0, 2),
            var other => throw new NotSupportedException($"MLImage pixel format {other} is not supported (Bgra32 and Rgba32 are)"),
        };
        var rgb = new byte[h * w * 3];
        for (int i = 0, o = 0; o < rgb.Length; i += 4, o += 3)
        {
            rgb[o] = pixels[i + r];
            rgb[o + 1] = pixels[i + 1];
            rgb[o + 2] = pixels[i + b];
        }
        return new Image(h, w, 3, rgb);
    }

    /// <summary>Reads the image at <paramref name="path"/>; errors name the file (the caller adds the row).</summary>
    public static Image ReadFile(string path)
    {
        if (string.IsNullOrEmpty(path)) throw new InvalidDataException("the image path is empty");
        try
        {
            var image = ImageIO.Read(path);
            return image.Channels == 3 ? image : image.ToRgb();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"cannot read image '{path}': {e.Message}", e);
        }
    }
}
