using System.Text.RegularExpressions;
using MLNetSeg.Models;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Training.Comparison;

/// <summary>One model to try: a name (its folder and its row in the leaderboard) and the family's options.</summary>
public sealed record ComparisonCandidate(string Name, ModelOptions Model)
{
    /// <summary>
    /// One candidate per registered family (named after it) whose model, from the family's defaults passed through
    /// <paramref name="configure"/>, predicts every task of <paramref name="tasks"/>: the comparison picks up whatever
    /// the registry holds, including families registered by the application. <paramref name="configure"/> adjusts each
    /// family's options (a backbone, sizes, label maps' classes) or returns null to leave the family out.
    /// </summary>
    public static IReadOnlyList<ComparisonCandidate> FromRegistry(SegmentationTasks tasks, Func<ModelFamily, ModelOptions, ModelOptions?>? configure = null)
    {
        var candidates = new List<ComparisonCandidate>();
        foreach (var family in ModelRegistry.Families)
        {
            var defaults = family.CreateDefaultOptions();
            var options = configure is null ? defaults : configure(family, defaults);
            if (options is null || (family.TasksFor(options) & tasks) != tasks) continue;
            candidates.Add(new ComparisonCandidate(family.Name, options));
        }
        return candidates;
    }

    internal void Validate()
    {
        if (string.IsNullOrEmpty(Name) || !Regex.IsMatch(Name, "^[A-Za-z0-9][A-Za-z0-9._-]*$"))
            throw new ArgumentException($"candidate name '{Name}': letters, digits, '.', '_' and '-' only (it names the candidate's folder)", nameof(Name));
        ArgumentNullException.ThrowIfNull(Model, $"candidate '{Name}': Model");
        try { Model.Validate(); }
        catch (ArgumentException e) { throw new ArgumentException($"candidate '{Name}': {e.Message}", e); }
        ModelRegistry.For(Model);
    }
}

/// <summary>
/// What <see cref="ModelComparison"/> tries and how long it may take: the candidates, the whole
/// wall-clock budget (training, evaluation and timing of every trial), the metric that ranks them and the
/// folder that keeps every trial's model and metrics (and lets a killed comparison continue). The
/// training settings below are shared by every trial; each trial adds its model and a time budget.
/// </summary>
public sealed record ComparisonOptions
{
    /// <summary>The models to try; two or more names, each once.</summary>
    public required IReadOnlyList<ComparisonCandidate> Candidates { get; init; }

    /// <summary>Wall-clock time for the whole comparison, evaluation and timing included.</summary>
    public required TimeSpan Budget { get; init; }

    /// <summary>Folder of the comparison: comparison.json (its state), leaderboard.csv/json and one
    /// folder per candidate and round with the trial's checkpoints, metrics.jsonl and model_final.mlseg.</summary>
    public required string Directory { get; init; }

    /// <summary>The key of <see cref="MLNetSeg.Evaluation.SegmentationEvaluation.Metrics"/> that ranks the
    /// candidates ("segm/AP", "bbox/AP", "keypoints/AP", "sem_seg/mIoU", "panoptic_seg/PQ"); null: the
    /// primary metric the candidates share (mask AP when every candidate predicts masks).</summary>
    public string? Metric { get; init; }

    /// <summary>Successive halving's factor: after each round the best ⌈alive ÷ factor⌉ continue; default 2.</summary>
    public int HalvingFactor { get; init; } = 2;

    /// <summary>Every trial's optimizer (SGD; the base rate by the linear scaling rule unless given).</summary>
    public OptimizerOptions Optimizer { get; init; } = new();

    /// <summary>Every trial's batch size, augmentation and loading.</summary>
    public DataOptions Data { get; init; } = new();

    /// <summary>Threads, device and logging of every trial (its <see cref="RuntimeOptions.Progress"/> receives every trial's training progress).</summary>
    public RuntimeOptions Runtime { get; init; } = new();

    /// <summary>Warmup iterations of each trial; default 50, short trials' warmup.</summary>
    public int WarmupIterations { get; init; } = 50;

    /// <summary>Each trial's decay over its time budget; default cosine, which ends every trial at a low rate whatever its length.</summary>
    public LrSchedule Decay { get; init; } = LrSchedule.Cosine;

    /// <summary>Seed of every trial (the same data order and initialisation for every candidate).</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Validation images timed per trial for the leaderboard's inference ms/image (median); default 8.</summary>
    public int TimingImages { get; init; } = 8;

    /// <summary>Called as trials start and end.</summary>
    public IProgress<ComparisonProgress>? Progress { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (Candidates is null || Candidates.Count < 2)
            throw new ArgumentException($"ComparisonOptions.Candidates: give two or more candidates (got {Candidates?.Count ?? 0})", nameof(Candidates));
        foreach (var candidate in Candidates) candidate.Validate();
        var twice = Candidates.GroupBy(c => c.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null) throw new ArgumentException($"ComparisonOptions.Candidates: the name '{twice.Key}' is given {twice.Count()} times", nameof(Candidates));
        if (Budget <= TimeSpan.Zero) throw new ArgumentException($"ComparisonOptions.Budget must be positive, got {Budget}", nameof(Budget));
        if (string.IsNullOrWhiteSpace(Directory)) throw new ArgumentException("ComparisonOptions.Directory: give the comparison's folder", nameof(Directory));
        if (HalvingFactor < 2) throw new ArgumentException($"ComparisonOptions.HalvingFactor must be at least 2, got {HalvingFactor}", nameof(HalvingFactor));
        if (TimingImages < 1) throw new ArgumentException($"ComparisonOptions.TimingImages must be at least 1, got {TimingImages}", nameof(TimingImages));
        if (WarmupIterations < 0) throw new ArgumentException($"ComparisonOptions.WarmupIterations must be at least 0, got {WarmupIterations}", nameof(WarmupIterations));
    }
}

/// <summary>What <see cref="ComparisonProgress"/> reports.</summary>
public enum ComparisonEvent
{
    /// <summary>A trial starts (or resumes): <see cref="ComparisonProgress.TrainingBudget"/> is its training time.</summary>
    TrialStarted,

    /// <summary>A trial is trained, evaluated and timed: <see cref="ComparisonProgress.Trial"/>.</summary>
    TrialFinished,

    /// <summary>A round is over: <see cref="ComparisonProgress.Message"/> names who continues.</summary>
    RoundFinished,
}

/// <summary>A step of a comparison, for progress display.</summary>
public sealed record ComparisonProgress(ComparisonEvent Event, int Round, int Rounds, string? Candidate, TimeSpan Elapsed, TimeSpan Budget)
{
    /// <summary>The trial's training time (<see cref="ComparisonEvent.TrialStarted"/>).</summary>
    public TimeSpan? TrainingBudget { get; init; }

    /// <summary>The finished trial (<see cref="ComparisonEvent.TrialFinished"/>).</summary>
    public TrialResult? Trial { get; init; }

    /// <summary>A one-line description of the step.</summary>
    public required string Message { get; init; }

    /// <inheritdoc/>
    public override string ToString() => Message;
}
