using MLNetSeg.Torch;

namespace MLNetSeg.Models.Rcnn;

// Training (torchvision 0.14 GeneralizedRCNN.forward in training mode).
public abstract partial class GeneralizedRcnn
{
    /// <summary>
    /// One training forward pass: the losses of torchvision's GeneralizedRCNN in training mode for
    /// float images ([C, H, W], RGB in [0, 1]; moved to the model's device and dtype) and their
    /// targets in original-image pixels. Steps, as torchvision: normalise and resize images and
    /// targets (the short side drawn from <see cref="GeneralizedRcnnTransform.TrainMinSizes"/>),
    /// batch, backbone, RPN (anchor matching, sampling, losses; proposals detached), RoI heads
    /// (ground-truth boxes appended to the proposals, matching, sampling, box loss, mask or
    /// keypoint loss on the positives). Random draws (size choice, anchor and proposal samples)
    /// come from torch's generator in torchvision's order, so after the same
    /// <see cref="TorchRuntime.ManualSeed"/> the same samples are taken.
    /// The losses belong to the caller's dispose scope; call <c>Total().Backward()</c> on them.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is in eval mode.</exception>
    /// <exception cref="ArgumentException">An image or target is malformed (the message names the image and field).</exception>
    public RcnnLosses ComputeLosses(IReadOnlyList<Tensor> images, IReadOnlyList<RcnnTarget> targets)
    {
        using var scope = DisposeScope.Enter();
        var (batch, resized) = TrainingBatch(images, targets);
        for (int i = 0; i < resized.Length; i++) CheckPositiveSize(resized[i].Boxes, i);

        var (levels, pooled) = Features(batch);
        var rpn = Rpn.ForwardTraining(batch, levels, resized.Select(t => t.Boxes).ToArray());
        var (heads, extra) = ComputeHeadLosses(pooled, rpn.Proposals, batch, resized);
        return new RcnnLosses(scope.MoveToOuter(rpn.Objectness), scope.MoveToOuter(rpn.BoxReg),
            scope.MoveToOuter(heads.Classifier), scope.MoveToOuter(heads.BoxReg),
            heads.Mask is null ? null : scope.MoveToOuter(heads.Mask),
            heads.Keypoint is null ? null : scope.MoveToOuter(heads.Keypoint),
            extra?.ToDictionary(e => e.Key, e => scope.MoveToOuter(e.Value)));
    }

    /// <summary>
    /// The checked, normalised, resized and batched images of a training step and their targets in the resized pixels (the
    /// first steps of <see cref="ComputeLosses"/>); tensors in the caller's dispose scope.
    /// </summary>
    private protected (ImageList Batch, RcnnTarget[] Resized) TrainingBatch(IReadOnlyList<Tensor> images, IReadOnlyList<RcnnTarget> targets)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(targets);
        if (!Training) throw new InvalidOperationException($"{GetType().Name}: ComputeLosses needs training mode; call Train() first");
        if (images.Count == 0) throw new ArgumentException($"{GetType().Name}: no images given", nameof(images));
        if (targets.Count != images.Count)
            throw new ArgumentException($"{GetType().Name}: {images.Count} images but {targets.Count} targets", nameof(targets));
        int? numKeypoints = RoiHeads.HasKeypoint ? RoiHeads.KeypointPredictor!.NumKeypoints : null;

        var device = Device;
        var dtype = Parameters().First().DType;
        var inputs = new Tensor[images.Count];
        var onDevice = new RcnnTarget[images.Count];
        for (int i = 0; i < images.Count; i++)
        {
            var image = GeneralizedRcnnTransform.CheckImage(images, i, GetType().Name);
            if (!image.DType.IsFloatingPoint())
                throw new ArgumentException($"{GetType().Name}: image {i} is {image.DType}; expected a floating-point image with values in [0, 1]", nameof(images));
            var target = targets[i] ?? throw new ArgumentNullException(nameof(targets), $"target {i} is null");
            target.Validate(i, image.Size(1), image.Size(2), NumClasses, PredictsMasks, numKeypoints, PredictsSemantic);
            inputs[i] = image.To(dtype, device);
            onDevice[i] = new RcnnTarget(target.Boxes.To(dtype, device), target.Labels.To(DType.Int64, device),
                PredictsMasks ? target.Masks!.To(target.Masks.DType, device) : null,
                numKeypoints is null ? null : target.Keypoints!.To(DType.Float32, device),
                PredictsSemantic ? target.Semantic!.To(DType.UInt8, device) : null);
        }

        return Transform.Transform(inputs, onDevice, training: true);
    }

    /// <summary>
    /// The second stage's losses for a training batch: the RoI heads' (box, and mask or keypoint) and, for a
    /// family built on this detector, the losses of its own branches by name (null: none).
    /// </summary>
    /// <param name="pooled">FPN levels "0".."3" of the batch.</param>
    /// <param name="proposals">Per image, the RPN's proposals (detached) in the resized image's pixels.</param>
    /// <param name="batch">The normalised, resized and padded batch.</param>
    /// <param name="targets">Per image, the ground truth in the resized image's pixels.</param>
    protected virtual (RoiHeadsLosses Heads, IReadOnlyDictionary<string, Tensor>? Extra) ComputeHeadLosses(
        Tensor[] pooled, Tensor[] proposals, ImageList batch, RcnnTarget[] targets) =>
        (RoiHeads.ComputeLosses(pooled, proposals, batch.ImageSizes, targets), null);

    /// <summary>torchvision's degenerate-box check, made after resizing: every box needs x2 &gt; x1 and y2 &gt; y1.</summary>
    private void CheckPositiveSize(Tensor boxes, int index)
    {
        if (boxes.Size(0) == 0) return;
        using var scope = DisposeScope.Enter();
        var degenerate = boxes.Slice(1, 2).Le(boxes.Slice(1, 0, 2)).Any(1);
        var bad = degenerate.NonzeroAsTuple()[0];
        if (bad.NumEl == 0) return;
        long row = bad.Select(0, 0).ItemLong();
        var box = boxes.Select(0, row).To(DType.Float64, Device.Cpu).Contiguous().ToArray<double>();
        throw new ArgumentException($"{GetType().Name}: target {index}: boxes row {row} is degenerate after resizing to the network input " +
                                    $"([{string.Join(", ", box.Select(v => v.ToString("R")))}]); every box needs x2 > x1 and y2 > y1");
    }
}
