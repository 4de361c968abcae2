using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.MaskLab;

/// <summary>
/// MaskLab's mask side (§3, Fig. 2): semantic logits (one per class, background included) and direction
/// logits (<see cref="DirectionCoding.Channels"/>) from 1×1 convolutions on the shared features at
/// <see cref="LogitStride"/>; per box, the coarse mask from the box class's semantic crop and the
/// direction-pooled crop (<see cref="MaskLabCoarseMask"/>), then optionally the refinement with
/// hypercolumn features (<see cref="MaskLabRefinement"/>). Children: "semantic", "direction", "coarse",
/// "refinement" (those switched on).
/// </summary>
/// <remarks>
/// The trunk here is a ResNet-FPN, not the paper's atrous ResNet-101: the logits are read from the FPN level
/// at <see cref="LogitStride"/> (8, the paper's output stride, is P3; 4 is P2), whose top-down path plays the
/// part atrous convolution plays in the paper (dense features with the last stage's context). The hypercolumn
/// features are crops of P2 (stride 4), which the FPN builds from res2 (the paper concatenates conv1 and res2).
/// </remarks>
public sealed class MaskLabBranch : Module
{
    /// <param name="channels">Channels of the FPN levels.</param>
    /// <param name="numClasses">Classes with the background: the semantic logits.</param>
    /// <param name="semantic">Use the semantic crop as a coarse-mask feature (and train the semantic logits).</param>
    /// <param name="direction">Use the direction-pooled crop (and train the direction logits).</param>
    /// <param name="refinement">Refine the coarse mask with hypercolumn features.</param>
    /// <param name="cropSize">Side of every mask crop (41, Table 1).</param>
    /// <param name="logitStride">Stride of the semantic and direction logits: 4 (P2) or 8 (P3).</param>
    /// <param name="coding">Directions and distance bins (8 × 4).</param>
    /// <param name="semanticClasses">The label maps' classes when the semantic head also learns stuff (channels: background, things, stuff); null: things only.</param>
    /// <param name="thingSemanticLabels">Semantic class of each detector class 1..K; null: class k is semantic class k − 1.</param>
    /// <exception cref="ArgumentException">Neither the semantic nor the direction feature is on, or a size is out of range.</exception>
    public MaskLabBranch(long channels, int numClasses, bool semantic = true, bool direction = true, bool refinement = true,
        int cropSize = 41, int logitStride = 8, DirectionCoding? coding = null, IReadOnlyList<string>? semanticClasses = null,
        IReadOnlyList<int>? thingSemanticLabels = null)
    {
        if (!semantic && !direction)
            throw new ArgumentException("MaskLab's coarse mask needs the semantic or the direction feature (or both)");
        if (logitStride is not (4 or 8))
            throw new ArgumentOutOfRangeException(nameof(logitStride), logitStride, "the logits are read from P2 (stride 4) or P3 (stride 8)");
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 2);
        Coding = coding ?? new DirectionCoding();
        LogitStride = logitStride;
        if (semanticClasses is not null)
        {
            SemanticClassMapping.Validate(semanticClasses, thingSemanticLabels, required: true);
            SemanticClasses = semanticClasses.ToArray();
            ThingSemanticLabels = SemanticClassMapping.ThingLabels(thingSemanticLabels, numClasses - 1);
            // Label map value → semantic channel: stuff class j (in label-map order) → K + 1 + j; things and 255 → ignore
            // (the instances overwrite their pixels with their class; a thing pixel no instance covers is not trained on).
            _stuffChannel = Enumerable.Repeat(MaskLabLosses.SemanticIgnore, 256).ToArray();
            int next = numClasses;
            for (int c = 0; c < semanticClasses.Count; c++)
                if (!ThingSemanticLabels.Contains(c)) _stuffChannel[c] = next++;
            StuffClasses = next - numClasses;
        }
        if (semantic) Semantic = RegisterModule("semantic", new Conv2d(channels, numClasses + StuffClasses, 1));
        if (direction) Direction = RegisterModule("direction", new Conv2d(channels, Coding.Channels, 1));
        Coarse = RegisterModule("coarse", new MaskLabCoarseMask(semantic, direction, Coding, cropSize));
        if (refinement) Refinement = RegisterModule("refinement", new MaskLabRefinement(channels));
        NumClasses = numClasses;
    }

    /// <summary>The semantic 1×1 convolution; null when the semantic feature is off.</summary>
    public Conv2d? Semantic { get; }

    /// <summary>The direction 1×1 convolution; null when the direction feature is off.</summary>
    public Conv2d? Direction { get; }

    /// <summary>The coarse mask from the cropped logits.</summary>
    public MaskLabCoarseMask Coarse { get; }

    /// <summary>The hypercolumn refinement; null when off.</summary>
    public MaskLabRefinement? Refinement { get; }

    /// <summary>The direction coding of the direction logits.</summary>
    public DirectionCoding Coding { get; }

    /// <summary>Stride of the semantic and direction logits (4 or 8).</summary>
    public int LogitStride { get; }

    /// <summary>Classes with the background.</summary>
    public int NumClasses { get; }

    /// <summary>The label maps' classes when the semantic head also learns stuff (its channels: background, the K things, then the
    /// stuff classes in label-map order); null: things and background only, from the instance masks.</summary>
    public IReadOnlyList<string>? SemanticClasses { get; }

    /// <summary>The semantic class of each detector class 1..K (with <see cref="SemanticClasses"/>).</summary>
    public IReadOnlyList<int>? ThingSemanticLabels { get; }

    /// <summary>Stuff channels of the semantic logits after the background and the things (0 without <see cref="SemanticClasses"/>).</summary>
    public int StuffClasses { get; }

    private readonly long[]? _stuffChannel;

    /// <summary>Side of every mask crop and of the predicted masks.</summary>
    public int CropSize => Coarse.CropSize;

    /// <summary>The stuff classes of the target's label map as semantic channels (255 elsewhere), or null without stuff classes.</summary>
    internal Tensor? StuffMap(RcnnTarget target)
    {
        if (_stuffChannel is null) return null;
        var map = target.Semantic ?? throw new ArgumentException("MaskLab: the semantic head learns stuff classes but the target has no label map");
        using var scope = DisposeScope.Enter();
        var lookup = Tensor.FromArray(_stuffChannel, new long[] { 256 }, map.Device);
        return scope.MoveToOuter(lookup.Index(map.To(DType.Int64)));
    }

    /// <summary>Semantic and direction logits of a batch ([N, K, h, w] and [N, D·B, h, w]; null where off) from the
    /// FPN levels "0".."3".</summary>
    public (Tensor? Semantic, Tensor? Direction) Logits(IReadOnlyList<Tensor> pooled)
    {
        var trunk = pooled[LogitLevel];
        return (Semantic?.Forward(trunk), Direction?.Forward(trunk));
    }

    /// <summary>Mask logits [R, 1, CropSize, CropSize] of RoIs ([R, 5] batch index and box in the network input's pixels)
    /// of classes <paramref name="labels"/> ([R] int64): the coarse mask, refined when refinement is on.</summary>
    public Tensor MaskLogits(IReadOnlyList<Tensor> pooled, (Tensor? Semantic, Tensor? Direction) logits, Tensor rois, Tensor labels)
    {
        var coarse = Coarse.Forward(logits.Semantic, logits.Direction, rois, labels, 1.0 / LogitStride);
        if (Refinement is null) return coarse;
        var hypercolumns = VisionOps.CropAndResize(pooled[0], rois, (CropSize, CropSize), 1.0 / 4);
        return Refinement.Forward(coarse, hypercolumns);
    }

    /// <summary>
    /// The training losses (§4.1): semantic and direction cross-entropy over the whole batch against targets made
    /// from the instance masks, and the mask BCE of the ground-truth boxes (the semantic and direction features are
    /// cropped with ground-truth boxes during training; at most <paramref name="positivesPerImage"/> per image, drawn
    /// with torch's generator, as the R-CNN mask head's cap).
    /// </summary>
    /// <param name="pooled">FPN levels "0".."3".</param>
    /// <param name="batch">The padded batch (its size fixes the label maps').</param>
    /// <param name="targets">Per image, boxes, labels and masks in the resized image's pixels.</param>
    /// <param name="positivesPerImage">Most ground-truth boxes per image the mask loss uses; null: all.</param>
    /// <returns>The mask loss and, by name, "loss_semantic" and "loss_direction" (those switched on).</returns>
    public (Tensor Mask, IReadOnlyDictionary<string, Tensor> Others) Losses(IReadOnlyList<Tensor> pooled, ImageList batch,
        IReadOnlyList<RcnnTarget> targets, int? positivesPerImage)
    {
        using var scope = DisposeScope.Enter();
        var logits = Logits(pooled);
        var device = pooled[0].Device;
        var others = new Dictionary<string, Tensor>();
        int height = (int)batch.PaddedHeight, width = (int)batch.PaddedWidth;
        if (logits.Semantic is { } semantic)
        {
            var maps = targets.Select(t => Pad(MaskLabLosses.SemanticTargets(t.Masks!, t.Labels, StuffMap(t)), height, width, MaskLabLosses.SemanticIgnore));
            var labels = MaskLabLosses.AtStride(Tensor.Stack(maps.ToArray(), 0), LogitStride).To(device: device);
            others[SemanticLossKey] = scope.MoveToOuter(MaskLabLosses.Semantic(semantic, labels));
        }
        if (logits.Direction is { } direction)
        {
            var maps = targets.Select(t => Pad(Coding.Targets(t.Masks!, t.Boxes), height, width, DirectionCoding.Ignore));
            var labels = MaskLabLosses.AtStride(Tensor.Stack(maps.ToArray(), 0), LogitStride).To(device: device);
            others[DirectionLossKey] = scope.MoveToOuter(MaskLabLosses.Direction(direction, labels));
        }

        // Ground-truth boxes as RoIs: (image, box) for the crops, (mask index in the stacked masks, box) for the targets.
        var rois = new List<Tensor>();
        var matched = new List<Tensor>();
        var classes = new List<Tensor>();
        var masks = new List<Tensor>();
        long offset = 0;
        for (int i = 0; i < targets.Count; i++)
        {
            var t = targets[i];
            long n = t.Boxes.Size(0);
            var keep = Tensor.Arange(0, n, 1, DType.Int64, device);
            if (positivesPerImage is { } cap && n > cap) keep = keep.Index(Tensor.Randperm(n, device: device).Narrow(0, 0, cap));
            var boxes = t.Boxes.To(pooled[0].DType, device).Index(keep);
            var column = Tensor.Full(new[] { keep.Size(0), 1L }, i, pooled[0].DType, device);
            rois.Add(Tensor.Cat(new[] { column, boxes }, 1));
            matched.Add(Tensor.Cat(new[] { keep.Add(offset).To(pooled[0].DType).Unsqueeze(1), boxes }, 1));
            classes.Add(t.Labels.To(DType.Int64, device).Index(keep));
            masks.Add(Pad(t.Masks!.To(DType.UInt8, device), height, width, 0));
            offset += n;
        }
        var roiTensor = Tensor.Cat(rois, 0);
        var maskLogits = MaskLogits(pooled, logits, roiTensor, Tensor.Cat(classes, 0));
        var mask = MaskLabLosses.Mask(maskLogits, Tensor.Cat(masks, 0), Tensor.Cat(matched, 0));
        return (scope.MoveToOuter(mask), others);
    }

    /// <summary>The name of the semantic loss in the loss dictionary.</summary>
    public const string SemanticLossKey = "loss_semantic";

    /// <summary>The name of the direction loss in the loss dictionary.</summary>
    public const string DirectionLossKey = "loss_direction";

    /// <summary>The FPN level ("0" = P2, "1" = P3) the logits are read from.</summary>
    private int LogitLevel => LogitStride == 4 ? 0 : 1;

    /// <summary>A [..., h, w] map padded at the bottom and right to [..., height, width] with <paramref name="value"/>.</summary>
    private static Tensor Pad(Tensor map, int height, int width, long value)
    {
        long h = map.Size(-2), w = map.Size(-1);
        if (h == height && w == width) return map;
        // constant_pad_nd works on integer maps too (labels stay exact).
        return Functional.Pad(map, new[] { 0, width - w, 0, height - h }, value: value);
    }
}
