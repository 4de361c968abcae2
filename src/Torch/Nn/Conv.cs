namespace MLNetSeg.Torch.Nn;

/// <summary>
/// 2-d convolution (torch.nn.Conv2d): weight (out, in/groups, kH, kW), optional bias (out).
/// Initialised like PyTorch: kaiming_uniform(a = √5) for the weight, U(±1/√fan_in) for the bias.
/// </summary>
public sealed class Conv2d : Module<Tensor, Tensor>
{
    /// <summary>Creates the layer with freshly initialised parameters (see <see cref="ResetParameters"/>).</summary>
    /// <param name="inChannels">Channels C of the (N, C, H, W) input; divisible by <paramref name="groups"/>.</param>
    /// <param name="outChannels">Channels of the output; divisible by <paramref name="groups"/>.</param>
    /// <param name="kernelSize">The kernel's (kH, kW).</param>
    /// <param name="stride">The kernel's step; 1 when null.</param>
    /// <param name="padding">Implicit zero padding on each side; 0 when null.</param>
    /// <param name="dilation">The spacing between kernel elements; 1 when null.</param>
    /// <param name="groups">Splits the channels into groups convolved separately (inChannels for depthwise).</param>
    /// <param name="bias">Whether to add a learned bias per output channel.</param>
    /// <param name="dtype">The parameters' element type.</param>
    /// <param name="device">Where to allocate the parameters; the CPU when null.</param>
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

    /// <summary>Channels of the input.</summary>
    public long InChannels { get; }
    /// <summary>Channels of the output.</summary>
    public long OutChannels { get; }
    /// <summary>The kernel's (kH, kW).</summary>
    public Size2 KernelSize { get; }
    /// <summary>The kernel's step.</summary>
    public Size2 Stride { get; }
    /// <summary>Implicit zero padding on each side of the input.</summary>
    public Size2 Padding { get; }
    /// <summary>The spacing between kernel elements.</summary>
    public Size2 Dilation { get; }
    /// <summary>Number of channel groups convolved separately.</summary>
    public long Groups { get; }
    /// <summary>The kernel parameter, (outChannels, inChannels / groups, kH, kW); owned by the module.</summary>
    public Tensor Weight { get; }
    /// <summary>The bias parameter, (outChannels), or null when created without one; owned by the module.</summary>
    public Tensor? Bias { get; }

    /// <summary>Re-draws the weights with PyTorch's default initialisation.</summary>
    public void ResetParameters() => ConvChecks.ResetParameters(Weight, Bias);

    /// <summary>Convolves an (N, C, H, W) input into (N, outChannels, H', W') (<see cref="Functional.Conv2d"/>).</summary>
    public override Tensor Forward(Tensor input) => Functional.Conv2d(input, Weight, Bias, Stride, Padding, Dilation, Groups);
}

/// <summary>
/// Transposed 2-d convolution (torch.nn.ConvTranspose2d): weight (in, out/groups, kH, kW),
/// initialised like PyTorch (fan_in taken from dim 1, as PyTorch does).
/// </summary>
public sealed class ConvTranspose2d : Module<Tensor, Tensor>
{
    /// <summary>Creates the layer with freshly initialised parameters (see <see cref="ResetParameters"/>).</summary>
    /// <param name="inChannels">Channels of the input; divisible by <paramref name="groups"/>.</param>
    /// <param name="outChannels">Channels of the output; divisible by <paramref name="groups"/>.</param>
    /// <param name="kernelSize">The kernel's (kH, kW).</param>
    /// <param name="stride">The upsampling step; 1 when null.</param>
    /// <param name="padding">Rows/columns cropped from each side of the output (PyTorch's padding: the
    /// output height is (H − 1)·stride − 2·padding + dilation·(kH − 1) + outputPadding + 1); 0 when null.</param>
    /// <param name="outputPadding">Extra rows/columns added on one side of the output, to pick among the
    /// sizes a strided convolution maps to the same input size; 0 when null.</param>
    /// <param name="groups">Splits the channels into groups transposed separately.</param>
    /// <param name="bias">Whether to add a learned bias per output channel.</param>
    /// <param name="dilation">The spacing between kernel elements; 1 when null.</param>
    /// <param name="dtype">The parameters' element type.</param>
    /// <param name="device">Where to allocate the parameters; the CPU when null.</param>
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

    /// <summary>Channels of the input.</summary>
    public long InChannels { get; }
    /// <summary>Channels of the output.</summary>
    public long OutChannels { get; }
    /// <summary>The kernel's (kH, kW).</summary>
    public Size2 KernelSize { get; }
    /// <summary>The upsampling step.</summary>
    public Size2 Stride { get; }
    /// <summary>Rows/columns cropped from each side of the output (PyTorch's padding).</summary>
    public Size2 Padding { get; }
    /// <summary>Extra rows/columns added on one side of the output.</summary>
    public Size2 OutputPadding { get; }
    /// <summary>The spacing between kernel elements.</summary>
    public Size2 Dilation { get; }
    /// <summary>Number of channel groups transposed separately.</summary>
    public long Groups { get; }
    /// <summary>The kernel parameter, (inChannels, outChannels / groups, kH, kW); owned by the module.</summary>
    public Tensor Weight { get; }
    /// <summary>The bias parameter, (outChannels), or null when created without one; owned by the module.</summary>
    public Tensor? Bias { get; }

    /// <summary>Re-draws the weights with PyTorch's default initialisation.</summary>
    public void ResetParameters() => ConvChecks.ResetParameters(Weight, Bias);

    /// <summary>Upsamples an (N, inChannels, H, W) input to (N, outChannels, H', W')
    /// (<see cref="Functional.ConvTranspose2d"/>).</summary>
    public override Tensor Forward(Tensor input) =>
        Functional.ConvTranspose2d(input, Weight, Bias, Stride, Padding, OutputPadding, Groups, Dilation);
}

/// <summary>y = x·Wᵀ + b (torch.nn.Linear), initialised like PyTorch.</summary>
public sealed class Linear : Module<Tensor, Tensor>
{
    /// <summary>Creates the layer with freshly initialised parameters (see <see cref="ResetParameters"/>).</summary>
    /// <param name="inFeatures">Size of the input's last dimension.</param>
    /// <param name="outFeatures">Size of the output's last dimension.</param>
    /// <param name="bias">Whether to add a learned bias.</param>
    /// <param name="dtype">The parameters' element type.</param>
    /// <param name="device">Where to allocate the parameters; the CPU when null.</param>
    public Linear(long inFeatures, long outFeatures, bool bias = true, DType dtype = DType.Float32, Device? device = null)
    {
        if (inFeatures < 0 || outFeatures < 0) throw new ArgumentException($"Linear: feature counts must be non-negative, got {inFeatures} → {outFeatures}");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = RegisterParameter("weight", Tensor.Empty(new[] { outFeatures, inFeatures }, dtype, device))!;
        Bias = RegisterParameter("bias", bias ? Tensor.Empty(new[] { outFeatures }, dtype, device) : null);
        ResetParameters();
    }

    /// <summary>Size of the input's last dimension.</summary>
    public long InFeatures { get; }
    /// <summary>Size of the output's last dimension.</summary>
    public long OutFeatures { get; }
    /// <summary>The weight parameter, (outFeatures, inFeatures); owned by the module.</summary>
    public Tensor Weight { get; }
    /// <summary>The bias parameter, (outFeatures), or null when created without one; owned by the module.</summary>
    public Tensor? Bias { get; }

    /// <summary>Re-draws the parameters with PyTorch's default initialisation: kaiming_uniform(a = √5)
    /// for the weight, U(±1/√inFeatures) for the bias.</summary>
    public void ResetParameters() => ConvChecks.ResetParameters(Weight, Bias);

    /// <summary>Maps (*, inFeatures) to (*, outFeatures) (<see cref="Functional.Linear"/>).</summary>
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
