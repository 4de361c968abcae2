using MLNetSeg.Torch;

namespace MLNetSeg.Reliability.Tests.Load;

/// <summary>One reading: after <see cref="Step"/> predictions (or iterations), the process's resident
/// memory, libtorch's live tensors (ours: every Tensor not yet disposed) and the managed heap.</summary>
internal readonly record struct MemorySample(long Step, long ResidentBytes, long LiveTensors, long ManagedBytes);

/// <summary>
/// Samples memory over a long run and judges it flat. "Flat" (docs/reliability.md): after the warm-up
/// (first-call allocations, allocator arenas and caches filling; a fifth of a prediction run, half of a
/// training run, whose evaluations bring new tensor shapes), neither resident memory nor the live tensor
/// count keeps growing:
/// <list type="bullet">
/// <item>resident memory's trend over the rest of the run, a Theil–Sen line (the median of the slopes
/// between every pair of samples: robust to the allocator's occasional steps, which a least-squares
/// line would follow), grows by at most
/// <see cref="ResidentAllowance"/> over that stretch;</item>
/// <item>live tensors never exceed their peak of the first post-warm-up stretch (they return to it after
/// every prediction; a leak of one tensor per call would show as thousands).</item>
/// </list>
/// </summary>
internal sealed class MemorySampler
{
    /// <summary>Resident growth tolerated over the post-warm-up stretch (allocator noise: glibc's arenas
    /// and fragmentation move resident memory by a few MiB without a leak). Over the full runs' 8,000
    /// post-warm-up predictions this catches a leak of 2 KiB per prediction.</summary>
    public const long ResidentAllowance = 16L << 20;

    private readonly List<MemorySample> _samples = new();

    public IReadOnlyList<MemorySample> Samples => _samples;

    /// <summary>Reads memory after an aggressive full collection. Without it resident memory carries the
    /// garbage of the current gen-0 budget, which the runtime sizes from the CPU's cache: on some machines
    /// ~80 MiB, a ramp that spans most of a 500-prediction run and reads as a trend. Aggressive mode
    /// compacts and gives the freed regions back, so what remains is live managed data plus native memory.</summary>
    public void Sample(long step)
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        Add(new MemorySample(step, ResidentBytes(), TorchRuntime.LiveTensors, GC.GetTotalMemory(false)));
    }

    /// <summary>Adds a reading taken elsewhere (the judge's own tests feed made-up series).</summary>
    public void Add(MemorySample sample) => _samples.Add(sample);

    /// <summary>Draws resident memory (left axis) and live tensors (right axis) against the step, as a PNG.</summary>
    public void Plot(string path, string title, string stepLabel, bool tensors)
    {
        var plot = new ScottPlot.Plot();
        double[] steps = _samples.Select(s => (double)s.Step).ToArray();
        var rss = plot.Add.Scatter(steps, _samples.Select(s => s.ResidentBytes / 1048576.0).ToArray());
        rss.LegendText = "resident memory (MiB)";
        plot.YLabel("resident memory (MiB)");
        plot.Axes.SetLimitsY(0, _samples.Max(s => s.ResidentBytes) / 1048576.0 * 1.15);
        if (tensors)
        {
            var live = plot.Add.Scatter(steps, _samples.Select(s => (double)s.LiveTensors).ToArray());
            live.LegendText = "live tensors";
            live.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Right.Label.Text = "live tensors";
            plot.Axes.Right.Min = 0;
            plot.Axes.Right.Max = _samples.Max(s => s.LiveTensors) * 1.15 + 1;
        }
        plot.Title(title);
        plot.XLabel(stepLabel);
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        plot.SavePng(path, 640, 320);
    }

    /// <summary>Null when flat; otherwise what grew. <paramref name="warmUp"/>: the fraction of the
    /// samples that is warm-up; <paramref name="allowance"/>: the resident growth tolerated after it.</summary>
    public string? Judge(bool tensors, double warmUp = 0.2, long allowance = ResidentAllowance)
    {
        if (_samples.Count < 10) return $"only {_samples.Count} samples";
        var after = _samples.Skip((int)(_samples.Count * warmUp)).ToArray();
        double growth = TheilSenSlope(after) * (after[^1].Step - after[0].Step);
        if (growth > allowance)
            return $"resident memory trends up by {growth / 1048576:F1} MiB over steps {after[0].Step}–{after[^1].Step} " +
                   $"({after[0].ResidentBytes >> 20} → {after[^1].ResidentBytes >> 20} MiB)";
        if (tensors)
        {
            long early = after.Take(after.Length / 2).Max(s => s.LiveTensors), late = after.Skip(after.Length / 2).Max(s => s.LiveTensors);
            if (late > early) return $"live tensors grew from {early} (after warm-up) to {late}";
        }
        return null;
    }

    /// <summary>Bytes per step: the median of the slopes between every pair of samples.</summary>
    private static double TheilSenSlope(IReadOnlyList<MemorySample> samples)
    {
        var slopes = new List<double>();
        for (int i = 0; i < samples.Count; i++)
            for (int j = i + 1; j < samples.Count; j++)
                if (samples[j].Step != samples[i].Step)
                    slopes.Add((double)(samples[j].ResidentBytes - samples[i].ResidentBytes) / (samples[j].Step - samples[i].Step));
        slopes.Sort();
        return slopes[slopes.Count / 2];
    }

    /// <summary>The samples as CSV lines, a header first.</summary>
    public IEnumerable<string> Csv(string run) =>
        new[] { "run,step,resident_mib,live_tensors,managed_mib" }.Concat(_samples.Select(s =>
            ReliabilityScale.Invariant($"{run},{s.Step},{s.ResidentBytes / 1048576.0:F1},{s.LiveTensors},{s.ManagedBytes / 1048576.0:F1}")));

    public string Summary(double warmUp = 0.2)
    {
        int warm = (int)(_samples.Count * warmUp);
        var after = _samples[warm];
        var last = _samples[^1];
        return $"after warm-up (step {after.Step}): {after.ResidentBytes >> 20} MiB, {after.LiveTensors} tensors; " +
               $"end (step {last.Step}): {last.ResidentBytes >> 20} MiB, {last.LiveTensors} tensors; peak {_samples.Max(s => s.ResidentBytes) >> 20} MiB";
    }

    /// <summary>This process's resident set size, from /proc/self/status.</summary>
    public static long ResidentBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(6).Trim().ToString().Split(' ')[0]) * 1024;
        throw new InvalidOperationException("/proc/self/status has no VmRSS line");
    }
}
