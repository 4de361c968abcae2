using MLNetSeg.Torch;
using MLNetSeg.Torch.IO;
using MLNetSeg.Torch.Imaging;

namespace MLNetSeg.Vision.Imaging;

/// <summary>
/// Reads JPEG and PNG files (8-bit grey, RGB, RGBA) into <see cref="Image"/> through OpenCV,
/// and writes PNG. JPEG EXIF orientation is applied, so pixels come out the way viewers show them.
/// </summary>
public static class ImageIO
{
    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Reads and decodes an image file; errors name <paramref name="path"/>.</summary>
    public static Image Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (FileNotFoundException e) { throw new FileNotFoundException($"image file not found: {path}", path, e); }
        catch (DirectoryNotFoundException e) { throw new FileNotFoundException($"image file not found: {path}", path, e); }
        return Decode(bytes, path);
    }

    /// <summary>Decodes an encoded JPEG or PNG held in memory.</summary>
    /// <param name="bytes">The encoded file contents.</param>
    /// <param name="name">Names the data in error messages (a file name or URL).</param>
    /// <exception cref="InvalidImageException">The data is empty, not a JPEG or PNG, truncated, cannot be decoded,
    /// or its header declares a size over <see cref="ImageSizeGuard"/>'s limits.</exception>
    public static Image Decode(ReadOnlySpan<byte> bytes, string name)
    {
        if (bytes.IsEmpty) throw new InvalidImageException(name, "the file is empty");
        var format = Sniff(bytes);
        if (format == Format.Unknown)
            throw new InvalidImageException(name, $"not a JPEG or PNG (starts with {Convert.ToHexString(bytes[..Math.Min(8, bytes.Length)])})");
        // libjpeg pads a truncated stream with grey and only warns, so truncation is caught here.
        if (format == Format.Jpeg && !JpegHasEndAfterScan(bytes))
            throw new InvalidImageException(name, "truncated JPEG (no end-of-image marker after the image data)");
        // OpenCV allocates the whole image before it reads the pixels: check the declared size first.
        ImageSizeGuard.CheckHeader(bytes, name);
        NativeImagePixels decoded;
        try { decoded = NativeImageCodec.Decode(bytes); }
        catch (TorchException e) { throw new InvalidImageException(name, $"cannot decode {format}: {e.Message}", e); }
        return new Image(decoded.Height, decoded.Width, decoded.Channels, decoded.Pixels);
    }

    /// <summary>The PNG file bytes of <paramref name="image"/> (lossless).</summary>
    public static byte[] EncodePng(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return NativeImageCodec.EncodePng(image.Pixels, image.Height, image.Width, image.Channels);
    }

    /// <summary>Writes <paramref name="image"/> as PNG. Atomic: the bytes go to a temporary file
    /// in the same folder, which then replaces <paramref name="path"/>, so a crash never leaves
    /// a half-written file behind.</summary>
    public static void WritePng(Image image, string path) => WriteAtomically(path, EncodePng(image));

    internal static void WriteAtomically(string path, byte[] bytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"cannot write {path}: folder {dir} does not exist");
        AtomicFile.WriteAllBytes(full, bytes);
    }

    private enum Format { Unknown, Jpeg, Png }

    private static Format Sniff(ReadOnlySpan<byte> b)
    {
        if (b.Length >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return Format.Jpeg;
        if (b.StartsWith(PngSignature)) return Format.Png;
        return Format.Unknown;
    }

    /// <summary>True when an EOI marker (FF D9) follows the last start-of-scan (FF DA). Inside
    /// entropy-coded data every FF byte is stuffed (FF 00) or a restart marker, so neither
    /// marker can appear there by accident; an EXIF thumbnail's own EOI lies before the main scan.</summary>
    private static bool JpegHasEndAfterScan(ReadOnlySpan<byte> b)
    {
        int lastSos = b.LastIndexOf([(byte)0xFF, (byte)0xDA]);
        if (lastSos < 0) return false;
        return b[(lastSos + 2)..].IndexOf([(byte)0xFF, (byte)0xD9]) >= 0;
    }
}
