using System.Diagnostics;
using MLNetSeg.Torch;

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
}
