using System.Diagnostics;
using System.Globalization;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Distributed;
using MLNetSeg.Training;

namespace MLNetSeg.Benchmarks;

/// <summary>Gloo's all-reduce between the processes torchrun's environment describes (benchmarks/distributed_scaling.sh).</summary>
internal static class DistributedBenchmarks
{
    /// <summary>
    /// Seconds per all-reduce (sum) of a float32 tensor of <c>elements</c> (e.g. a model's trainable
    /// parameter count, which the training benchmark prints) over
    /// <c>repeats</c> timed calls after 2 untimed ones; algorithm bandwidth (bytes ÷ time) and bus bandwidth
    /// (× 2(n−1)/n, the bytes each link carries in a ring all-reduce, NCCL's convention). Rank 0 prints.
    /// Args: elements [repeats=10].
    /// </summary>
    public static string AllReduce(string[] args)
    {
        long elements = long.Parse(args[0], CultureInfo.InvariantCulture);
        int repeats = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10;
        var options = DistributedOptions.FromEnvironment() ?? throw new InvalidOperationException("set WORLD_SIZE, RANK, MASTER_ADDR and MASTER_PORT");
        using var store = RendezvousStore.Tcp(options.MasterAddress, options.MasterPort, options.WorldSize, options.IsMain, TimeSpan.FromMinutes(5));
        using var group = ProcessGroup.Gloo(store, options.Rank, options.WorldSize, TimeSpan.FromMinutes(5));
        using var t = Tensor.Ones(new[] { elements });
        for (int i = 0; i < 2; i++) group.AllReduce(new[] { t });
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            group.Barrier();
            var start = Stopwatch.GetTimestamp();
            group.AllReduce(new[] { t });
            times[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        group.Barrier();
        if (!options.IsMain) return "";
        double median = times.Order().ElementAt(repeats / 2);
        double bytes = elements * 4.0, n = options.WorldSize;
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"benchmark\":\"allreduce\",\"processes\":{options.WorldSize},\"elements\":{elements},\"threads\":{TorchRuntime.Threads}," +
            $"\"median_s\":{median:F5},\"algorithm_GBps\":{bytes / median / 1e9:F3},\"bus_GBps\":{bytes / median / 1e9 * 2 * (n - 1) / n:F3}}}");
    }
}
