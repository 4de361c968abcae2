using MLNetSeg.Torch;
using MLNetSeg.Vision.Geometry;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.Rcnn;

/// <summary>The proposals the box branch trains on (torchvision's select_training_samples), per image,
/// in the order of their index among the proposals with the ground-truth boxes appended.</summary>
/// <param name="Proposals">[S_i, 4] sampled proposals.</param>
/// <param name="MatchedIdxs">[S_i] int64: the matched ground-truth index, clamped at 0 (so background
/// proposals point at ground truth 0; all 0 for an image without ground truth).</param>
/// <param name="Labels">[S_i] int64: the matched ground truth's class, 0 for background.</param>
/// <param name="RegressionTargets">[S_i, 4]: the box-coder encoding (weights 10, 10, 5, 5) of each matched
/// ground-truth box relative to its proposal.</param>
public sealed record RoiTrainingSamples(Tensor[] Proposals, Tensor[] MatchedIdxs, Tensor[] Labels, Tensor[] RegressionTargets);

/// <summary>The RoI heads' losses of a training step; <see cref="Mask"/> / <see cref="Keypoint"/> only
/// with those branches.</summary>
/// <param name="Classifier">Cross-entropy of the class logits over the sampled proposals.</param>
/// <param name="BoxReg">Smooth-L1 of the positives' deltas, divided by the number of sampled proposals.</param>
/// <param name="Mask">Mask BCE over the positives; null without a mask branch.</param>
/// <param name="Keypoint">Heatmap cross-entropy over the valid keypoints; null without a keypoint branch.</param>
public sealed record RoiHeadsLosses(Tensor Classifier, Tensor BoxReg, Tensor? Mask, Tensor? Keypoint);

// Training (torchvision 0.14 RoIHeads.forward with targets and the loss functions of roi_heads.py).
public sealed partial class RoiHeads
{
    /// <summary>IoU ≥ fg → the ground truth's class, &lt; bg → background; no low-quality matches.</summary>
    public Matcher CreateMatcher() => new(Settings.FgIouThresh, Settings.BgIouThresh, allowLowQualityMatches: false);

    /// <summary>Samples <see cref="RoiHeadsSettings.BatchSizePerImage"/> proposals per image, at most <see cref="RoiHeadsSettings.PositiveFraction"/> positives.</summary>
    public BalancedPositiveNegativeSampler CreateSampler() => new(Settings.BatchSizePerImage, Settings.PositiveFraction);

    /// <summary>
    /// The losses of the box branch and, when present, the mask and keypoint branches, for
    /// <paramref name="proposals"/> from the RPN and targets already mapped onto the resized images.
    /// Draws the proposal sample with torch's generator. Returns no detections (torchvision returns an
    /// empty result in training).
    /// </summary>
    /// <param name="features">FPN levels "0".."3".</param>
    /// <param name="proposals">Per image, [P_i, 4] RPN proposals in the resized image's pixels.</param>
    /// <param name="imageSizes">(height, width) of each resized image.</param>
    /// <param name="targets">Per image, the ground truth in the resized image's pixels; masks (keypoints) required with a mask (keypoint) branch.</param>
    /// <exception cref="InvalidOperationException">The heads are not in training mode.</exception>
    /// <exception cref="ArgumentException">The list lengths differ, or a target lacks the masks or keypoints its branch needs.</exception>
    public RoiHeadsLosses ComputeLosses(IReadOnlyList<Tensor> features, IReadOnlyList<Tensor> proposals,
        IReadOnlyList<(int Height, int Width)> imageSizes, IReadOnlyList<RcnnTarget> targets)
    {
        if (!Training) throw new InvalidOperationException("RoiHeads.ComputeLosses needs training mode; call Train() first");
        if (proposals.Count != imageSizes.Count || targets.Count != imageSizes.Count)
            throw new ArgumentException($"RoiHeads: {proposals.Count} proposal lists and {targets.Count} targets for {imageSizes.Count} images");
        for (int i = 0; i < targets.Count; i++)
        {
            if (HasMask && targets[i].Masks is null) throw new ArgumentException($"RoiHeads: target {i} has no masks; the mask branch needs them");
            if (HasKeypoint && targets[i].Keypoints is null) throw new ArgumentException($"RoiHeads: target {i} has no keypoints; the keypoint branch needs them");
        }
        using var scope = DisposeScope.Enter();
        var samples = SelectTrainingSamples(proposals, targets.Select(t => t.Boxes).ToArray(), targets.Select(t => t.Labels).ToArray());
        var boxFeatures = BoxHead.Forward(BoxRoiPool.Forward(features, samples.Proposals, imageSizes));
        var (classLogits, boxRegression) = BoxPredictor.Forward(boxFeatures);
        var (classifier, boxReg) = FastRcnnLoss(classLogits, boxRegression, samples.Labels, samples.RegressionTargets);

        // The mask and keypoint branches train on the positive (foreground) samples only.
        Tensor[]? positiveProposals = null, positiveMatched = null;
        if (HasMask || HasKeypoint)
        {
            positiveProposals = new Tensor[proposals.Count];
            positiveMatched = new Tensor[proposals.Count];
            for (int i = 0; i < proposals.Count; i++)
            {
                var pos = samples.Labels[i].Gt(0).NonzeroAsTuple()[0];
                if (Settings.HeadPositivesPerImage is { } cap && pos.Size(0) > cap)
                    pos = pos.Index(Tensor.Randperm(pos.Size(0), device: pos.Device).Narrow(0, 0, cap));
                positiveProposals[i] = samples.Proposals[i].Index(pos);
                positiveMatched[i] = samples.MatchedIdxs[i].Index(pos);
            }
        }
        Tensor? mask = null, keypoint = null;
        if (HasMask)
        {
            var maskLogits = MaskPredictor!.Forward(MaskHead!.Forward(MaskRoiPool!.Forward(features, positiveProposals!, imageSizes)));
            mask = MaskRcnnLoss(maskLogits, positiveProposals!, targets.Select(t => t.Masks!).ToArray(),
                targets.Select(t => t.Labels).ToArray(), positiveMatched!);
        }
        if (HasKeypoint)
        {
            var keypointLogits = KeypointPredictor!.Forward(KeypointHead!.Forward(KeypointRoiPool!.Forward(features, positiveProposals!, imageSizes)));
            keypoint = KeypointRcnnLoss(keypointLogits, positiveProposals!, targets.Select(t => t.Keypoints!).ToArray(), positiveMatched!);
        }
        return new RoiHeadsLosses(scope.MoveToOuter(classifier), scope.MoveToOuter(boxReg),
            mask is null ? null : scope.MoveToOuter(mask), keypoint is null ? null : scope.MoveToOuter(keypoint));
    }

    /// <summary>
    /// torchvision's select_training_samples: appends each image's ground-truth boxes to its
    /// proposals, matches (<see cref="CreateMatcher"/>), samples (<see cref="CreateSampler"/>, torch's
    /// generator) and encodes the regression targets with <see cref="BoxCoder"/>.
    /// </summary>
    /// <param name="proposals">[P_i, 4] per image.</param>
    /// <param name="gtBoxes">[G_i, 4] per image (cast to the proposals' dtype).</param>
    /// <param name="gtLabels">[G_i] int64 per image.</param>
    public RoiTrainingSamples SelectTrainingSamples(IReadOnlyList<Tensor> proposals, IReadOnlyList<Tensor> gtBoxes, IReadOnlyList<Tensor> gtLabels)
    {
        if (proposals.Count == 0) throw new ArgumentException("RoiHeads.SelectTrainingSamples: no images");
        if (gtBoxes.Count != proposals.Count || gtLabels.Count != proposals.Count)
            throw new ArgumentException($"RoiHeads.SelectTrainingSamples: {proposals.Count} proposal lists, {gtBoxes.Count} box lists, {gtLabels.Count} label lists");
        using var scope = DisposeScope.Enter();
        var dtype = proposals[0].DType;
        var device = proposals[0].Device;
        int n = proposals.Count;
        var gt = gtBoxes.Select(b => b.To(dtype)).ToArray();
        var withGt = proposals.Select((p, i) => Tensor.Cat(new[] { p, gt[i] })).ToArray();
        var (matched, labels) = AssignTargetsToProposals(withGt, gt, gtLabels, CreateMatcher());
        var (positive, negative) = CreateSampler().Sample(labels);

        var sampledProposals = new Tensor[n];
        var sampledMatched = new Tensor[n];
        var sampledLabels = new Tensor[n];
        var matchedGtBoxes = new Tensor[n];
        for (int i = 0; i < n; i++)
        {
            // Sampled indices in increasing order (torch.where(pos | neg)), not in draw order.
            var inds = (positive[i] | negative[i]).NonzeroAsTuple()[0];
            sampledProposals[i] = withGt[i].Index(inds);
            sampledLabels[i] = labels[i].Index(inds);
            sampledMatched[i] = matched[i].Index(inds);
            var gtForCoding = gt[i].NumEl == 0 ? Tensor.Zeros(new long[] { 1, 4 }, dtype, device) : gt[i];
            matchedGtBoxes[i] = gtForCoding.Index(sampledMatched[i]);
        }
        var regressionTargets = BoxCoder.Encode(matchedGtBoxes, sampledProposals);
        scope.MoveToOuter(sampledProposals);
        scope.MoveToOuter(sampledMatched);
        scope.MoveToOuter(sampledLabels);
        scope.MoveToOuter(regressionTargets);
        return new RoiTrainingSamples(sampledProposals, sampledMatched, sampledLabels, regressionTargets);
    }

    /// <summary>torchvision's assign_targets_to_proposals: clamped matched indices and labels (the
    /// ground truth's class, 0 below the low threshold, −1 between the thresholds) per image.</summary>
    public static (Tensor[] MatchedIdxs, Tensor[] Labels) AssignTargetsToProposals(IReadOnlyList<Tensor> proposals,
        IReadOnlyList<Tensor> gtBoxes, IReadOnlyList<Tensor> gtLabels, Matcher matcher)
    {
        var matched = new Tensor[proposals.Count];
        var labels = new Tensor[proposals.Count];
        for (int i = 0; i < proposals.Count; i++)
        {
            using var scope = DisposeScope.Enter();
            long p = proposals[i].Size(0);
            var device = proposals[i].Device;
            if (gtBoxes[i].NumEl == 0)
            {
                // A background image.
                matched[i] = scope.MoveToOuter(Tensor.Zeros(new[] { p }, DType.Int64, device));
                labels[i] = scope.MoveToOuter(Tensor.Zeros(new[] { p }, DType.Int64, device));
                continue;
            }
            var idx = matcher.Match(BoxOps.BoxIou(gtBoxes[i], proposals[i]));
            var clamped = idx.ClampMin(0L);
            var l = gtLabels[i].Index(clamped).To(DType.Int64);
            l.MaskedFill_(idx.Eq(Matcher.BelowLowThreshold), 0L);
            l.MaskedFill_(idx.Eq(Matcher.BetweenThresholds), -1L);
            matched[i] = scope.MoveToOuter(clamped);
            labels[i] = scope.MoveToOuter(l);
        }
        return (matched, labels);
    }

    /// <summary>
    /// torchvision's fastrcnn_loss: cross-entropy of the class logits over all samples, and the
    /// smooth-L1 (beta 1/9, summed) of the positives' deltas for their ground-truth class, divided by
    /// the number of samples.
    /// </summary>
    /// <param name="classLogits">[S, C].</param>
    /// <param name="boxRegression">[S, 4C].</param>
    /// <param name="labels">Per image, [S_i] int64 classes of the samples (0 = background).</param>
    /// <param name="regressionTargets">Per image, [S_i, 4] encoded ground-truth boxes.</param>
    public static (Tensor Classifier, Tensor BoxReg) FastRcnnLoss(Tensor classLogits, Tensor boxRegression,
        IReadOnlyList<Tensor> labels, IReadOnlyList<Tensor> regressionTargets)
    {
        using var scope = DisposeScope.Enter();
        var allLabels = Tensor.Cat(labels);
        var allTargets = Tensor.Cat(regressionTargets);
        var classification = Functional.CrossEntropy(classLogits, allLabels);

        var positive = allLabels.Gt(0).NonzeroAsTuple()[0];
        var positiveLabels = allLabels.Index(positive);
        long n = classLogits.Size(0);
        var perClass = boxRegression.Reshape(n, boxRegression.Size(-1) / 4, 4);
        var boxLoss = Functional.SmoothL1(perClass.Index(positive, positiveLabels), allTargets.Index(positive),
            RegionProposalNetwork.SmoothL1Beta, Reduction.Sum) / (double)allLabels.NumEl;
        return (scope.MoveToOuter(classification), scope.MoveToOuter(boxLoss));
    }

    /// <summary>
    /// torchvision's project_masks_on_boxes: RoIAlign of each proposal's matched ground-truth mask
    /// (as float) to M×M, spatial scale 1, adaptive sampling ratio, aligned=False — the
    /// legacy alignment torchvision 0.14 uses here as in its poolers.
    /// </summary>
    /// <param name="gtMasks">[G, H, W] (uint8 / bool / float).</param>
    /// <param name="boxes">[P, 4] proposals.</param>
    /// <param name="matchedIdxs">[P] int64 indices into <paramref name="gtMasks"/>.</param>
    /// <param name="m">Side of the projected masks, the mask logits' (28).</param>
    /// <returns>[P, M, M] in the boxes' dtype.</returns>
    public static Tensor ProjectMasksOnBoxes(Tensor gtMasks, Tensor boxes, Tensor matchedIdxs, int m)
    {
        using var scope = DisposeScope.Enter();
        if (boxes.Size(0) == 0) return scope.MoveToOuter(Tensor.Zeros(new long[] { 0, m, m }, boxes.DType, boxes.Device));
        var rois = Tensor.Cat(new[] { matchedIdxs.To(boxes.DType, boxes.Device).Unsqueeze(1), boxes }, 1);
        var masks = gtMasks.Unsqueeze(1).To(rois.DType, rois.Device);
        var projected = VisionOps.RoiAlign(masks, rois, (m, m), spatialScale: 1.0, samplingRatio: -1, aligned: false);
        return scope.MoveToOuter(projected.Select(1, 0));
    }

    /// <summary>
    /// torchvision's maskrcnn_loss: BCE-with-logits (mean) between each positive's mask logits for
    /// its ground-truth class and its projected ground-truth mask; with no positive anywhere,
    /// mask_logits.sum() · 0 (a zero that keeps the graph).
    /// </summary>
    /// <param name="maskLogits">[ΣP_i, C, M, M].</param>
    /// <param name="proposals">Per image, [P_i, 4] positive proposals.</param>
    /// <param name="gtMasks">Per image, [G_i, H, W] ground-truth masks.</param>
    /// <param name="gtLabels">Per image, [G_i] int64 ground-truth classes.</param>
    /// <param name="matchedIdxs">Per image, [P_i] int64: each positive's ground-truth index.</param>
    public static Tensor MaskRcnnLoss(Tensor maskLogits, IReadOnlyList<Tensor> proposals, IReadOnlyList<Tensor> gtMasks,
        IReadOnlyList<Tensor> gtLabels, IReadOnlyList<Tensor> matchedIdxs)
    {
        using var scope = DisposeScope.Enter();
        int m = (int)maskLogits.Size(-1);
        var labels = Tensor.Cat(gtLabels.Select((l, i) => l.Index(matchedIdxs[i])).ToArray());
        var targets = Tensor.Cat(proposals.Select((p, i) => ProjectMasksOnBoxes(gtMasks[i], p, matchedIdxs[i], m)).ToArray());
        if (targets.NumEl == 0) return scope.MoveToOuter(maskLogits.Sum() * 0.0);
        var own = maskLogits.Index(Tensor.Arange(labels.Size(0), DType.Int64, labels.Device), labels);
        return scope.MoveToOuter(Functional.BinaryCrossEntropyWithLogits(own, targets));
    }

    /// <summary>
    /// torchvision's keypoints_to_heatmap: the heatmap cell of each keypoint inside its RoI,
    /// x = floor((x − x1) · (size / (x2 − x1))) (the scale computed as reciprocal(width) · size, as
    /// Python's int / tensor does), a keypoint exactly on the right/bottom edge mapped to size − 1.
    /// A keypoint is valid when it is visible (v &gt; 0) and its cell lies inside the heatmap.
    /// </summary>
    /// <param name="keypoints">[P, K, 3].</param>
    /// <param name="rois">[P, 4].</param>
    /// <param name="heatmapSize">Side of the heatmaps, S (56).</param>
    /// <returns>int64 [P, K] linear cell indices y · size + x (0 where invalid) and int64 [P, K] validity (0/1).</returns>
    public static (Tensor Heatmaps, Tensor Valid) KeypointsToHeatmap(Tensor keypoints, Tensor rois, int heatmapSize)
    {
        using var scope = DisposeScope.Enter();
        var offsetX = rois.Select(1, 0).Unsqueeze(1);
        var offsetY = rois.Select(1, 1).Unsqueeze(1);
        var scaleX = (heatmapSize / (rois.Select(1, 2) - rois.Select(1, 0))).Unsqueeze(1);
        var scaleY = (heatmapSize / (rois.Select(1, 3) - rois.Select(1, 1))).Unsqueeze(1);

        var x = keypoints.Select(-1, 0);
        var y = keypoints.Select(-1, 1);
        var xBoundary = x.Eq(rois.Select(1, 2).Unsqueeze(1));
        var yBoundary = y.Eq(rois.Select(1, 3).Unsqueeze(1));
        var cellX = ((x - offsetX) * scaleX).Floor().To(DType.Int64);
        var cellY = ((y - offsetY) * scaleY).Floor().To(DType.Int64);
        cellX.MaskedFill_(xBoundary, heatmapSize - 1L);
        cellY.MaskedFill_(yBoundary, heatmapSize - 1L);

        var validLocation = cellX.Ge(0) & cellY.Ge(0) & cellX.Lt(heatmapSize) & cellY.Lt(heatmapSize);
        var visible = keypoints.Select(-1, 2).Gt(0);
        var valid = (validLocation & visible).To(DType.Int64);
        var linear = cellY * (long)heatmapSize + cellX;
        return (scope.MoveToOuter(linear * valid), scope.MoveToOuter(valid));
    }

    /// <summary>
    /// torchvision's keypointrcnn_loss: cross-entropy over the size² cells of each valid keypoint's
    /// heatmap logits (mean over valid keypoints); with none valid, keypoint_logits.sum() · 0.
    /// </summary>
    /// <param name="keypointLogits">[ΣP_i, K, S, S].</param>
    /// <param name="proposals">Per image, [P_i, 4] positive proposals.</param>
    /// <param name="gtKeypoints">Per image, [G_i, K, 3] ground-truth keypoints (x, y, visibility).</param>
    /// <param name="matchedIdxs">Per image, [P_i] int64: each positive's ground-truth index.</param>
    /// <exception cref="ArgumentException">The heatmaps are not square.</exception>
    public static Tensor KeypointRcnnLoss(Tensor keypointLogits, IReadOnlyList<Tensor> proposals, IReadOnlyList<Tensor> gtKeypoints,
        IReadOnlyList<Tensor> matchedIdxs)
    {
        var shape = keypointLogits.Shape;
        long n = shape[0], k = shape[1], h = shape[2], w = shape[3];
        if (h != w) throw new ArgumentException($"KeypointRcnnLoss: keypoint heatmaps must be square, got {h}×{w}");
        using var scope = DisposeScope.Enter();
        var heatmaps = new Tensor[proposals.Count];
        var valid = new Tensor[proposals.Count];
        for (int i = 0; i < proposals.Count; i++)
        {
            var kp = gtKeypoints[i].Index(matchedIdxs[i]);
            var (hm, v) = KeypointsToHeatmap(kp, proposals[i], (int)h);
            heatmaps[i] = hm.View(-1);
            valid[i] = v.View(-1);
        }
        var targets = Tensor.Cat(heatmaps);
        var validIndices = Tensor.Cat(valid).To(DType.UInt8).NonzeroAsTuple()[0];
        if (targets.NumEl == 0 || validIndices.NumEl == 0) return scope.MoveToOuter(keypointLogits.Sum() * 0.0);
        var logits = keypointLogits.View(n * k, h * w);
        return scope.MoveToOuter(Functional.CrossEntropy(logits.Index(validIndices), targets.Index(validIndices)));
    }
}
