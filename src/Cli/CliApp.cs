using System.CommandLine;

namespace MLNetSeg.Cli;

/// <summary>Entry point of the `mlnetseg` command line; subcommands register here.</summary>
public static class CliApp
{
    /// <summary>Exit code for bad input: missing or malformed files, bad arguments.</summary>
    public const int InputError = 2;

    public static int Run(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Runs the command line in-process with the given output writers (used by tests).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("MLNetSeg: instance segmentation for .NET")
        {
            CompareCommand.Create(stdout, stderr),
            CurveCommand.Create(stdout, stderr),
            EvalCommand.Create(stdout, stderr),
            ExportCommand.Create(stdout, stderr),
            FamiliesCommand.Create(stdout, stderr),
            GenerateCommand.Create(stdout, stderr),
            PredictCommand.Create(stdout, stderr),
            TrainCommand.Create(stdout, stderr),
        };
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) stderr.WriteLine($"mlnetseg: {error.Message}");
            stderr.WriteLine("Run 'mlnetseg --help' for usage.");
            return InputError;
        }
        return parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
    }
}
