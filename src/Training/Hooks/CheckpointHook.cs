using MLNetSeg.Models;
using MLNetSeg.Torch;

namespace MLNetSeg.Training;

/// <summary>
/// Checkpoints in <see cref="CheckpointOptions.Directory"/>: every <see cref="CheckpointOptions.Period"/>
/// iterations, when cancelled, and at the end (with model_final.mlseg); only the newest
/// <see cref="CheckpointOptions.Keep"/> are kept. A checkpoint never holds a diverged model. A checkpoint or
/// model file that cannot be written (a full disk) stops the run with an <see cref="IOException"/> naming the
/// file and the last complete checkpoint, which the atomic write left untouched.
/// </summary>
internal sealed class CheckpointHook : TrainingHook
{
    public const string FinalModelName = "model_final.mlseg";

    public override void AfterStep(TrainingContext context, StepResult step)
    {
        if (context.Iteration % context.Options.Checkpoints.Period == 0 && !context.IsLastIteration) Save(context);
    }

    public override void AfterTrain(TrainingContext context)
    {
        if (context.LastCheckpointIteration != context.Iteration) Save(context);
        if (!context.IsMain) return;
        var finalPath = Path.Combine(context.CheckpointDirectory!, FinalModelName);
        try
        {
            ModelFile.Save(context.Model, context.Info, finalPath);
        }
        catch (IOException e)
        {
            throw WriteFailed(context, e);
        }
        context.Report(TrainingEvent.Saved, $"saved the final model to {finalPath}", finalPath);
    }

    public override void OnCancelled(TrainingContext context)
    {
        // A distributed save is a collective; a cancelled process cannot count on its peers joining it
        // (they resume from the last periodic checkpoint instead).
        if (context.DataParallel is null && context.LastCheckpointIteration != context.Iteration) Save(context);
    }

    private static void Save(TrainingContext context)
    {
        var dir = context.CheckpointDirectory!;
        CheckParametersFinite(context);
        var path = Path.Combine(dir, TrainingCheckpoint.FileName(context.Iteration));
        var stream = context.Stream!;
        var position = new TrainingPosition(context.Iteration, stream.Epoch, stream.NextBatch, context.TrainingTime.TotalSeconds);
        // Distributed: every rank's generator goes into rank 0's checkpoint (each samples its own proposals),
        // and only rank 0 writes; the others just note the checkpoint.
        using var rngScope = DisposeScope.Enter();
        var rankRngStates = context.DataParallel?.GatherRngStates(TorchRuntime.GetRngState());
        if (context.IsMain)
        {
            try
            {
                TrainingCheckpoint.Save(path, context.Model.Module, context.Optimizer, context.Device, position, context.Options,
                    context.Train.Categories.CategoryIds, context.Best, rankRngStates, context.Scaler);
            }
            catch (IOException e)
            {
                throw WriteFailed(context, e);
            }
        }
        // Recorded only once written (the failure message names the last complete one).
        context.LastCheckpoint = path;
        context.LastCheckpointIteration = context.Iteration;
        if (!context.IsMain) return;
        if (context.Options.Checkpoints.Keep > 0)
        {
            var all = TrainingCheckpoint.List(dir);
            foreach (var (_, old) in all.Take(Math.Max(0, all.Count - context.Options.Checkpoints.Keep)))
            {
                try { File.Delete(old); }
                catch (IOException e) { context.Log($"warning: could not delete old checkpoint {old}: {e.Message}"); }
            }
        }
        context.Report(TrainingEvent.Saved, $"saved checkpoint {path}", path);
    }

    /// <summary>A failed write (e.g. a full disk) stops the run: the message names the file (AtomicFile's) and the
    /// checkpoint a rerun resumes from; the type stays an IOException.</summary>
    private static IOException WriteFailed(TrainingContext context, IOException e) =>
        new($"training stopped at iteration {context.Iteration}: {e.Message}; " +
            (context.LastCheckpoint is { } last ? $"the last complete checkpoint, {last}, is intact (a rerun resumes from it)" : "no checkpoint was written yet"), e);

    private static void CheckParametersFinite(TrainingContext context)
    {
        using var scope = DisposeScope.Enter();
        foreach (var (name, p) in context.Model.Module.NamedParameters())
        {
            if (p.IsFinite().All().ItemLong() == 0)
                throw new TrainingDivergedException(context.Iteration, $"parameter {name} became non-finite in the update", context.LastLosses, context.LastCheckpoint);
        }
    }
}
