using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models.Tests.ModelFiles;

/// <summary>Small detectors for model-file tests: ResNet-18 FPN, 128/192 input sizes, few proposals,
/// and settings that differ from the defaults everywhere a file could lose them.</summary>
internal static class TinyDetectors
{
    public static RcnnOptions Options { get; } = new()
    {
        MinSize = 128,
        MaxSize = 192,
        ImageMean = new[] { 0.5, 0.45, 0.4 },
        ImageStd = new[] { 0.25, 0.2, 0.3 },
        AnchorSizes = new[] { 16.0, 32, 64, 128, 256 },
        AnchorAspectRatios = new[] { 0.5, 1.0, 2.0, 3.0 },
        RpnPreNmsTopNTest = 300,
        RpnPostNmsTopNTest = 150,
        RpnNmsThresh = 0.65,
        BoxScoreThresh = 0.06,
        BoxNmsThresh = 0.45,
        BoxDetectionsPerImage = 4,  // the mask and keypoint heads cost ~1 and ~4 GMAC per detection
        MaskThreshold = 0.45,
        FrozenBatchNormEps = 2e-5,
        TrainableBackboneLayers = 2,
    };

    /// <summary>A 3-class (background + 2) Mask R-CNN, torchvision-initialised from <paramref name="seed"/>.</summary>
    public static MaskRcnn Mask(ulong seed = 5, int version = 1, int fpnVersion = 1, DetectorWidths? widths = null)
    {
        TorchRuntime.ManualSeed(seed);
        return (MaskRcnn)new ModelArchitecture
        {
            ModelType = ModelArchitecture.MaskRcnnType, Version = version, Backbone = ResNetDepth.ResNet18, FpnVersion = fpnVersion, NumClasses = 3,
            Widths = widths ?? DetectorWidths.Torchvision,
        }.Build(Options);
    }

    /// <summary>A 2-class Keypoint R-CNN with 4 keypoints, at most 2 detections per image (its head is the costly part).</summary>
    public static KeypointRcnn Keypoint(ulong seed = 6, DetectorWidths? widths = null)
    {
        TorchRuntime.ManualSeed(seed);
        return (KeypointRcnn)new ModelArchitecture
        {
            ModelType = ModelArchitecture.KeypointRcnnType, Backbone = ResNetDepth.ResNet18, NumClasses = 2, NumKeypoints = 4,
            Widths = widths ?? DetectorWidths.Torchvision,
        }.Build(Options with { BoxDetectionsPerImage = 2 });
    }

    public static KeypointSchema FourKeypoints { get; } =
        new(new[] { "head", "tail", "left_fin", "right_fin" }, new[] { (0, 1), (2, 3) }, new[] { 0, 1, 3, 2 });

    public static ModelFileInfo MaskInfo => new()
    {
        ClassNames = new[] { ModelFileInfo.BackgroundName, "disc", "square" },
        CategoryIds = new[] { 0, 7, 3 },
        Properties = new Dictionary<string, string> { ["trained_on"] = "synthetic tiny", ["epochs"] = "2" },
    };

    /// <summary>A 96×128 RGB picture: a gradient with a bright disc and a dark square on it.</summary>
    public static Image Picture()
    {
        const int h = 96, w = 128;
        var pixels = new byte[h * w * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int o = (y * w + x) * 3;
                bool disc = (x - 40) * (x - 40) + (y - 45) * (y - 45) < 20 * 20;
                bool square = x is >= 80 and < 115 && y is >= 20 and < 60;
                pixels[o] = (byte)(disc ? 240 : square ? 20 : 2 * x);
                pixels[o + 1] = (byte)(disc ? 200 : square ? 30 : 2 * y);
                pixels[o + 2] = (byte)(disc ? 40 : square ? 160 : 100);
            }
        return new Image(h, w, 3, pixels);
    }
}
