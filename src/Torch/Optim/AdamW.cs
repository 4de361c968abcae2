namespace MLNetSeg.Torch.Optim;

/// <summary>Hyper-parameters of one AdamW parameter group (torch.optim.AdamW's defaults).</summary>
public sealed class AdamWGroup : ParamGroup
{
    /// <summary>A parameter group with its own AdamW hyper-parameters (torch.optim.AdamW's defaults).</summary>
    /// <param name="parameters">The tensors this group updates.</param>
    /// <param name="learningRate">The step size lr.</param>
    /// <param name="beta1">β1, the decay of the running mean of gradients, in [0, 1).</param>
    /// <param name="beta2">β2, the decay of the running mean of squared gradients, in [0, 1).</param>
    /// <param name="eps">Added to the denominator for numerical stability.</param>
    /// <param name="weightDecay">The decoupled weight decay: each step first scales p by 1 − lr·weightDecay.</param>
    /// <param name="amsGrad">Use the running maximum of the second moment (AMSGrad).</param>
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

    /// <summary>β1, the decay of the running mean of gradients.</summary>
    public double Beta1 { get; private set; }
    /// <summary>β2, the decay of the running mean of squared gradients.</summary>
    public double Beta2 { get; private set; }
    /// <summary>Added to the denominator for numerical stability.</summary>
    public double Eps { get; private set; }
    /// <summary>The decoupled weight decay (p is scaled by 1 − lr·weightDecay each step).</summary>
    public double WeightDecay { get; private set; }
    /// <summary>Whether the AMSGrad variant is used.</summary>
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

    /// <summary>AdamW over one parameter group; see <see cref="AdamWGroup"/> for the hyper-parameters.</summary>
    /// <param name="parameters">The tensors to update, typically <see cref="Nn.Module.Parameters"/>.</param>
    /// <param name="learningRate">The step size lr.</param>
    /// <param name="beta1">β1, the decay of the running mean of gradients.</param>
    /// <param name="beta2">β2, the decay of the running mean of squared gradients.</param>
    /// <param name="eps">Added to the denominator for numerical stability.</param>
    /// <param name="weightDecay">The decoupled weight decay.</param>
    /// <param name="amsGrad">Whether to use AMSGrad.</param>
    public AdamW(IEnumerable<Tensor> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 1e-2, bool amsGrad = false)
        : this(new[] { new AdamWGroup(parameters, learningRate, beta1, beta2, eps, weightDecay, amsGrad) }) { }

    /// <summary>AdamW over several parameter groups, each with its own hyper-parameters.</summary>
    public AdamW(IEnumerable<AdamWGroup> groups) : base(groups) { }

    /// <summary>"AdamW".</summary>
    public override string Name => "AdamW";

    /// <summary><see cref="Optimizer.ParamGroups"/> with their AdamW type.</summary>
    public IEnumerable<AdamWGroup> Groups => ParamGroups.Cast<AdamWGroup>();

    /// <inheritdoc/>
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
