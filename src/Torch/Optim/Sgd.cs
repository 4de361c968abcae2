namespace MLNetSeg.Torch.Optim;

/// <summary>Hyper-parameters of one SGD parameter group (torch.optim.SGD's defaults).</summary>
public sealed class SgdGroup : ParamGroup
{
    /// <summary>A parameter group with its own SGD hyper-parameters.</summary>
    /// <param name="parameters">The tensors this group updates.</param>
    /// <param name="learningRate">The step size lr (required, as in torch.optim.SGD).</param>
    /// <param name="momentum">The momentum factor μ (0: plain SGD).</param>
    /// <param name="dampening">Scales the new gradient in the momentum buffer by 1 − dampening.</param>
    /// <param name="weightDecay">The L2 penalty λ added to the gradient as λ·p.</param>
    /// <param name="nesterov">Nesterov momentum; needs a positive momentum and zero dampening.</param>
    public SgdGroup(IEnumerable<Tensor> parameters, double learningRate, double momentum = 0, double dampening = 0,
        double weightDecay = 0, bool nesterov = false) : base(parameters, learningRate)
    {
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
        Validate();
    }

    /// <summary>The momentum factor μ (0: no momentum buffer is kept).</summary>
    public double Momentum { get; private set; }
    /// <summary>The dampening of new gradients in the momentum buffer.</summary>
    public double Dampening { get; private set; }
    /// <summary>The L2 penalty λ (added to the gradient as λ·p).</summary>
    public double WeightDecay { get; private set; }
    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; private set; }

    private void Validate()
    {
        if (!(Momentum >= 0)) throw new ArgumentOutOfRangeException(nameof(Momentum), Momentum, "momentum must be non-negative");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "weight decay must be non-negative");
        if (Nesterov && (Momentum <= 0 || Dampening != 0))
            throw new ArgumentException("Nesterov momentum requires a momentum and zero dampening");
    }

    private protected override void WriteOptions(IDictionary<string, double> options)
    {
        options["momentum"] = Momentum;
        options["dampening"] = Dampening;
        options["weight_decay"] = WeightDecay;
        options["nesterov"] = Nesterov ? 1 : 0;
    }

    private protected override void ReadOptions(IReadOnlyDictionary<string, double> options)
    {
        Momentum = options["momentum"];
        Dampening = options["dampening"];
        WeightDecay = options["weight_decay"];
        Nesterov = options["nesterov"] != 0;
        Validate();
    }
}

/// <summary>
/// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay, step for
/// step the arithmetic of torch.optim.SGD (torch 1.13):
/// d = g + wd·p; buf = d (first step) or momentum·buf + (1 − dampening)·d;
/// d = d + momentum·buf (Nesterov) or buf; p −= lr·d.
/// </summary>
public sealed class Sgd : Optimizer
{
    /// <summary>SGD over one parameter group; see <see cref="SgdGroup"/> for the hyper-parameters.</summary>
    /// <param name="parameters">The tensors to update, typically <see cref="Nn.Module.Parameters"/>.</param>
    /// <param name="learningRate">The step size lr.</param>
    /// <param name="momentum">The momentum factor μ.</param>
    /// <param name="dampening">The dampening of new gradients in the momentum buffer.</param>
    /// <param name="weightDecay">The L2 penalty λ.</param>
    /// <param name="nesterov">Whether to use Nesterov momentum.</param>
    public Sgd(IEnumerable<Tensor> parameters, double learningRate, double momentum = 0, double dampening = 0,
        double weightDecay = 0, bool nesterov = false)
        : this(new[] { new SgdGroup(parameters, learningRate, momentum, dampening, weightDecay, nesterov) }) { }

    /// <summary>SGD over several parameter groups, each with its own hyper-parameters.</summary>
    public Sgd(IEnumerable<SgdGroup> groups) : base(groups) { }

    /// <summary>"SGD".</summary>
    public override string Name => "SGD";

    /// <summary><see cref="Optimizer.ParamGroups"/> with their SGD type.</summary>
    public IEnumerable<SgdGroup> Groups => ParamGroups.Cast<SgdGroup>();

    /// <inheritdoc/>
    protected override void Update(ParamGroup paramGroup, Tensor parameter, Tensor grad, Dictionary<string, Tensor> paramState)
    {
        var group = (SgdGroup)paramGroup;
        var d = grad;
        if (group.WeightDecay != 0) d = d.Add(parameter, group.WeightDecay);
        if (group.Momentum != 0)
        {
            if (!paramState.TryGetValue("momentum_buffer", out var buf))
                paramState["momentum_buffer"] = buf = Keep(d.Clone().Detach());
            else
                buf.Mul_(group.Momentum).Add_(d, 1 - group.Dampening);
            d = group.Nesterov ? d.Add(buf, group.Momentum) : buf;
        }
        parameter.Add_(d, -group.LearningRate);
    }
}
