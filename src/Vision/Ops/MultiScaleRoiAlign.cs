using MLNetSeg.Torch;

namespace MLNetSeg.Vision.Ops;

/// <summary>
/// Assigns each box to an FPN level (FPN paper, eq. 1): k = floor(k0 + log2(sqrt(area)/s0) + eps)
/// clamped to [kMin, kMax], as torchvision's LevelMapper (eps 1e-6 added after the log).
/// <see cref="Detectron2"/> gives detectron2's variant (eps 1e-8 inside the log).
/// </summary>
public sealed class LevelMapper
{
    public LevelMapper(int kMin, int kMax, int canonicalScale = 224, int canonicalLevel = 4, double eps = 1e-6, bool epsInsideLog = false)
    {
        if (kMin > kMax) throw new ArgumentOutOfRangeException(nameof(kMin), $"LevelMapper: kMin {kMin} > kMax {kMax}");
        if (canonicalScale <= 0) throw new ArgumentOutOfRangeException(nameof(canonicalScale), $"LevelMapper: canonical scale {canonicalScale} must be positive");
        KMin = kMin;
        KMax = kMax;
        CanonicalScale = canonicalScale;
        CanonicalLevel = canonicalLevel;
        Eps = eps;
        EpsInsideLog = epsInsideLog;
    }

    /// <summary>detectron2's assign_boxes_to_levels: floor(k0 + log2(sqrt(area)/s0 + 1e-8)).</summary>
    public static LevelMapper Detectron2(int kMin, int kMax, int canonicalScale = 224, int canonicalLevel = 4) =>
        new(kMin, kMax, canonicalScale, canonicalLevel, 1e-8, epsInsideLog: true);

    public int KMin { get; }
    public int KMax { get; }
    public int CanonicalScale { get; }
    public int CanonicalLevel { get; }
    public double Eps { get; }
    public bool EpsInsideLog { get; }

    /// <summary>int64 [ΣN_i] level index (k − kMin) of every box of every image, in order.</summary>
    public Tensor Map(IReadOnlyList<Tensor> boxLists)
    {
        if (boxLists.Count == 0) throw new ArgumentException("LevelMapper.Map: no box lists given");
        using var scope = DisposeScope.Enter();
        var areas = boxLists.Select(BoxOps.BoxArea).ToArray();
        var s = (areas.Length == 1 ? areas[0] : Tensor.Cat(areas)).Sqrt();
        var ratio = s / CanonicalScale;
        var eps = Tensor.Scalar(Eps, s.DType, s.Device);
        var levels = EpsInsideLog
            ? (ratio + eps).Log2().Add(CanonicalLevel).Floor()
            : (ratio.Log2().Add(CanonicalLevel) + eps).Floor();
        var mapped = levels.Clamp(KMin, KMax).To(DType.Int64) - Tensor.Scalar(KMin, DType.Int64, s.Device);
        return scope.MoveToOuter(mapped);
    }
}

/// <summary>
/// RoIAlign over an FPN (torchvision.ops.MultiScaleRoIAlign): each box is pooled from the level
/// <see cref="LevelMapper"/> picks, at that level's scale. Scales are inferred on first use from
/// the feature and image sizes (the nearest power of two of feature/image height), as torchvision does.
/// </summary>
public sealed class MultiScaleRoiAlign
{
    public MultiScaleRoiAlign((int Height, int Width) outputSize, int samplingRatio, bool aligned = false,
        int canonicalScale = 224, int canonicalLevel = 4, VisionOpsBackend backend = VisionOpsBackend.Auto,
        Func<int, int, LevelMapper>? mapperFactory = null)
    {
        OutputSize = outputSize;
        SamplingRatio = samplingRatio;
        Aligned = aligned;
        CanonicalScale = canonicalScale;
        CanonicalLevel = canonicalLevel;
        Backend = backend;
        this.mapperFactory = mapperFactory ?? ((kMin, kMax) => new LevelMapper(kMin, kMax, canonicalScale, canonicalLevel));
    }

    public MultiScaleRoiAlign(int outputSize, int samplingRatio) : this((outputSize, outputSize), samplingRatio) { }

    private readonly Func<int, int, LevelMapper> mapperFactory;

    public (int Height, int Width) OutputSize { get; }
    public int SamplingRatio { get; }
    public bool Aligned { get; }
    public int CanonicalScale { get; }
    public int CanonicalLevel { get; }
    public VisionOpsBackend Backend { get; }

    /// <summary>Spatial scale of each level (set by the first <see cref="Forward"/> or <see cref="SetupScales"/>).</summary>
    public IReadOnlyList<double>? Scales { get; private set; }
    public LevelMapper? Mapper { get; private set; }

    /// <summary>Infers the scales and the level range (torchvision's _setup_scales).</summary>
    public void SetupScales(IReadOnlyList<Tensor> features, IReadOnlyList<(int Height, int Width)> imageShapes)
    {
        if (imageShapes.Count == 0) throw new ArgumentException("MultiScaleRoiAlign: images list should not be empty");
        if (features.Count == 0) throw new ArgumentException("MultiScaleRoiAlign: no feature maps given");
        // torchvision infers every scale from the heights alone (the largest image's).
        int maxH = imageShapes.Max(s => s.Height);
        var scales = features.Select(f => InferScale(f, maxH)).ToArray();
        // torchvision takes -log2 of the float32 scale and truncates to int.
        int kMin = (int)-MathF.Log2((float)scales[0]);
        int kMax = (int)-MathF.Log2((float)scales[^1]);
        Scales = scales;
        Mapper = mapperFactory(kMin, kMax);
    }

    /// <summary>Pools every box from its level.</summary>
    /// <param name="features">[N, C, H_l, W_l] per level, finest first.</param>
    /// <param name="boxes">[L_i, 4] per image, in image coordinates.</param>
    /// <param name="imageShapes">Each image's (height, width) before the backbone.</param>
    /// <returns>[ΣL_i, C, outH, outW].</returns>
    public Tensor Forward(IReadOnlyList<Tensor> features, IReadOnlyList<Tensor> boxes, IReadOnlyList<(int Height, int Width)> imageShapes)
    {
        if (Scales is null || Mapper is null) SetupScales(features, imageShapes);
        if (features.Count != Scales!.Count)
            throw new ArgumentException($"MultiScaleRoiAlign: set up for {Scales.Count} levels, got {features.Count} feature maps");
        using var scope = DisposeScope.Enter();
        var rois = VisionOps.BoxesToRois(boxes.Select(b => b.To(features[0].DType, features[0].Device)).ToArray());
        if (features.Count == 1)
            return scope.MoveToOuter(VisionOps.RoiAlign(features[0], rois, OutputSize, Scales[0], SamplingRatio, Aligned, Backend));

        var levels = Mapper!.Map(boxes);
        long numRois = rois.Size(0), channels = features[0].Size(1);
        var result = Tensor.Zeros(new long[] { numRois, channels, OutputSize.Height, OutputSize.Width }, features[0].DType, features[0].Device);
        for (int level = 0; level < features.Count; level++)
        {
            var inLevel = levels.Eq(level).NonzeroAsTuple()[0];
            var pooled = VisionOps.RoiAlign(features[level], rois.Index(inLevel), OutputSize, Scales[level], SamplingRatio, Aligned, Backend);
            result.IndexPut_(new[] { inLevel }, pooled.To(result.DType));
        }
        return scope.MoveToOuter(result);
    }

    /// <summary>2^round(log2(feature height / image height)), computed in float32 like torchvision.</summary>
    public static double InferScale(Tensor feature, int imageHeight)
    {
        var size = feature.Shape;
        double approx = (double)size[^2] / imageHeight;
        float log = MathF.Log2((float)approx);
        return Math.Pow(2, MathF.Round(log, MidpointRounding.ToEven));
    }
}
