using System.Diagnostics;
using System.Globalization;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Benchmarks;

/// <summary>The IMP operator's cost (the paper: 1–2 ms on a GPU for COCO-sized inputs).</summary>
internal static class ImpBenchmarks
{
    /// <summary>
    /// Milliseconds (median) of <see cref="VisionOps.InstanceMaskProjection"/> for <c>detections</c> 28×28 masks with random
    /// boxes of 16–400 pixels on an 800×1333 image (a 200×334 canvas at 1/4 scale) with <c>classes</c> channels, forward
    /// only and forward + backward. Args: [detections=100] [classes=81] [runs=11].
    /// </summary>
    public static string Run(string[] args)
    {
        int n = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100;
        int classes = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 81;
        int runs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 11;
        const int height = 800, width = 1333, stride = 4;
        int ch = (height + stride - 1) / stride, cw = (width + stride - 1) / stride;
        var random = new Random(3);
        var boxes = new float[4 * n];
        for (int i = 0; i < n; i++)
        {
            float w = 16 + random.Next(384), h = 16 + random.Next(384);
            float x = random.Next(width - (int)w), y = random.Next(height - (int)h);
            (boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]) = (x, y, x + w, y + h);
        }
        using var scope = DisposeScope.Enter();
        var masks = Tensor.Rand(new long[] { n, 28, 28 });
        var scores = Tensor.Rand(new long[] { n });
        var labels = Tensor.FromArray(Enumerable.Range(0, n).Select(_ => (long)random.Next(1, classes)).ToArray(), new long[] { n });
        var boxTensor = Tensor.FromArray(boxes, new long[] { n, 4 });
        var images = Tensor.Zeros(new long[] { n }, DType.Int64);
        double Time(bool backward)
        {
            var times = new List<double>();
            for (int r = -1; r < runs; r++)
            {
                using var s = DisposeScope.Enter();
                var m = masks.Detach().RequiresGrad_(backward);
                var sw = Stopwatch.StartNew();
                var canvas = VisionOps.InstanceMaskProjection(m, scores, labels, boxTensor, images, 1, classes, ch, cw, stride);
                if (backward) canvas.Sum().Backward();
                if (r >= 0) times.Add(sw.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            return times[times.Count / 2];
        }
        double forward = Time(false), both = Time(true);
        return $"{{\"benchmark\":\"imp\",\"detections\":{n},\"classes\":{classes},\"canvas\":\"{ch}x{cw}\",\"threads\":{TorchRuntime.Threads}," +
               $"\"forward_ms\":{forward.ToString("F2", CultureInfo.InvariantCulture)},\"forward_backward_ms\":{both.ToString("F2", CultureInfo.InvariantCulture)}}}";
    }
}
