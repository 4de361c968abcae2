namespace MLNetSeg.Torch.Optim;

/// <summary>Hyper-parameters of one SGD parameter group (torch.optim.SGD's defaults).</summary>
public sealed class SgdGroup : ParamGroup
{
    public SgdGroup(IEnumerable<Tensor> parameters, double learningRate, double momentum = 0, double dampening = 0,
        double weightDecay = 0, bool nesterov = false) : base(parameters, learningRate)
    {
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
        Validate();
    }

    public double Momentum { get; private set; }
    public double Dampening { get; private set; }
    public double WeightDecay { get; private set; }
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
    public Sgd(IEnumerable<Tensor> parameters, double learningRate, double momentum = 0, double dampening = 0,
        double weightDecay = 0, bool nesterov = false)
        : this(new[] { new SgdGroup(parameters, learningRate, momentum, dampening, weightDecay, nesterov) }) { }

    public Sgd(IEnumerable<SgdGroup> groups) : base(groups) { }

    public override string Name => "SGD";

    public IEnumerable<SgdGroup> Groups => ParamGroups.Cast<SgdGroup>();

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
