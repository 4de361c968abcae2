using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.TensorMask;

/// <summary>What <see cref="TensorMaskHead"/> predicts for a batch, per level (finest first).</summary>
/// <param name="Logits">[N, A·K, H_k, W_k] class logits (A windows per position, K classes without the background).</param>
/// <param name="Deltas">[N, A·4, H_k, W_k] box offsets from each window.</param>
/// <param name="Masks">Per level, per window size: [N, S², H_k, W_k] natural mask logits, S the mask side there; or, when
/// <paramref name="BipyramidAligned"/>, the bipyramid's aligned [N, V·U, H_0, W_0] predictions at P2 before swap_align2nat (λ = 2^k).</param>
/// <param name="BipyramidAligned">Whether <paramref name="Masks"/> hold the bipyramid's aligned predictions (inference computes only the
/// detections' windows, <see cref="MLNetSeg.Vision.Ops.VisionOps.SwapAlign2NatWindows"/>).</param>
public sealed record TensorMaskOutputs(IReadOnlyList<Tensor> Logits, IReadOnlyList<Tensor> Deltas, IReadOnlyList<IReadOnlyList<Tensor>> Masks,
    bool BipyramidAligned = false);

/// <summary>
/// TensorMask's head (detectron2's TensorMaskHead, its module names): a classification tower ("cls_subnet", 3×3 convs
/// with ReLU) and "cls_score", a box tower ("bbox_subnet") and "bbox_pred", a mask tower ("mask_subnet") and one 1×1
/// "mask_pred_%02d" per window size, all shared across levels; the bipyramid's "mask_fuse" (3×3 + ReLU). The mask
/// head's kind decides how the 1×1 convolution's channels become natural masks (<see cref="TensorMaskHeadKind"/>).
/// Convolutions start from N(0, 0.01) with zero biases, the classification bias from the 0.01 prior.
/// </summary>
public sealed class TensorMaskHead : Module
{
    private readonly Sequential _clsSubnet, _bboxSubnet, _maskSubnet;
    private readonly Conv2d[] _maskPred;
    private readonly Sequential? _maskFuse;

    /// <param name="inChannels">Channels of the FPN levels.</param>
    /// <param name="numClasses">K, classes without the background.</param>
    /// <param name="maskSides">Mask side on P2 of each window size (11, 15): A = their count windows per position.</param>
    /// <param name="options">Tower widths and depth, the head kind, λ and interpolation of the upscale heads.</param>
    public TensorMaskHead(long inChannels, int numClasses, IReadOnlyList<int> maskSides, TensorMaskOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "TensorMaskHead: at least one class");
        NumClasses = numClasses;
        MaskSides = maskSides.ToArray();
        Kind = options.Head;
        Interpolation = options.Interpolation;
        PredictedSides = MaskSides.Select(s => Kind is TensorMaskHeadKind.UpscaleNatural or TensorMaskHeadKind.UpscaleAligned
            ? Math.Max(1, (int)Math.Round(s / options.UpscaleFactor)) : s).ToArray();
        int anchors = MaskSides.Count;

        _clsSubnet = RegisterModule("cls_subnet", Tower(inChannels, options.ClassTowerChannels, options.TowerConvs));
        long clsIn = options.TowerConvs > 0 ? options.ClassTowerChannels : inChannels;
        ClsScore = RegisterModule("cls_score", new Conv2d(clsIn, (long)anchors * numClasses, 3, stride: 1, padding: 1));
        _bboxSubnet = RegisterModule("bbox_subnet", Tower(inChannels, options.BoxTowerChannels, options.TowerConvs));
        long boxIn = options.TowerConvs > 0 ? options.BoxTowerChannels : inChannels;
        BboxPred = RegisterModule("bbox_pred", new Conv2d(boxIn, anchors * 4L, 3, stride: 1, padding: 1));
        _maskSubnet = RegisterModule("mask_subnet", Tower(inChannels, options.MaskTowerChannels, options.TowerConvs));
        long maskIn = options.TowerConvs > 0 ? options.MaskTowerChannels : inChannels;
        _maskPred = new Conv2d[anchors];
        for (int a = 0; a < anchors; a++)
            _maskPred[a] = RegisterModule($"mask_pred_{MaskSides[a]:00}", new Conv2d(maskIn, (long)PredictedSides[a] * PredictedSides[a], 1));
        if (Kind == TensorMaskHeadKind.Bipyramid)
            _maskFuse = RegisterModule("mask_fuse", new Sequential(new Conv2d(maskIn, maskIn, 3, stride: 1, padding: 1), new ReLU()));

        using (NoGradScope.Enter())
        {
            foreach (var conv in Modules().OfType<Conv2d>())
            {
                Init.Normal_(conv.Weight, 0, 0.01);
                Init.Zeros_(conv.Bias!);
            }
            Init.Constant_(ClsScore.Bias!, -Math.Log((1 - 0.01) / 0.01));
        }
    }

    private static Sequential Tower(long inChannels, long channels, int depth)
    {
        var layers = new List<Module<Tensor, Tensor>>();
        long current = inChannels;
        for (int i = 0; i < depth; i++)
        {
            layers.Add(new Conv2d(current, channels, 3, stride: 1, padding: 1));
            layers.Add(new ReLU());
            current = channels;
        }
        return new Sequential(layers.ToArray());
    }

    /// <summary>K, classes without the background.</summary>
    public int NumClasses { get; }

    /// <summary>Mask side on P2 (and on every level of a feature-pyramid head) of each window size.</summary>
    public IReadOnlyList<int> MaskSides { get; }

    /// <summary>Side of the masks the 1×1 convolutions predict (smaller than <see cref="MaskSides"/> for the upscale heads).</summary>
    public IReadOnlyList<int> PredictedSides { get; }

    /// <summary>The mask head.</summary>
    public TensorMaskHeadKind Kind { get; }

    /// <summary>Interpolation of the upscale heads on (V, U).</summary>
    public WindowInterpolation Interpolation { get; }

    /// <summary>The classification predictor (A·K channels).</summary>
    public Conv2d ClsScore { get; }

    /// <summary>The box predictor (A·4 channels).</summary>
    public Conv2d BboxPred { get; }

    /// <summary>The towers, mask predictors (one per window size) and the bipyramid's fusion, for the ONNX exporter.</summary>
    internal (Sequential Cls, Sequential Box, Sequential Mask, IReadOnlyList<Conv2d> MaskPredictors, Sequential? MaskFuse) Parts =>
        (_clsSubnet, _bboxSubnet, _maskSubnet, _maskPred, _maskFuse);

    /// <summary>Mask side of window size <paramref name="anchor"/> on level <paramref name="level"/> (0 = P2): 2^level times the
    /// P2 side in a bipyramid, the same on every level otherwise.</summary>
    public int MaskSide(int level, int anchor) => Kind == TensorMaskHeadKind.Bipyramid ? MaskSides[anchor] << level : MaskSides[anchor];

    /// <summary>The head on the pyramid levels (finest first, P2 first). With <paramref name="naturalMasks"/> false a bipyramid head
    /// leaves its masks aligned at P2 (<see cref="TensorMaskOutputs.BipyramidAligned"/>), for inference to resample only the windows it keeps.</summary>
    public TensorMaskOutputs Forward(IReadOnlyList<Tensor> levels, bool naturalMasks = true)
    {
        ArgumentNullException.ThrowIfNull(levels);
        if (levels.Count == 0) throw new ArgumentException("TensorMaskHead: no feature levels", nameof(levels));
        var logits = levels.Select(x => ClsScore.Forward(_clsSubnet.Forward(x))).ToArray();
        var deltas = levels.Select(x => BboxPred.Forward(_bboxSubnet.Forward(x))).ToArray();
        var features = levels.Select(x => _maskSubnet.Forward(x)).ToArray();
        if (_maskFuse is not null) features = BipyramidFeatures(features);
        var masks = new IReadOnlyList<Tensor>[levels.Count];
        for (int level = 0; level < levels.Count; level++)
        {
            var perAnchor = new Tensor[MaskSides.Count];
            for (int a = 0; a < perAnchor.Length; a++)
            {
                var predicted = _maskPred[a].Forward(features[level]);
                perAnchor[a] = Kind switch
                {
                    TensorMaskHeadKind.Bipyramid => naturalMasks ? VisionOps.SwapAlign2Nat(predicted, 1 << level) : predicted,
                    TensorMaskHeadKind.SimpleNatural => predicted,
                    TensorMaskHeadKind.SimpleAligned => VisionOps.Align2Nat(predicted),
                    TensorMaskHeadKind.UpscaleNatural => VisionOps.UpsampleNaturalWindows(predicted, MaskSides[a], Interpolation),
                    _ => VisionOps.UpAlign2Nat(predicted, MaskSides[a], Interpolation),
                };
            }
            masks[level] = perAnchor;
        }
        return new TensorMaskOutputs(logits, deltas, masks, BipyramidAligned: !naturalMasks && Kind == TensorMaskHeadKind.Bipyramid);
    }

    /// <summary>Fig. 8: every level's mask features upsampled bilinearly by 2^k to P2's resolution, P2's added, then "mask_fuse".</summary>
    private Tensor[] BipyramidFeatures(Tensor[] features)
    {
        var finest = features[0];
        long h = finest.Size(2), w = finest.Size(3);
        var fused = new Tensor[features.Length];
        for (int level = 0; level < features.Length; level++)
        {
            var up = features[level];
            if (level > 0)
            {
                var f = features[level];
                up = Functional.Interpolate(f, size: new Size2(f.Size(2) << level, f.Size(3) << level), mode: InterpolationMode.Bilinear, alignCorners: false)
                    .Narrow(2, 0, h).Narrow(3, 0, w);
            }
            fused[level] = _maskFuse!.Forward(up.Add(finest));
        }
        return fused;
    }
}
