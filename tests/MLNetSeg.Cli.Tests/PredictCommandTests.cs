using MLNetSeg.Cli;
using MLNetSeg.Data.Coco;
using MLNetSeg.Models;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Serialization;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Cli.Tests;

/// <summary>
/// `mlnetseg predict` run in-process through CliApp.Run on a tiny saved Mask R-CNN (ResNet-18 FPN,
/// 128/192 input, random torchvision-style weights: enough for detections, no training needed).
/// The detections themselves are not judged here (the model tests compare them to torchvision);
/// the command must write one overlay per image and a results file COCO tools accept.
/// </summary>
[TestClass]
public sealed class PredictCommandTests
{
    private static string root = "";
    private static string modelPath = "";
    private static string imageDirectory = "";

    [ClassInitialize]
    public static void Setup(TestContext _)
    {
        root = Path.Combine(Path.GetTempPath(), $"mlnetseg-predict-{Guid.NewGuid():N}");
        imageDirectory = Path.Combine(root, "images");
        Directory.CreateDirectory(imageDirectory);
        TorchRuntime.ManualSeed(11);
        var arch = new ModelArchitecture { ModelType = ModelArchitecture.MaskRcnnType, Backbone = ResNetDepth.ResNet18, NumClasses = 3 };
        // Few detections: the mask head costs ~1 GMAC per detection.
        using var model = arch.Build(new RcnnOptions { MinSize = 128, MaxSize = 192, RpnPostNmsTopNTest = 100, BoxDetectionsPerImage = 3 });
        modelPath = Path.Combine(root, "tiny.mlseg");
        ModelFile.Save(model, new ModelFileInfo { ClassNames = new[] { "__background__", "disc", "square" }, CategoryIds = new[] { 0, 7, 3 } }, modelPath);
        // COCO-style numeric names: the results use them as image ids.
        ImageIO.WritePng(Picture(80, 64, 0), Path.Combine(imageDirectory, "000000000012.png"));
        ImageIO.WritePng(Picture(72, 96, 1), Path.Combine(imageDirectory, "000000000034.png"));
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [TestMethod]
    public void WritesAnOverlayPerImageAndCocoResults()
    {
        string output = Path.Combine(root, "out");
        string json = Path.Combine(root, "results.json");
        var (code, stdout, stderr) = Run("predict", "--model", modelPath, "--images", imageDirectory, "--out", output, "--score", "0", "--json", json);

        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "[1/2]");
        StringAssert.Contains(stdout, "[2/2]");
        foreach (var (name, height, width) in new[] { ("000000000012.png", 80, 64), ("000000000034.png", 72, 96) })
        {
            var overlay = ImageIO.Read(Path.Combine(output, name));
            Assert.AreEqual((height, width, 3), (overlay.Height, overlay.Width, overlay.Channels), $"{name}: overlay size");
            var input = ImageIO.Read(Path.Combine(imageDirectory, name));
            Assert.IsFalse(input.PixelArray.AsSpan().SequenceEqual(overlay.PixelArray), $"{name}: nothing was drawn");
        }

        var results = CocoResults.Load(json);
        Assert.AreEqual(6, results.Items.Count, "3 detections per image at --score 0");
        CollectionAssert.AreEquivalent(new[] { 12L, 34L }, results.Items.Select(r => r.ImageId).Distinct().ToArray(), "image ids from the file names");
        Assert.IsTrue(results.Items.All(r => r.CategoryId is 7 or 3), "labels mapped to the model file's category ids");
        Assert.IsTrue(results.Items.All(r => r.Bbox is { Length: 4 } && r.Segmentation is CocoCompressedRle), "boxes and RLE masks");
    }

    [TestMethod]
    public void TheScoreThresholdFiltersTheResults()
    {
        string json = Path.Combine(root, "none.json");
        var (code, stdout, stderr) = Run("predict", "--model", modelPath, "--images", Path.Combine(imageDirectory, "000000000012.png"),
            "--out", Path.Combine(root, "out-none"), "--score", "1", "--json", json);
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "0 instance(s)");
        Assert.AreEqual(0, CocoResults.Load(json).Items.Count, "random weights never reach score 1");
    }

    [TestMethod]
    public void MissingModelOrImagesExitWith2NamingThem()
    {
        string output = Path.Combine(root, "out-errors");
        var (code, _, stderr) = Run("predict", "--model", Path.Combine(root, "nope.mlseg"), "--images", imageDirectory, "--out", output);
        Assert.AreEqual(2, code);
        StringAssert.Contains(stderr, "model file not found: " + Path.Combine(root, "nope.mlseg"));

        (code, _, stderr) = Run("predict", "--model", modelPath, "--images", Path.Combine(root, "missing.jpg"), "--out", output);
        Assert.AreEqual(2, code);
        StringAssert.Contains(stderr, "image file or folder not found: " + Path.Combine(root, "missing.jpg"));

        string empty = Path.Combine(root, "empty");
        Directory.CreateDirectory(empty);
        (code, _, stderr) = Run("predict", "--model", modelPath, "--images", empty, "--out", output);
        Assert.AreEqual(2, code);
        StringAssert.Contains(stderr, $"folder {empty} has no .jpg, .jpeg or .png images");

        Assert.IsFalse(Directory.Exists(output), "nothing is written when the input is wrong");
    }

    [TestMethod]
    public void AWeightsOnlyFileExitsWith2()
    {
        string plain = Path.Combine(root, "plain.safetensors");
        using (var scope = DisposeScope.Enter())
            SafeTensors.Save(plain, new Dictionary<string, Tensor> { ["w"] = Tensor.Zeros(new long[] { 2 }) });
        var (code, _, stderr) = Run("predict", "--model", plain, "--images", imageDirectory, "--out", Path.Combine(root, "out-plain"));
        Assert.AreEqual(2, code);
        StringAssert.Contains(stderr, $"{plain}: a safetensors file without MLNetSeg model metadata");
    }

    /// <summary>A gradient with a bright disc, <paramref name="variant"/> moving it.</summary>
    private static Image Picture(int height, int width, int variant)
    {
        var pixels = new byte[height * width * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int o = (y * width + x) * 3;
                bool disc = (x - 30 - 8 * variant) * (x - 30 - 8 * variant) + (y - 35) * (y - 35) < 15 * 15;
                pixels[o] = (byte)(disc ? 240 : 3 * x);
                pixels[o + 1] = (byte)(disc ? 200 : 3 * y);
                pixels[o + 2] = (byte)(disc ? 40 : 90);
            }
        return new Image(height, width, 3, pixels);
    }
}
