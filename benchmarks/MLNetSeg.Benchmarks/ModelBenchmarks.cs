using System.Diagnostics;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Models.Tests;
using MLNetSeg.Torch;

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
}
