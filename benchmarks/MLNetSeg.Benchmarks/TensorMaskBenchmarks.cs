using System.Diagnostics;
using System.Globalization;
using System.Text;
using MLNetSeg.Models;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Models.TensorMask;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Benchmarks;

/// <summary>TensorMask's costs: inference against Mask R-CNN on the same backbone and input, swap_align2nat against a memory copy,
/// and where a training step's time goes.</summary>
internal static class TensorMaskBenchmarks
{
    /// <summary>The benchmark recipe's TensorMask (docs/benchmarks.md "TensorMask ablation"): ResNet-18 FPN at compact widths
    /// (as the Mask R-CNN rows), towers of 64, P2–P5, windows 44 and 60 on P2, inputs 192–256 pixels.</summary>
    public static TensorMaskOptions Recipe(int minSize = 192, int maxSize = 256) => new()
    {
        Backbone = ResNetDepth.ResNet18, Norm = BackboneNorm.BatchNorm, BackboneWidth = DetectorWidths.Compact.Backbone,
        FpnChannels = DetectorWidths.Compact.Fpn, TrainableBackboneLayers = 5, ClassTowerChannels = 64, BoxTowerChannels = 64,
        MaskTowerChannels = 64, Levels = 4, MinSize = minSize, MaxSize = maxSize,
    };

    /// <summary>
    /// Seconds per image of Mask R-CNN and TensorMask (bipyramid), the same ResNet FPN and input, score thresholds at 0 so
    /// that both return their full <c>detections</c> per image; models in turn within each round, medians over rounds and
    /// the ratio. Args: [size=small|coco] [detections=20] [rounds=5] [images=4]. small: ResNet-18 FPN at compact widths
    /// on 256×192 (the benchmark's recipe); coco: ResNet-50 FPN at torchvision's widths, detectron2's towers, P2–P7, one
    /// 640×480 image resized to 800×1067 (the paper's setting).
    /// </summary>
    public static string Speed(string[] args)
    {
        string size = args.Length > 0 ? args[0] : "small";
        int detections = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
        int rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
        int count = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 4;
        bool coco = size == "coco";
        var labels = ModelFileInfo.ForCategories(Enumerable.Range(1, coco ? 80 : 6).Select(i => (i, $"class{i}")));
        ModelOptions maskRcnn = coco
            ? new MaskRcnnOptions { Settings = new RcnnOptions { BoxScoreThresh = 0, BoxDetectionsPerImage = detections } }
            : new MaskRcnnOptions
            {
                Backbone = ResNetDepth.ResNet18, Norm = BackboneNorm.BatchNorm, Widths = DetectorWidths.Compact,
                Settings = new RcnnOptions { MinSize = 192, MaxSize = 256, BoxScoreThresh = 0, BoxDetectionsPerImage = detections },
            };
        ModelOptions tensorMask = coco
            ? new TensorMaskOptions { ScoreThreshold = 0, DetectionsPerImage = detections }
            : Recipe() with { ScoreThreshold = 0, DetectionsPerImage = detections };
        var variants = new (string Name, ModelOptions Options)[] { ("maskrcnn", maskRcnn), ("tensormask", tensorMask) };
        var models = variants.Select((v, i) =>
        {
            TorchRuntime.ManualSeed((ulong)(i + 1));
            var model = ModelRegistry.For(v.Options).Create(v.Options, labels);
            model.PrepareForInference();
            return model;
        }).ToArray();
        var images = Enumerable.Range(0, count).Select(_ => coco ? Tensor.Rand(new long[] { 3, 480, 640 }) : Tensor.Rand(new long[] { 3, 192, 256 })).ToArray();
        var timed = InterleavedTiming.Run(models, images, rounds);
        var s = new StringBuilder($"{{\"benchmark\":\"tensormask_speed\",\"size\":\"{size}\"");
        s.Append(CultureInfo.InvariantCulture, $",\"detections\":{detections},\"rounds\":{rounds},\"images\":{count},\"threads\":{TorchRuntime.Threads}");
        double reference = timed[0].MedianSeconds;
        for (int m = 0; m < models.Length; m++)
            s.Append(CultureInfo.InvariantCulture,
                $",\"{variants[m].Name}\":{{\"median_s\":{timed[m].MedianSeconds:F4},\"ratio\":{timed[m].MedianSeconds / reference:F2},\"detections_per_image\":{timed[m].DetectionsPerImage},\"parameters\":{models[m].Module.ParameterCount}}}");
        foreach (var model in models) model.Dispose();
        foreach (var image in images) image.Dispose();
        return s.Append('}').ToString();
    }

    /// <summary>
    /// swap_align2nat forward (and forward + backward), the composed and the fused kernel in turn, against a copy of the same input (<c>clone</c>: one read and one write
    /// of every element, the memory-bound floor), for λ = 1 … 32 on [1, V·U, H, W]. Medians of <c>repeats</c>.
    /// Args: [side=15] [height=200] [width=272] [repeats=5] (P2 of an 800×1088 input with 15×15 masks).
    /// </summary>
    public static string SwapAlign2Nat(string[] args)
    {
        int side = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 15;
        int h = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200;
        int w = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 272;
        int repeats = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 5;
        using var input = Tensor.Rand(new long[] { 1, (long)side * side, h, w });
        double Time(Action action)
        {
            action();
            var list = new List<double>();
            for (int i = 0; i < repeats; i++)
            {
                var sw = Stopwatch.StartNew();
                action();
                list.Add(sw.Elapsed.TotalSeconds);
            }
            return InterleavedTiming.Median(list);
        }
        double copy = Time(() => { using var c = input.Clone(); });
        // The two kernels alternate within each repeat, so that a load that changes during the run weighs on both alike.
        (double Composed, double Fused) Pair(Action<Align2NatKernel> action)
        {
            action(Align2NatKernel.Composed);
            action(Align2NatKernel.Fused);
            var composed = new List<double>();
            var fused = new List<double>();
            for (int i = 0; i < repeats; i++)
                foreach (var (kernel, list) in new[] { (Align2NatKernel.Composed, composed), (Align2NatKernel.Fused, fused) })
                {
                    var sw = Stopwatch.StartNew();
                    action(kernel);
                    list.Add(sw.Elapsed.TotalSeconds);
                }
            return (InterleavedTiming.Median(composed), InterleavedTiming.Median(fused));
        }
        var s = new StringBuilder("{\"benchmark\":\"swap_align2nat\"");
        s.Append(CultureInfo.InvariantCulture, $",\"input\":\"1x{side * side}x{h}x{w}\",\"threads\":{TorchRuntime.Threads},\"copy_s\":{copy:F5}");
        foreach (int lambda in new[] { 1, 2, 4, 8, 16, 32 })
        {
            var forward = Pair(kernel =>
            {
                using var scope = DisposeScope.Enter();
                using var noGrad = NoGradScope.Enter();
                VisionOps.SwapAlign2Nat(input, lambda, kernel: kernel);
            });
            var both = Pair(kernel =>
            {
                using var scope = DisposeScope.Enter();
                var x = input.Detach().RequiresGrad_();
                VisionOps.SwapAlign2Nat(x, lambda, kernel: kernel).Sum().Backward();
            });
            s.Append(CultureInfo.InvariantCulture,
                $",\"lambda{lambda}\":{{\"composed_forward_s\":{forward.Composed:F5},\"composed_vs_copy\":{forward.Composed / copy:F1},\"fused_forward_s\":{forward.Fused:F5},\"fused_vs_copy\":{forward.Fused / copy:F1}," +
                $"\"composed_forward_backward_s\":{both.Composed:F5},\"fused_forward_backward_s\":{both.Fused:F5}}}");
        }
        return s.Append('}').ToString();
    }

    /// <summary>Where a training step of the recipe's TensorMask goes (batch 4 at 256×192, one object per image): the whole
    /// step, the losses' forward alone, and swap_align2nat's share of the forward. Args: [steps=5].</summary>
    public static string Step(string[] args)
    {
        int steps = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
        var labels = ModelFileInfo.ForCategories(Enumerable.Range(1, 6).Select(i => (i, $"class{i}")));
        TorchRuntime.ManualSeed(1);
        using var model = (TensorMaskModel)TensorMaskFamily.Instance.Create(Recipe(), labels);
        model.Train();
        var images = Enumerable.Range(0, 4).Select(_ => Tensor.Rand(new long[] { 3, 192, 256 })).ToArray();
        var masks = new byte[192 * 256];
        for (int y = 60; y < 140; y++) for (int x = 80; x < 170; x++) masks[y * 256 + x] = 1;
        var targets = images.Select(_ => (ITrainingTarget)new RcnnTarget(Tensor.FromArray(new float[] { 80, 60, 170, 140 }, new long[] { 1, 4 }),
            Tensor.FromArray(new long[] { 1 }, new long[] { 1 }), Tensor.FromArray(masks, new long[] { 1, 192, 256 }))).ToArray();
        var forward = new List<double>();
        var total = new List<double>();
        for (int step = -1; step < steps; step++)
        {
            using var scope = DisposeScope.Enter();
            var sw = Stopwatch.StartNew();
            var losses = ((ISegmentationModel)model).ComputeLosses(images, targets);
            double f = sw.Elapsed.TotalSeconds;
            losses.Values.Aggregate((a, b) => a + b).Backward();
            model.ZeroGrad();
            if (step >= 0) { forward.Add(f); total.Add(sw.Elapsed.TotalSeconds); }
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"benchmark\":\"tensormask_step\",\"batch\":4,\"input\":\"3x192x256\",\"threads\":{TorchRuntime.Threads},\"step_s\":{InterleavedTiming.Median(total):F3},\"forward_s\":{InterleavedTiming.Median(forward):F3}}}");
    }
}
