using System.Globalization;
using MLNetSeg.Data.Loading;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Optim;

namespace MLNetSeg.Training;

/// <summary>
/// One optimizer step over an iteration's batches: forward, loss check, backward (each loss ÷ the
/// accumulation steps), optional clipping, SGD update, schedule step. Every tensor made here is freed
/// before it returns.
/// </summary>
internal static class TrainingStep
{
    /// <summary>The name of the summed objective among the losses.</summary>
    public const string TotalKey = "loss";

    /// <summary>The training objective: the sum of the named losses.</summary>
    public static Tensor Total(IReadOnlyDictionary<string, Tensor> losses)
    {
        Tensor? total = null;
        foreach (var loss in losses.Values) total = total is null ? loss : total + loss;
        return total ?? throw new InvalidOperationException("the model returned no losses");
    }

    /// <summary>Runs the step and advances <see cref="TrainingContext.Iteration"/>; returns the iteration's losses (mean over its batches).</summary>
    public static StepResult Run(TrainingContext context, IReadOnlyList<DetectionBatch> batches)
    {
        long iteration = context.Iteration + 1;
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        var model = context.Model;
        var dp = context.DataParallel;
        using (var scope = DisposeScope.Enter())
        {
            context.Optimizer.ZeroGrad();
            for (int micro = 0; micro < batches.Count; micro++)
            {
                var batch = batches[micro];
                // Distributed: gradients are averaged over the processes in the last micro-batch's backward
                // (the earlier ones accumulate locally, DDP's no_sync).
                bool synchronise = dp is not null && micro == batches.Count - 1;
                using var inner = DisposeScope.Enter();
                if (synchronise) dp!.BeforeSynchronisedForward();
                var (images, targets) = DatasetInference.Inputs(model, batch, context.Device);
                IReadOnlyDictionary<string, Tensor> losses;
                Tensor total;
                // Mixed precision: the forward pass under autocast, backward outside it (as torch.autocast's recipe).
                using (context.Options.Runtime.MixedPrecision is { } precision ? AutocastScope.Enter(context.Device, precision) : default)
                {
                    losses = model.ComputeLosses(images, targets);
                    total = Total(losses);
                }
                if (context.Options.Runtime.LossHook is { } hook) total = hook(iteration, total);
                var values = losses.ToDictionary(kv => kv.Key, kv => kv.Value.ItemDouble(), StringComparer.Ordinal);
                values[TotalKey] = total.ItemDouble();
                // The mean over the processes: what is logged, and a divergence every rank sees alike (so all stop together).
                if (dp is not null) values = dp.Mean(values);
                if (values.Values.Any(v => !double.IsFinite(v)))
                    throw new TrainingDivergedException(iteration, $"the loss is not finite (batch {batch.Index} of epoch {batch.Epoch}: " +
                                                                   $"{string.Join(", ", batch.ImagePaths.Select(Path.GetFileName))})", values, context.LastCheckpoint);
                var objective = batches.Count == 1 ? total : total / batches.Count;
                if (context.Scaler is { } scaler) objective = scaler.ScaleLoss(objective);
                if (synchronise) dp!.SynchronisedBackward(objective);
                else objective.Backward();
                foreach (var (k, v) in values) sums[k] = sums.GetValueOrDefault(k) + v / batches.Count;
            }
            // float16: gradients back to their true size; a step with inf/NaN gradients is skipped by the scaler, not an error.
            context.Scaler?.Unscale(context.Optimizer);
            if (context.Options.Optimizer.GradientClipNorm is { } maxNorm && context.Scaler?.FoundNonFinite != true)
            {
                double norm = GradientClipping.ClipGradNorm(context.Parameters, maxNorm);
                if (!double.IsFinite(norm))
                    throw new TrainingDivergedException(iteration, $"the gradient norm is {norm.ToString(CultureInfo.InvariantCulture)}", sums, context.LastCheckpoint);
            }
            if (context.Scaler is { } gradScaler) gradScaler.Step(context.Optimizer);
            else context.Optimizer.Step();
            context.Optimizer.ZeroGrad();
        }
        context.LastLearningRate = context.Optimizer.ParamGroups[0].LearningRate;
        context.Iteration = iteration;
        context.AgreeOnTrainingTime();
        context.Scheduler.Step();
        // Images of the step over all processes (each takes the same share).
        return new StepResult(sums, batches.Sum(b => b.Count) * (dp?.WorldSize ?? 1));
    }
}
