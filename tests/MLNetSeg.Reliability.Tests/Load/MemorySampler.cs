using MLNetSeg.Torch;

namespace MLNetSeg.Reliability.Tests.Load;

/// <summary>One reading: after <see cref="Step"/> predictions (or iterations), the process's resident
/// memory, libtorch's live tensors (ours: every Tensor not yet disposed) and the managed heap.</summary>
internal readonly record struct MemorySample(long Step, long ResidentBytes, long LiveTensors, long ManagedBytes);

/// <summary>
/// Samples memory over a long run and judges it flat. "Flat" (docs/reliability.md): after the warm-up
/// (the first fifth of the run: first-call allocations, allocator arenas, caches filling), neither resident
/// memory nor the live tensor count keeps growing: the second half's median resident size is no higher
/// than the post-warm-up stretch's median plus a small allowance (medians, because the garbage collector's
/// heap swings resident memory by tens of MiB between collections without anything leaking), and live
/// tensors never exceed their post-warm-up peak (they return to it after every prediction; a leak of one
/// tensor per call would show as thousands).
/// </summary>
internal sealed class MemorySampler
{
    /// <summary>Resident growth tolerated between the post-warm-up window and the end (allocator noise:
    /// glibc's per-thread arenas and fragmentation move RSS by a few MiB without a leak).</summary>
    public const long ResidentAllowance = 24L << 20;

    private readonly List<MemorySample> _samples = new();

    public IReadOnlyList<MemorySample> Samples => _samples;

    public void Sample(long step) =>
        _samples.Add(new MemorySample(step, ResidentBytes(), TorchRuntime.LiveTensors, GC.GetTotalMemory(false)));

    /// <summary>Null when flat; otherwise what grew.</summary>
    public string? Judge(bool tensors)
    {
        if (_samples.Count < 10) return $"only {_samples.Count} samples";
        int warm = _samples.Count / 5, half = _samples.Count / 2;
        var early = _samples.Skip(warm).Take(half - warm).ToArray();
        var late = _samples.Skip(half).ToArray();
        long earlyRss = Median(early.Select(s => s.ResidentBytes)), lateRss = Median(late.Select(s => s.ResidentBytes));
        if (lateRss > earlyRss + ResidentAllowance)
            return $"resident memory grew from a median of {earlyRss >> 20} MiB (after warm-up) to {lateRss >> 20} MiB (second half)";
        if (tensors)
        {
            long earlyTensors = early.Max(s => s.LiveTensors), lateTensors = late.Max(s => s.LiveTensors);
            if (lateTensors > earlyTensors) return $"live tensors grew from {earlyTensors} (after warm-up) to {lateTensors}";
        }
        return null;
    }

    private static long Median(IEnumerable<long> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    /// <summary>The samples as CSV lines, a header first.</summary>
    public IEnumerable<string> Csv(string run) =>
        new[] { "run,step,resident_mib,live_tensors,managed_mib" }.Concat(_samples.Select(s =>
            ReliabilityScale.Invariant($"{run},{s.Step},{s.ResidentBytes / 1048576.0:F1},{s.LiveTensors},{s.ManagedBytes / 1048576.0:F1}")));

    public string Summary()
    {
        int warm = _samples.Count / 5;
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
