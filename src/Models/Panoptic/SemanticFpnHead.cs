using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Panoptic;

/// <summary>
/// Panoptic FPN's semantic segmentation head (Kirillov et al. 2019; detectron2's SemSegFPNHead): every pyramid
/// level goes through conv3×3 (+ GroupNorm) + ReLU blocks, each followed by 2× bilinear upsampling until the level
/// reaches the common stride (P2: one conv, no upsampling; P3: one; P4: two; P5: three); the levels are summed and a
/// 1×1 convolution gives the class logits at the common stride. Children as detectron2 names them:
/// "scale_heads.{i}.{k}" (a conv with its "norm"; upsampling layers hold no weights but keep their index) and
/// "predictor". With a single input level at the common stride it is the Semantic-P2 / Panoptic-P2 head of the IMP
/// paper (one conv on P2, and no GroupNorm there).
/// </summary>
public sealed class SemanticFpnHead : Module
{
    private readonly Sequential[] _scaleHeads;

    /// <param name="inChannels">Channels of every input level (the FPN's).</param>
    /// <param name="strides">Stride of each input level, finest first (4, 8, 16, 32 for P2–P5).</param>
    /// <param name="numClasses">Semantic classes (logit channels); null for the features alone, no predictor (Panoptic-FPN-IMP
    /// predicts from the features concatenated with the IMP canvas, <see cref="ImpFusionHead"/>).</param>
    /// <param name="convDims">Channels of the conv blocks (128).</param>
    /// <param name="commonStride">Stride of the summed features and logits (4).</param>
    /// <param name="groupNormGroups">GroupNorm groups after each conv (32, detectron2's "GN"); null: no norm, biased convs.</param>
    public SemanticFpnHead(long inChannels, IReadOnlyList<int> strides, int? numClasses, long convDims = 128, int commonStride = 4, int? groupNormGroups = 32)
    {
        ArgumentNullException.ThrowIfNull(strides);
        if (strides.Count == 0 || strides.Any(s => s < commonStride || (s & (s - 1)) != 0))
            throw new ArgumentException($"SemanticFpnHead: strides [{string.Join(", ", strides)}] must be powers of two of at least the common stride {commonStride}", nameof(strides));
        if (numClasses is < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "SemanticFpnHead: at least one class");
        ConvDims = convDims;
        Strides = strides.ToArray();
        CommonStride = commonStride;
        var heads = new ModuleList<Sequential>();
        _scaleHeads = new Sequential[strides.Count];
        for (int i = 0; i < strides.Count; i++)
        {
            int length = Math.Max(1, (int)Math.Round(Math.Log2(strides[i]) - Math.Log2(commonStride)));
            var ops = new List<Module<Tensor, Tensor>>();
            for (int k = 0; k < length; k++)
            {
                ops.Add(new ConvNormRelu(k == 0 ? inChannels : convDims, convDims, groupNormGroups));
                if (strides[i] != commonStride) ops.Add(new Upsample2x());
            }
            _scaleHeads[i] = new Sequential(ops.ToArray());
            heads.Add(_scaleHeads[i]);
        }
        RegisterModule("scale_heads", heads);
        if (numClasses is { } classes) Predictor = RegisterModule("predictor", ConvNormRelu.Predictor(convDims, classes));
    }

    /// <summary>Channels of the summed features.</summary>
    public long ConvDims { get; }

    /// <summary>Stride of each input level.</summary>
    public IReadOnlyList<int> Strides { get; }

    /// <summary>Stride of the logits.</summary>
    public int CommonStride { get; }

    /// <summary>Each input level's blocks: <see cref="ConvNormRelu"/> and <see cref="Upsample2x"/> layers.</summary>
    internal IReadOnlyList<Sequential> ScaleHeads => _scaleHeads;

    /// <summary>The 1×1 convolution to the class logits (null for a features-only head).</summary>
    public Conv2d? Predictor { get; }

    /// <summary>The summed, upsampled level features [N, convDims, H/commonStride, W/commonStride] (what Panoptic-FPN-IMP
    /// concatenates with the IMP canvas).</summary>
    public Tensor Features(IReadOnlyList<Tensor> levels)
    {
        ArgumentNullException.ThrowIfNull(levels);
        if (levels.Count != _scaleHeads.Length)
            throw new ArgumentException($"SemanticFpnHead: {levels.Count} feature levels for {_scaleHeads.Length} scale heads");
        Tensor? sum = null;
        for (int i = 0; i < levels.Count; i++)
        {
            var x = _scaleHeads[i].Forward(levels[i]);
            sum = sum is null ? x : sum + x;
        }
        return sum!;
    }

    /// <summary>Logits [N, classes, H/commonStride, W/commonStride].</summary>
    /// <exception cref="InvalidOperationException">The head was made without a predictor.</exception>
    public Tensor Forward(IReadOnlyList<Tensor> levels) =>
        (Predictor ?? throw new InvalidOperationException("SemanticFpnHead: made without a predictor (features only)")).Forward(Features(levels));

    /// <summary>detectron2's loss: the logits upsampled by the common stride (bilinear, align_corners false), cross-entropy
    /// against int64 targets [N, H, W] with <paramref name="ignoreIndex"/> left out, mean, times <paramref name="weight"/>.</summary>
    public Tensor Loss(Tensor logits, Tensor targets, long ignoreIndex = 255, double weight = 1.0) =>
        SemanticLoss(logits, targets, CommonStride, ignoreIndex, weight);

    /// <summary>detectron2's semantic loss for logits at <paramref name="stride"/>: upsampled by it (bilinear, align_corners false),
    /// cross-entropy against int64 targets [N, H, W] with <paramref name="ignoreIndex"/> left out, mean, times <paramref name="weight"/>.</summary>
    public static Tensor SemanticLoss(Tensor logits, Tensor targets, int stride, long ignoreIndex = 255, double weight = 1.0)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        var upsampled = Functional.Interpolate(logits, scaleFactor: (stride, stride), mode: InterpolationMode.Bilinear, alignCorners: false);
        if (upsampled.Size(2) != targets.Size(-2) || upsampled.Size(3) != targets.Size(-1))
            throw new ArgumentException($"semantic loss: logits upsampled to {upsampled.Size(2)}×{upsampled.Size(3)} but the targets are {targets.Size(-2)}×{targets.Size(-1)}");
        return Functional.CrossEntropy(upsampled, targets, ignoreIndex: ignoreIndex).Mul(weight);
    }

    /// <summary>nn.Upsample(scale_factor = 2, mode = "bilinear", align_corners = False).</summary>
    internal sealed class Upsample2x : Module<Tensor, Tensor>
    {
        public override Tensor Forward(Tensor input) =>
            Functional.Interpolate(input, scaleFactor: (2, 2), mode: InterpolationMode.Bilinear, alignCorners: false);
    }
}
