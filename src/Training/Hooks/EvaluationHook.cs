using System.Globalization;
using MLNetSeg.Evaluation;
using MLNetSeg.Models;
using MLNetSeg.Torch;

namespace MLNetSeg.Training;

/// <summary>
/// Validation every <see cref="EvaluationOptions.Period"/> iterations and at the end: the validation loss,
/// every evaluation the model's tasks allow, and best.mlseg when the chosen metric improves. Runs at an
/// iteration boundary and leaves the training state (mode, generator) as it found it, so a run's losses
/// do not depend on how often it is evaluated.
/// </summary>
internal sealed class EvaluationHook : TrainingHook
{
    public const string BestModelName = "best.mlseg";

    public override void AfterStep(TrainingContext context, StepResult step)
    {
        var options = context.Options.Evaluation;
        if (options.Period > 0 && context.Iteration % options.Period == 0 && !(context.IsLastIteration && options.AtEnd)) Validate(context);
    }

    public override void AfterTrain(TrainingContext context)
    {
        if (context.Options.Evaluation.AtEnd && context.LastValidationIteration != context.Iteration) Validate(context);
    }

    private static void Validate(TrainingContext context)
    {
        var validation = context.Validation!;
        var options = context.Options;
        context.StopTrainingClock();
        var model = context.Model;
        using var rngScope = DisposeScope.Enter();
        var cpuRng = TorchRuntime.GetRngState();
        var cudaRng = context.Device.Type == DeviceType.Cpu ? null : TorchRuntime.GetRngState(context.Device);
        ValidationResult result;
        try
        {
            var losses = options.Evaluation.ValidationLoss
                ? DatasetInference.ValidationLosses(model, validation, context.Device, options.Data.BatchSize, options.Data.LoaderWorkers,
                    options.Data.SkipBadSamples, context.Log, context.Cancellation)
                : null;
            model.Module.Eval();
            var (results, imageIds) = DatasetInference.Predict(model, validation, options.Data.BatchSize, options.Data.LoaderWorkers, context.Cancellation);
            var evaluation = ModelEvaluation.Score(validation, results, imageIds, context.Info, model, options.Evaluation);
            result = new ValidationResult(context.Iteration, losses, evaluation);
        }
        finally
        {
            model.Module.Train();
            TorchRuntime.SetRngState(cpuRng);
            if (cudaRng is not null) TorchRuntime.SetRngState(cudaRng, context.Device);
        }
        context.LastValidation = result;
        context.LastValidationIteration = context.Iteration;
        foreach (var warning in result.Evaluation.Warnings) context.Log($"warning: evaluation: {warning}");

        var metrics = result.Evaluation.Metrics;
        string metric = options.Evaluation.BestMetric ?? SegmentationEvaluation.PrimaryMetric(model.Tasks);
        if (!metrics.TryGetValue(metric, out double value))
            throw new ArgumentException($"TrainingOptions.Evaluation.BestMetric '{metric}' is not among this model's metrics ({string.Join(", ", metrics.Keys)})");
        string? note = null;
        if (context.Best is null || value > context.Best.Value)
        {
            context.Best = new BestResult(metric, value, context.Iteration);
            if (context.CheckpointDirectory is { } dir)
            {
                context.BestModelPath = Path.Combine(dir, BestModelName);
                var properties = new Dictionary<string, string>(context.Info.Properties ?? new Dictionary<string, string>(), StringComparer.Ordinal)
                {
                    ["best"] = string.Create(CultureInfo.InvariantCulture, $"{metric} {value:R} at iteration {context.Iteration}"),
                };
                ModelFile.Save(model, context.Info with { Properties = properties }, context.BestModelPath);
                note = $"new best {metric} {value * 100:F1}: saved {context.BestModelPath}";
            }
            else
            {
                note = $"new best {metric} {value * 100:F1}";
            }
        }
        context.Progress.Report(new TrainingProgress
        {
            Event = TrainingEvent.Validation,
            Iteration = context.Iteration,
            TotalIterations = context.TotalIterations,
            Epoch = context.Epoch,
            ValidationLosses = result.Losses,
            Metrics = metrics,
            Elapsed = context.Clock.Elapsed,
            Message = note,
        });
    }
}
