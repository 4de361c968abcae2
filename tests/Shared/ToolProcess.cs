using System.Diagnostics;

namespace MLNetSeg.Tests.Shared;

/// <summary>Runs one of the helper programs under tests/Tools in a child process (a native abort or a
/// process-wide setting then cannot touch the test host). Linked into the test projects that use one.</summary>
internal static class ToolProcess
{
    /// <summary>Runs tests/Tools/<paramref name="folder"/>'s <paramref name="assembly"/> (built beside the tests,
    /// Release) with <paramref name="args"/>; returns its exit code and captured output.</summary>
    public static (int Code, string Output, string Errors) Run(string folder, string assembly, params string[] args)
    {
        var tool = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "Tools", folder, "bin", "Release", "net10.0", assembly));
        if (!File.Exists(tool)) throw new FileNotFoundException($"test helper not built: {tool}", tool);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args.Prepend(tool)) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var errorsTask = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        var errors = errorsTask.Result;
        process.WaitForExit();
        return (process.ExitCode, output, errors);
    }
}
