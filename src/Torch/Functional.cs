namespace MLNetSeg.Torch;

/// <summary>
/// A (height, width) pair for kernel sizes, strides, paddings and output sizes (PyTorch's
/// <c>_size_2_t</c>): a single number means the same value for both.
/// <code>Functional.Conv2d(x, w, stride: 2, padding: (1, 0));</code>
/// </summary>
/// <param name="H">The value for the height (rows) dimension.</param>
/// <param name="W">The value for the width (columns) dimension.</param>
public readonly record struct Size2(long H, long W)
{
    /// <summary>The same value for height and width.</summary>
    public static implicit operator Size2(int both) => new(both, both);
    /// <summary>The same value for height and width.</summary>
    public static implicit operator Size2(long both) => new(both, both);
    /// <summary>A (height, width) tuple.</summary>
    public static implicit operator Size2((int H, int W) pair) => new(pair.H, pair.W);
    /// <summary>A (height, width) tuple.</summary>
    public static implicit operator Size2((long H, long W) pair) => new(pair.H, pair.W);

    /// <summary>{ H, W }, the int[2] list aten's operators take.</summary>
    public long[] ToArray() => new[] { H, W };

    /// <summary>"3" when both are equal, "(3, 5)" otherwise, as PyTorch prints module arguments.</summary>
    public override string ToString() => H == W ? H.ToString() : $"({H}, {W})";
}

/// <summary>How a loss reduces its per-element values; the numbers are aten's.</summary>
public enum Reduction
{
    /// <summary>No reduction: the loss per element, shaped like the input (reduction='none').</summary>
    None = 0,
    /// <summary>The mean over elements (reduction='mean', the default of torch's losses).</summary>
    Mean = 1,
    /// <summary>The sum over elements (reduction='sum').</summary>
    Sum = 2,
}

/// <summary>
/// The torch.nn.functional surface: layers as functions of tensors. Every function calls the
/// same aten operator as torch.nn.functional does in torch 1.13, with the same argument
/// checks, so results (and gradients) match PyTorch's.
/// </summary>
/// <remarks>
/// The results, and any intermediates a function creates, are new tensors that belong to the
/// current <see cref="DisposeScope"/> (or to the caller when none is open); the inputs are never
/// disposed. Autograd records the calls as torch does. Arguments this class checks itself fail with
/// <see cref="ArgumentException"/>; errors raised inside libtorch throw <see cref="TorchException"/>.
/// </remarks>
public static partial class Functional
{
    private static readonly Op ConvOp = new("conv2d"), ConvTransposeOp = new("conv_transpose2d", "input"),
        LinearOp = new("linear"), BatchNormOp = new("batch_norm"), GroupNormOp = new("group_norm"),
        ReluOp = new("relu"), ReluInplaceOp = new("relu_"), SigmoidOp = new("sigmoid"),
        SoftmaxOp = new("softmax", "int"), LogSoftmaxOp = new("log_softmax", "int"), MaxPoolOp = new("max_pool2d"),
        AvgPoolOp = new("avg_pool2d"), AdaptiveAvgPoolOp = new("adaptive_avg_pool2d"), DropoutOp = new("dropout");

    /// <summary>2-d convolution over an (N, C, H, W) input (F.conv2d). Weight: (out, in/groups, kH, kW).</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, Size2? stride = null, Size2? padding = null,
        Size2? dilation = null, long groups = 1) =>
        ConvOp.Invoke(input, weight, bias, (stride ?? 1).ToArray(), (padding ?? 0).ToArray(), (dilation ?? 1).ToArray(), groups);

    /// <summary>Transposed 2-d convolution (F.conv_transpose2d). Weight: (in, out/groups, kH, kW).</summary>
    public static Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias = null, Size2? stride = null,
        Size2? padding = null, Size2? outputPadding = null, long groups = 1, Size2? dilation = null)
    {
        Size2 s = stride ?? 1, p = padding ?? 0, op = outputPadding ?? 0, d = dilation ?? 1;
        if (input.Dim == 4 && weight.Dim == 4 && groups == 1 && input.Size(1) == weight.Size(0) && s.H == weight.Size(2) && s.W == weight.Size(3)
            && p == 0 && op == 0 && d == 1)
            return NonOverlappingConvTranspose2d(input, weight, bias);
        return ConvTransposeOp.Invoke(input, weight, bias, s.ToArray(), p.ToArray(), op.ToArray(), groups, d.ToArray());
    }

    /// <summary>
    /// A transposed convolution whose stride equals its kernel (the 2×2, stride-2 upsampling of the
    /// Mask R-CNN head): the kernel footprints do not overlap, so it is one matrix product,
    /// (N·H·W, Cin) × (Cin, Cout·kh·kw), and a reshuffle. Same values up to float summation order.
    /// Why: libtorch 1.13's CPU slow_conv_transpose2d backward takes ~10× its forward (im2col +
    /// col2im); through the matmul, forward and backward are plain GEMMs.
    /// </summary>
    private static Tensor NonOverlappingConvTranspose2d(Tensor input, Tensor weight, Tensor? bias)
    {
        long n = input.Size(0), cin = input.Size(1), h = input.Size(2), w = input.Size(3);
        long cout = weight.Size(1), kh = weight.Size(2), kw = weight.Size(3);
        using var scope = DisposeScope.Enter();
        var columns = input.Permute(0, 2, 3, 1).Reshape(n * h * w, cin).Mm(weight.Reshape(cin, cout * kh * kw));
        var output = columns.View(n, h, w, cout, kh, kw).Permute(0, 3, 1, 4, 2, 5).Reshape(n, cout, h * kh, w * kw);
        if (bias is not null) output = output.Add(bias.View(1, cout, 1, 1));
        return scope.MoveToOuter(output);
    }

    /// <summary>y = x·Wᵀ + b over the last dimension (F.linear). Weight: (out, in).</summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null) => LinearOp.Invoke(input, weight, bias);

    /// <summary>
    /// Batch normalisation (F.batch_norm). In training it normalises with the batch statistics
    /// and, when running stats are given, updates them in place:
    /// running = (1 − momentum)·running + momentum·batch (the variance unbiased). In eval it uses
    /// the running stats.
    /// </summary>
    public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null,
        Tensor? bias = null, bool training = false, double momentum = 0.1, double eps = 1e-5)
    {
        if (training) VerifyBatchSize(input.Shape);
        else if (runningMean is null || runningVar is null)
            throw new ArgumentException("BatchNorm in eval mode needs runningMean and runningVar");
        return BatchNormOp.Invoke(input, weight, bias, runningMean, runningVar, training, momentum, eps, true);
    }

    private static void VerifyBatchSize(long[] shape)
    {
        if (shape.Length < 2) throw new ArgumentException($"BatchNorm expects an (N, C, ...) input, got shape [{string.Join(", ", shape)}]");
        long values = shape[0];
        for (int i = 2; i < shape.Length; i++) values *= shape[i];
        if (values == 1)
            throw new ArgumentException($"Expected more than 1 value per channel when training, got input size [{string.Join(", ", shape)}]");
    }

    /// <summary>Group normalisation over (N, C, ...) with C divisible by numGroups (F.group_norm).</summary>
    public static Tensor GroupNorm(Tensor input, long numGroups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        var shape = input.Shape;
        if (shape.Length < 2 || numGroups <= 0 || shape[1] % numGroups != 0)
            throw new ArgumentException($"GroupNorm: {shape.ElementAtOrDefault(1)} channels (input shape [{string.Join(", ", shape)}]) " +
                                        $"cannot be split into {numGroups} groups");
        return GroupNormOp.Invoke(input, numGroups, weight, bias, eps, true);
    }

    /// <summary>max(x, 0) elementwise (F.relu). With <paramref name="inplace"/> the input is
    /// overwritten and returned (F.relu_; autograd refuses it on a leaf that requires grad).</summary>
    public static Tensor Relu(Tensor input, bool inplace = false)
    {
        if (!inplace) return ReluOp.Invoke(input);
        ReluInplaceOp.InvokeVoid(input);
        return input;
    }

    /// <summary>1 / (1 + e⁻ˣ) elementwise (torch.sigmoid).</summary>
    public static Tensor Sigmoid(Tensor input) => SigmoidOp.Invoke(input);

    /// <summary>Softmax along <paramref name="dim"/> (F.softmax): exp(x) / Σ exp(x), each slice summing
    /// to 1; computed (and returned) in <paramref name="dtype"/> when given.</summary>
    public static Tensor Softmax(Tensor input, long dim, DType? dtype = null) => SoftmaxOp.Invoke(input, dim, dtype);

    /// <summary>log(softmax(x)) along <paramref name="dim"/>, computed stably (F.log_softmax); in
    /// <paramref name="dtype"/> when given.</summary>
    public static Tensor LogSoftmax(Tensor input, long dim, DType? dtype = null) => LogSoftmaxOp.Invoke(input, dim, dtype);

    /// <summary>2-d max pooling (F.max_pool2d); the stride defaults to the kernel size.</summary>
    public static Tensor MaxPool2d(Tensor input, Size2 kernelSize, Size2? stride = null, Size2? padding = null,
        Size2? dilation = null, bool ceilMode = false) =>
        MaxPoolOp.Invoke(input, kernelSize.ToArray(), (stride ?? kernelSize).ToArray(), (padding ?? 0).ToArray(),
            (dilation ?? 1).ToArray(), ceilMode);

    /// <summary>2-d average pooling (F.avg_pool2d); the stride defaults to the kernel size.</summary>
    public static Tensor AvgPool2d(Tensor input, Size2 kernelSize, Size2? stride = null, Size2? padding = null,
        bool ceilMode = false, bool countIncludePad = true, long? divisorOverride = null) =>
        AvgPoolOp.Invoke(input, kernelSize.ToArray(), (stride ?? kernelSize).ToArray(), (padding ?? 0).ToArray(),
            ceilMode, countIncludePad, divisorOverride);

    /// <summary>Average pooling of an (N, C, H, W) or (C, H, W) input to a fixed output size, each
    /// output cell averaging its share of the input (F.adaptive_avg_pool2d).</summary>
    public static Tensor AdaptiveAvgPool2d(Tensor input, Size2 outputSize) => AdaptiveAvgPoolOp.Invoke(input, outputSize.ToArray());

    /// <summary>Zeroes elements with probability p and scales the rest by 1/(1−p) when training
    /// (draws from libtorch's generator: seed with TorchRuntime.ManualSeed).</summary>
    public static Tensor Dropout(Tensor input, double p = 0.5, bool training = true)
    {
        if (p < 0 || p > 1) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability has to be between 0 and 1");
        return DropoutOp.Invoke(input, p, training);
    }
}
