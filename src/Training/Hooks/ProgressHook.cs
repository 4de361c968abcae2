using System.Diagnostics;

namespace MLNetSeg.Training;

/// <summary>Every <see cref="RuntimeOptions.LogPeriod"/> iterations (and at the last): the mean losses of the
/// window, learning rate, speed and ETA, as an <see cref="TrainingEvent.Iteration"/> report.</summary>
internal sealed class ProgressHook : TrainingHook
{
    private readonly Dictionary<string, double> _sums = new(StringComparer.Ordinal);
    private readonly Stopwatch _window = new();
    private int _iterations;
    private long _images;

    public override void BeforeTrain(TrainingContext context) => _window.Restart();

    public override void AfterStep(TrainingContext context, StepResult step)
    {
        foreach (var (k, v) in step.Losses) _sums[k] = _sums.GetValueOrDefault(k) + v;
        _iterations++;
        _images += step.Images;
        bool last = context.IsLastIteration;
        if (context.Iteration % context.Options.Runtime.LogPeriod != 0 && !last) return;

        double seconds = _window.Elapsed.TotalSeconds;
        context.LastLosses = _sums.ToDictionary(kv => kv.Key, kv => kv.Value / _iterations);
        long done = context.Iteration - context.StartIteration;
        double perIteration = done > 0 ? context.TrainingTimeThisCall.TotalSeconds / done : 0;
        TimeSpan? eta = context.Schedule.Budget is { } budget
            ? budget - context.TrainingTime is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero
            : perIteration > 0 ? TimeSpan.FromSeconds(perIteration * (context.TotalIterations - context.Iteration)) : null;
        context.Progress.Report(new TrainingProgress
        {
            Event = TrainingEvent.Iteration,
            Iteration = context.Iteration,
            TotalIterations = context.TotalIterations,
            Epoch = context.Epoch,
            Losses = context.LastLosses,
            LearningRate = context.LastLearningRate,
            ImagesPerSecond = seconds > 0 ? _images / seconds : 0,
            SecondsPerIteration = seconds / _iterations,
            Elapsed = context.Clock.Elapsed,
            Eta = eta,
        });
        _sums.Clear();
        _iterations = 0;
        _images = 0;
        _window.Restart();
    }
}
