namespace MLNetSeg.Cli;

/// <summary>Entry point of the `mlnetseg` command line; subcommands register here.</summary>
public static class CliApp
{
    public static int Run(string[] args)
    {
        Console.Error.WriteLine("mlnetseg: no subcommands yet");
        return 1;
    }
}
