using MLNetSeg.Torch.Imaging;

namespace MLNetSeg.Vision.Imaging;

/// <summary>How <see cref="Image.Resize"/> samples (OpenCV's cv::resize modes).</summary>
public enum Interpolation
{
    /// <summary>Nearest neighbour (<c>INTER_NEAREST</c>); keeps values exactly, e.g. for label maps.</summary>
    Nearest = 0,

    /// <summary>Bilinear (<c>INTER_LINEAR</c>), the default.</summary>
    Linear = 1,

    /// <summary>Bicubic over 4×4 neighbourhoods (<c>INTER_CUBIC</c>).</summary>
    Cubic = 2,

    /// <summary>Pixel-area averaging (<c>INTER_AREA</c>); the better choice for shrinking.</summary>
    Area = 3,
}

/// <summary>
/// An 8-bit image held as HWC bytes: 1 channel (grey), 3 (RGB) or 4 (RGBA), row-major,
/// channels interleaved. The pixel buffer is owned by the image and mutable (drawing writes
/// into it); use <see cref="Clone"/> to keep an original.
/// </summary>
public sealed class Image
{
    private readonly byte[] _pixels;

    /// <summary>A black (all-zero) image.</summary>
    /// <param name="height">Rows, at least 0.</param>
    /// <param name="width">Columns, at least 0.</param>
    /// <param name="channels">1 (grey), 3 (RGB) or 4 (RGBA).</param>
    /// <exception cref="ArgumentOutOfRangeException">A negative size, another channel count, or more bytes than an array can hold.</exception>
    public Image(int height, int width, int channels)
        : this(height, width, channels, new byte[CheckedLength(height, width, channels)]) { }

    /// <summary>Wraps <paramref name="pixels"/> (HWC, not copied).</summary>
    /// <param name="height">Rows, at least 0.</param>
    /// <param name="width">Columns, at least 0.</param>
    /// <param name="channels">1 (grey), 3 (RGB) or 4 (RGBA).</param>
    /// <param name="pixels">Exactly <c>height · width · channels</c> bytes, row-major with channels interleaved; the image writes through to them.</param>
    /// <exception cref="ArgumentException"><paramref name="pixels"/> has the wrong length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A negative size or another channel count.</exception>
    public Image(int height, int width, int channels, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        long needed = CheckedLength(height, width, channels);
        if (pixels.Length != needed)
            throw new ArgumentException($"a {height}x{width}x{channels} image needs {needed} bytes, got {pixels.Length}", nameof(pixels));
        Height = height;
        Width = width;
        Channels = channels;
        _pixels = pixels;
    }

    /// <summary>Number of rows (pixels).</summary>
    public int Height { get; }

    /// <summary>Number of columns (pixels).</summary>
    public int Width { get; }

    /// <summary>1 = grey, 3 = RGB, 4 = RGBA.</summary>
    public int Channels { get; }

    /// <summary>The HWC pixel bytes (writable).</summary>
    public Span<byte> Pixels => _pixels;

    /// <summary>Direct access to the backing array (HWC), e.g. to hand it to a tensor.</summary>
    public byte[] PixelArray => _pixels;

    /// <summary>One byte of the image: <paramref name="channel"/> of the pixel at row <paramref name="y"/>, column <paramref name="x"/>.</summary>
    /// <param name="y">Row, in [0, <see cref="Height"/>).</param>
    /// <param name="x">Column, in [0, <see cref="Width"/>).</param>
    /// <param name="channel">Channel, in [0, <see cref="Channels"/>): R, G, B, A order for colour images.</param>
    /// <exception cref="IndexOutOfRangeException">An index is outside the image.</exception>
    public byte this[int y, int x, int channel]
    {
        get => _pixels[Offset(y, x, channel)];
        set => _pixels[Offset(y, x, channel)] = value;
    }

    /// <summary>The <see cref="Channels"/> bytes of one pixel.</summary>
    public Span<byte> Pixel(int y, int x) => _pixels.AsSpan(Offset(y, x, 0), Channels);

    /// <summary>A deep copy: same size and channels, its own pixel buffer.</summary>
    public Image Clone() => new(Height, Width, Channels, (byte[])_pixels.Clone());

    /// <summary>An image filled with one RGB colour.</summary>
    public static Image Filled(int height, int width, Rgb colour)
    {
        var image = new Image(height, width, 3);
        var p = image._pixels;
        for (int i = 0; i < p.Length; i += 3) { p[i] = colour.R; p[i + 1] = colour.G; p[i + 2] = colour.B; }
        return image;
    }

    /// <summary>A 3-channel copy: grey is replicated, alpha is dropped (not composited).</summary>
    public Image ToRgb()
    {
        if (Channels == 3) return Clone();
        var rgb = new Image(Height, Width, 3);
        var dst = rgb._pixels;
        for (int i = 0, n = Height * Width; i < n; i++)
        {
            if (Channels == 1)
            {
                byte g = _pixels[i];
                dst[3 * i] = g; dst[3 * i + 1] = g; dst[3 * i + 2] = g;
            }
            else
            {
                dst[3 * i] = _pixels[4 * i]; dst[3 * i + 1] = _pixels[4 * i + 1]; dst[3 * i + 2] = _pixels[4 * i + 2];
            }
        }
        return rgb;
    }

    /// <summary>A resized copy (OpenCV cv::resize, same channels).</summary>
    /// <param name="height">Target rows, positive.</param>
    /// <param name="width">Target columns, positive.</param>
    /// <param name="interpolation">Sampling mode; bilinear by default.</param>
    /// <exception cref="ArgumentOutOfRangeException">The target size is not positive.</exception>
    public Image Resize(int height, int width, Interpolation interpolation = Interpolation.Linear)
    {
        if (height <= 0 || width <= 0) throw new ArgumentOutOfRangeException(nameof(height), $"target size {height}x{width} must be positive");
        var resized = new Image(height, width, Channels);
        NativeImageCodec.Resize(_pixels, Height, Width, Channels, resized._pixels, height, width, (NativeInterpolation)interpolation);
        return resized;
    }

    /// <summary>"Image HxWxC", e.g. "Image 480x640x3".</summary>
    public override string ToString() => $"Image {Height}x{Width}x{Channels}";

    private int Offset(int y, int x, int channel)
    {
        if ((uint)y >= (uint)Height || (uint)x >= (uint)Width || (uint)channel >= (uint)Channels)
            throw new IndexOutOfRangeException($"pixel ({y}, {x}, {channel}) is outside a {Height}x{Width}x{Channels} image");
        return (y * Width + x) * Channels + channel;
    }

    private static int CheckedLength(int height, int width, int channels)
    {
        if (height < 0 || width < 0) throw new ArgumentOutOfRangeException(nameof(height), $"image size {height}x{width} is negative");
        if (channels is not (1 or 3 or 4)) throw new ArgumentOutOfRangeException(nameof(channels), $"channels must be 1, 3 or 4, got {channels}");
        long n = (long)height * width * channels;
        if (n > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(height), $"a {height}x{width}x{channels} image is too large");
        return (int)n;
    }
}
