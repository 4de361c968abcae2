using System.Runtime.InteropServices;
using MLNetSeg.Vision.Imaging;
using SkiaSharp;

namespace MLNetSeg.Onnx.Imaging;

/// <summary>
/// Decodes image files with SkiaSharp into 8-bit RGB <see cref="Image"/>s, for the ONNX Runtime
/// path, which must not load libtorch (whose shim holds the OpenCV decoder <see cref="ImageIO"/> uses).
/// </summary>
/// <remarks>
/// <para>Reads whatever Skia reads (JPEG, PNG, BMP, GIF's first frame, WebP, ICO, WBMP). The
/// result always has 3 channels: grey is replicated and alpha is dropped without compositing,
/// as <see cref="ImageIO"/> followed by <see cref="Image.ToRgb"/> gives. No colour management is
/// applied (ICC profiles and PNG gamma are ignored, as OpenCV ignores them), and JPEG EXIF
/// orientation is applied to JPEGs only, since <see cref="ImageIO"/> applies it to JPEGs only.</para>
/// <para>PNG and the other lossless formats decode to the same pixels as <see cref="ImageIO"/>;
/// JPEGs go through Skia's own libjpeg-turbo, whose pixels matched OpenCV's exactly on the test
/// images (MLNetSeg.Onnx.Tests measures the difference). Unlike <see cref="ImageIO"/>, 16-bit PNGs
/// are accepted: Skia keeps each sample's high byte (libpng's strip_16).</para>
/// </remarks>
public static class SkiaImageDecoder
{
    /// <summary>Reads and decodes an image file; every failure, a missing file included, is an
    /// <see cref="InvalidImageException"/> naming <paramref name="path"/>.</summary>
    /// <param name="path">The file to read.</param>
    /// <returns>The image as 8-bit RGB (3 channels).</returns>
    /// <exception cref="InvalidImageException">The file is missing or unreadable, empty, not an image, truncated or corrupt.</exception>
    public static Image Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InvalidImageException(path, "file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new InvalidImageException(path, $"cannot read the file: {e.Message}", e);
        }
        return Decode(bytes, path);
    }

    /// <summary>Decodes an encoded image held in memory.</summary>
    /// <param name="bytes">The file's bytes.</param>
    /// <param name="name">Names the data in error messages (a file name or URL).</param>
    /// <returns>The image as 8-bit RGB (3 channels).</returns>
    /// <exception cref="InvalidImageException">The data is empty, not an image Skia reads, truncated or corrupt, or
    /// larger than <see cref="ImageSizeGuard"/> allows.</exception>
    public static unsafe Image Decode(ReadOnlySpan<byte> bytes, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (bytes.IsEmpty) throw new InvalidImageException(name, "the file is empty");
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data);
        if (codec is null)
            throw new InvalidImageException(name, $"not an image format SkiaSharp can decode (starts with {Convert.ToHexString(bytes[..Math.Min(8, bytes.Length)])})");
        var format = codec.EncodedFormat;
        int width = codec.Info.Width, height = codec.Info.Height;
        ImageSizeGuard.Check(width, height, name, format.ToString());

        // Unpremultiplied RGBA and no colour space: the stored samples, neither premultiplied by
        // alpha nor colour-converted. The RGBA scratch is zeroed native memory that Skia is told not
        // to clear: a truncated file's missing rows are never touched, so a few bytes claiming a large
        // image cost nothing before they are rejected; the managed result is allocated once decoded.
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        long pixels = (long)width * height;
        byte* rgba = (byte*)NativeMemory.AllocZeroed((nuint)(pixels * 4));
        try
        {
            var result = codec.GetPixels(info, (IntPtr)rgba, new SKCodecOptions(SKZeroInitialized.Yes));
            if (result == SKCodecResult.IncompleteInput)
                throw new InvalidImageException(name, $"truncated {format} (the data ends before the image does)");
            if (result != SKCodecResult.Success)
                throw new InvalidImageException(name, $"cannot decode {format}: {result}");

            var rgb = new byte[pixels * 3];
            for (long i = 0; i < pixels; i++)
            {
                rgb[3 * i] = rgba[4 * i];
                rgb[3 * i + 1] = rgba[4 * i + 1];
                rgb[3 * i + 2] = rgba[4 * i + 2];
            }
            var origin = format == SKEncodedImageFormat.Jpeg ? codec.EncodedOrigin : SKEncodedOrigin.TopLeft;
            return Orient(rgb, height, width, origin);
        }
        finally
        {
            NativeMemory.Free(rgba);
        }
    }

    /// <summary>
    /// Applies an EXIF orientation to RGB pixels, as OpenCV's ApplyExifOrientation does: flips for
    /// 2, 3, 4 and a transpose followed by no flip, a horizontal, a double or a vertical flip for
    /// 5, 6, 7 and 8.
    /// </summary>
    internal static Image Orient(byte[] rgb, int height, int width, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft || (int)origin is < 1 or > 8) return new Image(height, width, 3, rgb);
        bool transpose = (int)origin >= 5;
        int outHeight = transpose ? width : height, outWidth = transpose ? height : width;
        // After the optional transpose, (flipX, flipY) per orientation.
        (bool flipX, bool flipY) = origin switch
        {
            SKEncodedOrigin.TopRight => (true, false),      // 2
            SKEncodedOrigin.BottomRight => (true, true),    // 3
            SKEncodedOrigin.BottomLeft => (false, true),    // 4
            SKEncodedOrigin.LeftTop => (false, false),      // 5: transpose
            SKEncodedOrigin.RightTop => (true, false),      // 6: transpose, flip horizontally (90° clockwise)
            SKEncodedOrigin.RightBottom => (true, true),    // 7: transpose, flip both
            _ => (false, true),                             // 8: transpose, flip vertically (90° counter-clockwise)
        };
        var output = new byte[rgb.Length];
        for (int y = 0; y < outHeight; y++)
        {
            int ty = flipY ? outHeight - 1 - y : y;  // the row in the transposed (or untouched) image
            for (int x = 0; x < outWidth; x++)
            {
                int tx = flipX ? outWidth - 1 - x : x;
                int sy = transpose ? tx : ty, sx = transpose ? ty : tx;
                long from = 3 * ((long)sy * width + sx), to = 3 * ((long)y * outWidth + x);
                output[to] = rgb[from];
                output[to + 1] = rgb[from + 1];
                output[to + 2] = rgb[from + 2];
            }
        }
        return new Image(outHeight, outWidth, 3, output);
    }
}
