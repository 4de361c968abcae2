using MLNetSeg.Torch.Native;

namespace MLNetSeg.Torch.Distributed;

/// <summary>A rendezvous or collective failed: a peer process died or hung past the timeout, the
/// network failed, or the processes disagree (different models). The message names the operation and the rank.</summary>
public sealed class DistributedException : Exception
{
    /// <summary>A failure described by <paramref name="message"/>.</summary>
    public DistributedException(string message) : base(message) { }

    /// <summary>Whether the native library was built with c10d/Gloo (tools/setup.sh builds it so when libgloo-dev is installed).</summary>
    public static bool IsAvailable => NativeMethods.mls_dist_available() == 1;

    internal static void RequireAvailable()
    {
        if (!IsAvailable)
            throw new DistributedException("the native library was built without distributed training (c10d/Gloo): install libgloo-dev " +
                                           "(tools/setup.sh does) and rebuild src/Native");
    }
}
