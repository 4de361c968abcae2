using System.Diagnostics;
using System.Globalization;
using System.Text;
using MLNetSeg.Models;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.MaskLab;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;

namespace MLNetSeg.Benchmarks;

/// <summary>MaskLab's inference cost against Mask R-CNN with the same backbone, at the same input size and detection count.</summary>
internal static class MaskLabBenchmarks
{
    /// <summary>
    /// Seconds per image of Mask R-CNN and of MaskLab variants, all ResNet-18 FPN at compact widths on the same 256×192
    /// images, with the box score threshold at 0 so that every model returns exactly <c>detections</c> boxes per image
    /// (the per-box mask branches are what differs). The models run in turn within each round; the medians over
    /// <c>rounds</c> and their ratios to Mask R-CNN are reported. Args: [detections=20] [rounds=7] [images=8].
    /// </summary>
    public static string Speed(string[] args)
    {
        int detections = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20;
        int rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 7;
        int count = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 8;
        var settings = new RcnnOptions { MinSize = 192, MaxSize = 256, BoxScoreThresh = 0, BoxDetectionsPerImage = detections };
        var labels = ModelFileInfo.ForCategories(Enumerable.Range(1, 6).Select(i => (i, $"class{i}")));
        var variants = new (string Name, ModelOptions Options)[]
        {
            ("maskrcnn", new MaskRcnnOptions { Backbone = ResNetDepth.ResNet18, Norm = BackboneNorm.BatchNorm, Widths = DetectorWidths.Compact, Settings = settings }),
            ("masklab_semantic_c21", MaskLab(settings, o => o with { CropSize = 21, Direction = false, Refinement = false, DeformableCrop = false })),
            ("masklab_full_c21", MaskLab(settings, o => o with { CropSize = 21 })),
            ("masklab_full_c41", MaskLab(settings, o => o)),
        };
        var models = variants.Select((v, i) =>
        {
            TorchRuntime.ManualSeed((ulong)(i + 1));
            var model = ModelRegistry.For(v.Options).Create(v.Options, labels);
            model.PrepareForInference();
            return model;
        }).ToArray();
        var images = Enumerable.Range(0, count).Select(_ => Tensor.Rand(new long[] { 3, 192, 256 })).ToArray();
        var timed = InterleavedTiming.Run(models, images, rounds);
        var s = new StringBuilder("{\"benchmark\":\"masklab_speed\",\"input\":\"3x192x256\",\"backbone\":\"resnet18_fpn_compact\"");
        s.Append(CultureInfo.InvariantCulture, $",\"detections\":{detections},\"rounds\":{rounds},\"images\":{count},\"threads\":{TorchRuntime.Threads}");
        double reference = timed[0].MedianSeconds;
        for (int m = 0; m < models.Length; m++)
        {
            double median = timed[m].MedianSeconds;
            s.Append(CultureInfo.InvariantCulture,
                $",\"{variants[m].Name}\":{{\"median_s\":{median:F4},\"ratio\":{median / reference:F2},\"detections_per_image\":{timed[m].DetectionsPerImage}}}");
        }
        foreach (var model in models) model.Dispose();
        foreach (var image in images) image.Dispose();
        return s.Append('}').ToString();
    }

    private static MaskLabOptions MaskLab(RcnnOptions settings, Func<MaskLabOptions, MaskLabOptions> configure) =>
        configure(new MaskLabOptions { Backbone = ResNetDepth.ResNet18, Norm = BackboneNorm.BatchNorm, Widths = DetectorWidths.Compact, Settings = settings });
}
