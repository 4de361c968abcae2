using MLNetSeg.Torch.Optim;

namespace MLNetSeg.Training;

/// <summary>
/// The run's length and learning-rate curve: a fixed number of iterations (torch's warmup schedulers,
/// step for step), or a time budget whose spent fraction drives the decay and the end (see
/// <see cref="ScheduleOptions"/>).
/// </summary>
internal sealed class TrainingSchedule
{
    private readonly ScheduleOptions _options;

    private TrainingSchedule(ScheduleOptions options, long? totalIterations)
    {
        _options = options;
        TotalIterations = totalIterations;
    }

    /// <summary>The schedule of <paramref name="options"/> for an epoch of <paramref name="iterationsPerEpoch"/> optimizer steps.</summary>
    public static TrainingSchedule For(ScheduleOptions options, long iterationsPerEpoch, int batchesPerEpoch)
    {
        if (options.Epochs is { } epochs)
        {
            if (iterationsPerEpoch == 0)
                throw new ArgumentException($"an epoch has {batchesPerEpoch} batches, fewer than the gradient accumulation steps; give Iterations instead");
            return new TrainingSchedule(options, epochs * iterationsPerEpoch);
        }
        return new TrainingSchedule(options, options.Iterations);
    }

    /// <summary>The planned iterations; null for a time-budget run.</summary>
    public long? TotalIterations { get; }

    public TimeSpan? Budget => _options.TimeBudget;

    /// <summary>Fraction of the run done, in [0, 1].</summary>
    public double Progress(long iteration, TimeSpan trainingTime) =>
        TotalIterations is { } total ? Math.Min(1.0, (double)iteration / total)
            : Math.Min(1.0, trainingTime.TotalSeconds / _options.TimeBudget!.Value.TotalSeconds);

    /// <summary>Whether the run is complete after <paramref name="iteration"/> iterations and <paramref name="trainingTime"/> of training.</summary>
    public bool IsComplete(long iteration, TimeSpan trainingTime) =>
        TotalIterations is { } total ? iteration >= total : trainingTime >= _options.TimeBudget!.Value;

    /// <summary>The planned iterations, or for a budget run the estimate from the speed so far (at least <paramref name="iteration"/>).</summary>
    public long EstimatedTotal(long iteration, TimeSpan trainingTime)
    {
        if (TotalIterations is { } total) return total;
        double p = Progress(iteration, trainingTime);
        return p >= 1 || iteration == 0 || p <= 0 ? iteration : Math.Max(iteration, (long)Math.Round(iteration / p));
    }

    /// <summary>The learning-rate scheduler; <paramref name="trainingTime"/> is read before each step of a budget run.</summary>
    public LrScheduler CreateScheduler(Optimizer optimizer, Func<TimeSpan> trainingTime)
    {
        long warmup = _options.WarmupIterations;
        if (TotalIterations is { } total)
        {
            if (_options.Decay == LrSchedule.Cosine)
                return new WarmupCosineLr(optimizer, total, warmupFactor: _options.WarmupFactor, warmupIters: warmup);
            var steps = _options.Steps ?? new[] { total * 2 / 3, total * 8 / 9 };
            return new WarmupMultiStepLr(optimizer, steps, _options.Gamma, _options.WarmupFactor, warmup);
        }
        return new BudgetLr(optimizer, _options, () => Progress(0, trainingTime()));
    }

    /// <summary>
    /// Warmup by iteration (as torch's schedulers), decay by the spent fraction p of the budget: cosine
    /// (1 + cos πp) / 2, or ×gamma at p = 2/3 and 8/9.
    /// </summary>
    private sealed class BudgetLr : LrScheduler
    {
        private readonly ScheduleOptions _options;
        private readonly Func<double> _progress;

        public BudgetLr(Optimizer optimizer, ScheduleOptions options, Func<double> progress) : base(optimizer)
        {
            _options = options;
            _progress = progress;
            ValidateWarmup(options.WarmupIterations, options.WarmupFactor);
            Start();
        }

        public override double Factor(long iteration)
        {
            double p = Math.Clamp(_progress(), 0, 1);
            double decay = _options.Decay == LrSchedule.Cosine
                ? (1 + Math.Cos(Math.PI * p)) / 2
                : Math.Pow(_options.Gamma, (p >= 2.0 / 3 ? 1 : 0) + (p >= 8.0 / 9 ? 1 : 0));
            return WarmupFactor(iteration, WarmupMethod.Linear, _options.WarmupIterations, _options.WarmupFactor) * decay;
        }
    }
}
