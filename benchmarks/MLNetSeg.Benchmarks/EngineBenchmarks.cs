using System.Diagnostics;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Torch.Optim;

namespace MLNetSeg.Benchmarks;

internal static class EngineBenchmarks
{
    /// <summary>Per-call cost of a trivial op (add of two 1-element tensors), including
    /// freeing the result, in microseconds. Mirrors benchmarks/reference/engine.py overhead.</summary>
    public static string Overhead(string[] args)
    {
        int iterations = args.Length > 0 ? int.Parse(args[0]) : 200_000;
        TorchRuntime.Threads = 1;
        using var a = Tensor.FromArray(new float[] { 1 }, 1);
        using var b = Tensor.FromArray(new float[] { 2 }, 1);
        for (int i = 0; i < 20_000; i++) a.Add(b).Dispose();  // warm-up (JIT tiering, op lookup)
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < iterations; i++) a.Add(b).Dispose();
        sw.Stop();
        double us = sw.Elapsed.TotalMicroseconds / iterations;
        return $"{{\"benchmark\":\"overhead\",\"impl\":\"csharp\",\"us_per_call\":{us:F3}}}";
    }

    /// <summary>Seconds per forward+backward of ResNet-50, batch 2 at 224², median of runs.</summary>
    public static string ResNet50(string[] args)
    {
        int runs = args.Length > 0 ? int.Parse(args[0]) : 5;
        int threads = args.Length > 1 ? int.Parse(args[1]) : Environment.ProcessorCount;
        TorchRuntime.Threads = threads;
        using var model = new ResNet50Functional();
        using var input = Tensor.Randn(new long[] { 2, 3, 224, 224 });
        model.Step(input);  // warm-up
        var times = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            model.Step(input);
            times.Add(sw.Elapsed.TotalSeconds);
        }
        times.Sort();
        return $"{{\"benchmark\":\"resnet50\",\"impl\":\"csharp\",\"threads\":{threads},\"median_s\":{times[times.Count / 2]:F4},\"runs\":[{string.Join(",", times.Select(t => t.ToString("F4")))}]}}";
    }

    /// <summary>Resident memory across many forward/backward/SGD iterations of a small CNN
    /// (Conv-BN-ReLU ×3 + Linear, batch 8 at 32²), sampled every 1,000 iterations.</summary>
    public static string Memory(string[] args)
    {
        int iterations = args.Length > 0 ? int.Parse(args[0]) : 10_000;
        TorchRuntime.ManualSeed(0);
        using var model = new Sequential(
            new Conv2d(3, 16, 3, padding: 1), new BatchNorm2d(16), new ReLU(),
            new Conv2d(16, 32, 3, stride: 2, padding: 1), new BatchNorm2d(32), new ReLU(),
            new Conv2d(32, 32, 3, stride: 2, padding: 1), new BatchNorm2d(32), new ReLU());
        using var head = new Linear(32, 10);
        var optimizer = new Sgd(model.Parameters().Concat(head.Parameters()), learningRate: 0.01, momentum: 0.9);
        var samples = new List<string>();
        var sw = Stopwatch.StartNew();
        for (int i = 1; i <= iterations; i++)
        {
            using (DisposeScope.Enter())
            {
                var x = Tensor.Randn(new long[] { 8, 3, 32, 32 });
                var target = Tensor.Randint(0, 10, new long[] { 8 });
                var logits = head.Forward(Functional.AdaptiveAvgPool2d(model.Forward(x), 1).Flatten(1));
                var loss = Functional.CrossEntropy(logits, target);
                optimizer.ZeroGrad();
                loss.Backward();
                optimizer.Step();
            }
            if (i % 1000 == 0)
            {
                using var p = System.Diagnostics.Process.GetCurrentProcess();
                samples.Add($"[{i},{p.WorkingSet64 / (1024 * 1024)},{GC.GetTotalMemory(false) / (1024 * 1024)},{TorchRuntime.LiveTensors},{TorchRuntime.FinalizedTensors}]");
            }
        }
        return $"{{\"benchmark\":\"memory\",\"impl\":\"csharp\",\"seconds\":{sw.Elapsed.TotalSeconds:F1},\"iteration_rss_mb_managed_mb_live_tensors_finalized\":[{string.Join(",", samples)}]}}";
    }
}
