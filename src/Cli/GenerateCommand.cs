using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MLNetSeg.Data.Synthetic;

namespace MLNetSeg.Cli;

/// <summary>
/// <c>mlnetseg generate --preset tiny|small|full --out DIR [--seed N] [--threads N]</c>: writes the
/// synthetic benchmark dataset (COCO instances + person keypoints json, PNG images, semantic label
/// maps), printing progress per split and a summary of what was written.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var preset = new Option<string>("--preset") { Description = "tiny (tests), small (quickstart) or full (benchmarks)", Required = true };
        preset.AcceptOnlyFromAmong([.. SyntheticOptions.PresetNames]);
        var output = new Option<string>("--out") { Description = "output folder (created if missing)", Required = true };
        var seed = new Option<long>("--seed") { Description = "random seed; the same seed gives byte-identical files", DefaultValueFactory = _ => SyntheticOptions.Tiny.Seed };
        var threads = new Option<int?>("--threads") { Description = "rendering threads (default: all cores); does not change the output" };

        var command = new Command("generate", "write the synthetic shapes-and-stick-figures dataset (COCO json, PNG images, semantic maps)")
        {
            preset, output, seed, threads,
        };
        command.SetAction(parse => Run(
            parse.GetRequiredValue(preset), parse.GetRequiredValue(output), parse.GetValue(seed), parse.GetValue(threads), stdout, stderr));
        return command;
    }

    private static int Run(string presetName, string outputDirectory, long seed, int? threads, TextWriter stdout, TextWriter stderr)
    {
        var options = SyntheticOptions.FromPreset(presetName) with { Seed = seed, MaxDegreeOfParallelism = threads };
        var clock = Stopwatch.StartNew();
        SyntheticDatasetSummary summary;
        try
        {
            summary = SyntheticDatasetGenerator.Generate(options, outputDirectory, new TenPercentSteps(stdout));
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"mlnetseg generate: error: {e.Message}");
            return CliApp.InputError;
        }
        stdout.Write(summary.ToText());
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"done in {clock.Elapsed.TotalSeconds:F1} s"));
        return 0;
    }

    /// <summary>Prints "split: done/total images" at every tenth of a split (calls arrive one at a time).</summary>
    private sealed class TenPercentSteps(TextWriter stdout) : IProgress<SyntheticProgress>
    {
        private int _lastTenth = -1;
        private string _split = "";

        public void Report(SyntheticProgress value)
        {
            if (value.Split != _split) { _split = value.Split; _lastTenth = -1; }
            int tenth = value.Completed * 10 / value.Total;
            if (tenth == _lastTenth) return;
            _lastTenth = tenth;
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{value.Split}: {value.Completed}/{value.Total} images"));
        }
    }
}
