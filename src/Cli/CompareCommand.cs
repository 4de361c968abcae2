using System.CommandLine;
using System.Globalization;
using MLNetSeg.Data.Coco;
using MLNetSeg.Data.Loading;
using MLNetSeg.Data.Semantic;
using MLNetSeg.Models;
using MLNetSeg.Training;
using MLNetSeg.Training.Comparison;

using MLNetSeg.Reporting;

namespace MLNetSeg.Cli;

/// <summary>
/// <c>mlnetseg compare --train-json J --train-images D --val-json J --val-images D --out DIR --budget 30m
/// --candidate "NAME=FAMILY [Path=Value ...]" --candidate ... [--set Path=Value] [--metric segm/AP]</c>:
/// trains and ranks the candidates with <see cref="ModelComparison"/> (successive halving within the
/// budget), prints the leaderboard and writes it to DIR/leaderboard.csv and .json, and the HTML report
/// DIR/report.html (<see cref="ComparisonReport"/>; --report-images 0 leaves it out). Rerunning the same
/// command in the same DIR continues a comparison that was killed or stopped with Ctrl+C.
/// Exit codes: 0 done, 2 bad input, 3 a trial diverged, 130 stopped (rerun to continue).
/// </summary>
internal static class CompareCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var defaults = new ComparisonOptions { Candidates = [], Budget = TimeSpan.Zero, Directory = "" };
        var trainJson = new Option<string>("--train-json") { Description = "COCO annotation file of the training set", Required = true };
        var trainImages = new Option<string>("--train-images") { Description = "folder of the training images", Required = true };
        var valJson = new Option<string>("--val-json") { Description = "COCO annotation file of the validation set (ranks the candidates)", Required = true };
        var valImages = new Option<string>("--val-images") { Description = "folder of the validation images", Required = true };
        var trainSemantic = new Option<string?>("--train-semantic") { Description = "folder of the training label maps, for candidates with a semantic head (as in 'mlnetseg train')" };
        var valSemantic = new Option<string?>("--val-semantic") { Description = "folder of the validation label maps (semantic and panoptic metrics)" };
        var output = new Option<string>("--out") { Description = "folder of the comparison (a rerun continues it)", Required = true };
        var budget = new Option<string>("--budget") { Description = "wall time for the whole comparison (e.g. 30m, 1h, 90s)", Required = true };
        var candidates = new Option<string[]>("--candidate")
        {
            Description = "a model to try, repeatable: \"NAME=FAMILY Path=Value ...\" or \"FAMILY ...\" (e.g. \"r18=maskrcnn Backbone=ResNet18 Widths=Compact\")",
            Required = true, AllowMultipleArgumentsPerToken = false,
        };
        var set = new Option<string[]>("--set") { Description = "a setting for every candidate (before its own), Path=Value, repeatable", AllowMultipleArgumentsPerToken = false };
        var metric = new Option<string?>("--metric") { Description = "ranking metric, e.g. segm/AP, bbox/AP, keypoints/AP (default: the primary metric the candidates share)" };
        var halving = new Option<int>("--halving") { Description = "successive halving: the best 1/N continue each round", DefaultValueFactory = _ => defaults.HalvingFactor };
        var batchSize = new Option<int>("--batch-size") { Description = "images per step", DefaultValueFactory = _ => defaults.Data.BatchSize };
        var lr = new Option<double?>("--lr") { Description = "base learning rate (default: the linear scaling rule)" };
        var warmup = new Option<int>("--warmup") { Description = "warmup iterations of each trial", DefaultValueFactory = _ => defaults.WarmupIterations };
        var threads = new Option<int?>("--threads") { Description = "libtorch threads (default: all cores, or MLNETSEG_THREADS)" };
        var workers = new Option<int>("--workers") { Description = "data loader threads", DefaultValueFactory = _ => defaults.Data.LoaderWorkers };
        var seed = new Option<long>("--seed") { Description = "seed of every trial", DefaultValueFactory = _ => defaults.Seed };
        var reportImages = new Option<int>("--report-images")
        {
            Description = "validation images overlaid by every candidate in DIR/report.html (0: no report)", DefaultValueFactory = _ => new ComparisonReportOptions().OverlayImages,
        };

        var command = new Command("compare", "train several models (any registered families) within one time budget and rank them (successive halving)")
        {
            trainJson, trainImages, valJson, valImages, trainSemantic, valSemantic, output, budget, candidates, set, metric, halving, batchSize, lr, warmup, threads, workers, seed, reportImages,
        };
        command.SetAction(parse =>
        {
            int Fail(string message, int code = CliApp.InputError)
            {
                stderr.WriteLine($"mlnetseg compare: error: {message}");
                return code;
            }
            ComparisonOptions options;
            try
            {
                var common = parse.GetValue(set) ?? [];
                options = defaults with
                {
                    Candidates = (parse.GetValue(candidates) ?? []).Select(c => ParseCandidate(c, common, parse.GetValue(trainSemantic))).ToArray(),
                    Budget = TrainCommand.ParseDuration(parse.GetRequiredValue(budget)),
                    Directory = parse.GetRequiredValue(output),
                    Metric = parse.GetValue(metric),
                    HalvingFactor = parse.GetValue(halving),
                    WarmupIterations = parse.GetValue(warmup),
                    Seed = parse.GetValue(seed),
                    Optimizer = defaults.Optimizer with { LearningRate = parse.GetValue(lr) },
                    Data = defaults.Data with { BatchSize = parse.GetValue(batchSize), LoaderWorkers = parse.GetValue(workers) },
                    Runtime = defaults.Runtime with
                    {
                        Threads = parse.GetValue(threads),
                        Progress = ConsoleTrainingProgress.Silent,
                        Log = message => stderr.WriteLine($"mlnetseg compare: {message}"),
                    },
                    Progress = new LineProgress(stdout),
                };
            }
            catch (FormatException e) { return Fail($"--budget: {e.Message}"); }
            catch (Exception e) when (e is ArgumentException or KeyNotFoundException or FileNotFoundException or SemanticDatasetException) { return Fail(e.Message); }
            if (parse.GetValue(reportImages) < 0) return Fail("--report-images: expected 0 (no report) or more");
            return Run(options, (parse.GetRequiredValue(trainJson), parse.GetRequiredValue(trainImages), parse.GetValue(trainSemantic)),
                (parse.GetRequiredValue(valJson), parse.GetRequiredValue(valImages), parse.GetValue(valSemantic)), parse.GetValue(reportImages), stdout, stderr);
        });
        return command;
    }

    /// <summary>"NAME=FAMILY Path=Value ..." or "FAMILY Path=Value ...": the family's defaults, then the common
    /// --set assignments, then the candidate's own (semantic classes from the label maps' labels.json, as train does).</summary>
    internal static ComparisonCandidate ParseCandidate(string text, IReadOnlyList<string> common, string? semanticDirectory)
    {
        var tokens = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (tokens.Length == 0) throw new ArgumentException("--candidate: empty; expected \"NAME=FAMILY Path=Value ...\"");
        int eq = tokens[0].IndexOf('=');
        string name = eq < 0 ? tokens[0] : tokens[0][..eq], familyName = eq < 0 ? tokens[0] : tokens[0][(eq + 1)..];
        var family = ModelRegistry.Get(familyName);
        try
        {
            var assignments = TrainCommand.WithSemanticClasses(family, null, common.Concat(tokens.Skip(1)).ToArray(), semanticDirectory);
            return new ComparisonCandidate(name, ModelOptionsParser.Parse(family, null, assignments));
        }
        catch (ArgumentException e) { throw new ArgumentException($"--candidate \"{text}\": {e.Message}", e); }
    }

    private static int Run(ComparisonOptions options, (string Json, string Images, string? Semantic) trainSet, (string Json, string Images, string? Semantic) valSet,
        int reportImages, TextWriter stdout, TextWriter stderr)
    {
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCtrlC = (_, e) =>
        {
            e.Cancel = true;
            stderr.WriteLine("mlnetseg compare: stopping after the current iteration (rerun the same command to continue)...");
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCtrlC;
        try
        {
            var comparison = new ModelComparison(options);
            bool masks = options.Candidates.Any(c => TrainCommand.NeedsMasks(c.Model));
            var train = DetectionDataset.Load(trainSet.Json, trainSet.Images,
                new DetectionDatasetOptions { RemoveImagesWithoutAnnotations = true, LoadMasks = masks, SemanticDirectory = trainSet.Semantic });
            var validation = DetectionDataset.Load(valSet.Json, valSet.Images, new DetectionDatasetOptions { LoadMasks = masks, SemanticDirectory = valSet.Semantic });
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"comparing {options.Candidates.Count} candidates by {comparison.Metric} within {options.Budget}: rounds of {string.Join(", ", comparison.RoundSizes)}; " +
                $"train {train.Count} images, validation {validation.Count}"));
            var result = comparison.Run(train, validation, cancel.Token);
            stdout.Write(result.Leaderboard.ToTable());
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"best: {result.Leaderboard.Best.Candidate} ({result.BestModelPath}); {result.Elapsed.TotalSeconds:F0} s of {options.Budget.TotalSeconds:F0} s; leaderboard: {Path.Combine(options.Directory, "leaderboard.csv")}"));
            if (reportImages > 0)
            {
                string report = ComparisonReport.Write(result, validation, new ComparisonReportOptions { OverlayImages = reportImages, Log = stdout.WriteLine }, cancel.Token);
                stdout.WriteLine($"report: {report}");
            }
            return 0;
        }
        catch (TrainingDivergedException e) { return Fail(e.Message, TrainCommand.Diverged); }
        catch (OperationCanceledException) { return Fail($"stopped; rerun the same command to continue {options.Directory}", TrainCommand.Cancelled); }
        catch (Exception e) when (e is ArgumentException or FileNotFoundException or DirectoryNotFoundException or CocoFormatException
                                      or BadSampleException or SemanticDatasetException or InvalidDataException or UnauthorizedAccessException or KeyNotFoundException or IOException)
        {
            return Fail(e.Message);
        }
        finally
        {
            Console.CancelKeyPress -= onCtrlC;
        }

        int Fail(string message, int code = CliApp.InputError)
        {
            stderr.WriteLine($"mlnetseg compare: error: {message}");
            return code;
        }
    }

    /// <summary>One line per comparison step.</summary>
    private sealed class LineProgress(TextWriter writer) : IProgress<ComparisonProgress>
    {
        public void Report(ComparisonProgress value) =>
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{value.Elapsed.TotalSeconds,5:F0} s] {value.Message}"));
    }
}
