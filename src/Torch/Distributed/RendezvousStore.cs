using MLNetSeg.Torch.Native;

namespace MLNetSeg.Torch.Distributed;

/// <summary>
/// The key-value store the processes of a group meet through (c10d's Store): a TCP server on rank 0
/// that every rank connects to (<see cref="Tcp"/>, torchrun's MASTER_ADDR:MASTER_PORT), or a file on
/// a shared file system (<see cref="File"/>). Dispose it after the <see cref="ProcessGroup"/> made from it.
/// </summary>
public sealed class RendezvousStore : IDisposable
{
    private IntPtr _handle;

    private RendezvousStore(IntPtr handle, string description)
    {
        _handle = handle;
        Description = description;
    }

    /// <summary>Where the store is ("tcp://127.0.0.1:29500", "file:///tmp/rdzv").</summary>
    public string Description { get; }

    internal IntPtr Handle => _handle != IntPtr.Zero ? _handle : throw new ObjectDisposedException(nameof(RendezvousStore));

    /// <summary>
    /// Rank 0 (<paramref name="isServer"/>) listens on <paramref name="host"/>:<paramref name="port"/>; the
    /// others connect to it. Returns once all <paramref name="worldSize"/> processes have joined.
    /// </summary>
    /// <exception cref="DistributedException">The port is taken (server), nobody listens (client) or not every process joined within <paramref name="timeout"/>.</exception>
    public static RendezvousStore Tcp(string host, int port, int worldSize, bool isServer, TimeSpan timeout)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        DistributedException.RequireAvailable();
        string where = $"tcp://{host}:{port}";
        var handle = NativeMethods.mls_dist_tcp_store(host, port, worldSize, isServer ? 1 : 0, (long)timeout.TotalMilliseconds);
        if (handle == IntPtr.Zero)
            throw new DistributedException($"rendezvous at {where} failed ({(isServer ? "listening as rank 0" : "connecting to rank 0")}, " +
                                           $"{worldSize} processes, timeout {timeout}): {NativeMethods.LastError()}");
        return new RendezvousStore(handle, where);
    }

    /// <summary>A store in the file at <paramref name="path"/>, which every process must see (and which must not hold an older run's store).</summary>
    public static RendezvousStore File(string path, int worldSize)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        DistributedException.RequireAvailable();
        var handle = NativeMethods.mls_dist_file_store(Path.GetFullPath(path), worldSize);
        if (handle == IntPtr.Zero) throw new DistributedException($"rendezvous through the file {path} failed: {NativeMethods.LastError()}");
        return new RendezvousStore(handle, "file://" + Path.GetFullPath(path));
    }

    /// <summary>Frees the store (rank 0 stops serving it).</summary>
    public void Dispose()
    {
        var h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h != IntPtr.Zero) NativeMethods.mls_dist_store_free(h);
    }
}
