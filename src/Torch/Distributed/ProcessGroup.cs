using MLNetSeg.Torch.Native;

namespace MLNetSeg.Torch.Distributed;

/// <summary>The reduction of <see cref="ProcessGroup.AllReduce"/> (c10d's ReduceOp).</summary>
public enum ReduceOp
{
    /// <summary>Element-wise sum.</summary>
    Sum = 0,
    /// <summary>Element-wise product.</summary>
    Product = 1,
    /// <summary>Element-wise minimum.</summary>
    Min = 2,
    /// <summary>Element-wise maximum.</summary>
    Max = 3,
}

/// <summary>
/// A group of processes that run collectives together: c10d's ProcessGroupGloo (TCP between the
/// processes, CPU tensors). Every call is a collective: all ranks must make the same calls in the same
/// order with tensors of the same shapes. A call returns when the collective is complete; a peer that
/// died or did not join within <see cref="Timeout"/> makes it throw <see cref="DistributedException"/>.
/// </summary>
public sealed class ProcessGroup : IDisposable
{
    private IntPtr _handle;

    private ProcessGroup(IntPtr handle, int rank, int worldSize, TimeSpan timeout)
    {
        _handle = handle;
        Rank = rank;
        WorldSize = worldSize;
        Timeout = timeout;
    }

    /// <summary>This process's rank, 0 to <see cref="WorldSize"/> − 1.</summary>
    public int Rank { get; }

    /// <summary>The number of processes.</summary>
    public int WorldSize { get; }

    /// <summary>How long a collective waits for its peers.</summary>
    public TimeSpan Timeout { get; }

    internal IntPtr Handle => _handle != IntPtr.Zero ? _handle : throw new ObjectDisposedException(nameof(ProcessGroup));

    /// <summary>
    /// Joins the Gloo group of <paramref name="worldSize"/> processes met through <paramref name="store"/>.
    /// <paramref name="networkInterface"/> picks the interface Gloo's connections use (as GLOO_SOCKET_IFNAME);
    /// by default the address <paramref name="host"/> resolves to, which on one machine is the loopback.
    /// </summary>
    public static ProcessGroup Gloo(RendezvousStore store, int rank, int worldSize, TimeSpan timeout, string host = "127.0.0.1",
        string? networkInterface = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        DistributedException.RequireAvailable();
        string device = networkInterface is { Length: > 0 } ? "interface:" + networkInterface : "host:" + host;
        var handle = NativeMethods.mls_dist_gloo(store.Handle, rank, worldSize, device, (long)timeout.TotalMilliseconds);
        GC.KeepAlive(store);
        if (handle == IntPtr.Zero)
            throw new DistributedException($"rank {rank} of {worldSize} could not join the Gloo group through {store.Description} " +
                                           $"({device}): {NativeMethods.LastError()}");
        return new ProcessGroup(handle, rank, worldSize, timeout);
    }

    /// <summary>Reduces each tensor element-wise over all ranks, in place (every rank receives the result).</summary>
    public unsafe void AllReduce(IReadOnlyList<Tensor> tensors, ReduceOp op = ReduceOp.Sum) =>
        Collective("all-reduce", tensors, (group, handles, n) => NativeMethods.mls_dist_allreduce(group, handles, n, (int)op));

    /// <summary>Overwrites every rank's tensors with rank <paramref name="root"/>'s, in place (also parameters that require grad).</summary>
    public unsafe void Broadcast(IReadOnlyList<Tensor> tensors, int root = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, WorldSize);
        Collective("broadcast", tensors, (group, handles, n) => NativeMethods.mls_dist_broadcast(group, handles, n, root));
    }

    /// <summary>Returns when every rank has called it.</summary>
    public void Barrier()
    {
        if (NativeMethods.mls_dist_barrier(Handle) < 0) throw Failed("barrier");
    }

    private unsafe delegate int CollectiveCall(IntPtr group, IntPtr* handles, int n);

    private unsafe void Collective(string name, IReadOnlyList<Tensor> tensors, CollectiveCall call)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var handles = new IntPtr[tensors.Count];
        for (int i = 0; i < handles.Length; i++) handles[i] = tensors[i].Handle;
        int rc;
        fixed (IntPtr* p = handles) rc = call(Handle, p, handles.Length);
        GC.KeepAlive(tensors);
        if (rc < 0) throw Failed(name);
    }

    internal DistributedException Failed(string operation) =>
        new($"{operation} failed on rank {Rank} of {WorldSize} (a peer process may have died, or not answered within {Timeout}): {NativeMethods.LastError()}");

    /// <summary>Leaves the group (frees the native process group).</summary>
    public void Dispose()
    {
        var h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h != IntPtr.Zero) NativeMethods.mls_dist_process_group_free(h);
    }
}
