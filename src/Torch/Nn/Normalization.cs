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

    public long NumFeatures { get; }
    public double Eps { get; }
    public double? Momentum { get; }
    public bool TrackRunningStats { get; }
    public Tensor? Weight { get; }
    public Tensor? Bias { get; }
    public Tensor? RunningMean { get; }
    public Tensor? RunningVar { get; }
    public Tensor? NumBatchesTracked { get; }

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

    public long NumFeatures { get; }
    public double Eps { get; }
    public Tensor Weight { get; }
    public Tensor Bias { get; }
    public Tensor RunningMean { get; }
    public Tensor RunningVar { get; }

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

    protected override void UpgradeStateDict(string prefix, IDictionary<string, Tensor> stateDict) =>
        stateDict.Remove(prefix + "num_batches_tracked");
}

/// <summary>Group normalisation (torch.nn.GroupNorm): weight ones, bias zeros per channel when affine.</summary>
public sealed class GroupNorm : Module<Tensor, Tensor>
{
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

    public long NumGroups { get; }
    public long NumChannels { get; }
    public double Eps { get; }
    public Tensor? Weight { get; }
    public Tensor? Bias { get; }

    public override Tensor Forward(Tensor input) => Functional.GroupNorm(input, NumGroups, Weight, Bias, Eps);
}
