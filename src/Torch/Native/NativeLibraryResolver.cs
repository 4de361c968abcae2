using System.Reflection;
using System.Runtime.InteropServices;

namespace MLNetSeg.Torch.Native;

/// <summary>
/// Finds libmlnetseg_native.so without LD_LIBRARY_PATH: next to the app (the build copies
/// it there), then $MLNETSEG_NATIVE, then the repository's CMake build folder when running
/// from a source checkout (tests, `dotnet run` of samples).
/// </summary>
internal static class NativeLibraryResolver
{
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
        foreach (var candidate in Candidates())
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out var handle))
                return handle;
        throw new DllNotFoundException(
            "libmlnetseg_native.so was not found. Build it with `bash tools/setup.sh` " +
            "(or set MLNETSEG_NATIVE to its path). Looked in: " + string.Join(", ", Candidates()));
    }

    private static IEnumerable<string> Candidates()
    {
        const string file = "libmlnetseg_native.so";
        var env = Environment.GetEnvironmentVariable("MLNETSEG_NATIVE");
        if (!string.IsNullOrEmpty(env)) yield return Directory.Exists(env) ? Path.Combine(env, file) : env;
        yield return Path.Combine(AppContext.BaseDirectory, file);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var inRepo = Path.Combine(dir.FullName, "src", "Native", "build", file);
            if (File.Exists(inRepo)) { yield return inRepo; yield break; }
        }
    }
}
