using System.Diagnostics;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Models.Tests;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Benchmarks;

/// <summary>Model inference timings; Python counterpart: benchmarks/reference/maskrcnn.py.</summary>
internal static class ModelBenchmarks
{
    /// <summary>maskrcnn_resnet50_fpn on one 3×480×640 image (resized to 800×1067), name-seeded
    /// weights identical to the reference's, seconds per image (median) and peak RSS.
    /// Args: [runs=5] [threads=all] [fold=false].</summary>
    public static string MaskRcnn(string[] args)
    {
        int runs = args.Length > 0 ? int.Parse(args[0]) : 5;
        int threads = args.Length > 1 ? int.Parse(args[1]) : Environment.ProcessorCount;
        bool fold = args.Length > 2 && bool.Parse(args[2]);
        TorchRuntime.Threads = threads;
        using var model = DeterministicWeights.Apply(MLNetSeg.Models.Rcnn.MaskRcnn.ResNet50Fpn());
        model.Eval();
        if (fold) model.Backbone.FuseFrozenBatchNorm();
        using var image = DeterministicWeights.Uniform("bench.image", new long[] { 3, 480, 640 });
        int detections = model.Predict(image).Count;  // warm-up
        var times = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            detections = model.Predict(image).Count;
            times.Add(sw.Elapsed.TotalSeconds);
        }
        times.Sort();
        using var process = Process.GetCurrentProcess();
        return $"{{\"benchmark\":\"maskrcnn800\",\"impl\":\"csharp{(fold ? "_folded" : "")}\",\"threads\":{threads},\"median_s\":{times[runs / 2]:F3}," +
               $"\"detections\":{detections},\"peak_rss_mb\":{process.PeakWorkingSet64 / (1024 * 1024)}}}";
    }

    /// <summary>The mask half of <see cref="DetectionTensors.ToInstances"/>: N random 28×28 mask probabilities
    /// pasted at random boxes into a 480×640 image (torchvision's paste), then binarised at 0.5 and
    /// run-length encoded; milliseconds per call (median), total RLE area as a checksum.
    /// Args: [masks=300] [runs=21].</summary>
    public static string MasksToRle(string[] args)
    {
        int n = args.Length > 0 ? int.Parse(args[0]) : 300;
        int runs = args.Length > 1 ? int.Parse(args[1]) : 21;
        const int height = 480, width = 640;
        using var scope = DisposeScope.Enter();
        var random = new Random(7);
        var boxes = new float[n * 4];
        for (int i = 0; i < n; i++)
        {
            float x1 = random.Next(0, width - 20), y1 = random.Next(0, height - 20);
            boxes[4 * i] = x1;
            boxes[4 * i + 1] = y1;
            boxes[4 * i + 2] = Math.Min(width, x1 + 10 + random.Next(0, 300));
            boxes[4 * i + 3] = Math.Min(height, y1 + 10 + random.Next(0, 300));
        }
        var boxTensor = Tensor.FromArray(boxes, n, 4);
        var small = DeterministicWeights.Uniform("bench.masks", new long[] { n, 1, 28, 28 });
        var pasted = VisionOps.PasteMasksInImage(small, boxTensor, height, width);
        var detections = new DetectionTensors(height, width, boxTensor, Tensor.Ones(new long[] { n }, DType.Int64),
            Tensor.Ones(new long[] { n }), pasted);
        long area = detections.ToInstances().Masks!.Sum(m => m.Area);  // warm-up
        var times = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            var instances = detections.ToInstances();
            times.Add(sw.Elapsed.TotalMilliseconds);
            area = instances.Masks!.Sum(m => m.Area);
        }
        times.Sort();
        return $"{{\"benchmark\":\"masks_to_rle_{n}x{height}x{width}\",\"impl\":\"csharp\",\"ms\":{times[runs / 2]:F2},\"area\":{area}}}";
    }
}
