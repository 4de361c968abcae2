using MLNetSeg.Torch.Native;

namespace MLNetSeg.Torch.Distributed;

/// <summary>
/// Data parallelism for a set of parameters: c10d's Reducer, the engine of torch's
/// DistributedDataParallel. Creating it checks that every rank has the same parameter shapes and
/// copies rank 0's values to all. Then, in an iteration whose gradients must be averaged, call
/// <see cref="PrepareForForward"/> before the forward pass and <see cref="PrepareForBackward"/> between
/// forward and backward: during backward, autograd hooks all-reduce the gradients in buckets
/// (1 MiB first, then <c>bucketCapBytes</c>) as soon as a bucket's gradients are ready, overlapping
/// communication with the rest of backward, and when backward returns every parameter's grad holds the
/// mean over the ranks. A backward without the two calls only accumulates locally (DDP's no_sync, for
/// gradient accumulation).
/// </summary>
public sealed class GradientReducer : IDisposable
{
    private IntPtr _handle;
    private readonly ProcessGroup _group;

    /// <param name="group">The process group.</param>
    /// <param name="parameters">The trainable parameters (all must require grad), in the same order on every rank.</param>
    /// <param name="bucketCapBytes">The bucket size after the first (DDP's default 25 MiB).</param>
    /// <param name="findUnusedParameters">Walk the graph from the outputs each iteration to mark parameters that get no
    /// gradient (needed only when some iterations leave parameters out; costs a graph traversal).</param>
    public unsafe GradientReducer(ProcessGroup group, IReadOnlyList<Tensor> parameters, long bucketCapBytes = 25L << 20,
        bool findUnusedParameters = false)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Count == 0) throw new ArgumentException("no parameter to reduce", nameof(parameters));
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketCapBytes, 1);
        _group = group;
        Parameters = parameters.ToArray();
        FindUnusedParameters = findUnusedParameters;
        var handles = Parameters.Select(p => p.Handle).ToArray();
        fixed (IntPtr* h = handles) _handle = NativeMethods.mls_dist_reducer_new(group.Handle, h, handles.Length, bucketCapBytes, findUnusedParameters ? 1 : 0);
        GC.KeepAlive(Parameters);
        if (_handle == IntPtr.Zero) throw group.Failed("setting up the gradient reducer (checking the parameters agree and broadcasting rank 0's)");
    }

    /// <summary>The parameters whose gradients are averaged.</summary>
    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>Whether each iteration searches the graph for parameters without a gradient.</summary>
    public bool FindUnusedParameters { get; }

    private IntPtr Handle => _handle != IntPtr.Zero ? _handle : throw new ObjectDisposedException(nameof(GradientReducer));

    /// <summary>Marks the start of a synchronised iteration (before its forward pass).</summary>
    public void PrepareForForward()
    {
        if (NativeMethods.mls_dist_reducer_prepare_for_forward(Handle) < 0) throw _group.Failed("preparing the gradient reducer for forward");
    }

    /// <summary>Arms the hooks for the next backward; <paramref name="outputs"/> (the loss) is searched for unused parameters when <see cref="FindUnusedParameters"/>.</summary>
    public unsafe void PrepareForBackward(params Tensor[] outputs)
    {
        var handles = FindUnusedParameters ? outputs.Select(t => t.Handle).ToArray() : Array.Empty<IntPtr>();
        int rc;
        fixed (IntPtr* h = handles) rc = NativeMethods.mls_dist_reducer_prepare_for_backward(Handle, h, handles.Length);
        GC.KeepAlive(outputs);
        if (rc < 0) throw _group.Failed("preparing the gradient reducer for backward");
    }

    /// <summary>Removes the autograd hooks and frees the native reducer.</summary>
    public void Dispose()
    {
        var h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h != IntPtr.Zero) NativeMethods.mls_dist_reducer_free(h);
    }
}
