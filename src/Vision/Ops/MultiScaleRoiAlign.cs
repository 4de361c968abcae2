using MLNetSeg.Torch;

namespace MLNetSeg.Vision.Ops;

/// <summary>
/// Assigns each box to an FPN level (FPN paper, eq. 1): k = floor(k0 + log2(sqrt(area)/s0) + eps)
/// clamped to [kMin, kMax], as torchvision's LevelMapper (eps 1e-6 added after the log).
/// <see cref="Detectron2"/> gives detectron2's variant (eps 1e-8 inside the log).
/// </summary>
public sealed class LevelMapper
{
    /// <summary>Creates a mapper for levels <paramref name="kMin"/>…<paramref name="kMax"/> (torchvision's <c>LevelMapper</c>, whose defaults these are).</summary>
    /// <param name="kMin">Finest level (2 for P2 at stride 4); boxes mapped below it go to it.</param>
    /// <param name="kMax">Coarsest level (5 for P5 at stride 32); boxes mapped above it go to it.</param>
    /// <param name="canonicalScale">s0: the box side (sqrt of its area, in pixels) that maps to <paramref name="canonicalLevel"/>.</param>
    /// <param name="canonicalLevel">k0: the level of a box of side <paramref name="canonicalScale"/>.</param>
    /// <param name="eps">Small constant that keeps exact powers of two from flooring one level down.</param>
    /// <param name="epsInsideLog">Add <paramref name="eps"/> to the ratio inside the log (detectron2) rather than after it (torchvision).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kMin"/> exceeds <paramref name="kMax"/>, or the canonical scale is not positive.</exception>
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

    /// <summary>Finest FPN level k (e.g. 2 for a stride-4 map); index 0 of <see cref="Map"/>'s result.</summary>
    public int KMin { get; }

    /// <summary>Coarsest FPN level k (e.g. 5 for a stride-32 map).</summary>
    public int KMax { get; }

    /// <summary>s0: the box side in pixels that maps to <see cref="CanonicalLevel"/> (224, the ImageNet crop size).</summary>
    public int CanonicalScale { get; }

    /// <summary>k0: the level a box of side <see cref="CanonicalScale"/> is pooled from (4).</summary>
    public int CanonicalLevel { get; }

    /// <summary>The small constant added before flooring (1e-6 in torchvision, 1e-8 in detectron2).</summary>
    public double Eps { get; }

    /// <summary>Whether <see cref="Eps"/> is added inside the log (detectron2) or after it (torchvision).</summary>
    public bool EpsInsideLog { get; }

    /// <summary>int64 [ΣN_i] level index (k − kMin) of every box of every image, in order.</summary>
    /// <param name="boxLists">Per image, [N_i, 4] xyxy boxes in image pixels.</param>
    /// <exception cref="ArgumentException">No box lists are given.</exception>
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
public sealed class MultiScaleRoiAlign : IRoiPool
{
    /// <summary>Creates the pooler (torchvision's <c>MultiScaleRoIAlign(featmap_names, output_size, sampling_ratio, canonical_scale, canonical_level)</c>).</summary>
    /// <param name="outputSize">(height, width) of each pooled map: 7×7 for the box head, 14×14 for masks and keypoints in torchvision.</param>
    /// <param name="samplingRatio">Bilinear samples per bin side (torchvision's detectors use 2); ≤ 0 adapts to the RoI size.</param>
    /// <param name="aligned">Shift boxes by −0.5 pixel (detectron2's ROIAlignV2); torchvision's detectors use false.</param>
    /// <param name="canonicalScale">s0 of the level assignment (224).</param>
    /// <param name="canonicalLevel">k0 of the level assignment (4).</param>
    /// <param name="backend">Which RoIAlign implementation runs.</param>
    /// <param name="mapperFactory">Builds the level mapper from (kMin, kMax) once they are known, e.g. <see cref="LevelMapper.Detectron2"/>;
    /// null gives torchvision's <see cref="LevelMapper"/> with <paramref name="canonicalScale"/> and <paramref name="canonicalLevel"/>.</param>
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

    /// <summary>A pooler with square <paramref name="outputSize"/>×<paramref name="outputSize"/> output and torchvision's other defaults.</summary>
    /// <param name="outputSize">Side of each pooled map in cells.</param>
    /// <param name="samplingRatio">Bilinear samples per bin side; ≤ 0 adapts to the RoI size.</param>
    public MultiScaleRoiAlign(int outputSize, int samplingRatio) : this((outputSize, outputSize), samplingRatio) { }

    private readonly Func<int, int, LevelMapper> mapperFactory;

    /// <summary>(height, width) in cells of every pooled map.</summary>
    public (int Height, int Width) OutputSize { get; }

    /// <summary>Bilinear samples per bin side; ≤ 0 means ceil(RoI size / output size) per RoI.</summary>
    public int SamplingRatio { get; }

    /// <summary>Whether boxes are shifted by −0.5 pixel before pooling (detectron2's aligned RoIAlign).</summary>
    public bool Aligned { get; }

    /// <summary>s0 of the default level mapper: the box side in pixels pooled from <see cref="CanonicalLevel"/>.</summary>
    public int CanonicalScale { get; }

    /// <summary>k0 of the default level mapper.</summary>
    public int CanonicalLevel { get; }

    /// <summary>Which RoIAlign implementation runs.</summary>
    public VisionOpsBackend Backend { get; }

    /// <summary>Spatial scale of each level (set by the first <see cref="Forward"/> or <see cref="SetupScales"/>).</summary>
    public IReadOnlyList<double>? Scales { get; private set; }

    /// <summary>The level mapper for the inferred level range (set together with <see cref="Scales"/>).</summary>
    public LevelMapper? Mapper { get; private set; }

    /// <summary>Infers the scales and the level range (torchvision's _setup_scales).</summary>
    /// <param name="features">[N, C, H_l, W_l] per level, finest first.</param>
    /// <param name="imageShapes">Each image's (height, width); the largest height is used, as in torchvision.</param>
    /// <exception cref="ArgumentException">Either list is empty.</exception>
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
    /// <exception cref="ArgumentException">The number of feature maps differs from the one the scales were set up for.</exception>
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
    /// <param name="feature">[N, C, H, W] feature map.</param>
    /// <param name="imageHeight">Height in pixels of the (padded) input image.</param>
    public static double InferScale(Tensor feature, int imageHeight)
    {
        var size = feature.Shape;
        double approx = (double)size[^2] / imageHeight;
        float log = MathF.Log2((float)approx);
        return Math.Pow(2, MathF.Round(log, MidpointRounding.ToEven));
    }
}
