using MLNetSeg.Torch;
using MLNetSeg.Vision.Geometry;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.Rcnn;

/// <summary>Anchor targets of a batch (torchvision's assign_targets_to_anchors), per image.</summary>
/// <param name="Labels">[A] float32: 1 foreground, 0 background, −1 ignored (between the thresholds).</param>
/// <param name="MatchedIdxs">[A] int64: the matcher's output, a ground-truth index or
/// <see cref="Matcher.BelowLowThreshold"/> / <see cref="Matcher.BetweenThresholds"/>; all
/// <see cref="Matcher.BelowLowThreshold"/> for an image without ground truth.</param>
/// <param name="MatchedGtBoxes">[A, 4]: the ground-truth box of each anchor's (clamped) match; zeros for an
/// image without ground truth.</param>
public sealed record AnchorTargets(Tensor[] Labels, Tensor[] MatchedIdxs, Tensor[] MatchedGtBoxes);

/// <summary>The RPN's part of a training step.</summary>
/// <param name="Proposals">[P_i, 4] per image, detached (the RoI heads do not backpropagate into them).</param>
/// <param name="Objectness">BCE-with-logits over the sampled anchors (mean).</param>
/// <param name="BoxReg">smooth-L1 (beta 1/9, summed over the sampled positives) / number of sampled anchors.</param>
public sealed record RpnTrainingOutput(Tensor[] Proposals, Tensor Objectness, Tensor BoxReg);

// Training (torchvision 0.14 RegionProposalNetwork.forward with targets).
public sealed partial class RegionProposalNetwork
{
    /// <summary>Smooth-L1 beta of both box losses (torchvision's 1/9).</summary>
    public const double SmoothL1Beta = 1.0 / 9;

    /// <summary>IoU ≥ fg → foreground, &lt; bg → background; every ground truth keeps its best anchors.</summary>
    public Matcher CreateMatcher() => new(Settings.FgIouThresh, Settings.BgIouThresh, allowLowQualityMatches: true);

    /// <summary>Samples <see cref="RpnSettings.BatchSizePerImage"/> anchors per image, at most <see cref="RpnSettings.PositiveFraction"/> positives.</summary>
    public BalancedPositiveNegativeSampler CreateSampler() => new(Settings.BatchSizePerImage, Settings.PositiveFraction);

    /// <summary>
    /// Proposals (with the training top-n settings) and the RPN losses for ground-truth boxes
    /// <paramref name="gtBoxes"/> ([G_i, 4] per image, in the resized images' pixels). Draws the anchor
    /// sample with torch's generator (randperm on the labels' device), as torchvision.
    /// </summary>
    public RpnTrainingOutput ForwardTraining(ImageList images, IReadOnlyList<Tensor> features, IReadOnlyList<Tensor> gtBoxes)
    {
        if (!Training) throw new InvalidOperationException("RegionProposalNetwork.ForwardTraining needs training mode; call Train() first");
        if (gtBoxes.Count != images.Count)
            throw new ArgumentException($"RegionProposalNetwork: {gtBoxes.Count} ground-truth lists for {images.Count} images");
        using var scope = DisposeScope.Enter();
        var pass = Run(images, features);
        var anchors = Enumerable.Repeat(pass.Anchors, images.Count).ToArray();
        var targets = AssignTargetsToAnchors(anchors, gtBoxes, CreateMatcher());
        var regressionTargets = BoxCoder.Encode(targets.MatchedGtBoxes, anchors);
        var (objectness, boxReg) = ComputeLoss(pass.Objectness, pass.Deltas, targets.Labels, regressionTargets, CreateSampler());
        scope.MoveToOuter(pass.Boxes);
        return new RpnTrainingOutput(pass.Boxes, scope.MoveToOuter(objectness), scope.MoveToOuter(boxReg));
    }

    /// <summary>torchvision's assign_targets_to_anchors (IoU matching; see <see cref="AnchorTargets"/>).</summary>
    public static AnchorTargets AssignTargetsToAnchors(IReadOnlyList<Tensor> anchors, IReadOnlyList<Tensor> gtBoxes, Matcher matcher)
    {
        if (anchors.Count != gtBoxes.Count)
            throw new ArgumentException($"AssignTargetsToAnchors: {anchors.Count} anchor lists but {gtBoxes.Count} ground-truth lists");
        var labels = new Tensor[anchors.Count];
        var matched = new Tensor[anchors.Count];
        var matchedBoxes = new Tensor[anchors.Count];
        for (int i = 0; i < anchors.Count; i++)
        {
            using var scope = DisposeScope.Enter();
            var a = anchors[i];
            var gt = gtBoxes[i];
            long n = a.Size(0);
            if (gt.NumEl == 0)
            {
                // A background image: every anchor is a negative.
                matchedBoxes[i] = scope.MoveToOuter(Tensor.Zeros(a.Shape, DType.Float32, a.Device));
                labels[i] = scope.MoveToOuter(Tensor.Zeros(new[] { n }, DType.Float32, a.Device));
                matched[i] = scope.MoveToOuter(Tensor.Full(new[] { n }, Matcher.BelowLowThreshold, DType.Int64, a.Device));
                continue;
            }
            var idx = matcher.Match(BoxOps.BoxIou(gt, a));
            // Clamped: −1/−2 would index out of range; those anchors' boxes are never used.
            matchedBoxes[i] = scope.MoveToOuter(gt.Index(idx.ClampMin(0L)));
            var l = idx.Ge(0).To(DType.Float32);
            l.MaskedFill_(idx.Eq(Matcher.BelowLowThreshold), 0.0);
            l.MaskedFill_(idx.Eq(Matcher.BetweenThresholds), -1.0);
            labels[i] = scope.MoveToOuter(l);
            matched[i] = scope.MoveToOuter(idx);
        }
        return new AnchorTargets(labels, matched, matchedBoxes);
    }

    /// <summary>
    /// torchvision's RPN compute_loss: samples anchors per image with <paramref name="sampler"/>, then
    /// the objectness BCE (mean over the sample) and the box smooth-L1 over the sampled positives
    /// divided by the sample size.
    /// </summary>
    /// <param name="objectness">[N·ΣA, 1] logits.</param>
    /// <param name="deltas">[N·ΣA, 4] predicted deltas.</param>
    /// <param name="labels">[ΣA] per image (1, 0, −1).</param>
    /// <param name="regressionTargets">[ΣA, 4] per image.</param>
    /// <param name="sampler">Draws the anchors the losses are computed on.</param>
    public static (Tensor Objectness, Tensor BoxReg) ComputeLoss(Tensor objectness, Tensor deltas, IReadOnlyList<Tensor> labels,
        IReadOnlyList<Tensor> regressionTargets, BalancedPositiveNegativeSampler sampler)
    {
        using var scope = DisposeScope.Enter();
        var (positive, negative) = sampler.Sample(labels);
        var sampledPos = Tensor.Cat(positive).NonzeroAsTuple()[0];
        var sampledNeg = Tensor.Cat(negative).NonzeroAsTuple()[0];
        var sampled = Tensor.Cat(new[] { sampledPos, sampledNeg });
        var flatObjectness = objectness.Flatten();
        var allLabels = Tensor.Cat(labels);
        var allTargets = Tensor.Cat(regressionTargets);

        var boxLoss = Functional.SmoothL1(deltas.Index(sampledPos), allTargets.Index(sampledPos), SmoothL1Beta, Reduction.Sum) / (double)sampled.NumEl;
        var objectnessLoss = Functional.BinaryCrossEntropyWithLogits(flatObjectness.Index(sampled), allLabels.Index(sampled));
        return (scope.MoveToOuter(objectnessLoss), scope.MoveToOuter(boxLoss));
    }
}
