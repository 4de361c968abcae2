namespace MLNetSeg.Torch.Native;

/// <summary>
/// What libmlnetseg_native.so needs from the system, and a message that names the Debian
/// packages to install when it cannot be loaded. The shim links libtorch 1.13 and OpenCV 4.6
/// dynamically (Debian 12's builds); libtorch in turn needs a BLAS, for which OpenBLAS is the
/// one that performs.
/// </summary>
internal static class NativePrerequisites
{
    /// <summary>The shared libraries the shim needs directly, each with the Debian 12 package that ships it.</summary>
    internal static readonly IReadOnlyList<(string Library, string Package)> Libraries = new[]
    {
        ("libtorch_cpu.so.1.13", "libtorch1.13"),
        ("libc10.so.1.13", "libtorch1.13"),
        ("libopencv_core.so.406", "libopencv-core406"),
        ("libopencv_imgproc.so.406", "libopencv-imgproc406"),
        ("libopencv_imgcodecs.so.406", "libopencv-imgcodecs406"),
        ("libblas.so.3", "libopenblas0-pthread"),
    };

    /// <summary>Every package to install, in the order of <see cref="Libraries"/>.</summary>
    internal static IReadOnlyList<string> AllPackages => Libraries.Select(l => l.Package).Distinct().ToList();

    /// <summary>The packages of the libraries <paramref name="canLoad"/> cannot load.</summary>
    internal static IReadOnlyList<string> MissingPackages(Func<string, bool> canLoad) =>
        Libraries.Where(l => !canLoad(l.Library)).Select(l => l.Package).Distinct().ToList();

    /// <summary>
    /// The message for a shim at <paramref name="libraryPath"/> that the loader refused with
    /// <paramref name="loaderError"/>: the loader's words, the packages whose libraries cannot be
    /// loaded (probed with <paramref name="canLoad"/>; all of them when the probe finds none, as the
    /// loader may have failed further down the chain) and the apt command.
    /// </summary>
    internal static string Describe(string libraryPath, string loaderError, Func<string, bool>? canLoad = null)
    {
        canLoad ??= CanLoad;
        var missing = MissingPackages(canLoad);
        var packages = missing.Count > 0 ? missing : AllPackages;
        return $"MLNetSeg's native library {libraryPath} could not be loaded: {loaderError.Trim()}\n" +
               (missing.Count > 0
                   ? $"Missing system libraries: {string.Join(", ", Libraries.Where(l => missing.Contains(l.Package)).Select(l => l.Library))}.\n"
                   : "Its direct dependencies load, so one of theirs is missing.\n") +
               "MLNetSeg runs on Debian 12 (or a system with the same libraries) and needs libtorch 1.13, OpenCV 4.6 and OpenBLAS:\n" +
               $"    sudo apt-get install {string.Join(' ', packages)}\n" +
               "(python3-torchvision is optional: its native RoIAlign/NMS kernels are used when present.)";
    }

    /// <summary>
    /// Why the shim cannot run on this platform (<paramref name="isLinux"/>, <paramref name="architecture"/>;
    /// <paramref name="runtimeIdentifier"/> names it in the message), or null on Linux x64: the package
    /// carries a linux-x64 build linked against Debian 12's libraries.
    /// </summary>
    internal static string? UnsupportedPlatform(bool isLinux, System.Runtime.InteropServices.Architecture architecture, string runtimeIdentifier) =>
        isLinux && architecture == System.Runtime.InteropServices.Architecture.X64
            ? null
            : $"MLNetSeg's native engine is built for Linux x64 (Debian 12's libtorch 1.13, OpenCV 4.6, OpenBLAS); this process runs on " +
              $"{runtimeIdentifier}. Run it on Linux x64 (a Debian 12 container works on any host), or build src/Native there.";

    private static bool CanLoad(string library)
    {
        if (!System.Runtime.InteropServices.NativeLibrary.TryLoad(library, out var handle)) return false;
        System.Runtime.InteropServices.NativeLibrary.Free(handle);
        return true;
    }
}
