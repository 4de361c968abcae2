using System.Diagnostics;
using MLNetSeg.Data.Coco;
using MLNetSeg.Evaluation.Coco;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Benchmarks;

/// <summary>Vision-core timings; Python counterparts in benchmarks/reference/vision_ops.py and cocoeval_ref.py.</summary>
internal static class VisionBenchmarks
{
    /// <summary>COCO evaluate+accumulate (the span pycocotools' evaluate()+accumulate() covers),
    /// median of runs. Args: GT DT bbox|segm [runs].</summary>
    public static string CocoEval(string[] args)
    {
        var gt = CocoDataset.Load(args[0]);
        var dt = CocoResults.Load(args[1]);
        var iouType = args[2] == "segm" ? CocoIouType.Segm : args[2] == "keypoints" ? CocoIouType.Keypoints : CocoIouType.Bbox;
        int runs = args.Length > 3 ? int.Parse(args[3]) : 3;
        var times = new List<double>();
        CocoEvalResult? result = null;
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            result = CocoEvaluator.Evaluate(gt, dt, iouType);
            times.Add(sw.Elapsed.TotalSeconds);
        }
        times.Sort();
        return $"{{\"benchmark\":\"cocoeval\",\"impl\":\"csharp\",\"iou_type\":\"{args[2]}\",\"seconds\":{times[runs / 2]:F3}," +
               $"\"threads\":{Environment.ProcessorCount},\"stats\":[{string.Join(",", result!.Stats.Select(s => s.ToString("R")))}]}}";
    }

    /// <summary>NMS (IoU 0.5) of 10,000 random boxes drawn from the same distribution as the
    /// reference's (not the same values), 1 thread, median of runs, for both backends.</summary>
    public static string Nms10k(string[] args)
    {
        int runs = args.Length > 0 ? int.Parse(args[0]) : 21;
        TorchRuntime.Threads = 1;
        TorchRuntime.ManualSeed(0);
        using var scope = DisposeScope.Enter();
        var xy = Tensor.Rand(new long[] { 10000, 2 }) * 1000;
        var wh = Tensor.Rand(new long[] { 10000, 2 }) * 100 + 1;
        var boxes = Tensor.Cat(new[] { xy, xy + wh }, 1);
        var scores = Tensor.Rand(new long[] { 10000 });
        string Time(VisionOpsBackend backend)
        {
            VisionOps.Nms(boxes, scores, 0.5, backend).Dispose();
            var times = new List<double>();
            for (int i = 0; i < runs; i++)
            {
                var sw = Stopwatch.StartNew();
                VisionOps.Nms(boxes, scores, 0.5, backend).Dispose();
                times.Add(sw.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            return times[runs / 2].ToString("F3");
        }
        return $"{{\"benchmark\":\"nms10k\",\"impl\":\"csharp\",\"native_ms\":{Time(VisionOpsBackend.Native)},\"composed_ms\":{Time(VisionOpsBackend.Composed)}}}";
    }

    /// <summary>RLE encode of one 640×480 mask (a disc plus a stripe pattern), median of runs.</summary>
    public static string RleEncode(string[] args)
    {
        int runs = args.Length > 0 ? int.Parse(args[0]) : 51;
        var mask = new BitMask(480, 640);
        for (int y = 0; y < 480; y++)
            for (int x = 0; x < 640; x++)
                mask[y, x] = (x - 300) * (x - 300) + (y - 200) * (y - 200) < 150 * 150 || (x / 37 + y / 23) % 5 == 0;
        var rle = Rle.Encode(mask);
        var times = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            rle = Rle.Encode(mask);
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return $"{{\"benchmark\":\"rle_encode_640x480\",\"impl\":\"csharp\",\"ms\":{times[runs / 2]:F4},\"area\":{rle.Area}}}";
    }
}
