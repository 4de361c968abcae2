namespace MLNetSeg.Torch.Optim;

/// <summary>Hyper-parameters of one AdamW parameter group (torch.optim.AdamW's defaults).</summary>
public sealed class AdamWGroup : ParamGroup
{
    public AdamWGroup(IEnumerable<Tensor> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 1e-2, bool amsGrad = false) : base(parameters, learningRate)
    {
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        AmsGrad = amsGrad;
        Validate();
    }

    public double Beta1 { get; private set; }
    public double Beta2 { get; private set; }
    public double Eps { get; private set; }
    public double WeightDecay { get; private set; }
    public bool AmsGrad { get; private set; }

    private void Validate()
    {
        if (!(Eps >= 0)) throw new ArgumentOutOfRangeException(nameof(Eps), Eps, "epsilon must be non-negative");
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta1), Beta1, "beta1 must be in [0, 1)");
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta2), Beta2, "beta2 must be in [0, 1)");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "weight decay must be non-negative");
    }

    private protected override void WriteOptions(IDictionary<string, double> options)
    {
        options["beta1"] = Beta1;
        options["beta2"] = Beta2;
        options["eps"] = Eps;
        options["weight_decay"] = WeightDecay;
        options["amsgrad"] = AmsGrad ? 1 : 0;
    }

    private protected override void ReadOptions(IReadOnlyDictionary<string, double> options)
    {
        Beta1 = options["beta1"];
        Beta2 = options["beta2"];
        Eps = options["eps"];
        WeightDecay = options["weight_decay"];
        AmsGrad = options["amsgrad"] != 0;
        Validate();
    }
}

/// <summary>
/// Adam with decoupled weight decay (Loshchilov and Hutter 2019), the arithmetic of
/// torch.optim.AdamW (torch 1.13, single-tensor path): p ·= 1 − lr·wd; m = β1·m + (1 − β1)·g;
/// v = β2·v + (1 − β2)·g²; p −= lr/(1 − β1ᵗ) · m / (√v̂ / √(1 − β2ᵗ) + eps), with v̂ = v or,
/// with AMSGrad, the running maximum of v. The step count t is a float32 tensor, as in PyTorch.
/// </summary>
public sealed class AdamW : Optimizer
{
    private static readonly Op AddcmulInplace = new("addcmul_"), AddcdivInplace = new("addcdiv_"), SqrtOp = new("sqrt"),
        AddInplaceS = new("add_", "Scalar"), MaximumOp = new("maximum");

    public AdamW(IEnumerable<Tensor> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 1e-2, bool amsGrad = false)
        : this(new[] { new AdamWGroup(parameters, learningRate, beta1, beta2, eps, weightDecay, amsGrad) }) { }

    public AdamW(IEnumerable<AdamWGroup> groups) : base(groups) { }

    public override string Name => "AdamW";

    public IEnumerable<AdamWGroup> Groups => ParamGroups.Cast<AdamWGroup>();

    protected override void Update(ParamGroup paramGroup, Tensor parameter, Tensor grad, Dictionary<string, Tensor> paramState)
    {
        var group = (AdamWGroup)paramGroup;
        if (!paramState.ContainsKey("step"))
        {
            paramState["step"] = Keep(Tensor.Scalar(0, DType.Float32));
            paramState["exp_avg"] = Keep(Tensor.ZerosLike(parameter));
            paramState["exp_avg_sq"] = Keep(Tensor.ZerosLike(parameter));
        }
        if (group.AmsGrad && !paramState.ContainsKey("max_exp_avg_sq"))
            paramState["max_exp_avg_sq"] = Keep(Tensor.ZerosLike(parameter));
        var stepT = paramState["step"];
        var expAvg = paramState["exp_avg"];
        var expAvgSq = paramState["exp_avg_sq"];
        double lr = group.LearningRate;

        AddInplaceS.InvokeVoid(stepT, 1, 1);
        parameter.Mul_(1 - lr * group.WeightDecay);
        expAvg.Mul_(group.Beta1).Add_(grad, 1 - group.Beta1);
        expAvgSq.Mul_(group.Beta2);
        AddcmulInplace.InvokeVoid(expAvgSq, grad, grad, 1 - group.Beta2);

        double step = stepT.ItemDouble();
        double biasCorrection1 = 1 - Math.Pow(group.Beta1, step);
        double biasCorrection2 = 1 - Math.Pow(group.Beta2, step);
        double stepSize = lr / biasCorrection1;
        double biasCorrection2Sqrt = Math.Sqrt(biasCorrection2);

        Tensor second = expAvgSq;
        if (group.AmsGrad)
        {
            var max = paramState["max_exp_avg_sq"];
            max.CopyFrom(MaximumOp.Invoke(max, expAvgSq));
            second = max;
        }
        var denom = SqrtOp.Invoke(second).Div(biasCorrection2Sqrt);
        AddInplaceS.InvokeVoid(denom, group.Eps, 1);
        AddcdivInplace.InvokeVoid(parameter, expAvg, denom, -stepSize);
    }
}
