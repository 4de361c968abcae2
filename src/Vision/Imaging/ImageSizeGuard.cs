using System.Buffers.Binary;

namespace MLNetSeg.Vision.Imaging;

/// <summary>
/// The largest image the decoders accept (<see cref="ImageIO"/> over OpenCV, and the ONNX path's Skia
/// decoder), checked from the file's header before any pixel memory is allocated: a few bytes claiming
/// 100000 × 100000 pixels are rejected instead of asking for tens of gigabytes.
/// </summary>
public static class ImageSizeGuard
{
    /// <summary>The longest side, in pixels (JPEG's own limit; PNG allows 2^31 − 1).</summary>
    public const int MaxSide = 65535;

    /// <summary>The most pixels (2^28, e.g. 16384 × 16384: 1 GiB as RGBA); OpenCV's own limit is 2^30.</summary>
    public const long MaxPixels = 1L << 28;

    /// <summary>Throws when a <paramref name="width"/> × <paramref name="height"/> image is empty or over the limits.</summary>
    /// <param name="width">Columns, as the header says.</param>
    /// <param name="height">Rows, as the header says.</param>
    /// <param name="name">The file (or buffer name) for the message.</param>
    /// <param name="format">The format for the message ("PNG", "JPEG", …).</param>
    /// <exception cref="InvalidImageException">A side is 0 or negative, over <see cref="MaxSide"/>, or the
    /// image has more than <see cref="MaxPixels"/> pixels.</exception>
    public static void Check(long width, long height, string name, string format)
    {
        if (width <= 0 || height <= 0)
            throw new InvalidImageException(name, $"{format} header gives no pixels ({width}x{height})");
        if (width > MaxSide || height > MaxSide || width * height > MaxPixels)
            throw new InvalidImageException(name,
                $"{format} header claims {width}x{height} pixels, over the limit of {MaxSide} per side and {MaxPixels} in all (ImageSizeGuard)");
    }

    /// <summary>Checks the size a PNG (IHDR) or JPEG (SOFn) header declares; data whose header cannot be
    /// read is left to the decoder, which rejects it.</summary>
    /// <param name="bytes">The encoded file.</param>
    /// <param name="name">The file (or buffer name) for the message.</param>
    /// <exception cref="InvalidImageException">The declared size fails <see cref="Check"/>.</exception>
    public static void CheckHeader(ReadOnlySpan<byte> bytes, string name)
    {
        if (TryReadPngSize(bytes, out long w, out long h)) Check(w, h, name, "PNG");
        else if (TryReadJpegSize(bytes, out w, out h) && h != 0) Check(w, h, name, "JPEG"); // height 0: set later by a DNL marker
    }

    private static bool TryReadPngSize(ReadOnlySpan<byte> b, out long width, out long height)
    {
        // Signature (8), then the IHDR chunk: length (4), "IHDR", width (4), height (4), big-endian.
        width = height = 0;
        if (b.Length < 24 || b[0] != 0x89 || b[1] != 0x50 || !b.Slice(12, 4).SequenceEqual("IHDR"u8)) return false;
        width = BinaryPrimitives.ReadUInt32BigEndian(b[16..]);
        height = BinaryPrimitives.ReadUInt32BigEndian(b[20..]);
        return true;
    }

    private static bool TryReadJpegSize(ReadOnlySpan<byte> b, out long width, out long height)
    {
        width = height = 0;
        if (b.Length < 4 || b[0] != 0xFF || b[1] != 0xD8) return false;
        int i = 2;
        while (i + 4 <= b.Length)
        {
            if (b[i] != 0xFF) return false;
            byte marker = b[i + 1];
            if (marker == 0xFF) { i++; continue; }                      // fill byte
            if (marker is 0x01 or (>= 0xD0 and <= 0xD8)) { i += 2; continue; } // markers without a length
            if (marker is 0xDA or 0xD9) return false;                   // scan or end before any frame header
            int length = BinaryPrimitives.ReadUInt16BigEndian(b[(i + 2)..]);
            // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): length, precision, height, width.
            if (marker is >= 0xC0 and <= 0xCF and not (0xC4 or 0xC8 or 0xCC))
            {
                if (i + 9 > b.Length) return false;
                height = BinaryPrimitives.ReadUInt16BigEndian(b[(i + 5)..]);
                width = BinaryPrimitives.ReadUInt16BigEndian(b[(i + 7)..]);
                return true;
            }
            if (length < 2) return false;
            i += 2 + length;
        }
        return false;
    }
}
