using MLNetSeg.Torch;

namespace MLNetSeg.Vision.Ops;

/// <summary>Which implementation a vision op runs.</summary>
public enum VisionOpsBackend
{
    /// <summary>torchvision's native kernel when its library is loaded, otherwise the composed one.</summary>
    Auto,
    /// <summary>torchvision's registered kernel (torchvision::roi_align, torchvision::nms); fails if absent.</summary>
    Native,
    /// <summary>Our implementation, always available on any device: aten ops (RoIAlign, with
    /// autograd) or an aten sort plus a greedy pass on the host (NMS).</summary>
    Composed,
}

/// <summary>
/// torchvision's operator library (_C.so). Loading it with RTLD_GLOBAL registers
/// torchvision::roi_align / nms (with autograd) in the dispatcher; it needs no libpython.
/// Loading happens once, on first use:
/// <list type="bullet">
/// <item>$MLNETSEG_TORCHVISION_LIB = a path loads that library; "none" disables native ops;</item>
/// <item>otherwise Debian's python3-torchvision library is loaded, but only when this process
/// runs Debian's own libtorch: a torchvision built against another libtorch (a CUDA wheel)
/// would bring a second, incompatible libtorch into the process.</item>
/// </list>
/// </summary>
public static class TorchvisionNative
{
    /// <summary>The environment variable that names torchvision's library to load, or "none" to disable native ops.</summary>
    public const string EnvironmentVariable = "MLNETSEG_TORCHVISION_LIB";

    /// <summary>Where Debian's python3-torchvision package installs torchvision (its _C.so is looked up here).</summary>
    public const string DebianDirectory = "/usr/lib/python3/dist-packages/torchvision";

    private static readonly object Gate = new();
    private static bool attempted;
    private static bool loaded;

    /// <summary>The library that was loaded, if any.</summary>
    public static string? LoadedPath { get; private set; }

    /// <summary>Why no library is loaded (null when one is).</summary>
    public static string? Unavailable { get; private set; }

    /// <summary>True when torchvision's kernels are registered (tries the automatic load once).</summary>
    public static bool IsAvailable
    {
        get
        {
            EnsureAttempted();
            return loaded;
        }
    }

    /// <summary>Loads the library at <paramref name="path"/> now. Returns false, with the reason in
    /// <see cref="Unavailable"/>, if it cannot be loaded or does not register torchvision::nms.</summary>
    public static bool TryLoad(string path)
    {
        lock (Gate)
        {
            attempted = true;
            if (loaded) return true;
            try
            {
                LoadWithPythonDependencies(path);
                _ = new Op("torchvision::nms").Schema;  // throws if the library registered nothing
                loaded = true;
                LoadedPath = path;
                Unavailable = null;
            }
            catch (Exception e) when (e is TorchException or FileNotFoundException)
            {
                Unavailable = $"{path}: {e.Message}";
            }
            return loaded;
        }
    }

    /// <summary>
    /// Loads the operator library. A PyTorch wheel's torchvision/_C.so links libtorch and libtorch_python,
    /// which a .NET process running our shim (linked to libtorch_cpu only) has not loaded, and finds them
    /// through the Python package layout, not the loader path; libtorch_python in turn expects the Python
    /// runtime's symbols (it does not list libpython: a Python executable provides them). When the loader
    /// names a missing torch library, it is loaded from the directory of the libtorch_cpu this process runs;
    /// when libtorch_python lacks Python's symbols, libpython3.X (X from the wheel's site-packages path) is
    /// loaded globally first; then the load is retried. No Python code runs: torchvision's operators
    /// register from static initialisers. Verified on a GPU host (torch 2.11 wheel) up to libtorch_python's
    /// Python symbols; the libpython step is written from the error seen there and not yet run
    /// (benchmarks/gpu/run_device.sh SECTIONS=smoke checks it; LD_PRELOAD of both remains the known-good way).
    /// </summary>
    private static void LoadWithPythonDependencies(string path)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                TorchRuntime.LoadOperatorLibrary(path);
                return;
            }
            catch (TorchException e) when (attempt < 8 && MissingLibrary(e.Message) is { } missing && missing != Path.GetFileName(path)
                                           && Resolve(missing) is { } dependency)
            {
                LoadWithPythonDependencies(dependency);
            }
        }
    }

    /// <summary>A torch library beside the running libtorch_cpu, or libpython by name; null for anything else.</summary>
    private static string? Resolve(string missing)
    {
        if (missing.StartsWith("libpython", StringComparison.Ordinal)) return missing;
        RunsSystemLibtorch(out var libtorch);
        var beside = libtorch is null ? null : Path.Combine(Path.GetDirectoryName(libtorch)!, missing);
        return beside is not null && File.Exists(beside) ? beside : null;
    }

    /// <summary>
    /// What a dlopen error says must be loaded first: the library it could not find ("libtorch.so: cannot
    /// open shared object file"), or, when a library inside a pythonX.Y site-packages folder lacks a Python
    /// symbol ("undefined symbol: PyInstanceMethod_Type"), that Python's runtime, libpythonX.Y.so.1.0. Null otherwise.
    /// </summary>
    internal static string? MissingLibrary(string dlopenError)
    {
        var missing = System.Text.RegularExpressions.Regex.Match(dlopenError, @"(lib[\w.+-]*?\.so[0-9.]*): cannot open shared object file");
        if (missing.Success) return missing.Groups[1].Value;
        var python = System.Text.RegularExpressions.Regex.Match(dlopenError, @"/python(3\.[0-9]+)/site-packages/[^:]*: undefined symbol: _?Py");
        return python.Success ? $"libpython{python.Groups[1].Value}.so.1.0" : null;
    }

    /// <summary>Throws when <paramref name="backend"/> is Native and the library is absent; tells
    /// whether the native kernel should run.</summary>
    internal static bool UseNative(VisionOpsBackend backend, string op) => backend switch
    {
        VisionOpsBackend.Composed => false,
        VisionOpsBackend.Native => IsAvailable
            ? true
            : throw new InvalidOperationException($"{op}: the native backend was requested but torchvision's operator library is not loaded ({Unavailable})"),
        _ => IsAvailable,
    };

    private static void EnsureAttempted()
    {
        if (attempted) return;
        lock (Gate)
        {
            if (attempted) return;
            var configured = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(configured))
            {
                if (configured.Trim().Equals("none", StringComparison.OrdinalIgnoreCase))
                {
                    attempted = true;
                    Unavailable = $"disabled by {EnvironmentVariable}=none";
                    return;
                }
                TryLoad(configured.Trim());
                return;
            }
            var candidate = FindDebianLibrary();
            if (candidate is null)
            {
                attempted = true;
                Unavailable = $"no torchvision operator library in {DebianDirectory} (set {EnvironmentVariable})";
                return;
            }
            if (!RunsSystemLibtorch(out var libtorch))
            {
                attempted = true;
                Unavailable = $"this process runs {libtorch ?? "an unknown libtorch"}, not the system one {candidate} was built for (set {EnvironmentVariable})";
                return;
            }
            TryLoad(candidate);
        }
    }

    private static string? FindDebianLibrary()
    {
        if (!Directory.Exists(DebianDirectory)) return null;
        return Directory.EnumerateFiles(DebianDirectory, "_C*.so").Order(StringComparer.Ordinal).FirstOrDefault();
    }

    /// <summary>True when the libtorch_cpu mapped into this process lives in a system library directory.</summary>
    private static bool RunsSystemLibtorch(out string? libtorch)
    {
        _ = TorchRuntime.Version;  // maps the native engine (and with it libtorch) into the process
        libtorch = null;
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps)) return false;
        foreach (var line in File.ReadLines(maps))
        {
            int slash = line.IndexOf('/');
            if (slash < 0) continue;
            var path = line[slash..];
            if (!Path.GetFileName(path).StartsWith("libtorch_cpu.so", StringComparison.Ordinal)) continue;
            libtorch = path;
            return path.StartsWith("/usr/lib/", StringComparison.Ordinal) || path.StartsWith("/lib/", StringComparison.Ordinal);
        }
        return false;
    }
}
