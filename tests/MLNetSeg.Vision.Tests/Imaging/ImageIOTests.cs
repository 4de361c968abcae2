using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Tests.Shared;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Vision.Tests.Imaging;

/// <summary>
/// ImageIO against reference decoders (fixtures from tools/fixtures/gen_imaging.py). PNG is lossless,
/// so pixels must equal PIL's exactly. JPEG: the shim's OpenCV and python's cv2 are the same
/// libopencv_imgcodecs 4.6 over libjpeg-turbo 2.1.5, so pixels must equal cv2.imdecode exactly;
/// PIL uses the same libjpeg-turbo with the same (default) DCT and upsampling settings and the
/// generator recorded a maximum difference of 0 from OpenCV, so PIL is compared exactly too.
/// </summary>
[TestClass]
public class ImageIOTests
{
    [DataTestMethod]
    [DataRow("rgb.png", 3)]
    [DataRow("grey.png", 1)]
    [DataRow("rgba.png", 4)]
    [DataRow("palette.png", 3)]
    public void PngPixelsEqualPil(string name, int channels)
    {
        var image = ImageIO.Read(ImagingFixtures.PathOf(name));
        Assert.AreEqual(channels, image.Channels);
        var expected = ImagingFixtures.ImageOf(ImagingFixtures.Expected.GetProperty("images").GetProperty(name).GetProperty("pil"));
        ImagingFixtures.AssertSamePixels(expected, image, name);
    }

    [DataTestMethod]
    [DataRow("rgb.jpg", 3)]
    [DataRow("grey.jpg", 1)]
    public void JpegPixelsEqualOpenCvAndPil(string name, int channels)
    {
        var image = ImageIO.Read(ImagingFixtures.PathOf(name));
        Assert.AreEqual(channels, image.Channels);
        var entry = ImagingFixtures.Expected.GetProperty("images").GetProperty(name);
        ImagingFixtures.AssertSamePixels(ImagingFixtures.ImageOf(entry.GetProperty("cv2")), image, name + " vs cv2");
        Assert.AreEqual(0, entry.GetProperty("max_abs_diff_pil_cv2").GetInt32(), "the reference decoders disagree; revisit the tolerance");
        ImagingFixtures.AssertSamePixels(ImagingFixtures.ImageOf(entry.GetProperty("pil")), image, name + " vs PIL");
    }

    [DataTestMethod]
    [DataRow(3, 24, 32)] // rotate 180°: size kept
    [DataRow(6, 32, 24)] // rotate 90° clockwise: height and width swap
    [DataRow(8, 32, 24)] // rotate 90° counter-clockwise
    public void JpegExifOrientationIsApplied(int orientation, int height, int width)
    {
        var name = $"exif_orientation_{orientation}.jpg";
        var image = ImageIO.Read(ImagingFixtures.PathOf(name));
        Assert.AreEqual(height, image.Height);
        Assert.AreEqual(width, image.Width);
        var entry = ImagingFixtures.Expected.GetProperty("images").GetProperty(name);
        Assert.AreEqual(orientation, entry.GetProperty("exif_orientation").GetInt32());
        // PIL.ImageOps.exif_transpose is the reference for what the orientation tag means.
        ImagingFixtures.AssertSamePixels(ImagingFixtures.ImageOf(entry.GetProperty("pil")), image, name + " vs PIL exif_transpose");
        ImagingFixtures.AssertSamePixels(ImagingFixtures.ImageOf(entry.GetProperty("cv2")), image, name + " vs cv2");
    }

    [DataTestMethod]
    [DataRow("truncated.jpg", "truncated JPEG")]
    [DataRow("truncated.png", "cannot decode")]
    [DataRow("corrupt_crc.png", "cannot decode")]
    [DataRow("not_an_image.png", "not a JPEG or PNG")]
    [DataRow("empty.jpg", "empty")]
    [DataRow("sixteen_bit.png", "8-bit")]
    public void BrokenFilesRaiseAnErrorNamingTheFile(string name, string reason)
    {
        var path = Path.Combine(ImagingFixtures.Dir, "broken", name);
        var e = Assert.ThrowsException<InvalidImageException>(() => ImageIO.Read(path));
        Assert.AreEqual(path, e.FileName);
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Reason, reason);
    }

    [TestMethod]
    public void DecodeErrorsNameTheGivenSource()
    {
        var bytes = File.ReadAllBytes(Path.Combine(ImagingFixtures.Dir, "broken", "truncated.png"));
        var e = Assert.ThrowsException<InvalidImageException>(() => ImageIO.Decode(bytes, "upload #17"));
        StringAssert.StartsWith(e.Message, "upload #17: ");
    }

    [TestMethod]
    public void MissingFileRaisesFileNotFoundNamingThePath()
    {
        var path = Path.Combine(ImagingFixtures.Dir, "no_such_image.png");
        var e = Assert.ThrowsException<FileNotFoundException>(() => ImageIO.Read(path));
        StringAssert.Contains(e.Message, path);
    }

    [DataTestMethod]
    [DataRow("rgb.png")]
    [DataRow("grey.png")]
    [DataRow("rgba.png")]
    public void PngRoundTripIsLosslessAndAtomic(string name)
    {
        var original = ImageIO.Read(ImagingFixtures.PathOf(name));
        var dir = Directory.CreateTempSubdirectory("mlnetseg-imaging-");
        try
        {
            var path = Path.Combine(dir.FullName, "out.png");
            File.WriteAllText(path, "an older file that must be replaced");
            ImageIO.WritePng(original, path);
            var bytes = File.ReadAllBytes(path);
            CollectionAssert.AreEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
            ImagingFixtures.AssertSamePixels(original, ImageIO.Read(path), name + " after WritePng");
            CollectionAssert.AreEqual(new[] { "out.png" }, dir.GetFiles().Select(f => f.Name).ToArray(), "no temporary file may remain");
        }
        finally { dir.Delete(recursive: true); }
    }

    [TestMethod]
    public void WritePngIntoAMissingFolderFailsWithoutLeavingFiles()
    {
        var path = Path.Combine(Path.GetTempPath(), "mlnetseg-no-such-folder-" + Guid.NewGuid().ToString("N"), "x.png");
        var e = Assert.ThrowsException<DirectoryNotFoundException>(() => ImageIO.WritePng(new Image(2, 2, 3), path));
        StringAssert.Contains(e.Message, path);
    }

    [DataTestMethod]
    [DataRow("png", 100000, 100000)]
    [DataRow("png", 70000, 10)]
    [DataRow("jpeg", 65535, 65535)]
    [DataRow("png", 0, 10)]
    public void HeadersClaimingTooManyPixelsAreRejectedBeforeDecoding(string format, int width, int height)
    {
        // A 60-byte file claiming 10^10 pixels: the size guard rejects it from the header, before OpenCV allocates.
        var bytes = format == "png" ? PngBytes.HeaderOnly(width, height) : JpegHeader(width, height);
        var e = Assert.ThrowsException<InvalidImageException>(() => ImageIO.Decode(bytes, "bomb." + format));
        StringAssert.Contains(e.Message, "bomb." + format);
        StringAssert.Contains(e.Reason, $"{width}x{height}");
    }

    private static byte[] JpegHeader(int width, int height) =>
    [
        0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width, 0x01, 0x01, 0x11, 0x00,
        0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x12, 0x34, 0xFF, 0xD9,
    ];
}
