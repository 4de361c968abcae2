using System.CommandLine;
using MLNetSeg.Training;

namespace MLNetSeg.Cli;

/// <summary>
/// <c>mlnetseg curve --metrics DIR/metrics.jsonl --out curve.svg [--title T]</c>: draws the training
/// losses (log scale) and the validation AP of a run's metrics log as an SVG (<see cref="LossCurve"/>).
/// Exit codes: 0 written, 2 bad input (missing or malformed log, nothing to draw).
/// </summary>
internal static class CurveCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var metrics = new Option<string>("--metrics") { Description = "metrics.jsonl written by training (in its --out / checkpoint folder)", Required = true };
        var output = new Option<string>("--out") { Description = "the SVG file to write", Required = true };
        var title = new Option<string?>("--title") { Description = "title above the plot (default: the name of the log's folder)" };
        var command = new Command("curve", "plot the training losses and validation AP of a metrics.jsonl as an SVG") { metrics, output, title };
        command.SetAction(parse => Run(parse.GetRequiredValue(metrics), parse.GetRequiredValue(output), parse.GetValue(title), stdout, stderr));
        return command;
    }

    private static int Run(string metricsPath, string outPath, string? title, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            var records = MetricsLog.Read(metricsPath);
            LossCurve.WriteSvg(records, outPath, title ?? DefaultTitle(metricsPath));
            stdout.WriteLine($"wrote {outPath} ({records.Count(r => r.IsTraining)} logged iterations, {records.Count(r => !r.IsTraining)} validations)");
            return 0;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException or ArgumentException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"mlnetseg curve: error: {e.Message}");
            return CliApp.InputError;
        }
    }

    private static string DefaultTitle(string metricsPath)
    {
        var folder = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(metricsPath)));
        return string.IsNullOrEmpty(folder) ? "training curve" : $"training curve: {folder}";
    }
}
