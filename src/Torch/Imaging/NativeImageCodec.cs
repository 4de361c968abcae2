using MLNetSeg.Torch.Native;

namespace MLNetSeg.Torch.Imaging;

/// <summary>Pixels decoded by OpenCV: HWC uint8, RGB(A) order (1 = grey, 3 = RGB, 4 = RGBA).</summary>
/// <param name="Pixels">Height × Width × Channels bytes, row by row, channels interleaved.</param>
/// <param name="Height">Rows.</param>
/// <param name="Width">Columns.</param>
/// <param name="Channels">1 (grey), 3 (RGB) or 4 (RGBA).</param>
public sealed record NativeImagePixels(byte[] Pixels, int Height, int Width, int Channels);

/// <summary>OpenCV interpolation codes understood by <see cref="NativeImageCodec.Resize"/>.</summary>
public enum NativeInterpolation
{
    /// <summary>cv::INTER_NEAREST: the nearest source pixel.</summary>
    Nearest = 0,
    /// <summary>cv::INTER_LINEAR: bilinear interpolation.</summary>
    Linear = 1,
    /// <summary>cv::INTER_CUBIC: bicubic interpolation over 4 × 4 pixels.</summary>
    Cubic = 2,
    /// <summary>cv::INTER_AREA: pixel-area averaging, the best choice for shrinking.</summary>
    Area = 3,
}

/// <summary>
/// Public face of the shim's OpenCV image functions (src/Native/src/image.cpp), so that
/// MLNetSeg.Vision can decode, encode and resize without seeing the internal P/Invoke table.
/// Failures surface as <see cref="TorchException"/> carrying OpenCV's or the shim's message.
/// </summary>
public static unsafe class NativeImageCodec
{
    /// <summary>Decodes an encoded image (JPEG, PNG, or anything OpenCV reads) into a managed copy
    /// of its pixels.</summary>
    /// <param name="encoded">The file's bytes; empty or undecodable data throws <see cref="TorchException"/>.</param>
    /// <param name="forceRgb">false keeps the file's channels (grey/RGB/RGBA); true always gives RGB.
    /// JPEG EXIF orientation is applied either way.</param>
    public static NativeImagePixels Decode(ReadOnlySpan<byte> encoded, bool forceRgb = false)
    {
        if (encoded.IsEmpty) throw new TorchException("cannot decode an empty byte buffer");
        byte* pixels = null;
        int h, w, c;
        fixed (byte* src = encoded)
            NativeMethods.Check(NativeMethods.mls_image_decode(src, encoded.Length, forceRgb ? 1 : 0, &pixels, &h, &w, &c));
        try
        {
            var managed = new byte[checked(h * w * c)];
            new ReadOnlySpan<byte>(pixels, managed.Length).CopyTo(managed);
            return new NativeImagePixels(managed, h, w, c);
        }
        finally { NativeMethods.mls_free((IntPtr)pixels); }
    }

    /// <summary>Encodes HWC uint8 RGB(A)/grey pixels as a PNG file image.</summary>
    public static byte[] EncodePng(ReadOnlySpan<byte> pixels, int height, int width, int channels)
    {
        CheckLayout(pixels.Length, height, width, channels, nameof(pixels));
        byte* output = null;
        long n;
        fixed (byte* src = pixels)
            NativeMethods.Check(NativeMethods.mls_image_encode_png(src, height, width, channels, &output, &n));
        try { return new ReadOnlySpan<byte>(output, checked((int)n)).ToArray(); }
        finally { NativeMethods.mls_free((IntPtr)output); }
    }

    /// <summary>cv::resize of HWC uint8 pixels into <paramref name="destination"/>
    /// (outHeight × outWidth × channels).</summary>
    public static void Resize(ReadOnlySpan<byte> source, int height, int width, int channels,
        Span<byte> destination, int outHeight, int outWidth, NativeInterpolation interpolation)
    {
        CheckLayout(source.Length, height, width, channels, nameof(source));
        CheckLayout(destination.Length, outHeight, outWidth, channels, nameof(destination));
        if (height == 0 || width == 0 || outHeight == 0 || outWidth == 0)
            throw new ArgumentException($"cannot resize {height}x{width} to {outHeight}x{outWidth}: sizes must be positive");
        fixed (byte* src = source)
        fixed (byte* dst = destination)
            NativeMethods.Check(NativeMethods.mls_image_resize(src, height, width, channels, dst, outHeight, outWidth, (int)interpolation));
    }

    private static void CheckLayout(int length, int height, int width, int channels, string name)
    {
        if (height < 0 || width < 0) throw new ArgumentException($"negative image size {height}x{width}", name);
        if (channels is not (1 or 3 or 4)) throw new ArgumentException($"channels must be 1, 3 or 4, got {channels}", name);
        if ((long)height * width * channels != length)
            throw new ArgumentException($"{name} holds {length} bytes, but {height}x{width}x{channels} needs {(long)height * width * channels}", name);
    }
}
