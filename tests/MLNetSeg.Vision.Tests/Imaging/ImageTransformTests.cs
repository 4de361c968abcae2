using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Vision.Tests.Imaging;

/// <summary>
/// Resize against cv2.resize and ToTensor against torchvision (fixtures from tools/fixtures/gen_imaging.py).
/// Both are compared exactly: resize runs the same OpenCV 4.6 code, and ToTensor runs the same
/// libtorch 1.13 float32 kernels in the same order as torchvision's to_tensor + normalize.
/// </summary>
[TestClass]
public class ImageTransformTests
{
    [TestMethod]
    public void ResizeEqualsOpenCv()
    {
        int cases = 0;
        foreach (var c in ImagingFixtures.Expected.GetProperty("resize").EnumerateArray())
        {
            var source = ImageIO.Read(ImagingFixtures.PathOf(c.GetProperty("source").GetString()!));
            var mode = Enum.Parse<Interpolation>(c.GetProperty("interpolation").GetString()!);
            var resized = source.Resize(c.GetProperty("height").GetInt32(), c.GetProperty("width").GetInt32(), mode);
            ImagingFixtures.AssertSamePixels(ImagingFixtures.ImageOf(c.GetProperty("expected")), resized,
                $"{c.GetProperty("source")} -> {resized.Height}x{resized.Width} {mode}");
            cases++;
        }
        Assert.AreEqual(13, cases);
    }

    [TestMethod]
    public void ResizeRejectsEmptyTargets()
    {
        var image = new Image(4, 4, 3);
        Assert.ThrowsException<ArgumentOutOfRangeException>(() => image.Resize(0, 3));
    }

    [TestMethod]
    public void ToTensorEqualsTorchvisionToTensorPlusNormalize()
    {
        var fixture = ImagingFixtures.Expected.GetProperty("to_tensor");
        var image = ImageIO.Read(ImagingFixtures.PathOf(fixture.GetProperty("source").GetString()!));
        using var t = image.ToTensor(Doubles(fixture.GetProperty("mean")), Doubles(fixture.GetProperty("std")));
        AssertTensorEquals(fixture.GetProperty("tensor"), t);
        // The built-in preset is the same normalisation.
        using var preset = image.ToTensor(ImageNormalization.Torchvision);
        CollectionAssert.AreEqual(t.ToArray<float>(), preset.ToArray<float>());
    }

    [TestMethod]
    public void ToTensorBgrUnscaledEqualsDetectron2Preprocessing()
    {
        var fixture = ImagingFixtures.Expected.GetProperty("to_tensor_d2");
        var image = ImageIO.Read(ImagingFixtures.PathOf(fixture.GetProperty("source").GetString()!));
        var norm = new ImageNormalization(Doubles(fixture.GetProperty("mean")), Doubles(fixture.GetProperty("std")), ScaleTo01: false, Bgr: true);
        using var t = image.ToTensor(norm);
        AssertTensorEquals(fixture.GetProperty("tensor"), t);
    }

    [TestMethod]
    public void ToTensorChecksChannelCount()
    {
        var grey = new Image(2, 2, 1);
        var e = Assert.ThrowsException<ArgumentException>(() => grey.ToTensor(ImageNormalization.Torchvision));
        StringAssert.Contains(e.Message, "1-channel");
    }

    [TestMethod]
    public void BatchPadsToMultipleOf32LikeTorchvisionBatchImages()
    {
        using var scope = DisposeScope.Enter();
        // torchvision: max over the batch of each side, then ceil(side / 32) * 32; zeros elsewhere.
        var a = Tensor.Full([3, 30, 45], 1.5);
        var b = Tensor.Full([3, 50, 20], -2.0);
        var batch = ImageTensors.Batch([a, b]);
        CollectionAssert.AreEqual(new long[] { 2, 3, 64, 64 }, batch.Shape);
        var data = batch.ToArray<float>();
        float At(int n, int c, int y, int x) => data[((n * 3 + c) * 64 + y) * 64 + x];
        Assert.AreEqual(1.5f, At(0, 2, 29, 44));
        Assert.AreEqual(0f, At(0, 2, 30, 44));
        Assert.AreEqual(0f, At(0, 0, 29, 45));
        Assert.AreEqual(-2.0f, At(1, 1, 49, 19));
        Assert.AreEqual(0f, At(1, 1, 49, 20));
        Assert.AreEqual(0f, At(1, 1, 50, 0));
        double sum = data.Sum(v => (double)v);
        Assert.AreEqual(3 * 30 * 45 * 1.5 - 3 * 50 * 20 * 2.0, sum, 1e-9);

        var exact = ImageTensors.Batch([Tensor.Zeros([1, 64, 32])]);
        CollectionAssert.AreEqual(new long[] { 1, 1, 64, 32 }, exact.Shape, "sizes already divisible stay as they are");
    }

    [TestMethod]
    public void BatchRejectsMixedChannelCounts()
    {
        using var scope = DisposeScope.Enter();
        var e = Assert.ThrowsException<ArgumentException>(() => ImageTensors.Batch([Tensor.Zeros([3, 4, 4]), Tensor.Zeros([1, 4, 4])]));
        StringAssert.Contains(e.Message, "image 1 has 1 channels");
    }

    private static double[] Doubles(System.Text.Json.JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    private static void AssertTensorEquals(System.Text.Json.JsonElement expected, Tensor actual)
    {
        CollectionAssert.AreEqual(expected.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray(), actual.Shape);
        Assert.AreEqual(DType.Float32, actual.DType);
        var want = expected.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        var got = actual.ToArray<float>();
        for (int i = 0; i < want.Length; i++)
            if (BitConverter.SingleToInt32Bits(want[i]) != BitConverter.SingleToInt32Bits(got[i]))
                Assert.Fail($"element {i}: {got[i]:R}, torchvision gives {want[i]:R}");
    }
}
