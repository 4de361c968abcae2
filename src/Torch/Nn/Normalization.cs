namespace MLNetSeg.Torch.Nn;

/// <summary>
/// Batch normalisation over (N, C, H, W) (torch.nn.BatchNorm2d). Parameters weight (ones) and
/// bias (zeros) when affine; buffers running_mean, running_var and num_batches_tracked when
/// tracking running stats. In training it normalises with batch statistics and updates the
/// running ones with <see cref="Momentum"/> (null: cumulative average over batches).
/// </summary>
public sealed class BatchNorm2d : Module<Tensor, Tensor>
{
    private static readonly Op AddInplaceS = new("add_", "Scalar");

    /// <summary>Creates the layer with PyTorch's initial values.</summary>
    /// <param name="numFeatures">Channels C of the (N, C, H, W) input.</param>
    /// <param name="eps">Added to the variance before the square root, for stability.</param>
    /// <param name="momentum">Weight of the current batch in the running statistics; null for a
    /// cumulative moving average (1 / batches seen).</param>
    /// <param name="affine">Whether to learn a per-channel scale (weight) and shift (bias).</param>
    /// <param name="trackRunningStats">Whether to keep running statistics for evaluation; without them
    /// batch statistics are used in eval mode too.</param>
    /// <param name="dtype">The element type of the parameters and running statistics.</param>
    /// <param name="device">Where to allocate them; the CPU when null.</param>
    public BatchNorm2d(long numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true,
        bool trackRunningStats = true, DType dtype = DType.Float32, Device? device = null)
    {
        if (numFeatures <= 0) throw new ArgumentException($"BatchNorm2d: numFeatures must be positive, got {numFeatures}");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        TrackRunningStats = trackRunningStats;
        Weight = RegisterParameter("weight", affine ? Tensor.Ones(new[] { numFeatures }, dtype, device) : null);
        Bias = RegisterParameter("bias", affine ? Tensor.Zeros(new[] { numFeatures }, dtype, device) : null);
        RunningMean = RegisterBuffer("running_mean", trackRunningStats ? Tensor.Zeros(new[] { numFeatures }, dtype, device) : null);
        RunningVar = RegisterBuffer("running_var", trackRunningStats ? Tensor.Ones(new[] { numFeatures }, dtype, device) : null);
        NumBatchesTracked = RegisterBuffer("num_batches_tracked",
            trackRunningStats ? Tensor.Zeros(Array.Empty<long>(), DType.Int64, device) : null);
    }

    /// <summary>Number of channels.</summary>
    public long NumFeatures { get; }
    /// <summary>Added to the variance before the square root.</summary>
    public double Eps { get; }
    /// <summary>Weight of the current batch in the running statistics; null for a cumulative average.</summary>
    public double? Momentum { get; }
    /// <summary>Whether running statistics are kept (and updated in training).</summary>
    public bool TrackRunningStats { get; }
    /// <summary>The learned scale γ, (C); null when not affine. Owned by the module.</summary>
    public Tensor? Weight { get; }
    /// <summary>The learned shift β, (C); null when not affine. Owned by the module.</summary>
    public Tensor? Bias { get; }
    /// <summary>The running mean buffer, (C); null without running statistics.</summary>
    public Tensor? RunningMean { get; }
    /// <summary>The running (unbiased) variance buffer, (C); null without running statistics.</summary>
    public Tensor? RunningVar { get; }
    /// <summary>The 0-d int64 count of training batches seen; null without running statistics.</summary>
    public Tensor? NumBatchesTracked { get; }

    /// <summary>Normalises a 4-d (N, C, H, W) input per channel: with the batch statistics in training
    /// (updating the running ones, and counting the batch), with the running ones in eval mode.
    /// <see cref="ArgumentException"/> for another rank, or for one value per channel in training.</summary>
    public override Tensor Forward(Tensor input)
    {
        if (input.Dim != 4) throw new ArgumentException($"BatchNorm2d expects a 4-d (N, C, H, W) input, got shape [{string.Join(", ", input.Shape)}]");
        double factor = Momentum ?? 0.0;
        if (Training && NumBatchesTracked is not null)
        {
            AddInplaceS.InvokeVoid(NumBatchesTracked, 1, 1);
            factor = Momentum ?? 1.0 / NumBatchesTracked.ItemLong();
        }
        // Like PyTorch: without running stats the batch statistics are used in eval mode too.
        bool useBatchStats = Training || (RunningMean is null && RunningVar is null);
        bool passStats = !Training || TrackRunningStats;
        return Functional.BatchNorm(input, passStats ? RunningMean : null, passStats ? RunningVar : null, Weight, Bias,
            useBatchStats, factor, Eps);
    }

    /// <summary>Checkpoints from before num_batches_tracked existed load with a count of 0,
    /// as PyTorch does for state dicts without version metadata.</summary>
    protected override void UpgradeStateDict(string prefix, IDictionary<string, Tensor> stateDict)
    {
        var key = prefix + "num_batches_tracked";
        if (NumBatchesTracked is not null && !stateDict.ContainsKey(key))
            stateDict[key] = Tensor.Zeros(Array.Empty<long>(), DType.Int64);
    }
}

/// <summary>
/// BatchNorm2d with fixed statistics and affine parameters, all buffers (torchvision.ops
/// FrozenBatchNorm2d): y = x·scale + shift, scale = weight·rsqrt(running_var + eps),
/// shift = bias − running_mean·scale. A checkpoint's num_batches_tracked is ignored.
/// torchvision's default eps is 1e-5 (its legacy COCO Mask R-CNN weights need 0).
/// </summary>
public sealed class FrozenBatchNorm2d : Module<Tensor, Tensor>
{
    /// <summary>Creates the layer as an identity (weight and running_var ones, bias and running_mean
    /// zeros); load a checkpoint to give it its statistics.</summary>
    /// <param name="numFeatures">Channels C of the (N, C, H, W) input.</param>
    /// <param name="eps">Added to running_var before the square root.</param>
    /// <param name="dtype">The element type of the buffers.</param>
    /// <param name="device">Where to allocate them; the CPU when null.</param>
    public FrozenBatchNorm2d(long numFeatures, double eps = 1e-5, DType dtype = DType.Float32, Device? device = null)
    {
        if (numFeatures <= 0) throw new ArgumentException($"FrozenBatchNorm2d: numFeatures must be positive, got {numFeatures}");
        NumFeatures = numFeatures;
        Eps = eps;
        Weight = RegisterBuffer("weight", Tensor.Ones(new[] { numFeatures }, dtype, device))!;
        Bias = RegisterBuffer("bias", Tensor.Zeros(new[] { numFeatures }, dtype, device))!;
        RunningMean = RegisterBuffer("running_mean", Tensor.Zeros(new[] { numFeatures }, dtype, device))!;
        RunningVar = RegisterBuffer("running_var", Tensor.Ones(new[] { numFeatures }, dtype, device))!;
    }

    /// <summary>Number of channels.</summary>
    public long NumFeatures { get; }
    /// <summary>Added to running_var before the square root.</summary>
    public double Eps { get; }
    /// <summary>The fixed scale γ, a (C) buffer.</summary>
    public Tensor Weight { get; }
    /// <summary>The fixed shift β, a (C) buffer.</summary>
    public Tensor Bias { get; }
    /// <summary>The fixed mean, a (C) buffer.</summary>
    public Tensor RunningMean { get; }
    /// <summary>The fixed variance, a (C) buffer.</summary>
    public Tensor RunningVar { get; }

    /// <summary>x·scale + shift with the per-channel scale and shift above, broadcast over an
    /// (N, C, H, W) input; the same op sequence as torchvision, so results agree bit for bit.</summary>
    public override Tensor Forward(Tensor input)
    {
        // The same op sequence as torchvision, so results agree to the last bit.
        var w = Weight.Reshape(1, -1, 1, 1);
        var b = Bias.Reshape(1, -1, 1, 1);
        var rv = RunningVar.Reshape(1, -1, 1, 1);
        var rm = RunningMean.Reshape(1, -1, 1, 1);
        var scale = w * Rsqrt(rv + Eps);
        var shift = b - rm * scale;
        return input * scale + shift;
    }

    private static readonly Op RsqrtOp = new("rsqrt");
    private static Tensor Rsqrt(Tensor t) => RsqrtOp.Invoke(t);

    /// <summary>Drops num_batches_tracked, which torchvision's FrozenBatchNorm2d ignores too.</summary>
    protected override void UpgradeStateDict(string prefix, IDictionary<string, Tensor> stateDict) =>
        stateDict.Remove(prefix + "num_batches_tracked");
}

/// <summary>Group normalisation (torch.nn.GroupNorm): weight ones, bias zeros per channel when affine.</summary>
public sealed class GroupNorm : Module<Tensor, Tensor>
{
    /// <summary>Creates the layer with PyTorch's initial values.</summary>
    /// <param name="numGroups">Groups the channels are split into; must divide <paramref name="numChannels"/>.</param>
    /// <param name="numChannels">Channels C of the (N, C, ...) input.</param>
    /// <param name="eps">Added to the variance before the square root.</param>
    /// <param name="affine">Whether to learn a per-channel scale (weight) and shift (bias).</param>
    /// <param name="dtype">The parameters' element type.</param>
    /// <param name="device">Where to allocate them; the CPU when null.</param>
    public GroupNorm(long numGroups, long numChannels, double eps = 1e-5, bool affine = true, DType dtype = DType.Float32,
        Device? device = null)
    {
        if (numGroups <= 0 || numChannels % numGroups != 0)
            throw new ArgumentException($"GroupNorm: {numChannels} channels cannot be split into {numGroups} groups");
        NumGroups = numGroups;
        NumChannels = numChannels;
        Eps = eps;
        Weight = RegisterParameter("weight", affine ? Tensor.Ones(new[] { numChannels }, dtype, device) : null);
        Bias = RegisterParameter("bias", affine ? Tensor.Zeros(new[] { numChannels }, dtype, device) : null);
    }

    /// <summary>Groups the channels are split into.</summary>
    public long NumGroups { get; }
    /// <summary>Number of channels.</summary>
    public long NumChannels { get; }
    /// <summary>Added to the variance before the square root.</summary>
    public double Eps { get; }
    /// <summary>The learned scale, (C); null when not affine. Owned by the module.</summary>
    public Tensor? Weight { get; }
    /// <summary>The learned shift, (C); null when not affine. Owned by the module.</summary>
    public Tensor? Bias { get; }

    /// <summary>Normalises each sample over each group of channels (and all spatial positions), then
    /// applies the per-channel affine transform (<see cref="Functional.GroupNorm"/>).</summary>
    public override Tensor Forward(Tensor input) => Functional.GroupNorm(input, NumGroups, Weight, Bias, Eps);
}
