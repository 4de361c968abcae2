namespace MLNetSeg.Vision.Structures;

/// <summary>
/// A binary image mask of <see cref="Height"/> × <see cref="Width"/> pixels, stored row-major
/// (index <c>y * Width + x</c>) as one byte per pixel holding 0 or 1.
/// </summary>
/// <remarks>
/// Row-major is the layout of images and tensors in this library. COCO's run-length encoding walks
/// the same pixels column by column; <see cref="Rle.Encode(BitMask)"/> and <see cref="Rle.Decode"/>
/// do that transposition.
/// </remarks>
public sealed class BitMask : IEquatable<BitMask>
{
    private readonly byte[] _pixels;

    /// <summary>Creates an all-zero mask.</summary>
    /// <param name="height">Rows in pixels, at least 0.</param>
    /// <param name="width">Columns in pixels, at least 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">A negative size, or more than <see cref="int.MaxValue"/> pixels.</exception>
    public BitMask(int height, int width)
    {
        ValidateSize(height, width);
        Height = height;
        Width = width;
        _pixels = new byte[checked(height * width)];
    }

    private BitMask(int height, int width, byte[] pixels)
    {
        Height = height;
        Width = width;
        _pixels = pixels;
    }

    /// <summary>Number of rows (pixels).</summary>
    public int Height { get; }

    /// <summary>Number of columns (pixels).</summary>
    public int Width { get; }

    /// <summary>The pixels, row-major, each 0 or 1.</summary>
    public ReadOnlySpan<byte> Pixels => _pixels;

    /// <summary>Number of set pixels.</summary>
    public long Area
    {
        get
        {
            long area = 0;
            foreach (var p in _pixels) area += p;
            return area;
        }
    }

    /// <summary>Whether the pixel at row <paramref name="y"/>, column <paramref name="x"/> is set.</summary>
    /// <param name="y">Row, in [0, <see cref="Height"/>).</param>
    /// <param name="x">Column, in [0, <see cref="Width"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">The pixel is outside the mask.</exception>
    public bool this[int y, int x]
    {
        get => _pixels[Offset(y, x)] != 0;
        set => _pixels[Offset(y, x)] = value ? (byte)1 : (byte)0;
    }

    /// <summary>
    /// Builds a mask from row-major values; any non-zero value counts as set (as numpy's
    /// <c>astype(bool)</c> would).
    /// </summary>
    public static BitMask FromRowMajor(int height, int width, ReadOnlySpan<byte> values)
    {
        ValidateSize(height, width);
        CheckLength(height, width, values.Length);
        var pixels = new byte[values.Length];
        for (int i = 0; i < values.Length; i++) pixels[i] = values[i] != 0 ? (byte)1 : (byte)0;
        return new BitMask(height, width, pixels);
    }

    /// <summary>Builds a mask from row-major booleans.</summary>
    public static BitMask FromRowMajor(int height, int width, ReadOnlySpan<bool> values)
    {
        ValidateSize(height, width);
        CheckLength(height, width, values.Length);
        var pixels = new byte[values.Length];
        for (int i = 0; i < values.Length; i++) pixels[i] = values[i] ? (byte)1 : (byte)0;
        return new BitMask(height, width, pixels);
    }

    /// <summary>Builds a mask from a [height, width] array.</summary>
    public static BitMask FromArray(bool[,] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        int h = values.GetLength(0), w = values.GetLength(1);
        var mask = new BitMask(h, w);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                mask._pixels[y * w + x] = values[y, x] ? (byte)1 : (byte)0;
        return mask;
    }

    /// <summary>Wraps an already 0/1 row-major buffer without copying (used by RLE decoding).</summary>
    internal static BitMask WrapNormalized(int height, int width, byte[] pixels) => new(height, width, pixels);

    /// <summary>A copy of the pixels, row-major, each 0 or 1.</summary>
    public byte[] ToRowMajorBytes() => (byte[])_pixels.Clone();

    /// <summary>The pixels as a [height, width] array.</summary>
    public bool[,] ToArray()
    {
        var result = new bool[Height, Width];
        for (int y = 0; y < Height; y++)
            for (int x = 0; x < Width; x++)
                result[y, x] = _pixels[y * Width + x] != 0;
        return result;
    }

    /// <summary>
    /// The tight box around the set pixels as <c>[x0, y0, x1, y1]</c> in continuous pixel-edge
    /// coordinates: the last set column x gives x1 = x + 1. This is pycocotools' <c>toBbox</c>
    /// (<c>[x, y, w, h]</c> with w = last − first + 1) written as corners. An empty mask gives
    /// <c>[0, 0, 0, 0]</c>, as pycocotools does.
    /// </summary>
    public float[] ToBox()
    {
        int x0 = Width, y0 = Height, x1 = -1, y1 = -1;
        for (int y = 0; y < Height; y++)
        {
            int row = y * Width;
            for (int x = 0; x < Width; x++)
            {
                if (_pixels[row + x] == 0) continue;
                if (x < x0) x0 = x;
                if (x > x1) x1 = x;
                if (y < y0) y0 = y;
                y1 = y;
            }
        }
        return x1 < 0 ? new float[4] : new float[] { x0, y0, x1 + 1, y1 + 1 };
    }

    /// <summary>True when <paramref name="other"/> has the same size and the same pixels.</summary>
    public bool Equals(BitMask? other) =>
        other is not null && other.Height == Height && other.Width == Width && _pixels.AsSpan().SequenceEqual(other._pixels);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as BitMask);

    /// <summary>A hash of the size and every pixel, consistent with <see cref="Equals(BitMask?)"/>.</summary>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Height);
        hash.Add(Width);
        hash.AddBytes(_pixels);
        return hash.ToHashCode();
    }

    /// <summary>Size and area, e.g. "BitMask 480x640, area 1234".</summary>
    public override string ToString() => $"BitMask {Height}x{Width}, area {Area}";

    private int Offset(int y, int x)
    {
        if ((uint)y >= (uint)Height || (uint)x >= (uint)Width)
            throw new ArgumentOutOfRangeException(nameof(y), $"Pixel (y={y}, x={x}) is outside the {Height}x{Width} mask.");
        return y * Width + x;
    }

    internal static void ValidateSize(int height, int width)
    {
        if (height < 0 || width < 0)
            throw new ArgumentOutOfRangeException(nameof(height), $"Mask size must be non-negative, got {height}x{width}.");
        if ((long)height * width > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(height), $"Mask size {height}x{width} has more than {int.MaxValue} pixels.");
    }

    private static void CheckLength(int height, int width, int length)
    {
        if (length != height * width)
            throw new ArgumentException($"A {height}x{width} mask needs {height * width} values, got {length}.", "values");
    }
}
