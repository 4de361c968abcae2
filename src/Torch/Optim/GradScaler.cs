namespace MLNetSeg.Torch.Optim;

/// <summary>
/// Dynamic loss scaling for float16 mixed-precision training (torch.cuda.amp.GradScaler): the loss is
/// multiplied by <see cref="Scale"/> before backward so that small gradients survive float16, the
/// gradients are divided by it again before clipping and the step, and a step whose gradients hold an
/// inf or NaN is skipped and halves the scale; after <see cref="GrowthInterval"/> good steps in a row
/// the scale doubles. torch's defaults: 2^16, ×2, ×0.5, 2000.
/// </summary>
/// <remarks>Per step: <c>Scale(loss).Backward()</c>, <see cref="Unscale"/> (then clip), <see cref="Step"/>, which
/// also updates the scale. bfloat16 has float32's exponent range and needs no scaling.</remarks>
public sealed class GradScaler
{
    private static readonly Op StackOp = new("stack");

    /// <param name="initialScale">The first scale (2^16).</param>
    /// <param name="growthFactor">The scale's factor after <paramref name="growthInterval"/> finite steps (2).</param>
    /// <param name="backoffFactor">Its factor after a non-finite step (0.5).</param>
    /// <param name="growthInterval">Finite steps in a row before it grows (2000).</param>
    public GradScaler(double initialScale = 65536, double growthFactor = 2, double backoffFactor = 0.5, int growthInterval = 2000)
    {
        if (!(initialScale > 0) || !double.IsFinite(initialScale)) throw new ArgumentOutOfRangeException(nameof(initialScale), $"must be a positive number, got {initialScale}");
        if (!(growthFactor > 1)) throw new ArgumentOutOfRangeException(nameof(growthFactor), $"must exceed 1, got {growthFactor}");
        if (!(backoffFactor is > 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(backoffFactor), $"must be in (0, 1), got {backoffFactor}");
        ArgumentOutOfRangeException.ThrowIfLessThan(growthInterval, 1);
        Scale = initialScale;
        GrowthFactor = growthFactor;
        BackoffFactor = backoffFactor;
        GrowthInterval = growthInterval;
    }

    /// <summary>The current loss scale.</summary>
    public double Scale { get; private set; }

    /// <summary>Finite steps in a row since the scale last changed (torch's growth tracker).</summary>
    public int GoodSteps { get; private set; }

    /// <summary>The factors and the interval of the scale's updates.</summary>
    public double GrowthFactor { get; }

    /// <inheritdoc cref="GrowthFactor"/>
    public double BackoffFactor { get; }

    /// <inheritdoc cref="GrowthFactor"/>
    public int GrowthInterval { get; }

    /// <summary>Steps skipped so far because their gradients were not finite.</summary>
    public long SkippedSteps { get; private set; }

    private bool? _foundInf;

    /// <summary>After <see cref="Unscale"/>: whether this step's gradients hold an inf or NaN (the step will be skipped); null before.</summary>
    public bool? FoundNonFinite => _foundInf;

    /// <summary>The loss times the scale (a new tensor); call backward on it.</summary>
    public Tensor ScaleLoss(Tensor loss) => loss * Scale;

    /// <summary>Divides every gradient of the optimizer's parameters by the scale, in place, and records whether
    /// any is inf or NaN. Call once per step, after backward and before clipping.</summary>
    public void Unscale(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (_foundInf is not null) throw new InvalidOperationException("Unscale was already called for this step");
        using var scope = DisposeScope.Enter();
        using var noGrad = NoGradScope.Enter();
        var grads = optimizer.ParamGroups.SelectMany(g => g.Parameters).Select(p => p.Grad).OfType<Tensor>().ToArray();
        double inverse = 1.0 / Scale;
        // One host sync per step: every gradient's finiteness stacked and reduced on its device.
        var finite = grads.Select(g => g.IsFinite().All().To(Device.Cpu)).ToArray();
        foreach (var g in grads) g.Mul_(inverse);
        _foundInf = finite.Length > 0 && StackOp.Invoke(finite).All().ItemLong() == 0;
    }

    /// <summary>Steps the optimizer unless this step's gradients were not finite (unscaling first if
    /// <see cref="Unscale"/> was not called), then updates the scale. Returns whether the step was taken.</summary>
    public bool Step(Optimizer optimizer)
    {
        if (_foundInf is null) Unscale(optimizer);
        bool skip = _foundInf!.Value;
        _foundInf = null;
        if (skip)
        {
            Scale *= BackoffFactor;
            GoodSteps = 0;
            SkippedSteps++;
            return false;
        }
        optimizer.Step();
        if (++GoodSteps >= GrowthInterval)
        {
            Scale *= GrowthFactor;
            GoodSteps = 0;
        }
        return true;
    }

    /// <summary>Restores a saved state (<see cref="Scale"/>, <see cref="GoodSteps"/>), for exact resume.</summary>
    public void LoadState(double scale, int goodSteps)
    {
        if (!(scale > 0) || !double.IsFinite(scale)) throw new ArgumentOutOfRangeException(nameof(scale), $"must be a positive number, got {scale}");
        ArgumentOutOfRangeException.ThrowIfNegative(goodSteps);
        Scale = scale;
        GoodSteps = goodSteps;
    }
}
