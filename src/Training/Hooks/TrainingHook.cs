namespace MLNetSeg.Training;

/// <summary>
/// One concern of the training loop (detectron2's HookBase): logging, checkpoints, evaluation, time
/// limits. The loop calls the hooks in order around its steps; hooks talk through the <see cref="TrainingContext"/>.
/// </summary>
internal abstract class TrainingHook
{
    /// <summary>After setup (model, optimizer, resume), before the first step of this Fit call.</summary>
    public virtual void BeforeTrain(TrainingContext context)
    {
    }

    /// <summary>After each optimizer step; <see cref="TrainingContext.Iteration"/> is the step just done.</summary>
    public virtual void AfterStep(TrainingContext context, StepResult step)
    {
    }

    /// <summary>When the schedule is complete (or a hook stopped it), before the model is returned.</summary>
    public virtual void AfterTrain(TrainingContext context)
    {
    }

    /// <summary>When the run is cancelled at an iteration boundary: save what must not be lost.</summary>
    public virtual void OnCancelled(TrainingContext context)
    {
    }
}

/// <summary>What one optimizer step did: its losses (mean over its batches, with the total under "loss") and images.</summary>
internal sealed record StepResult(IReadOnlyDictionary<string, double> Losses, int Images);
