using MLNetSeg.Cli;

namespace MLNetSeg.Tests.Shared;

/// <summary>Runs <c>mlnetseg</c> in-process with captured output, as the CLI tests need. Linked into
/// each test project that references the CLI (their .csproj files).</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
