using System.Text.Json;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Tests.Shared;
using MLNetSeg.Onnx.Imaging;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Onnx.Tests.Imaging;

/// <summary>
/// SkiaImageDecoder against the OpenCV decoder of the libtorch path (<see cref="ImageIO"/>, used
/// here as the reference only): lossless formats byte for byte, JPEGs within measured bounds, EXIF
/// orientation, and every kind of bad input as an <see cref="InvalidImageException"/>. Images come
/// from tools/fixtures/gen_onnx_postprocessing.py (fixtures/onnx_postprocessing/images) and
/// tools/fixtures/gen_imaging.py (fixtures/imaging).
/// </summary>
[TestClass]
public class SkiaImageDecoderTests
{
    public TestContext TestContext { get; set; } = null!;

    private static string Images => Path.Combine(AppContext.BaseDirectory, "fixtures", "onnx_postprocessing", "images");
    private static string Imaging => Path.Combine(AppContext.BaseDirectory, "fixtures", "imaging");

    /// <summary>OpenCV's pixels as the Skia decoder returns them: grey replicated, alpha dropped.</summary>
    private static Image Reference(string path) => ImageIO.Read(path).ToRgb();

    [TestMethod]
    [DataRow("onnx_postprocessing/images/rgb.png")]
    [DataRow("onnx_postprocessing/images/rgb_interlaced.png")]
    [DataRow("onnx_postprocessing/images/grey.png")]
    [DataRow("onnx_postprocessing/images/grey_alpha.png")]
    [DataRow("onnx_postprocessing/images/rgba.png")]
    [DataRow("onnx_postprocessing/images/palette.png")]
    [DataRow("onnx_postprocessing/images/palette_transparent.png")]
    [DataRow("imaging/rgb.png")]
    [DataRow("imaging/grey.png")]
    [DataRow("imaging/rgba.png")]
    [DataRow("imaging/palette.png")]
    public void PngsDecodeToOpenCvsPixels(string file)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "fixtures", file);
        var image = SkiaImageDecoder.Read(path);
        AssertSame(Reference(path), image, file);
    }

    [TestMethod]
    [DataRow("rgb.bmp", "rgb.png")]
    [DataRow("rgb_lossless.webp", "rgb.png")]
    [DataRow("palette.gif", "palette.png")]
    public void OtherLosslessFormatsDecodeToTheirPngTwinsPixels(string file, string twin)
    {
        // OpenCV's path reads JPEG and PNG only: the same pixels stored as PNG are the reference.
        AssertSame(Reference(Path.Combine(Images, twin)), SkiaImageDecoder.Read(Path.Combine(Images, file)), file);
    }

    [TestMethod]
    public void JpegsDecodeLikeOpenCvWithinMeasuredBounds()
    {
        var files = new[]
        {
            "onnx_postprocessing/images/photo_420_q90.jpg", "onnx_postprocessing/images/photo_422_q85.jpg",
            "onnx_postprocessing/images/photo_444_q75.jpg", "onnx_postprocessing/images/photo_420_q30.jpg",
            "onnx_postprocessing/images/photo_progressive.jpg", "onnx_postprocessing/images/grey_q90.jpg",
            "onnx_postprocessing/images/exif_orientation_2.jpg", "onnx_postprocessing/images/exif_orientation_4.jpg",
            "onnx_postprocessing/images/exif_orientation_5.jpg", "onnx_postprocessing/images/exif_orientation_7.jpg",
            "imaging/rgb.jpg", "imaging/grey.jpg", "imaging/exif_orientation_3.jpg",
            "imaging/exif_orientation_6.jpg", "imaging/exif_orientation_8.jpg",
        };
        int worst = 0;
        long differing = 0, total = 0;
        double worstMean = 0;
        foreach (var file in files)
        {
            var path = Path.Combine(AppContext.BaseDirectory, "fixtures", file);
            var expected = Reference(path);
            var actual = SkiaImageDecoder.Read(path);
            Assert.AreEqual((expected.Height, expected.Width, 3), (actual.Height, actual.Width, actual.Channels), $"{file}: size (EXIF orientation applied?)");
            var (max, mean, count) = Difference(expected, actual);
            TestContext.WriteLine($"{file} ({actual.Height}x{actual.Width}): max |Skia − OpenCV| {max}, mean {mean:G3}, {count} of {expected.Pixels.Length} bytes differ");
            worst = Math.Max(worst, max);
            worstMean = Math.Max(worstMean, mean);
            differing += count;
            total += expected.Pixels.Length;
        }
        TestContext.WriteLine($"all JPEGs: max {worst}, largest mean {worstMean:G3}, {differing} of {total} bytes differ");
        // Measured: Skia's libjpeg-turbo and OpenCV's (Debian's) decode these files identically
        // (both use the accurate integer IDCT and fancy upsampling).
        Assert.AreEqual(0, worst, "a JPEG decodes differently from OpenCV");
    }

    [TestMethod]
    public void ExifOrientationTurnsTheImageAsViewersShowIt()
    {
        // Orientations 5–8 swap the sides; the generator wrote 20x31 pixels for 2, 4, 5 and 7.
        foreach (var (file, height, width) in new[] { ("exif_orientation_2.jpg", 20, 31), ("exif_orientation_4.jpg", 20, 31),
                                                      ("exif_orientation_5.jpg", 31, 20), ("exif_orientation_7.jpg", 31, 20) })
        {
            var image = SkiaImageDecoder.Read(Path.Combine(Images, file));
            Assert.AreEqual((height, width), (image.Height, image.Width), file);
        }
        var six = SkiaImageDecoder.Read(Path.Combine(Imaging, "exif_orientation_6.jpg"));
        var plain = SkiaImageDecoder.Read(Path.Combine(Imaging, "rgb.jpg"));
        Assert.AreEqual((plain.Width, plain.Height), (six.Height, six.Width), "orientation 6 turns the image a quarter");
    }

    [TestMethod]
    public void OrientationsMoveEachPixelWhereExifSays()
    {
        // A 2x3 image with distinct pixels p(y, x) = 10y + x, and where each EXIF orientation
        // puts them (the TIFF/EXIF definitions: 6 = rotate 90° clockwise to display, 8 = 90°
        // counter-clockwise, 5 = transpose, 7 = transverse, 2/3/4 = mirror, 180°, flip).
        var src = new byte[2 * 3 * 3];
        for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++)
            src[3 * (y * 3 + x)] = (byte)(10 * y + x);
        var expected = new Dictionary<int, int[,]>
        {
            [1] = new[,] { { 0, 1, 2 }, { 10, 11, 12 } },
            [2] = new[,] { { 2, 1, 0 }, { 12, 11, 10 } },
            [3] = new[,] { { 12, 11, 10 }, { 2, 1, 0 } },
            [4] = new[,] { { 10, 11, 12 }, { 0, 1, 2 } },
            [5] = new[,] { { 0, 10 }, { 1, 11 }, { 2, 12 } },
            [6] = new[,] { { 10, 0 }, { 11, 1 }, { 12, 2 } },
            [7] = new[,] { { 12, 2 }, { 11, 1 }, { 10, 0 } },
            [8] = new[,] { { 2, 12 }, { 1, 11 }, { 0, 10 } },
        };
        foreach (var (orientation, grid) in expected)
        {
            var image = SkiaImageDecoder.Orient((byte[])src.Clone(), 2, 3, (SkiaSharp.SKEncodedOrigin)orientation);
            Assert.AreEqual((grid.GetLength(0), grid.GetLength(1)), (image.Height, image.Width), $"orientation {orientation}: size");
            for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++)
                Assert.AreEqual(grid[y, x], image[y, x, 0], $"orientation {orientation}: pixel ({y}, {x})");
        }
    }

    [TestMethod]
    [DataRow("grey16.png")]
    [DataRow("rgb16.png")]
    public void SixteenBitPngsKeepTheirHighBytes(string file)
    {
        // OpenCV's path refuses them; the expected bytes are the samples' high bytes (libpng's
        // strip_16, what PIL gives for 16-bit RGB), written by the generator.
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Images, "images.json")));
        var entry = doc.RootElement.GetProperty("files").GetProperty(file);
        var size = entry.GetProperty("size").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var expected = new Image(size[0], size[1], 3, Convert.FromBase64String(entry.GetProperty("expected_rgb").GetString()!));
        AssertSame(expected, SkiaImageDecoder.Read(Path.Combine(Images, file)), file);
        Assert.ThrowsException<InvalidImageException>(() => ImageIO.Read(Path.Combine(Images, file)), "the OpenCV path is expected to refuse 16-bit PNGs");
    }

    [TestMethod]
    [DataRow("onnx_postprocessing/images/empty.png", "empty")]
    [DataRow("onnx_postprocessing/images/text.jpg", "not an image")]
    [DataRow("onnx_postprocessing/images/garbage.png", "")]
    [DataRow("onnx_postprocessing/images/truncated.jpg", "truncated")]
    [DataRow("imaging/broken/empty.jpg", "empty")]
    [DataRow("imaging/broken/not_an_image.png", "")]
    [DataRow("imaging/broken/truncated.jpg", "truncated")]
    [DataRow("imaging/broken/truncated.png", "")]
    [DataRow("imaging/broken/corrupt_crc.png", "")]
    [DataRow("does/not/exist.jpg", "not found")]
    [DataRow("imaging", "cannot read")]
    public void BadInputIsAnInvalidImageExceptionNamingTheFile(string file, string reason)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "fixtures", file);
        var e = Assert.ThrowsException<InvalidImageException>(() => SkiaImageDecoder.Read(path));
        Assert.AreEqual(path, e.FileName);
        StringAssert.StartsWith(e.Message, path + ": ");
        StringAssert.Contains(e.Reason, reason);
        TestContext.WriteLine($"{file}: {e.Reason}");
    }

    [TestMethod]
    public void DecodedBuffersAreNamedInErrors()
    {
        var e = Assert.ThrowsException<InvalidImageException>(() => SkiaImageDecoder.Decode(new byte[] { 1, 2, 3 }, "upload #7"));
        Assert.AreEqual("upload #7", e.FileName);
        StringAssert.Contains(e.Message, "010203");
        var bytes = File.ReadAllBytes(Path.Combine(Images, "rgb.png"));
        AssertSame(Reference(Path.Combine(Images, "rgb.png")), SkiaImageDecoder.Decode(bytes, "in memory"), "bytes");
    }

    private static (int Max, double Mean, long Count) Difference(Image expected, Image actual)
    {
        var e = expected.Pixels;
        var a = actual.Pixels;
        int max = 0;
        long sum = 0, count = 0;
        for (int i = 0; i < e.Length; i++)
        {
            int d = Math.Abs(e[i] - a[i]);
            max = Math.Max(max, d);
            sum += d;
            if (d != 0) count++;
        }
        return (max, (double)sum / e.Length, count);
    }

    private static void AssertSame(Image expected, Image actual, string what)
    {
        Assert.AreEqual((expected.Height, expected.Width, expected.Channels), (actual.Height, actual.Width, actual.Channels), $"{what}: size");
        Assert.AreEqual(3, actual.Channels, $"{what}: channels");
        var e = expected.Pixels;
        var a = actual.Pixels;
        for (int i = 0; i < e.Length; i++)
            if (e[i] != a[i])
                Assert.Fail($"{what}: pixel (y={i / 3 / expected.Width}, x={i / 3 % expected.Width}, c={i % 3}) is {a[i]}, OpenCV gives {e[i]}");
    }

    [TestMethod]
    public void AHeaderClaimingTooManyPixelsIsRejectedBeforeAllocating()
    {
        // 60 bytes claiming 60000 x 60000 pixels (14 GB as RGBA): rejected by the shared ImageSizeGuard.
        var bytes = PngBytes.HeaderOnly(60000, 60000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.ThrowsException<InvalidImageException>(() => SkiaImageDecoder.Decode(bytes, "bomb.png"));
        Assert.IsTrue(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
        StringAssert.Contains(e.Message, "bomb.png");
        StringAssert.Contains(e.Reason, "60000x60000");
    }

    [TestMethod]
    public void ATruncatedImageIsRejectedWithoutAllocatingItsPixelsInManagedMemory()
    {
        // 4000 x 4000 is within the guard, but the data ends at once: 64 MB of RGBA must not be allocated up front.
        var bytes = PngBytes.HeaderOnly(4000, 4000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.ThrowsException<InvalidImageException>(() => SkiaImageDecoder.Decode(bytes, "short.png"));
        Assert.IsTrue(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
        StringAssert.Contains(e.Message, "short.png");
    }

}
