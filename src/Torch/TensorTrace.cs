using System.Collections.Concurrent;

namespace MLNetSeg.Torch;

/// <summary>
/// Leak finder, off unless <c>MLNETSEG_TENSOR_TRACE</c> names a file: every tensor then records
/// the stack that created it, and at process exit (after a full collection) the file gets, grouped
/// by stack, the tensors the finalizer freed (nobody disposed them) and those still alive. Costs one
/// stack capture per tensor while on; nothing but a flag test while off.
/// </summary>
internal static class TensorTrace
{
    private static readonly string? OutputPath = Environment.GetEnvironmentVariable("MLNETSEG_TENSOR_TRACE");
    private static readonly ConcurrentDictionary<IntPtr, string> Live = new();
    private static readonly ConcurrentDictionary<string, int> Finalized = new();

    public static readonly bool Enabled = !string.IsNullOrEmpty(OutputPath);

    static TensorTrace()
    {
        if (Enabled) AppDomain.CurrentDomain.ProcessExit += (_, _) => Write();
    }

    public static void Created(IntPtr handle)
    {
        if (Enabled) Live[handle] = Environment.StackTrace;
    }

    public static void Disposed(IntPtr handle)
    {
        if (Enabled) Live.TryRemove(handle, out _);
    }

    public static void Finalizing(IntPtr handle)
    {
        if (Enabled && Live.TryRemove(handle, out var stack)) Finalized.AddOrUpdate(stack, 1, (_, n) => n + 1);
    }

    private static void Write()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var w = new StreamWriter(OutputPath!, append: true);
        w.WriteLine($"=== live={Tensor.LiveHandles} finalized={Tensor.FinalizedHandles}");
        foreach (var (stack, n) in Finalized.OrderByDescending(kv => kv.Value)) w.WriteLine($"--- FINALIZED x{n}\n{Frames(stack)}");
        foreach (var g in Live.Values.GroupBy(s => s).OrderByDescending(g => g.Count())) w.WriteLine($"--- LIVE x{g.Count()}\n{Frames(g.Key)}");
    }

    /// <summary>The project's frames (the runtime's and the test host's say nothing about the owner).</summary>
    private static string Frames(string stack) =>
        string.Join('\n', stack.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Contains("MLNetSeg.") && !l.Contains(nameof(TensorTrace))));
}
