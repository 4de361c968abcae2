using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Vision.Geometry;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.Rcnn;

/// <summary>Region proposal settings (torchvision's RegionProposalNetwork arguments and defaults).</summary>
public sealed record RpnSettings
{
    /// <summary>Proposals kept per feature level before NMS, by objectness, in training mode.</summary>
    public int PreNmsTopNTrain { get; init; } = 2000;
    /// <summary>Proposals kept per feature level before NMS, by objectness, in eval mode.</summary>
    public int PreNmsTopNTest { get; init; } = 1000;
    /// <summary>Proposals kept per image after NMS, in training mode.</summary>
    public int PostNmsTopNTrain { get; init; } = 2000;
    /// <summary>Proposals kept per image after NMS, in eval mode.</summary>
    public int PostNmsTopNTest { get; init; } = 1000;
    /// <summary>IoU above which NMS (run per level) suppresses a proposal.</summary>
    public double NmsThresh { get; init; } = 0.7;
    /// <summary>Proposals with objectness probability below this are dropped.</summary>
    public double ScoreThresh { get; init; } = 0.0;
    /// <summary>Proposals narrower or shorter than this (pixels) are dropped.</summary>
    public double MinSize { get; init; } = 1e-3;
    // Training (anchor matching and sampling).
    /// <summary>Anchors with IoU ≥ this with a ground-truth box are positives (each box's best anchors are positives too).</summary>
    public double FgIouThresh { get; init; } = 0.7;
    /// <summary>Anchors whose best IoU is below this are negatives; those in between are ignored.</summary>
    public double BgIouThresh { get; init; } = 0.3;
    /// <summary>Anchors sampled per image for the RPN losses.</summary>
    public int BatchSizePerImage { get; init; } = 256;
    /// <summary>Largest fraction of the sampled anchors that are positives.</summary>
    public double PositiveFraction { get; init; } = 0.5;
}

/// <summary>
/// Region proposal network (torchvision 0.14 RegionProposalNetwork, inference): the head scores
/// and regresses every anchor, deltas are decoded with weights (1, 1, 1, 1), and per image the
/// top-k anchors of each level by objectness are clipped, stripped of tiny and low-scoring boxes,
/// NMS'ed per level and cut to the post-NMS top-n (filter_proposals, step for step).
/// Training (anchor matching, sampling, losses) is in Training/RegionProposalNetwork.Training.cs.
/// The only state-dict entries are the head's ("head.*").
/// </summary>
public sealed partial class RegionProposalNetwork : Module
{
    private RpnSettings settings;

    /// <summary>Creates the RPN (torchvision's <c>RegionProposalNetwork(anchor_generator, head, ...)</c>, the settings grouped in <see cref="RpnSettings"/>).</summary>
    /// <param name="anchorGenerator">The anchors of every FPN level; its anchors per location must equal the head's <see cref="RpnHead.NumAnchors"/>.</param>
    /// <param name="head">The objectness and box-delta convs, registered as "head".</param>
    /// <param name="settings">Top-n limits, thresholds and sampling; torchvision's defaults when null.</param>
    public RegionProposalNetwork(AnchorGenerator anchorGenerator, RpnHead head, RpnSettings? settings = null)
    {
        AnchorGenerator = anchorGenerator ?? throw new ArgumentNullException(nameof(anchorGenerator));
        ArgumentNullException.ThrowIfNull(head);
        // One head serves every level, so every level must have as many anchors per location as it predicts.
        var perLocation = anchorGenerator.NumAnchorsPerLocation;
        if (perLocation.Any(n => n != head.NumAnchors))
            throw new ArgumentException(
                $"RegionProposalNetwork: the RPN head predicts {head.NumAnchors} anchors per location but the anchor generator " +
                $"makes [{string.Join(", ", perLocation)}] per level", nameof(head));
        Head = RegisterModule("head", head);
        this.settings = settings ?? new RpnSettings();
        BoxCoder = new BoxCoder((1.0, 1.0, 1.0, 1.0));
    }

    /// <summary>Makes the anchors of every FPN level for each batch.</summary>
    public AnchorGenerator AnchorGenerator { get; }

    /// <summary>The objectness and box-delta convs ("head").</summary>
    public RpnHead Head { get; }

    /// <summary>Top-n limits and thresholds; may be replaced between calls.</summary>
    public RpnSettings Settings
    {
        get => settings;
        set => settings = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Decodes the head's deltas against the anchors, weights (1, 1, 1, 1) as in torchvision.</summary>
    public BoxCoder BoxCoder { get; }

    /// <summary>The pre-NMS top-n per level of the current mode (training or eval).</summary>
    public int PreNmsTopN => Training ? Settings.PreNmsTopNTrain : Settings.PreNmsTopNTest;

    /// <summary>The post-NMS top-n per image of the current mode (training or eval).</summary>
    public int PostNmsTopN => Training ? Settings.PostNmsTopNTrain : Settings.PostNmsTopNTest;

    /// <summary>Proposals per image: boxes [P_i, 4] in the resized image's pixels, and their
    /// objectness probabilities [P_i], by decreasing score within each level's NMS.</summary>
    public (Tensor[] Boxes, Tensor[] Scores) Forward(ImageList images, IReadOnlyList<Tensor> features)
    {
        using var scope = DisposeScope.Enter();
        var pass = Run(images, features);
        scope.MoveToOuter(pass.Boxes);
        scope.MoveToOuter(pass.Scores);
        return (pass.Boxes, pass.Scores);
    }

    /// <summary>One pass of the head over the features: the flattened head outputs (still attached to
    /// the graph, for the training losses), the anchors of one image and the filtered proposals.
    /// Everything belongs to the caller's dispose scope.</summary>
    private RpnPass Run(ImageList images, IReadOnlyList<Tensor> features)
    {
        if (features.Count == 0) throw new ArgumentException("RegionProposalNetwork: no feature maps given");
        var (objectness, deltas) = Head.Forward(features);
        var gridSizes = features.Select(f => (f.Size(-2), f.Size(-1))).ToArray();
        var levelAnchors = AnchorGenerator.GenerateLevels(images.PaddedHeight, images.PaddedWidth, gridSizes,
            features[0].DType, features[0].Device);
        var anchors = levelAnchors.Length == 1 ? levelAnchors[0] : Tensor.Cat(levelAnchors);
        int numImages = images.Count;
        // A·H·W anchors per level (objectness [N, A, H, W]).
        var anchorsPerLevel = objectness.Select(o => o.Size(1) * o.Size(2) * o.Size(3)).ToArray();

        var (flatObjectness, flatDeltas) = ConcatBoxPredictionLayers(objectness, deltas);
        var perImageAnchors = Enumerable.Repeat(anchors, numImages).ToArray();
        // Detached: Faster R-CNN does not backpropagate through the proposals.
        var proposals = BoxCoder.Decode(flatDeltas.Detach(), perImageAnchors).View(numImages, -1, 4);
        var (boxes, scores) = FilterProposals(proposals, flatObjectness, images.ImageSizes, anchorsPerLevel);
        return new RpnPass(flatObjectness, flatDeltas, anchors, boxes, scores);
    }

    /// <param name="Objectness">[N·ΣA, 1] logits, image-major.</param>
    /// <param name="Deltas">[N·ΣA, 4] box deltas.</param>
    /// <param name="Anchors">[ΣA, 4], the same for every image of the batch.</param>
    /// <param name="Boxes">Per image, [P_i, 4] filtered proposals.</param>
    /// <param name="Scores">Per image, [P_i] objectness probabilities of the proposals.</param>
    private sealed record RpnPass(Tensor Objectness, Tensor Deltas, Tensor Anchors, Tensor[] Boxes, Tensor[] Scores);

    /// <summary>
    /// torchvision's concat_box_prediction_layers: each level's [N, A·C, H, W] map becomes
    /// [N, H·W·A, C] (location-major, anchor-minor, matching the anchors' order), levels are
    /// concatenated; objectness comes back as [N·ΣHWA, 1], deltas as [N·ΣHWA, 4].
    /// </summary>
    public static (Tensor Objectness, Tensor Deltas) ConcatBoxPredictionLayers(IReadOnlyList<Tensor> objectness, IReadOnlyList<Tensor> deltas)
    {
        using var scope = DisposeScope.Enter();
        var cls = new Tensor[objectness.Count];
        var reg = new Tensor[deltas.Count];
        for (int l = 0; l < objectness.Count; l++)
        {
            var shape = objectness[l].Shape;
            long n = shape[0], h = shape[2], w = shape[3];
            long a = deltas[l].Size(1) / 4;
            long c = shape[1] / a;
            cls[l] = PermuteAndFlatten(objectness[l], n, c, h, w);
            reg[l] = PermuteAndFlatten(deltas[l], n, 4, h, w);
        }
        var flatCls = Tensor.Cat(cls, 1).Flatten(0, -2);
        var flatReg = Tensor.Cat(reg, 1).Reshape(-1, 4);
        return (scope.MoveToOuter(flatCls), scope.MoveToOuter(flatReg));
    }

    private static Tensor PermuteAndFlatten(Tensor layer, long n, long c, long h, long w) =>
        layer.View(n, -1, c, h, w).Permute(0, 3, 4, 1, 2).Reshape(n, -1, c);

    /// <summary>torchvision's filter_proposals (see the class summary).</summary>
    /// <param name="proposals">[N, ΣA_l, 4] decoded anchors.</param>
    /// <param name="objectness">[N·ΣA_l, 1] (or [N, ΣA_l]) logits.</param>
    /// <param name="imageSizes">(height, width) of each resized image, before padding; the proposals are clipped to it.</param>
    /// <param name="anchorsPerLevel">Anchors per FPN level (H_l·W_l·A), in the order of the concatenation.</param>
    public (Tensor[] Boxes, Tensor[] Scores) FilterProposals(Tensor proposals, Tensor objectness,
        IReadOnlyList<(int Height, int Width)> imageSizes, IReadOnlyList<long> anchorsPerLevel)
    {
        using var scope = DisposeScope.Enter();
        long numImages = proposals.Size(0);
        var device = proposals.Device;
        var logits = objectness.Detach().Reshape(numImages, -1);

        // Top-k per level (k = min(pre_nms_top_n, anchors in the level)), offset into the concatenation.
        var topIndices = new List<Tensor>();
        var topLevels = new List<Tensor>();
        long offset = 0;
        var levelBlocks = logits.Split(anchorsPerLevel.ToArray(), 1);
        for (int l = 0; l < levelBlocks.Length; l++)
        {
            long count = anchorsPerLevel[l];
            long k = Math.Min(PreNmsTopN, count);
            var (_, idx) = levelBlocks[l].TopK(k, 1);
            topIndices.Add(idx + offset);
            topLevels.Add(Tensor.Full(new[] { numImages, k }, l, DType.Int64, device));
            offset += count;
        }
        var topN = Tensor.Cat(topIndices, 1);                          // [N, K]
        var levels = Tensor.Cat(topLevels, 1);                         // [N, K]
        var topLogits = logits.Gather(1, topN);                        // objectness[batch_idx, top_n_idx]
        var topBoxes = proposals.Gather(1, topN.Unsqueeze(-1).Expand(numImages, topN.Size(1), 4));
        var probabilities = topLogits.Sigmoid();

        var finalBoxes = new Tensor[numImages];
        var finalScores = new Tensor[numImages];
        for (int i = 0; i < numImages; i++)
        {
            var (h, w) = imageSizes[i];
            var boxes = BoxOps.ClipBoxesToImage(topBoxes.Select(0, i), h, w);
            var scores = probabilities.Select(0, i);
            var lvl = levels.Select(0, i);

            var keep = BoxOps.RemoveSmallBoxes(boxes, Settings.MinSize);
            (boxes, scores, lvl) = (boxes.Index(keep), scores.Index(keep), lvl.Index(keep));

            keep = scores.Ge(Settings.ScoreThresh).NonzeroAsTuple()[0];
            (boxes, scores, lvl) = (boxes.Index(keep), scores.Index(keep), lvl.Index(keep));

            keep = VisionOps.BatchedNms(boxes, scores, lvl, Settings.NmsThresh);
            keep = keep.Slice(0, 0, PostNmsTopN);
            finalBoxes[i] = scope.MoveToOuter(boxes.Index(keep));
            finalScores[i] = scope.MoveToOuter(scores.Index(keep));
        }
        return (finalBoxes, finalScores);
    }
}
