namespace MLNetSeg.Torch.Nn;

/// <summary>Which fan a Kaiming initialiser preserves the variance of.</summary>
public enum FanMode
{
    /// <summary>fan_in: keeps the variance of the activations in the forward pass (the default).</summary>
    FanIn,
    /// <summary>fan_out: keeps the variance of the gradients in the backward pass.</summary>
    FanOut,
}

/// <summary>The non-linearity following a layer, for <see cref="Init.CalculateGain"/>.</summary>
public enum Nonlinearity
{
    /// <summary>No non-linearity (gain 1).</summary>
    Linear,
    /// <summary>A convolution with no non-linearity (gain 1; PyTorch's conv1d/2d/3d).</summary>
    Conv,
    /// <summary>Sigmoid (gain 1).</summary>
    Sigmoid,
    /// <summary>Tanh (gain 5/3).</summary>
    Tanh,
    /// <summary>ReLU (gain √2).</summary>
    Relu,
    /// <summary>Leaky ReLU (gain √(2 / (1 + slope²))).</summary>
    LeakyRelu,
    /// <summary>SELU (gain 3/4).</summary>
    Selu,
}

/// <summary>
/// Parameter initialisers (torch.nn.init): in place, without recording gradients, drawing from
/// libtorch's generator with the same calls as PyTorch, so a seeded initialisation reproduces
/// PyTorch's values exactly (TorchRuntime.ManualSeed).
/// </summary>
public static class Init
{
    private static readonly Op UniformOp = new("uniform_"), NormalOp = new("normal_"), FillOp = new("fill_", "Scalar");

    /// <summary>The recommended gain for a non-linearity (torch.nn.init.calculate_gain);
    /// <paramref name="negativeSlope"/> is for LeakyRelu.</summary>
    public static double CalculateGain(Nonlinearity nonlinearity, double negativeSlope = 0.01) => nonlinearity switch
    {
        Nonlinearity.Linear or Nonlinearity.Conv or Nonlinearity.Sigmoid => 1,
        Nonlinearity.Tanh => 5.0 / 3,
        Nonlinearity.Relu => Math.Sqrt(2.0),
        Nonlinearity.LeakyRelu => Math.Sqrt(2.0 / (1 + negativeSlope * negativeSlope)),
        Nonlinearity.Selu => 3.0 / 4,
        _ => throw new ArgumentOutOfRangeException(nameof(nonlinearity), nonlinearity, "unknown non-linearity"),
    };

    /// <summary>(fan_in, fan_out) of a weight: dim 1 resp. dim 0 times the receptive field
    /// (the product of the remaining dimensions). Needs at least 2 dimensions.</summary>
    public static (long FanIn, long FanOut) CalculateFanInAndFanOut(Tensor tensor)
    {
        var shape = tensor.Shape;
        if (shape.Length < 2)
            throw new ArgumentException($"fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions (shape [{string.Join(", ", shape)}])");
        long receptive = 1;
        for (int i = 2; i < shape.Length; i++) receptive *= shape[i];
        return (shape[1] * receptive, shape[0] * receptive);
    }

    /// <summary>U(−bound, bound) with bound = gain·√(3 / fan) (He et al. 2015). The defaults
    /// (a = 0, LeakyRelu) give gain √2; layers use a = √5 for PyTorch's default initialisation.</summary>
    public static Tensor KaimingUniform_(Tensor tensor, double a = 0, FanMode mode = FanMode.FanIn,
        Nonlinearity nonlinearity = Nonlinearity.LeakyRelu)
    {
        if (tensor.NumEl == 0) return tensor;  // PyTorch warns and leaves empty tensors alone
        double std = CalculateGain(nonlinearity, a) / Math.Sqrt(Fan(tensor, mode));
        double bound = Math.Sqrt(3.0) * std;
        return Uniform_(tensor, -bound, bound);
    }

    /// <summary>N(0, std²) with std = gain / √fan (He et al. 2015).</summary>
    public static Tensor KaimingNormal_(Tensor tensor, double a = 0, FanMode mode = FanMode.FanIn,
        Nonlinearity nonlinearity = Nonlinearity.LeakyRelu)
    {
        if (tensor.NumEl == 0) return tensor;
        double std = CalculateGain(nonlinearity, a) / Math.Sqrt(Fan(tensor, mode));
        return Normal_(tensor, 0, std);
    }

    /// <summary>U(−b, b) with b = gain·√(6 / (fan_in + fan_out)) (Glorot and Bengio 2010).</summary>
    public static Tensor XavierUniform_(Tensor tensor, double gain = 1)
    {
        var (fanIn, fanOut) = CalculateFanInAndFanOut(tensor);
        double std = gain * Math.Sqrt(2.0 / (fanIn + fanOut));
        double bound = Math.Sqrt(3.0) * std;
        return Uniform_(tensor, -bound, bound);
    }

    /// <summary>Fills <paramref name="tensor"/> in place with U(low, high) samples (torch.nn.init.uniform_);
    /// returns it.</summary>
    public static Tensor Uniform_(Tensor tensor, double low = 0, double high = 1)
    {
        if (!(low <= high)) throw new ArgumentException($"Uniform_ needs low <= high, got [{low}, {high}]");
        using var noGrad = NoGradScope.Enter();
        UniformOp.InvokeVoid(tensor, low, high);
        return tensor;
    }

    /// <summary>Fills <paramref name="tensor"/> in place with N(mean, std²) samples (torch.nn.init.normal_);
    /// returns it.</summary>
    public static Tensor Normal_(Tensor tensor, double mean = 0, double std = 1)
    {
        if (!(std >= 0)) throw new ArgumentOutOfRangeException(nameof(std), std, "standard deviation must be non-negative");
        using var noGrad = NoGradScope.Enter();
        NormalOp.InvokeVoid(tensor, mean, std);
        return tensor;
    }

    /// <summary>Fills <paramref name="tensor"/> in place with <paramref name="value"/>
    /// (torch.nn.init.constant_); returns it.</summary>
    public static Tensor Constant_(Tensor tensor, double value)
    {
        using var noGrad = NoGradScope.Enter();
        FillOp.InvokeVoid(tensor, value);
        return tensor;
    }

    /// <summary>Fills <paramref name="tensor"/> with zeros in place (torch.nn.init.zeros_); returns it.</summary>
    public static Tensor Zeros_(Tensor tensor) => Constant_(tensor, 0);
    /// <summary>Fills <paramref name="tensor"/> with ones in place (torch.nn.init.ones_); returns it.</summary>
    public static Tensor Ones_(Tensor tensor) => Constant_(tensor, 1);

    private static long Fan(Tensor tensor, FanMode mode)
    {
        var (fanIn, fanOut) = CalculateFanInAndFanOut(tensor);
        long fan = mode == FanMode.FanIn ? fanIn : fanOut;
        if (fan == 0) throw new ArgumentException($"cannot initialise a tensor with zero {mode} (shape [{string.Join(", ", tensor.Shape)}])");
        return fan;
    }
}
