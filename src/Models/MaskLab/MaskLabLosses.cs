using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.MaskLab;

/// <summary>
/// MaskLab's training targets and losses (§3, §4.1). The paper gives no loss weights; each loss here
/// has weight 1, as Mask R-CNN's (ours). Semantic and direction targets are built at the logits'
/// resolution by sampling the image-resolution targets at the centre of every stride × stride cell; the
/// semantic and direction branches train on ground-truth boxes only (§4.1), which is the caller's choice
/// of RoIs.
/// </summary>
public static class MaskLabLosses
{
    /// <summary>The label of semantic pixels that do not count (stuff marked unknown).</summary>
    public const long SemanticIgnore = 255;

    /// <summary>
    /// Per-pixel classes: the stuff map (or background 0 without one), overwritten inside every instance
    /// with its class; where instances overlap, the smallest one's (ties to the later), as the direction targets.
    /// </summary>
    /// <param name="masks">[N, H, W] instance masks (non-zero inside).</param>
    /// <param name="labels">[N] int64 class of each instance (1..K−1).</param>
    /// <param name="stuff">[H, W] int64 classes outside the instances (0 background, <see cref="SemanticIgnore"/> unknown), or null.</param>
    /// <returns>int64 [H, W].</returns>
    public static Tensor SemanticTargets(Tensor masks, Tensor labels, Tensor? stuff = null)
    {
        ArgumentNullException.ThrowIfNull(masks);
        ArgumentNullException.ThrowIfNull(labels);
        if (masks.Dim != 3 || labels.Dim != 1 || labels.Size(0) != masks.Size(0))
            throw new ArgumentException($"semantic targets need [N, H, W] masks and [N] labels, got [{string.Join(", ", masks.Shape)}] and [{string.Join(", ", labels.Shape)}]");
        int n = (int)masks.Size(0), height = (int)masks.Size(1), width = (int)masks.Size(2);
        if (stuff is not null && (stuff.Dim != 2 || stuff.Size(0) != height || stuff.Size(1) != width))
            throw new ArgumentException($"the stuff map must be [{height}, {width}], got [{string.Join(", ", stuff.Shape)}]");
        using var scope = DisposeScope.Enter();
        var owner = InstanceOwnership.Owners(masks.To(DType.UInt8, Device.Cpu).Contiguous().ToArray<byte>(), n, height, width);
        var classes = labels.To(DType.Int64, Device.Cpu).ToArray<long>();
        var target = stuff is null ? new long[height * width] : stuff.To(DType.Int64, Device.Cpu).Contiguous().ToArray<long>();
        for (int p = 0; p < owner.Length; p++)
            if (owner[p] >= 0) target[p] = classes[owner[p]];
        return scope.MoveToOuter(Tensor.FromArray(target, new long[] { height, width }, masks.Device));
    }

    /// <summary>A label map ([..., H, W]) sampled at the centre pixel of every <paramref name="stride"/>-sided cell:
    /// [..., ⌈H / stride⌉, ⌈W / stride⌉] (nearest, so labels are never blended).</summary>
    public static Tensor AtStride(Tensor map, int stride)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
        if (stride == 1) return map.Alias();
        int offset = stride / 2;
        using var scope = DisposeScope.Enter();
        long h = map.Size(-2), w = map.Size(-1);
        var rows = Tensor.Arange(0, (h + stride - 1) / stride, 1, DType.Int64, map.Device).Mul(stride).Add(offset).ClampMax(h - 1);
        var cols = Tensor.Arange(0, (w + stride - 1) / stride, 1, DType.Int64, map.Device).Mul(stride).Add(offset).ClampMax(w - 1);
        return scope.MoveToOuter(map.IndexSelect(map.Dim - 2, rows).IndexSelect(map.Dim - 1, cols));
    }

    /// <summary>Semantic cross-entropy: logits [N, K, h, w] against int64 targets [N, h, w], <see cref="SemanticIgnore"/> left out.</summary>
    public static Tensor Semantic(Tensor logits, Tensor targets) => MeanCrossEntropy(logits, targets, SemanticIgnore, "semantic");

    /// <summary>Direction cross-entropy over the (direction, distance) channels: logits [N, D·B, h, w] against int64
    /// targets [N, h, w] from <see cref="DirectionCoding.Targets"/>; pixels of no instance (-1) are left out.</summary>
    public static Tensor Direction(Tensor logits, Tensor targets) => MeanCrossEntropy(logits, targets, DirectionCoding.Ignore, "direction");

    /// <summary>
    /// Mask binary cross-entropy (sigmoid, §4.1) of mask logits [R, 1, S, S] against the ground-truth masks
    /// cropped and resized to each RoI's box (torchvision's project_masks_on_boxes with our crop: a cell is
    /// foreground when at least half of it is, bilinearly).
    /// </summary>
    /// <param name="maskLogits">[R, 1, S, S] coarse or refined mask logits.</param>
    /// <param name="instanceMasks">[M, H, W] ground-truth masks of the batch.</param>
    /// <param name="matchedBoxes">[R, 5] (index of the matched ground-truth mask, x1, y1, x2, y2) of every RoI.</param>
    public static Tensor Mask(Tensor maskLogits, Tensor instanceMasks, Tensor matchedBoxes)
    {
        ArgumentNullException.ThrowIfNull(maskLogits);
        if (maskLogits.Dim != 4 || maskLogits.Size(1) != 1 || maskLogits.Size(2) != maskLogits.Size(3))
            throw new ArgumentException($"mask logits must be [R, 1, S, S], got [{string.Join(", ", maskLogits.Shape)}]");
        if (maskLogits.Size(0) == 0) return maskLogits.Sum() * 0.0;
        using var scope = DisposeScope.Enter();
        int size = (int)maskLogits.Size(2);
        var masks = instanceMasks.To(maskLogits.DType, maskLogits.Device).Unsqueeze(1);
        Tensor targets;
        using (NoGradScope.Enter())
            targets = VisionOps.CropAndResize(masks, matchedBoxes, (size, size)).Ge(0.5).To(maskLogits.DType);
        return scope.MoveToOuter(Functional.BinaryCrossEntropyWithLogits(maskLogits, targets));
    }

    private static Tensor MeanCrossEntropy(Tensor logits, Tensor targets, long ignore, string what)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        if (logits.Dim != 4 || targets.Dim != 3 || logits.Size(0) != targets.Size(0) || logits.Size(2) != targets.Size(1) || logits.Size(3) != targets.Size(2))
            throw new ArgumentException($"{what} loss: logits [N, C, h, w] and targets [N, h, w] must agree, got [{string.Join(", ", logits.Shape)}] and [{string.Join(", ", targets.Shape)}]");
        using var scope = DisposeScope.Enter();
        var t = targets.To(DType.Int64, logits.Device);
        // No pixel counts (e.g. an image without instances for the direction loss): zero, still connected to the graph.
        if (t.Ne(ignore).Any().ItemLong() == 0) return scope.MoveToOuter(logits.Sum() * 0.0);
        return scope.MoveToOuter(Functional.CrossEntropy(logits, t, ignoreIndex: ignore));
    }
}
