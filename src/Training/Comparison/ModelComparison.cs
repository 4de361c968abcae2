using System.Diagnostics;
using System.Globalization;
using MLNetSeg.Data.Loading;
using MLNetSeg.Evaluation;
using MLNetSeg.Models;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Training.Comparison;

/// <summary>
/// Trains and ranks several models on one dataset within one wall-clock budget, as ML.NET's AutoML
/// experiments do for tabular models: successive halving (Jamieson and Talwalkar 2016) over time — every
/// candidate trains a short trial, the best ⌈n ÷ <see cref="ComparisonOptions.HalvingFactor"/>⌉ continue
/// from their weights in the next round, until one is left. Each round gets an equal share of the
/// budget, split equally between the round's trials; a trial's training time is its share less the
/// evaluation and timing the earlier trials needed, and the last trial gets what is left, so the whole
/// comparison ends within its budget give or take one trial's overhead misjudged.
/// </summary>
/// <remarks>
/// Every trial is a <see cref="SegmentationTrainer"/> run with a time budget in its own folder
/// (DIR/candidate/roundR: checkpoints, metrics.jsonl, model_final.mlseg), validated at its end on the
/// validation set (every metric its family gives, ranked by <see cref="ComparisonOptions.Metric"/>) and
/// timed on a few validation images. comparison.json records what is done: running the comparison again
/// in the same folder (after a kill, a power cut, Ctrl+C) skips the finished trials and resumes the trial
/// in progress from its newest checkpoint. The wall time of a killed process after its last recorded
/// step is not counted against the budget.
/// </remarks>
public sealed class ModelComparison
{
    /// <summary>Validates and keeps the options; nothing is trained until <see cref="Run"/>.</summary>
    public ModelComparison(ComparisonOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Metric = options.Metric ?? SharedMetric(options.Candidates);
        foreach (var candidate in options.Candidates) RequireMetric(candidate, Metric);
    }

    /// <summary>The validated options.</summary>
    public ComparisonOptions Options { get; }

    /// <summary>The metric that ranks the candidates.</summary>
    public string Metric { get; }

    /// <summary>How many trials each round runs: n, ⌈n ÷ f⌉, ... down to 1.</summary>
    public IReadOnlyList<int> RoundSizes
    {
        get
        {
            var sizes = new List<int> { Options.Candidates.Count };
            while (sizes[^1] > 1) sizes.Add((sizes[^1] + Options.HalvingFactor - 1) / Options.HalvingFactor);
            return sizes;
        }
    }

    /// <summary>
    /// Runs (or continues) the comparison: trains every trial on <paramref name="train"/>, evaluates it on
    /// <paramref name="validation"/>, and returns the leaderboard, also written to leaderboard.csv/json.
    /// Cancellation stops the trial in progress at its next iteration boundary (its checkpoint written),
    /// records the state and throws <see cref="OperationCanceledException"/>; running again continues.
    /// </summary>
    public ComparisonResult Run(DetectionDataset train, DetectionDataset validation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        if (validation.Count == 0) throw new ArgumentException("the validation set has no images: the comparison ranks by validation", nameof(validation));
        Directory.CreateDirectory(Options.Directory);
        var state = ComparisonState.Open(Options.Directory, Setting());
        var sizes = RoundSizes;
        double budget = Options.Budget.TotalSeconds, before = state.ElapsedSeconds;
        var clock = Stopwatch.StartNew();
        double Elapsed() => before + clock.Elapsed.TotalSeconds;

        var alive = Options.Candidates.ToList();
        for (int round = 0; round < sizes.Count; round++)
        {
            // Every trial of a round trains equally long (a fair comparison); the round's share of what is left,
            // less the overhead the finished trials needed. The last round's share is all that is left.
            if (state.RoundTrainingSeconds.Count <= round)
            {
                double share = (budget * (round + 1) / sizes.Count - Elapsed()) / alive.Count;
                state.RoundTrainingSeconds.Add(Math.Max(share - OverheadEstimate(state, share), MinimumTrainingSeconds));
                state.ElapsedSeconds = Elapsed();
                state.Save();
            }
            double trainingSeconds = state.RoundTrainingSeconds[round];
            foreach (var candidate in alive)
            {
                if (state.Find(candidate.Name, round) is not null) continue;
                state.Current = new ComparisonState.InProgress(candidate.Name, round, trainingSeconds);
                state.ElapsedSeconds = Elapsed();
                state.Save();
                Report(ComparisonEvent.TrialStarted, round, candidate.Name, Elapsed(),
                    $"round {round + 1}/{sizes.Count}: {candidate.Name} trains for {Seconds(trainingSeconds)}", trainingSeconds);
                var previous = round > 0 ? state.Find(candidate.Name, round - 1) : null;
                var trial = RunTrial(candidate, round, trainingSeconds, previous, train, validation, cancellationToken);
                state.Trials.Add(trial);
                state.Current = null;
                state.ElapsedSeconds = Elapsed();
                state.Save();
                Options.Progress?.Report(new ComparisonProgress(ComparisonEvent.TrialFinished, round, sizes.Count, candidate.Name,
                    TimeSpan.FromSeconds(Elapsed()), Options.Budget)
                {
                    Trial = trial,
                    Message = string.Create(CultureInfo.InvariantCulture,
                        $"round {round + 1}/{sizes.Count}: {candidate.Name} {trial.Metric} {trial.Score * 100:F1} after {trial.TotalIterations} iterations ({trial.WallSeconds:F0} s)"),
                });
            }
            if (round + 1 < sizes.Count)
            {
                alive = alive.OrderByDescending(c => state.Find(c.Name, round)!.Score).ThenBy(c => Options.Candidates.ToList().IndexOf(c))
                    .Take(sizes[round + 1]).ToList();
                Report(ComparisonEvent.RoundFinished, round, null, Elapsed(),
                    $"round {round + 1}/{sizes.Count} done: {string.Join(", ", alive.Select(c => c.Name))} continue", null);
            }
        }
        var leaderboard = new Leaderboard(state.Trials);
        leaderboard.Write(Options.Directory);
        return new ComparisonResult(leaderboard, Metric, Options.Directory, TimeSpan.FromSeconds(Elapsed()));
    }

    /// <summary>The shortest trial the comparison trains (below it, warmup and set-up would be most of the trial).</summary>
    public const double MinimumTrainingSeconds = 3;

    private TrialResult RunTrial(ComparisonCandidate candidate, int round, double trainingSeconds, TrialResult? previous,
        DetectionDataset train, DetectionDataset validation, CancellationToken cancellationToken)
    {
        var wall = Stopwatch.StartNew();
        string folder = Path.Combine(Options.Directory, candidate.Name, $"round{round}");
        var model = previous is null ? candidate.Model : candidate.Model with { PretrainedWeights = previous.ModelPath };
        var options = new TrainingOptions
        {
            Model = model,
            Optimizer = Options.Optimizer,
            Data = Options.Data,
            Runtime = Options.Runtime,
            Seed = Options.Seed,
            Schedule = new ScheduleOptions
            {
                TimeBudget = TimeSpan.FromSeconds(trainingSeconds), WarmupIterations = Options.WarmupIterations, Decay = Options.Decay,
            },
            Checkpoints = new CheckpointOptions { Directory = folder, Period = 50, Keep = 1 },
            Evaluation = new EvaluationOptions { Period = 0, AtEnd = true, ValidationLoss = false, BestMetric = Metric },
        };
        using var trained = new SegmentationTrainer(options).Fit(train, validation, cancellationToken);
        var summary = trained.Summary!;
        var evaluation = summary.Evaluation
                         ?? throw new InvalidOperationException($"{candidate.Name}: the trial ended without a validation");
        if (!evaluation.Metrics.TryGetValue(Metric, out double score))
            throw new InvalidOperationException($"{candidate.Name}: its validation has no '{Metric}' (it has {string.Join(", ", evaluation.Metrics.Keys)})");
        string modelPath = Path.Combine(folder, "model_final.mlseg");
        return new TrialResult
        {
            Candidate = candidate.Name,
            Family = trained.Family.Name,
            Round = round,
            Metric = Metric,
            Score = score,
            Metrics = evaluation.Metrics,
            Iterations = summary.Iterations,
            TotalIterations = summary.Iterations + (previous?.TotalIterations ?? 0),
            TrainingSeconds = summary.TrainingTime.TotalSeconds,
            InferenceMilliseconds = InferenceTiming.MedianMilliseconds(trained, validation, Options.TimingImages),
            Parameters = trained.Model.Module.ParameterCount,
            ModelBytes = new FileInfo(modelPath).Length,
            ModelPath = Path.GetFullPath(modelPath),
            WallSeconds = wall.Elapsed.TotalSeconds,
        };
    }

    /// <summary>What a trial needs besides training (model set-up, validation, timing): the largest the
    /// finished trials needed, or a quarter of the share before any has finished.</summary>
    private static double OverheadEstimate(ComparisonState state, double share) =>
        state.Trials.Count == 0 ? 0.25 * share : state.Trials.Max(t => Math.Max(0, t.WallSeconds - t.TrainingSeconds));

    private void Report(ComparisonEvent e, int round, string? candidate, double elapsed, string message, double? trainingSeconds) =>
        Options.Progress?.Report(new ComparisonProgress(e, round, RoundSizes.Count, candidate, TimeSpan.FromSeconds(elapsed), Options.Budget)
        {
            Message = message,
            TrainingBudget = trainingSeconds is { } s ? TimeSpan.FromSeconds(s) : null,
        });

    private static string Seconds(double s) => s.ToString("F0", CultureInfo.InvariantCulture) + " s";

    /// <summary>What a rerun must agree on to continue this comparison.</summary>
    private string Setting() => string.Create(CultureInfo.InvariantCulture,
        $"candidates {string.Join(" ", Options.Candidates.Select(c => $"{c.Name}:{c.Model.Family}"))}; budget {Options.Budget.TotalSeconds:F0} s; metric {Metric}; halving {Options.HalvingFactor}");

    /// <summary>The primary metric every candidate can be ranked by: mask AP if all predict masks, else box AP, ...</summary>
    private static string SharedMetric(IReadOnlyList<ComparisonCandidate> candidates)
    {
        var shared = candidates.Select(c => ModelRegistry.For(c.Model).TasksFor(c.Model)).Aggregate((a, b) => a & b);
        try { return SegmentationEvaluation.PrimaryMetric(shared); }
        catch (ArgumentException)
        {
            throw new ArgumentException("the candidates share no task to rank them by (e.g. a semantic-only model beside a detector): give ComparisonOptions.Metric");
        }
    }

    private static void RequireMetric(ComparisonCandidate candidate, string metric)
    {
        var tasks = ModelRegistry.For(candidate.Model).TasksFor(candidate.Model);
        int slash = metric.IndexOf('/');
        SegmentationTasks? needs = slash < 0 ? null : metric[..slash] switch
        {
            "segm" => SegmentationTasks.Masks,
            "bbox" => SegmentationTasks.Boxes,
            "keypoints" => SegmentationTasks.Keypoints,
            SegmentationEvaluation.SemanticPrefix => SegmentationTasks.Semantic,
            SegmentationEvaluation.PanopticPrefix => SegmentationTasks.Panoptic,
            _ => null,
        };
        if (needs is null)
            throw new ArgumentException($"ComparisonOptions.Metric '{metric}': expected task/metric, e.g. segm/AP, bbox/AP50, keypoints/AP, sem_seg/mIoU, panoptic_seg/PQ");
        if ((tasks & needs.Value) == 0)
            throw new ArgumentException($"candidate '{candidate.Name}' ({candidate.Model.Family}) does not predict {needs.Value}, so it cannot be ranked by {metric}");
    }
}

/// <summary>The outcome of a <see cref="ModelComparison"/>: the leaderboard and the best model's file.</summary>
public sealed record ComparisonResult(Leaderboard Leaderboard, string Metric, string Directory, TimeSpan Elapsed)
{
    /// <summary>The best candidate's model file.</summary>
    public string BestModelPath => Leaderboard.Best.ModelPath;

    /// <summary>Loads the best model (dispose it).</summary>
    public TrainedModel LoadBest() => TrainedModel.Load(BestModelPath);
}
