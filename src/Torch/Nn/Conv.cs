namespace MLNetSeg.Torch.Nn;

/// <summary>
/// 2-d convolution (torch.nn.Conv2d): weight (out, in/groups, kH, kW), optional bias (out).
/// Initialised like PyTorch: kaiming_uniform(a = √5) for the weight, U(±1/√fan_in) for the bias.
/// </summary>
public sealed class Conv2d : Module<Tensor, Tensor>
{
    public Conv2d(long inChannels, long outChannels, Size2 kernelSize, Size2? stride = null, Size2? padding = null,
        Size2? dilation = null, long groups = 1, bool bias = true, DType dtype = DType.Float32, Device? device = null)
    {
        ConvChecks.Validate(nameof(Conv2d), inChannels, outChannels, groups);
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride ?? 1;
        Padding = padding ?? 0;
        Dilation = dilation ?? 1;
        Groups = groups;
        Weight = RegisterParameter("weight", Tensor.Empty(new[] { outChannels, inChannels / groups, kernelSize.H, kernelSize.W }, dtype, device))!;
        Bias = RegisterParameter("bias", bias ? Tensor.Empty(new[] { outChannels }, dtype, device) : null);
        ResetParameters();
    }

    public long InChannels { get; }
    public long OutChannels { get; }
    public Size2 KernelSize { get; }
    public Size2 Stride { get; }
    public Size2 Padding { get; }
    public Size2 Dilation { get; }
    public long Groups { get; }
    public Tensor Weight { get; }
    public Tensor? Bias { get; }

    /// <summary>Re-draws the weights with PyTorch's default initialisation.</summary>
    public void ResetParameters() => ConvChecks.ResetParameters(Weight, Bias);

    public override Tensor Forward(Tensor input) => Functional.Conv2d(input, Weight, Bias, Stride, Padding, Dilation, Groups);
}

/// <summary>
/// Transposed 2-d convolution (torch.nn.ConvTranspose2d): weight (in, out/groups, kH, kW),
/// initialised like PyTorch (fan_in taken from dim 1, as PyTorch does).
/// </summary>
public sealed class ConvTranspose2d : Module<Tensor, Tensor>
{
    public ConvTranspose2d(long inChannels, long outChannels, Size2 kernelSize, Size2? stride = null, Size2? padding = null,
        Size2? outputPadding = null, long groups = 1, bool bias = true, Size2? dilation = null, DType dtype = DType.Float32,
        Device? device = null)
    {
        ConvChecks.Validate(nameof(ConvTranspose2d), inChannels, outChannels, groups);
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride ?? 1;
        Padding = padding ?? 0;
        OutputPadding = outputPadding ?? 0;
        Dilation = dilation ?? 1;
        Groups = groups;
        Weight = RegisterParameter("weight", Tensor.Empty(new[] { inChannels, outChannels / groups, kernelSize.H, kernelSize.W }, dtype, device))!;
        Bias = RegisterParameter("bias", bias ? Tensor.Empty(new[] { outChannels }, dtype, device) : null);
        ResetParameters();
    }

    public long InChannels { get; }
    public long OutChannels { get; }
    public Size2 KernelSize { get; }
    public Size2 Stride { get; }
    public Size2 Padding { get; }
    public Size2 OutputPadding { get; }
    public Size2 Dilation { get; }
    public long Groups { get; }
    public Tensor Weight { get; }
    public Tensor? Bias { get; }

    public void ResetParameters() => ConvChecks.ResetParameters(Weight, Bias);

    public override Tensor Forward(Tensor input) =>
        Functional.ConvTranspose2d(input, Weight, Bias, Stride, Padding, OutputPadding, Groups, Dilation);
}

/// <summary>y = x·Wᵀ + b (torch.nn.Linear), initialised like PyTorch.</summary>
public sealed class Linear : Module<Tensor, Tensor>
{
    public Linear(long inFeatures, long outFeatures, bool bias = true, DType dtype = DType.Float32, Device? device = null)
    {
        if (inFeatures < 0 || outFeatures < 0) throw new ArgumentException($"Linear: feature counts must be non-negative, got {inFeatures} → {outFeatures}");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = RegisterParameter("weight", Tensor.Empty(new[] { outFeatures, inFeatures }, dtype, device))!;
        Bias = RegisterParameter("bias", bias ? Tensor.Empty(new[] { outFeatures }, dtype, device) : null);
        ResetParameters();
    }

    public long InFeatures { get; }
    public long OutFeatures { get; }
    public Tensor Weight { get; }
    public Tensor? Bias { get; }

    public void ResetParameters() => ConvChecks.ResetParameters(Weight, Bias);

    public override Tensor Forward(Tensor input) => Functional.Linear(input, Weight, Bias);
}

internal static class ConvChecks
{
    public static void Validate(string layer, long inChannels, long outChannels, long groups)
    {
        if (groups <= 0) throw new ArgumentException($"{layer}: groups must be positive, got {groups}");
        if (inChannels <= 0 || outChannels <= 0) throw new ArgumentException($"{layer}: channel counts must be positive, got {inChannels} → {outChannels}");
        if (inChannels % groups != 0) throw new ArgumentException($"{layer}: in_channels {inChannels} must be divisible by groups {groups}");
        if (outChannels % groups != 0) throw new ArgumentException($"{layer}: out_channels {outChannels} must be divisible by groups {groups}");
    }

    /// <summary>PyTorch's reset_parameters of _ConvNd and Linear, in the same order (weight,
    /// then bias) so a seeded generator yields the same values.</summary>
    public static void ResetParameters(Tensor weight, Tensor? bias)
    {
        Init.KaimingUniform_(weight, a: Math.Sqrt(5));
        if (bias is null) return;
        var (fanIn, _) = Init.CalculateFanInAndFanOut(weight);
        if (fanIn == 0) return;
        double bound = 1 / Math.Sqrt(fanIn);
        Init.Uniform_(bias, -bound, bound);
    }
}
