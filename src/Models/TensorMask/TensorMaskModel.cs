using System.Text.Json;
using MLNetSeg.Data.Loading;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Vision.Geometry;
using MLNetSeg.Vision.Ops;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models.TensorMask;

/// <summary>
/// TensorMask (Chen, Girshick, He, Dollár, ICCV 2019): dense sliding-window instance segmentation. Every position of
/// every FPN level predicts, for each of its windows, class scores, a box and a mask, the masks held as 4-D tensors
/// (V, U, H, W) and made natural by the align2nat family (<see cref="VisionOps.SwapAlign2Nat"/>). Children as detectron2
/// names them: "backbone" (a ResNet-FPN with P2–P7) and "head" (<see cref="TensorMaskHead"/>). Built by
/// <see cref="TensorMaskFamily"/>; in eval mode when created.
/// </summary>
public sealed class TensorMaskModel : Module, ISegmentationModel
{
    /// <summary>detectron2's BBOX_REG_WEIGHTS for TensorMask.</summary>
    public static readonly (double X, double Y, double W, double H) BoxWeights = (1.5, 1.5, 0.75, 0.75);

    private readonly BoxCoder _boxCoder = new(BoxWeights);

    internal TensorMaskModel(TensorMaskOptions options, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (numClasses < 2) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "TensorMask: background + at least one class");
        Options = options;
        NumClasses = numClasses;
        int fpnVersion = options.Norm == BackboneNorm.FrozenBatchNorm ? 1 : 2;
        // P6 from P5 as torchvision's RetinaNet (detectron2's TensorMask takes C5; P6 and P7 serve windows of 700+ pixels).
        Backbone = RegisterModule("backbone", ResNetFpn.Create(options.Backbone, options.TrainableBackboneLayers, fpnVersion,
            extraBlocks: new LastLevelP6P7(options.FpnChannels, options.FpnChannels), baseWidth: options.BackboneWidth, fpnChannels: options.FpnChannels));
        Head = RegisterModule("head", new TensorMaskHead(Backbone.OutChannels, numClasses - 1, options.MaskSides, options));
        Transform = new GeneralizedRcnnTransform(options.MinSize, options.MaxSize, new[] { 0.485, 0.456, 0.406 }, new[] { 0.229, 0.224, 0.225 },
            options.LargestStride);
        if (options.TrainMinSizes is { } sizes) Transform.TrainMinSizes = sizes;
        Eval();
    }

    /// <summary>The options the model was built from (architecture, sizes, thresholds, loss settings).</summary>
    public TensorMaskOptions Options { get; }

    /// <summary>The ResNet-FPN with P2–P7.</summary>
    public BackboneWithFpn Backbone { get; }

    /// <summary>The towers and predictors.</summary>
    public TensorMaskHead Head { get; }

    /// <summary>Normalisation, resizing and batching of the input images (torchvision's, padded to the largest stride).</summary>
    public GeneralizedRcnnTransform Transform { get; }

    /// <inheritdoc/>
    public ModelFamily Family => TensorMaskFamily.Instance;

    Module ISegmentationModel.Module => this;

    /// <inheritdoc/>
    public int NumClasses { get; }

    /// <summary>Boxes and masks.</summary>
    public SegmentationTasks Tasks => SegmentationTasks.Boxes | SegmentationTasks.Masks;

    /// <summary>The device of the model's parameters.</summary>
    public Device Device => Parameters().First().Device;

    /// <summary>The pyramid levels the head runs on (P2 first), <see cref="TensorMaskOptions.Levels"/> of them.</summary>
    private Tensor[] Levels(Tensor images) => Backbone.Forward(images).Take(Options.Levels).Select(l => l.Feature).ToArray();

    /// <summary>The windows of a batch's levels.</summary>
    private SlidingWindows Windows(IReadOnlyList<Tensor> levels) =>
        SlidingWindows.Create(levels.Select(l => ((int)l.Size(2), (int)l.Size(3))).ToArray(), Options.WindowSizes, levels[0].Device);

    /// <summary>[N, A·C, H, W] per level to [N, ΣH·W·A, C], the windows' order.</summary>
    private static Tensor Flatten(IReadOnlyList<Tensor> perLevel, int anchors, int channels) => Tensor.Cat(perLevel.Select(t =>
    {
        long n = t.Size(0), h = t.Size(2), w = t.Size(3);
        return t.Reshape(n, anchors, channels, h, w).Permute(0, 3, 4, 1, 2).Reshape(n, h * w * anchors, channels);
    }).ToArray(), 1);

    /// <inheritdoc/>
    public IReadOnlyList<SegmentationResult> Predict(IReadOnlyList<Tensor> images) =>
        Detect(images).Select(d =>
        {
            using (d) return new SegmentationResult(d.ToInstances(Options.MaskThreshold));
        }).ToArray();

    /// <summary>
    /// Inference on float images ([3, H, W], RGB in [0, 1], any size; moved to the model's device): per image, windows
    /// scoring above <see cref="TensorMaskOptions.ScoreThreshold"/>, the best <see cref="TensorMaskOptions.CandidatesPerImage"/>
    /// over all levels, their boxes, class-wise NMS, the best <see cref="TensorMaskOptions.DetectionsPerImage"/>; each
    /// detection's mask is its window's, pasted into the window (detectron2's paste) as probabilities. Results in
    /// original-image pixels, in the caller's dispose scope.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is in training mode.</exception>
    public IReadOnlyList<DetectionTensors> Detect(IReadOnlyList<Tensor> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (Training) throw new InvalidOperationException("TensorMaskModel: Detect runs inference; call Eval() first");
        if (images.Count == 0) return Array.Empty<DetectionTensors>();
        using var noGrad = NoGradScope.Enter();
        using var scope = DisposeScope.Enter();
        var (batch, originalSizes) = Transform.TransformForInference(images, Device, Parameters().First().DType, nameof(TensorMaskModel));
        var levels = Levels(batch.Tensors);
        var outputs = Head.Forward(levels, naturalMasks: false);
        using var windows = Windows(levels);
        int k = Head.NumClasses;
        var logits = Flatten(outputs.Logits, windows.Anchors, k);
        var deltas = Flatten(outputs.Deltas, windows.Anchors, 4);
        var results = new DetectionTensors[images.Count];
        for (int i = 0; i < images.Count; i++)
        {
            var r = DetectOne(logits.Select(0, i), deltas.Select(0, i), outputs, i, windows, batch.ImageSizes[i], originalSizes[i]);
            results[i] = r with
            {
                Boxes = scope.MoveToOuter(r.Boxes), Labels = scope.MoveToOuter(r.Labels), Scores = scope.MoveToOuter(r.Scores),
                Masks = scope.MoveToOuter(r.Masks!),
            };
        }
        return results;
    }

    private DetectionTensors DetectOne(Tensor logits, Tensor deltas, TensorMaskOutputs masks, int image, SlidingWindows windows,
        (int Height, int Width) resized, (int Height, int Width) original)
    {
        int k = Head.NumClasses;
        var probabilities = logits.Reshape(-1).Sigmoid();
        var candidates = probabilities.Gt(Options.ScoreThreshold).Nonzero().Reshape(-1);
        var (sorted, order) = probabilities.IndexSelect(0, candidates).Sort(0, descending: true);
        long keepCount = Math.Min(Options.CandidatesPerImage, sorted.Size(0));
        var scores = sorted.Narrow(0, 0, keepCount);
        var top = candidates.IndexSelect(0, order.Narrow(0, 0, keepCount));
        using var classCount = Tensor.Scalar(k, DType.Int64, top.Device);   // an int64 divisor keeps the indices int64
        var classes = top.Remainder(classCount);
        var windowIndex = top.FloorDivide(classCount);
        var windowBoxes = windows.Boxes.IndexSelect(0, windowIndex);
        var boxes = _boxCoder.DecodeSingle(deltas.IndexSelect(0, windowIndex), windowBoxes);
        var keep = VisionOps.BatchedNms(boxes, scores, classes, Options.NmsThreshold);
        keep = keep.Narrow(0, 0, Math.Min(Options.DetectionsPerImage, keep.Size(0)));

        // detectron2's postprocess: boxes to the original image, clipped, empty ones dropped; masks pasted into their windows.
        var finalBoxes = BoxOps.ClipBoxesToImage(GeneralizedRcnnTransform.ResizeBoxes(boxes.IndexSelect(0, keep), resized, original), original.Height, original.Width);
        var nonEmpty = finalBoxes.Select(1, 2).Gt(finalBoxes.Select(1, 0)).LogicalAnd(finalBoxes.Select(1, 3).Gt(finalBoxes.Select(1, 1))).Nonzero().Reshape(-1);
        keep = keep.IndexSelect(0, nonEmpty);
        finalBoxes = finalBoxes.IndexSelect(0, nonEmpty);
        var kept = windowIndex.IndexSelect(0, keep);
        var pastedBoxes = GeneralizedRcnnTransform.ResizeBoxes(windowBoxes.IndexSelect(0, keep), resized, original);
        var pasted = PasteWindowMasks(masks, image, windows, kept.To(DType.Int64, Device.Cpu).ToArray<long>(), pastedBoxes, original);
        return new DetectionTensors(original.Height, original.Width, finalBoxes, classes.IndexSelect(0, keep).Add(1L), scores.IndexSelect(0, keep), pasted);
    }

    /// <summary>The masks of windows <paramref name="windowIndices"/> of image <paramref name="image"/>, as probabilities pasted into
    /// <paramref name="boxes"/> on the original image: [D, 1, H, W].</summary>
    private static Tensor PasteWindowMasks(TensorMaskOutputs outputs, int image, SlidingWindows windows, long[] windowIndices,
        Tensor boxes, (int Height, int Width) original)
    {
        var device = boxes.Device;
        if (windowIndices.Length == 0) return Tensor.Zeros(new long[] { 0, 1, original.Height, original.Width }, outputs.Masks[0][0].DType, device);
        var parts = new List<Tensor>();
        var order = new List<long>();
        foreach (var (members, logits, side) in WindowMaskLogits(outputs, image, windows, windowIndices))
        {
            var picked = logits.Reshape(members.Length, 1, side, side).Sigmoid();
            var groupBoxes = boxes.IndexSelect(0, Tensor.FromArray(members.Select(d => (long)d).ToArray(), new long[] { members.Length }, device));
            parts.Add(VisionOps.PasteMasksInImage(picked, groupBoxes, original.Height, original.Width, MaskPasteMode.Detectron2));
            order.AddRange(members.Select(d => (long)d));
        }
        // Back to detection order: part row j holds detection order[j].
        var inverse = new long[order.Count];
        for (int j = 0; j < order.Count; j++) inverse[order[j]] = j;
        return Tensor.Cat(parts.ToArray(), 0).IndexSelect(0, Tensor.FromArray(inverse, new long[] { inverse.Length }, device));
    }

    /// <summary>
    /// The natural mask logits of windows <paramref name="windowIndices"/> of image <paramref name="image"/>, per (level, window size)
    /// group, where mask sides agree: the positions in <paramref name="windowIndices"/> of the group's windows, their logits [k, S²]
    /// and S. The bipyramid's aligned predictions (inference) are resampled at those windows only.
    /// </summary>
    private static IEnumerable<(int[] Members, Tensor Logits, long Side)> WindowMaskLogits(TensorMaskOutputs outputs, int image, SlidingWindows windows,
        long[] windowIndices)
    {
        var located = windowIndices.Select(windows.Locate).ToArray();
        foreach (var group in Enumerable.Range(0, located.Length).GroupBy(d => (located[d].Level, located[d].Anchor)))
        {
            var (level, anchor) = group.Key;
            var members = group.ToArray();
            Tensor logits;
            if (outputs.BipyramidAligned)
            {
                logits = VisionOps.SwapAlign2NatWindows(outputs.Masks[level][anchor], 1 << level, members.Select(_ => image).ToArray(),
                    members.Select(d => located[d].Y).ToArray(), members.Select(d => located[d].X).ToArray());
            }
            else
            {
                var m = outputs.Masks[level][anchor].Select(0, image);                       // [S², H_k, W_k]
                var cells = Tensor.FromArray(members.Select(d => located[d].Y * m.Size(2) + located[d].X).ToArray(), new long[] { members.Length }, m.Device);
                logits = m.Reshape(m.Size(0), -1).IndexSelect(1, cells).T();
            }
            yield return (members, logits, (long)Math.Round(Math.Sqrt(logits.Size(1))));
        }
    }

    /// <summary>The image's boxes, labels and instance masks (<see cref="RcnnTarget"/>).</summary>
    public ITrainingTarget CreateTarget(DetectionTarget target, ImageSize size, Device device, string describe) =>
        RcnnTargets.From(target, size, masks: true, keypoints: false, device, describe, model: "TensorMask");

    /// <summary>
    /// The training losses (detectron2's TensorMask names): "loss_cls" (FL* over every window, one-hot targets of the
    /// assigned class), "loss_box_reg" (L1 on the positive windows' box offsets) and "loss_mask" (per positive window, BCE of
    /// its mask against the ground-truth mask cropped to the window, foreground pixels weighted
    /// <see cref="TensorMaskOptions.MaskPositiveWeight"/>, averaged over the window's pixels, times
    /// <see cref="TensorMaskOptions.MaskLossWeight"/>), each summed and divided by the batch's positive windows (at least 1).
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is in eval mode.</exception>
    /// <exception cref="ArgumentException">A target is not an <see cref="RcnnTarget"/> with masks, or the counts differ.</exception>
    public IReadOnlyDictionary<string, Tensor> ComputeLosses(IReadOnlyList<Tensor> images, IReadOnlyList<ITrainingTarget> targets)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(targets);
        if (!Training) throw new InvalidOperationException("TensorMaskModel: ComputeLosses needs training mode; call Train() first");
        if (images.Count != targets.Count) throw new ArgumentException($"TensorMaskModel: {images.Count} images but {targets.Count} targets");
        var typed = new RcnnTarget[targets.Count];
        for (int i = 0; i < targets.Count; i++)
            typed[i] = targets[i] as RcnnTarget is { Masks: not null } t ? t : throw new ArgumentException(
                $"TensorMaskModel: target {i} is {targets[i]?.GetType().Name ?? "null"} without masks; make targets with CreateTarget", nameof(targets));

        using var scope = DisposeScope.Enter();
        var (batch, resized) = Transform.Transform(images, typed, training: true);
        var levels = Levels(batch.Tensors);
        var outputs = Head.Forward(levels);
        using var windows = Windows(levels);
        int k = Head.NumClasses;
        var logits = Flatten(outputs.Logits, windows.Anchors, k);
        var deltas = Flatten(outputs.Deltas, windows.Anchors, 4);
        double minWindow = Options.WindowSizes.Min() - 4;   // the smallest window less its unit (detectron2's min_anchor_size)
        var classRange = Tensor.Arange(k, DType.Int64, logits.Device);

        Tensor? classLoss = null, boxLoss = null, maskLoss = null;
        long positives = 0;
        for (int i = 0; i < resized.Length; i++)
        {
            var target = resized[i];
            var (matches, positive) = windows.Assign(target.Boxes, minWindow);
            var assigned = target.Labels.NumEl > 0 ? target.Labels.IndexSelect(0, matches).Sub(1L) : Tensor.Zeros(new[] { windows.Count }, DType.Int64, logits.Device);
            var oneHot = assigned.Unsqueeze(1).Eq(classRange.Unsqueeze(0)).LogicalAnd(positive.Unsqueeze(1)).To(logits.DType);
            var cls = Functional.SigmoidFocalLossStar(logits.Select(0, i), oneHot, Options.FocalAlpha, Options.FocalGamma, Reduction.Sum);
            classLoss = classLoss is null ? cls : classLoss.Add(cls);

            var fg = positive.Nonzero().Reshape(-1);
            long count = fg.Size(0);
            if (count == 0) continue;
            positives += count;
            var fgMatches = matches.IndexSelect(0, fg);
            var fgWindows = windows.Boxes.IndexSelect(0, fg);
            var boxTargets = _boxCoder.EncodeSingle(target.Boxes.IndexSelect(0, fgMatches).To(deltas.DType), fgWindows);
            var box = deltas.Select(0, i).IndexSelect(0, fg).Sub(boxTargets).Abs().Sum();
            boxLoss = boxLoss is null ? box : boxLoss.Add(box);
            var mask = MaskLoss(outputs, i, windows, fg.To(DType.Int64, Device.Cpu).ToArray<long>(), fgMatches, fgWindows, target.Masks!);
            maskLoss = maskLoss is null ? mask : maskLoss.Add(mask);
        }
        double normalizer = Math.Max(1, positives);
        // Every output takes part in the graph even without positives (detectron2 adds its masks times 0).
        var zero = deltas.Sum().Mul(0.0);
        foreach (var perAnchor in outputs.Masks)
            foreach (var m in perAnchor) zero = zero.Add(m.Reshape(-1).Narrow(0, 0, 1).Sum().Mul(0.0));
        var losses = new Dictionary<string, Tensor>
        {
            ["loss_cls"] = scope.MoveToOuter(classLoss!.Div(normalizer)),
            ["loss_box_reg"] = scope.MoveToOuter((boxLoss ?? zero).Div(normalizer)),
            ["loss_mask"] = scope.MoveToOuter((maskLoss is null ? zero : maskLoss.Add(zero)).Div(normalizer)),
        };
        return losses;
    }

    /// <summary>The summed mask loss of one image's positive windows, gathered per (level, window size).</summary>
    private Tensor MaskLoss(TensorMaskOutputs outputs, int image, SlidingWindows windows, long[] positives, Tensor matches,
        Tensor windowBoxes, Tensor gtMasks)
    {
        var device = windowBoxes.Device;
        var gt = gtMasks.To(outputs.Masks[0][0].DType).Unsqueeze(1);                         // [G, 1, H, W]
        var posWeight = Tensor.FromArray(new[] { Options.MaskPositiveWeight }, new long[] { 1 }, device).To(gt.DType);
        Tensor? total = null;
        foreach (var (members, predicted, side) in WindowMaskLogits(outputs, image, windows, positives))
        {
            long area = side * side;
            var rows = Tensor.FromArray(members.Select(j => (long)j).ToArray(), new long[] { members.Length }, device);
            // detectron2's BitMasks.crop_and_resize: RoIAlign of the binary mask over the window (aligned, adaptive sampling), ≥ 0.5.
            var rois = Tensor.Cat(new[] { matches.IndexSelect(0, rows).To(gt.DType).Unsqueeze(1), windowBoxes.IndexSelect(0, rows).To(gt.DType) }, 1);
            var cropped = VisionOps.RoiAlign(gt, rois, ((int)side, (int)side), 1.0, samplingRatio: 0, aligned: true).Ge(0.5).To(gt.DType).Reshape(members.Length, area);
            var loss = Functional.BinaryCrossEntropyWithLogits(predicted, cropped, posWeight: posWeight, reduction: Reduction.Sum).Mul(Options.MaskLossWeight / area);
            total = total is null ? loss : total.Add(loss);
        }
        return total!;
    }

    /// <summary>Writes the model-file section: the options that rebuild this model (<see cref="TensorMaskConfig"/>).</summary>
    public void WriteConfig(Utf8JsonWriter writer) => TensorMaskConfig.Write(writer, Options);

    /// <summary>A TensorMask state dict (keys "backbone.…", "head.…"; heads of another shape skipped) or an ImageNet ResNet into the
    /// backbone.</summary>
    public string LoadPretrainedWeights(string path) => ModelWeights.LoadPretrained(this, Backbone.Body, path);

    /// <summary>Eval mode, FrozenBatchNorm layers folded into their convolutions.</summary>
    public void PrepareForInference()
    {
        Eval();
        Backbone.FuseFrozenBatchNorm();
    }
}
