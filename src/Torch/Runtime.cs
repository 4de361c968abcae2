using MLNetSeg.Torch.Native;

namespace MLNetSeg.Torch;

/// <summary>Process-wide engine settings: threads, seeds, BLAS, devices, operator libraries.</summary>
public static class TorchRuntime
{
    private static int initialised;

    /// <summary>libtorch's version and build (CPU or CUDA).</summary>
    public static string Version => System.Runtime.InteropServices.Marshal.PtrToStringUTF8(NativeMethods.mls_version()) ?? "";

    /// <summary>The BLAS library bound at run time (OpenBLAS expected; the reference BLAS is ~5× slower).</summary>
    public static string BlasInfo { get { EnsureInitialised(); return System.Runtime.InteropServices.Marshal.PtrToStringUTF8(NativeMethods.mls_blas_info()) ?? ""; } }

    /// <summary>Intra-op threads for libtorch and OpenBLAS. Defaults to all cores
    /// (libtorch alone reports 1 on these VMs), or $MLNETSEG_THREADS.</summary>
    public static int Threads
    {
        get { EnsureInitialised(); return NativeMethods.mls_get_num_threads(); }
        set
        {
            // Initialise first: otherwise the first later EnsureInitialised (any getter) would reset the count to the default.
            EnsureInitialised();
            NativeMethods.Check(NativeMethods.mls_set_num_threads(value));
        }
    }

    /// <summary>Number of CUDA devices libtorch can use; 0 with a CPU-only build or without a GPU.</summary>
    public static int CudaDeviceCount => NativeMethods.mls_cuda_device_count();
    /// <summary>True when at least one CUDA device can be used (torch.cuda.is_available()).</summary>
    public static bool CudaAvailable => CudaDeviceCount > 0;

    /// <summary>Seeds libtorch's CPU and CUDA generators.</summary>
    public static void ManualSeed(ulong seed)
    {
        EnsureInitialised();
        NativeMethods.Check(NativeMethods.mls_manual_seed(seed));
    }

    /// <summary>The generator state of a device (a uint8 tensor), for exact resume.</summary>
    public static Tensor GetRngState(Device? device = null)
    {
        var d = device ?? Device.Cpu;
        return new Tensor(NativeMethods.Check(NativeMethods.mls_get_rng_state((int)d.Type, d.Index)));
    }

    /// <summary>Restores a generator state taken by <see cref="GetRngState"/> for the same device, so
    /// the random numbers drawn next repeat those drawn after it was taken.</summary>
    public static void SetRngState(Tensor state, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        NativeMethods.Check(NativeMethods.mls_set_rng_state((int)d.Type, d.Index, state.Handle));
        GC.KeepAlive(state);
    }

    /// <summary>Loads a library that registers operators (e.g. torchvision's _C) globally.</summary>
    public static void LoadOperatorLibrary(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"operator library not found: {path}", path);
        NativeMethods.Check(NativeMethods.mls_load_library(path));
    }

    /// <summary>Native tensor handles held by live <see cref="Tensor"/> objects right now. A loop
    /// that disposes what it makes keeps this constant; use it to find leaks.</summary>
    public static long LiveTensors => Tensor.LiveHandles;

    /// <summary>Tensors that were never disposed and were freed by the garbage collector's
    /// finalizer instead (late, and on another thread): should stay at zero in a tidy program.
    /// To find where such tensors come from, run with <c>MLNETSEG_TENSOR_TRACE=&lt;file&gt;</c>: at exit the
    /// file lists the creating stacks of the finalized tensors and of those still alive.</summary>
    public static long FinalizedTensors => Tensor.FinalizedHandles;

    /// <summary>All operator schemas registered with the dispatcher, one per line.</summary>
    public static string AllSchemas() => NativeMethods.TakeString(NativeMethods.mls_all_schemas());

    internal static void EnsureInitialised()
    {
        if (Interlocked.Exchange(ref initialised, 1) == 1) return;
        var env = Environment.GetEnvironmentVariable("MLNETSEG_THREADS");
        int threads = int.TryParse(env, out var n) && n > 0 ? n : Environment.ProcessorCount;
        NativeMethods.Check(NativeMethods.mls_set_num_threads(threads));
        WarnUnlessOpenBlas(BlasInfo);  // the flag above is set, so BlasInfo does not come back here
    }

    /// <summary>
    /// Everything works with Debian's reference BLAS, only about 5× slower: say so once, on stderr, with
    /// the fix (a library cannot know whether its host logs anywhere else). MLNETSEG_QUIET=1 silences it.
    /// </summary>
    internal static string? WarnUnlessOpenBlas(string blasInfo, TextWriter? to = null)
    {
        if (blasInfo.StartsWith("OpenBLAS", StringComparison.Ordinal) || Environment.GetEnvironmentVariable("MLNETSEG_QUIET") == "1") return null;
        var message = $"MLNetSeg: libtorch is using {blasInfo}: CPU training and inference run about 5x slower than with OpenBLAS. " +
                      "Install it and make it the system BLAS: sudo apt-get install libopenblas0-pthread && sudo update-alternatives --set " +
                      "libblas.so.3-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3";
        (to ?? Console.Error).WriteLine(message);
        return message;
    }
}

/// <summary>Disables gradient recording on this thread until disposed (torch.no_grad()).</summary>
/// <remarks>Obtain one from <see cref="Enter"/> or <see cref="EnableGrad"/> and dispose it on the same
/// thread. Do not create one with <c>new NoGradScope()</c> or <c>default</c>: such a value entered
/// nothing, yet disposing it turns gradient recording off.</remarks>
public readonly struct NoGradScope : IDisposable
{
    private readonly bool previous;
    private NoGradScope(bool enable) => previous = NativeMethods.mls_set_grad_enabled(enable ? 1 : 0) != 0;

    /// <summary>Disables gradient recording on this thread until the returned scope is disposed
    /// (<c>using (NoGradScope.Enter()) { ... }</c>); nests, each scope restoring the previous setting.</summary>
    public static NoGradScope Enter() => new(false);
    /// <summary>Re-enables gradients inside a no-grad region (torch.enable_grad()).</summary>
    public static NoGradScope EnableGrad() => new(true);
    /// <summary>Whether operations on this thread are currently recorded by autograd (torch.is_grad_enabled()).</summary>
    public static bool IsGradEnabled => NativeMethods.mls_grad_enabled() != 0;

    /// <summary>Restores the gradient setting that was in force when the scope was entered.</summary>
    public void Dispose() => NativeMethods.mls_set_grad_enabled(previous ? 1 : 0);
}
