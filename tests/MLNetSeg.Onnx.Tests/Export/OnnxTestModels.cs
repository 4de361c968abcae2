using MLNetSeg.Data.Synthetic;
using MLNetSeg.Models;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.MaskLab;
using MLNetSeg.Models.Panoptic;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Onnx.Export;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Onnx.Tests.Export;

/// <summary>
/// Small R-CNNs with seeded random weights for the ONNX tests, made decisive (the class logits
/// scaled up) so that their detections have well-separated scores, and the images they run on.
/// </summary>
internal static class OnnxTestModels
{
    public static readonly DetectorWidths Small = new() { Backbone = 16, Fpn = 32, BoxHead = 64, MaskHead = 16, KeypointHead = 32 };

    public static ModelFileInfo Labels(int classes, KeypointSchema? keypoints = null) =>
        ModelFileInfo.ForCategories(Enumerable.Range(1, classes - 1).Select(i => (i, $"class{i}")), keypoints);

    public static RcnnOptions Settings => new() { MinSize = 160, MaxSize = 256 };

    public static MaskRcnn MaskRcnn(int seed, int headVersion = 1, BackboneNorm norm = BackboneNorm.FrozenBatchNorm, int classes = 4)
    {
        TorchRuntime.ManualSeed((ulong)seed);
        var options = new MaskRcnnOptions
        {
            Backbone = ResNetDepth.ResNet18, Norm = norm, HeadVersion = headVersion, Widths = Small,
            Settings = Settings with { NumClasses = classes },
        };
        var model = (MaskRcnn)MaskRcnnFamily.Instance.Create(options, Labels(classes));
        Sharpen(model);
        return model;
    }

    public static KeypointRcnn KeypointRcnn(int seed, int keypoints = 5)
    {
        TorchRuntime.ManualSeed((ulong)seed);
        var schema = new KeypointSchema(Enumerable.Range(0, keypoints).Select(i => $"k{i}").ToArray(), Array.Empty<(int, int)>(), Enumerable.Range(0, keypoints).ToArray());
        var options = new KeypointRcnnOptions
        {
            Backbone = ResNetDepth.ResNet18, Widths = Small,
            Settings = Settings with { NumClasses = 2, NumKeypoints = keypoints },
        };
        var model = (KeypointRcnn)KeypointRcnnFamily.Instance.Create(options, Labels(2, schema));
        Sharpen(model);
        return model;
    }

    /// <summary>A MaskLab with the small widths; <paramref name="configure"/> sets its switches (crops of 15 by default).</summary>
    public static MaskLabModel MaskLab(int seed, Func<MaskLabOptions, MaskLabOptions>? configure = null, int classes = 4)
    {
        TorchRuntime.ManualSeed((ulong)seed);
        var options = new MaskLabOptions
        {
            Backbone = ResNetDepth.ResNet18, Widths = Small, Settings = Settings with { NumClasses = classes }, CropSize = 15,
        };
        var model = (MaskLabModel)MaskLabFamily.Instance.Create(configure is null ? options : configure(options), Labels(classes));
        Sharpen(model);
        return model;
    }

    /// <summary>A panoptic-family model with the small widths over 3 thing classes ("class1".."class3") and 2 stuff classes;
    /// <paramref name="configure"/> sets its switches (Panoptic-FPN-IMP by default).</summary>
    public static PanopticModel Panoptic(int seed, Func<PanopticOptions, PanopticOptions>? configure = null)
    {
        TorchRuntime.ManualSeed((ulong)seed);
        var options = new PanopticOptions
        {
            Backbone = ResNetDepth.ResNet18, Widths = Small, Settings = Settings with { NumClasses = 4 },
            SemanticClasses = new[] { "class1", "class2", "class3", "sky", "ground" }, SemanticConvDims = 32,
        };
        var model = (PanopticModel)PanopticFamily.Instance.Create(configure is null ? options : configure(options), Labels(4));
        Sharpen(model);
        return model;
    }

    /// <summary>Scales the class logits ×8 so random weights give confident, distinct scores.</summary>
    private static void Sharpen(GeneralizedRcnn model)
    {
        using var noGrad = NoGradScope.Enter();
        model.RoiHeads.BoxPredictor.ClsScore.Weight.Mul_(8.0);
        model.RoiHeads.BoxPredictor.ClsScore.Bias!.Mul_(8.0);
    }

    /// <summary>Synthetic-benchmark-like scenes of the given sizes (deterministic).</summary>
    public static Image Scene(int height, int width, int seed)
    {
        var rng = new Random(seed);
        var image = new Image(height, width, 3);
        var px = image.PixelArray;
        for (int i = 0; i < px.Length; i++) px[i] = (byte)(60 + rng.Next(40));
        for (int s = 0; s < 6; s++)
        {
            int x0 = rng.Next(width - 10), y0 = rng.Next(height - 10), w = 10 + rng.Next(width / 2), h = 10 + rng.Next(height / 2);
            byte r = (byte)rng.Next(256), gg = (byte)rng.Next(256), b = (byte)rng.Next(256);
            for (int y = y0; y < Math.Min(height, y0 + h); y++)
                for (int x = x0; x < Math.Min(width, x0 + w); x++)
                {
                    int o = 3 * (y * width + x);
                    px[o] = r; px[o + 1] = gg; px[o + 2] = b;
                }
        }
        return image;
    }
}
