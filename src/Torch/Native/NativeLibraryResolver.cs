using System.Reflection;
using System.Runtime.InteropServices;

namespace MLNetSeg.Torch.Native;

/// <summary>
/// Finds libmlnetseg_native.so without LD_LIBRARY_PATH: $MLNETSEG_NATIVE, next to the app (a build
/// of this repository copies it there), under runtimes/linux-x64/native (where the MLNetSeg NuGet
/// package puts it), the repository's CMake build folder when running from a source checkout, then
/// the host's own probing. A library that is found but cannot be loaded (a system library it
/// needs is missing) fails with a message naming the Debian packages to install.
/// </summary>
internal static class NativeLibraryResolver
{
    private const string FileName = "libmlnetseg_native.so";
    private static int installed;

    internal static void Install()
    {
        if (Interlocked.Exchange(ref installed, 1) == 1) return;
        try { NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve); }
        catch (InvalidOperationException) { /* a resolver is already set for this assembly */ }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != NativeMethods.Lib) return IntPtr.Zero;
        var candidates = Candidates().ToList();
        foreach (var candidate in candidates)
            if (File.Exists(candidate)) return Load(candidate);
        // A package layout the host knows from deps.json (e.g. a RID-specific publish).
        if (NativeLibrary.TryLoad(name, assembly, searchPath, out var handle)) return handle;
        if (NativePrerequisites.UnsupportedPlatform(OperatingSystem.IsLinux(), RuntimeInformation.ProcessArchitecture, RuntimeInformation.RuntimeIdentifier) is { } unsupported)
            throw new PlatformNotSupportedException(unsupported);
        throw new DllNotFoundException(
            $"{FileName} was not found. In a source checkout build it with `bash tools/setup.sh`; an app using the MLNetSeg " +
            $"package finds it under runtimes/linux-x64/native; or set MLNETSEG_NATIVE to its path. Looked in: {string.Join(", ", candidates)}");
    }

    /// <summary>Loads the shim at <paramref name="path"/>, explaining a loader failure in terms of packages to install.</summary>
    internal static IntPtr Load(string path)
    {
        try
        {
            return NativeLibrary.Load(path);
        }
        catch (DllNotFoundException e)
        {
            throw new DllNotFoundException(NativePrerequisites.Describe(path, e.Message), e);
        }
        catch (BadImageFormatException e)
        {
            throw new DllNotFoundException(NativePrerequisites.Describe(path, e.Message), e);
        }
    }

    private static IEnumerable<string> Candidates()
    {
        var env = Environment.GetEnvironmentVariable("MLNETSEG_NATIVE");
        if (!string.IsNullOrEmpty(env)) yield return Directory.Exists(env) ? Path.Combine(env, FileName) : env;
        yield return Path.Combine(AppContext.BaseDirectory, FileName);
        yield return Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", FileName);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var inRepo = Path.Combine(dir.FullName, "src", "Native", "build", FileName);
            if (File.Exists(inRepo)) { yield return inRepo; yield break; }
        }
    }
}
