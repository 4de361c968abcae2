using System.Globalization;

namespace MLNetSeg.Training;

/// <summary>
/// Training produced a non-finite loss, gradient norm or parameter. Nothing was written after the
/// problem appeared: the newest checkpoint (<see cref="LastCheckpoint"/>, if any) is the last good state.
/// Typical causes: a learning rate too high for the batch size (see the linear scaling rule), no
/// warmup, or bad targets.
/// </summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception; the message names the iteration, the problem, the losses and the last checkpoint.</summary>
    /// <param name="iteration">The 1-based iteration that went wrong.</param>
    /// <param name="what">What was non-finite, e.g. "the gradient norm is NaN".</param>
    /// <param name="losses">The loss components of that iteration, by name.</param>
    /// <param name="lastCheckpoint">The newest checkpoint on disk, or null.</param>
    public TrainingDivergedException(long iteration, string what, IReadOnlyDictionary<string, double> losses, string? lastCheckpoint)
        : base(Describe(iteration, what, losses, lastCheckpoint))
    {
        Iteration = iteration;
        Losses = losses;
        LastCheckpoint = lastCheckpoint;
    }

    /// <summary>The 1-based iteration (optimizer step) that went wrong.</summary>
    public long Iteration { get; }

    /// <summary>The loss components of that iteration's forward pass, by torchvision name ("loss" is their sum).</summary>
    public IReadOnlyDictionary<string, double> Losses { get; }

    /// <summary>The newest checkpoint on disk, untouched by the failed iteration; null when there is none.</summary>
    public string? LastCheckpoint { get; }

    private static string Describe(long iteration, string what, IReadOnlyDictionary<string, double> losses, string? lastCheckpoint)
    {
        var components = string.Join(", ", losses.Select(kv => $"{kv.Key} = {kv.Value.ToString("R", CultureInfo.InvariantCulture)}"));
        return $"training diverged at iteration {iteration}: {what}" +
               (components.Length > 0 ? $" (losses: {components})" : "") +
               (lastCheckpoint is null ? "; no checkpoint was written before it" : $"; the last good checkpoint is {lastCheckpoint}") +
               ". Lower the learning rate, lengthen the warmup or set GradientClipNorm.";
    }
}

/// <summary>
/// <see cref="SegmentationTrainer.Fit"/> was cancelled through its token. It stopped at an iteration
/// boundary and, when a checkpoint directory is set, saved that state to <see cref="Checkpoint"/>,
/// from which a later <c>Fit</c> resumes exactly.
/// </summary>
public sealed class TrainingCanceledException : OperationCanceledException
{
    /// <summary>Creates the exception; the message names the iteration and the checkpoint.</summary>
    /// <param name="iteration">Iterations completed before stopping.</param>
    /// <param name="checkpoint">The checkpoint written at that iteration, or null without a checkpoint directory.</param>
    /// <param name="token">The token that was cancelled.</param>
    public TrainingCanceledException(long iteration, string? checkpoint, CancellationToken token)
        : base(checkpoint is null
            ? $"training was cancelled after iteration {iteration} (no checkpoint directory: nothing was saved)"
            : $"training was cancelled after iteration {iteration}; its state is saved in {checkpoint}", token)
    {
        Iteration = iteration;
        Checkpoint = checkpoint;
    }

    /// <summary>Iterations completed (and saved) before stopping.</summary>
    public long Iteration { get; }

    /// <summary>The checkpoint holding the state at <see cref="Iteration"/>; null without a checkpoint directory.</summary>
    public string? Checkpoint { get; }
}
