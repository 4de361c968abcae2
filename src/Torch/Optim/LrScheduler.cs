namespace MLNetSeg.Torch.Optim;

/// <summary>How the learning rate ramps up during warmup (detectron2's warmup methods).</summary>
public enum WarmupMethod
{
    /// <summary>factor·(1 − α) + α with α = iteration / warmupIters (torch's LinearLR, end factor 1).</summary>
    Linear,
    /// <summary>A constant factor until warmupIters (torch's ConstantLR).</summary>
    Constant,
}

/// <summary>
/// Sets each parameter group's learning rate from its initial rate as a function of the
/// iteration (PyTorch's _LRScheduler protocol: constructing applies iteration 0, every
/// <see cref="Step"/> advances one). Schedules are evaluated in closed form, so resuming at an
/// iteration (<see cref="LoadState"/>) gives exactly the rate an uninterrupted run had.
/// </summary>
public abstract class LrScheduler
{
    /// <summary>Attaches to <paramref name="optimizer"/>: a group without an
    /// <see cref="ParamGroup.InitialLearningRate"/> gets its current rate as one, and those become the
    /// <see cref="BaseLearningRates"/>. Derived constructors finish with <see cref="Start"/>.</summary>
    protected LrScheduler(Optimizer optimizer)
    {
        Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        foreach (var g in optimizer.ParamGroups) g.InitialLearningRate ??= g.LearningRate;
        BaseLearningRates = optimizer.ParamGroups.Select(g => g.InitialLearningRate!.Value).ToArray();
    }

    /// <summary>The optimizer whose learning rates this scheduler sets.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Each group's initial learning rate, which the schedule scales.</summary>
    public IReadOnlyList<double> BaseLearningRates { get; }

    /// <summary>The iteration (or epoch) whose rate is applied; 0 after construction.</summary>
    public long LastEpoch { get; private set; } = -1;

    /// <summary>The learning rates applied last, per group.</summary>
    public IReadOnlyList<double> LastLearningRates => Optimizer.ParamGroups.Select(g => g.LearningRate).ToArray();

    /// <summary>Advances one iteration and applies its learning rates.</summary>
    public void Step() => Apply(LastEpoch + 1);

    /// <summary>Applies the rates of iteration <paramref name="lastEpoch"/> (to resume training).</summary>
    public void LoadState(long lastEpoch)
    {
        if (lastEpoch < 0) throw new ArgumentOutOfRangeException(nameof(lastEpoch), lastEpoch, "iteration must be non-negative");
        Apply(lastEpoch);
    }

    /// <summary>The multiplier of the base learning rate at <paramref name="iteration"/>.</summary>
    public abstract double Factor(long iteration);

    /// <summary>The learning rate of a group whose base rate is <paramref name="baseLr"/>.</summary>
    protected virtual double LearningRate(double baseLr, long iteration) => baseLr * Factor(iteration);

    /// <summary>Call at the end of the derived constructor: applies iteration 0.</summary>
    protected void Start() => Apply(0);

    private void Apply(long iteration)
    {
        LastEpoch = iteration;
        for (int i = 0; i < BaseLearningRates.Count; i++)
            Optimizer.ParamGroups[i].LearningRate = LearningRate(BaseLearningRates[i], iteration);
    }

    /// <summary>detectron2's warmup factor: 1 from <paramref name="warmupIters"/> on.</summary>
    protected static double WarmupFactor(long iteration, WarmupMethod method, long warmupIters, double warmupFactor)
    {
        if (iteration >= warmupIters) return 1.0;
        return method switch
        {
            WarmupMethod.Constant => warmupFactor,
            WarmupMethod.Linear => warmupFactor * (1 - (double)iteration / warmupIters) + (double)iteration / warmupIters,
            _ => throw new ArgumentOutOfRangeException(nameof(method), method, "unknown warmup method"),
        };
    }

    /// <summary>Checks the warmup arguments: a non-negative length and a factor in (0, 1].</summary>
    protected static void ValidateWarmup(long warmupIters, double warmupFactor)
    {
        if (warmupIters < 0) throw new ArgumentOutOfRangeException(nameof(warmupIters), warmupIters, "warmup iterations must be non-negative");
        if (!(warmupFactor > 0 && warmupFactor <= 1))
            throw new ArgumentOutOfRangeException(nameof(warmupFactor), warmupFactor, "warmup factor must be in (0, 1]");
    }
}

/// <summary>
/// Warmup then step decay, the Mask R-CNN schedule (detectron2's WarmupMultiStepLR; torchvision
/// references: LinearLR warmup chained with MultiStepLR): lr = base · warmup(t) · γ^k with k the
/// number of milestones ≤ t. warmupIters 0 gives plain MultiStepLR.
/// </summary>
public sealed class WarmupMultiStepLr : LrScheduler
{
    /// <summary>Attaches the schedule and applies iteration 0.</summary>
    /// <param name="optimizer">The optimizer whose learning rates to set.</param>
    /// <param name="milestones">Iterations (non-decreasing) at which the rate is multiplied by <paramref name="gamma"/>.</param>
    /// <param name="gamma">The decay factor at each milestone.</param>
    /// <param name="warmupFactor">The rate multiplier at iteration 0.</param>
    /// <param name="warmupIters">Iterations of warmup; 0 for none.</param>
    /// <param name="warmupMethod">How the multiplier ramps from <paramref name="warmupFactor"/> to 1.</param>
    public WarmupMultiStepLr(Optimizer optimizer, IEnumerable<long> milestones, double gamma = 0.1, double warmupFactor = 0.001,
        long warmupIters = 1000, WarmupMethod warmupMethod = WarmupMethod.Linear) : base(optimizer)
    {
        Milestones = milestones.ToArray();
        for (int i = 1; i < Milestones.Count; i++)
            if (Milestones[i] < Milestones[i - 1])
                throw new ArgumentException($"milestones must be non-decreasing, got [{string.Join(", ", Milestones)}]");
        ValidateWarmup(warmupIters, warmupFactor);
        Gamma = gamma;
        WarmupFactorAtStart = warmupFactor;
        WarmupIters = warmupIters;
        Method = warmupMethod;
        Start();
    }

    /// <summary>Iterations at which the rate is multiplied by <see cref="Gamma"/>.</summary>
    public IReadOnlyList<long> Milestones { get; }
    /// <summary>The decay factor at each milestone.</summary>
    public double Gamma { get; }
    /// <summary>The rate multiplier at iteration 0.</summary>
    public double WarmupFactorAtStart { get; }
    /// <summary>Iterations of warmup.</summary>
    public long WarmupIters { get; }
    /// <summary>How the warmup multiplier ramps up.</summary>
    public WarmupMethod Method { get; }

    /// <summary>warmup(t)·γ^k, with k the number of milestones ≤ <paramref name="iteration"/>.</summary>
    public override double Factor(long iteration)
    {
        int passed = 0;
        while (passed < Milestones.Count && Milestones[passed] <= iteration) passed++;  // bisect_right
        return WarmupFactor(iteration, Method, WarmupIters, WarmupFactorAtStart) * Math.Pow(Gamma, passed);
    }
}

/// <summary>
/// Warmup then cosine annealing from the base rate to <c>etaMin</c> over
/// <c>maxIters</c> (torch's CosineAnnealingLR with T_max = maxIters, closed form; detectron2's
/// WarmupCosineLR when etaMin is 0): lr = warmup(t) · (η_min + (base − η_min)·(1 + cos(π·t/T))/2).
/// </summary>
public sealed class WarmupCosineLr : LrScheduler
{
    /// <summary>Attaches the schedule and applies iteration 0.</summary>
    /// <param name="optimizer">The optimizer whose learning rates to set.</param>
    /// <param name="maxIters">The iteration T at which the cosine reaches <paramref name="etaMin"/> (positive).</param>
    /// <param name="etaMin">The final learning rate (absolute, not a factor).</param>
    /// <param name="warmupFactor">The rate multiplier at iteration 0.</param>
    /// <param name="warmupIters">Iterations of warmup; 0 for none.</param>
    /// <param name="warmupMethod">How the multiplier ramps from <paramref name="warmupFactor"/> to 1.</param>
    public WarmupCosineLr(Optimizer optimizer, long maxIters, double etaMin = 0, double warmupFactor = 0.001, long warmupIters = 0,
        WarmupMethod warmupMethod = WarmupMethod.Linear) : base(optimizer)
    {
        if (maxIters <= 0) throw new ArgumentOutOfRangeException(nameof(maxIters), maxIters, "maxIters must be positive");
        ValidateWarmup(warmupIters, warmupFactor);
        MaxIters = maxIters;
        EtaMin = etaMin;
        WarmupFactorAtStart = warmupFactor;
        WarmupIters = warmupIters;
        Method = warmupMethod;
        Start();
    }

    /// <summary>The iteration T at which the cosine reaches <see cref="EtaMin"/>.</summary>
    public long MaxIters { get; }
    /// <summary>The final learning rate.</summary>
    public double EtaMin { get; }
    /// <summary>The rate multiplier at iteration 0.</summary>
    public double WarmupFactorAtStart { get; }
    /// <summary>Iterations of warmup.</summary>
    public long WarmupIters { get; }
    /// <summary>How the warmup multiplier ramps up.</summary>
    public WarmupMethod Method { get; }

    /// <summary>The multiplier for a base rate of 1 (exact only when etaMin is 0).</summary>
    public override double Factor(long iteration) => LearningRate(1.0, iteration);

    /// <summary>warmup(t)·(η_min + (base − η_min)·(1 + cos(π·t/T))/2).</summary>
    protected override double LearningRate(double baseLr, long iteration) =>
        WarmupFactor(iteration, Method, WarmupIters, WarmupFactorAtStart) *
        (EtaMin + (baseLr - EtaMin) * (1 + Math.Cos(Math.PI * iteration / MaxIters)) / 2);
}
