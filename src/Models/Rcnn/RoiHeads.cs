using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Vision.Geometry;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.Rcnn;

/// <summary>Box-branch settings (torchvision's RoIHeads arguments and defaults).</summary>
public sealed record RoiHeadsSettings
{
    /// <summary>Detections whose class probability is not above this are dropped.</summary>
    public double ScoreThresh { get; init; } = 0.05;
    /// <summary>IoU above which class-wise NMS suppresses a detection.</summary>
    public double NmsThresh { get; init; } = 0.5;
    /// <summary>Most detections kept per image, the highest-scoring after NMS.</summary>
    public int DetectionsPerImage { get; init; } = 100;
    /// <summary>Detections narrower or shorter than this (pixels) are dropped.</summary>
    public double MinSize { get; init; } = 1e-2;
    /// <summary>Weights of the box coder (torchvision's <c>bbox_reg_weights</c>); read once, when the heads are built.</summary>
    public (double X, double Y, double W, double H) BoxRegressionWeights { get; init; } = (10.0, 10.0, 5.0, 5.0);
    // Training (proposal matching and sampling).
    /// <summary>Proposals with IoU ≥ this with a ground-truth box take its class.</summary>
    public double FgIouThresh { get; init; } = 0.5;
    /// <summary>Proposals whose best IoU is below this are background.</summary>
    public double BgIouThresh { get; init; } = 0.5;
    /// <summary>Proposals sampled per image for the box losses.</summary>
    public int BatchSizePerImage { get; init; } = 512;
    /// <summary>Largest fraction of the sampled proposals that are positives.</summary>
    public double PositiveFraction { get; init; } = 0.25;
    /// <summary>Most positive samples per image the mask and keypoint branches train on: a random
    /// subset when there are more. Null (torchvision): all of them.</summary>
    public int? HeadPositivesPerImage { get; init; }
}

/// <summary>
/// The second stage of a Mask / Keypoint R-CNN (torchvision 0.14 RoIHeads, inference): RoIAlign
/// from FPN levels 0–3 (torchvision: 7×7), box head and predictor, postprocess_detections (softmax,
/// per-class decoding, clipping, score threshold, tiny-box removal, class-wise NMS, top detections);
/// then, when present, the mask branch (RoIAlign, torchvision 14×14; mask head and predictor, the
/// predicted class's mask through a sigmoid) and the keypoint branch (RoIAlign, torchvision 14×14;
/// keypoint head and predictor, heatmaps to keypoints). As in torchvision, the RoI poolers, heads and
/// predictors are given to the constructor. Training (proposal sampling and the losses) is in
/// Training/RoiHeads.Training.cs. State-dict children: box_head, box_predictor, mask_head,
/// mask_predictor, keypoint_head, keypoint_predictor (the poolers hold no state).
/// </summary>
public sealed partial class RoiHeads : Module
{
    private RoiHeadsSettings settings;

    /// <summary>torchvision's RoIHeads(box_roi_pool, box_head, box_predictor, ..., mask_roi_pool, mask_head,
    /// mask_predictor, keypoint_roi_pool, keypoint_head, keypoint_predictor): a branch is present when its
    /// pooler, head and predictor are all given, absent when none is.</summary>
    /// <param name="boxRoiPool">RoIAlign of the box branch (torchvision: 7×7, sampling ratio 2), or another pooler with the
    /// same output; a pooler with parameters (a <see cref="Module"/>, e.g. MaskLab's deformable crop) is registered as "box_roi_pool".</param>
    /// <param name="boxHead">Pooled features → box features (<see cref="TwoMlpHead"/> or <see cref="FastRcnnConvFcHead"/>), "box_head".</param>
    /// <param name="boxPredictor">Box features → class logits and per-class deltas, "box_predictor".</param>
    /// <param name="settings">Thresholds, limits and sampling; torchvision's defaults when null.</param>
    /// <param name="maskRoiPool">RoIAlign of the mask branch (torchvision: 14×14).</param>
    /// <param name="maskHead">Pooled features → mask features (<see cref="MaskRcnnHeads"/>), "mask_head".</param>
    /// <param name="maskPredictor">Mask features → per-class mask logits, "mask_predictor".</param>
    /// <param name="keypointRoiPool">RoIAlign of the keypoint branch (torchvision: 14×14).</param>
    /// <param name="keypointHead">Pooled features → keypoint features (<see cref="KeypointRcnnHeads"/>), "keypoint_head".</param>
    /// <param name="keypointPredictor">Keypoint features → heatmap logits, "keypoint_predictor".</param>
    /// <exception cref="ArgumentException">A mask or keypoint branch is given in part.</exception>
    public RoiHeads(IRoiPool boxRoiPool, Module<Tensor, Tensor> boxHead, FastRcnnPredictor boxPredictor, RoiHeadsSettings? settings = null,
        MultiScaleRoiAlign? maskRoiPool = null, Module<Tensor, Tensor>? maskHead = null, MaskRcnnPredictor? maskPredictor = null,
        MultiScaleRoiAlign? keypointRoiPool = null, Module<Tensor, Tensor>? keypointHead = null, KeypointRcnnPredictor? keypointPredictor = null)
    {
        if (!AllOrNone(maskRoiPool, maskHead, maskPredictor))
            throw new ArgumentException("RoiHeads: give a mask RoI pool, a mask head and a mask predictor, or none of them");
        if (!AllOrNone(keypointRoiPool, keypointHead, keypointPredictor))
            throw new ArgumentException("RoiHeads: give a keypoint RoI pool, a keypoint head and a keypoint predictor, or none of them");
        this.settings = settings ?? new RoiHeadsSettings();
        BoxCoder = new BoxCoder(this.settings.BoxRegressionWeights);
        BoxRoiPool = boxRoiPool ?? throw new ArgumentNullException(nameof(boxRoiPool));
        if (boxRoiPool is Module learned) RegisterModule("box_roi_pool", learned);
        BoxHead = RegisterModule("box_head", boxHead ?? throw new ArgumentNullException(nameof(boxHead)));
        BoxPredictor = RegisterModule("box_predictor", boxPredictor ?? throw new ArgumentNullException(nameof(boxPredictor)));
        if (maskHead is not null)
        {
            MaskRoiPool = maskRoiPool;
            MaskHead = RegisterModule("mask_head", maskHead);
            MaskPredictor = RegisterModule("mask_predictor", maskPredictor!);
        }
        if (keypointHead is not null)
        {
            KeypointRoiPool = keypointRoiPool;
            KeypointHead = RegisterModule("keypoint_head", keypointHead);
            KeypointPredictor = RegisterModule("keypoint_predictor", keypointPredictor!);
        }
    }

    private static bool AllOrNone(params object?[] parts) => parts.All(p => p is null) || parts.All(p => p is not null);

    /// <summary>Thresholds and limits; may be replaced between calls (like assigning
    /// roi_heads.score_thresh in torchvision). The box coder keeps the weights it was built with.</summary>
    public RoiHeadsSettings Settings
    {
        get => settings;
        set => settings = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Decodes the box deltas against the proposals, with <see cref="RoiHeadsSettings.BoxRegressionWeights"/>.</summary>
    public BoxCoder BoxCoder { get; }

    /// <summary>The box branch's pooler: RoIAlign (<see cref="MultiScaleRoiAlign"/>) in the torchvision recipes.</summary>
    public IRoiPool BoxRoiPool { get; }

    /// <summary>Pooled RoI features → box features ("box_head").</summary>
    public Module<Tensor, Tensor> BoxHead { get; }

    /// <summary>Box features → class logits and per-class deltas ("box_predictor").</summary>
    public FastRcnnPredictor BoxPredictor { get; }

    /// <summary>RoIAlign of the mask branch; null without one.</summary>
    public MultiScaleRoiAlign? MaskRoiPool { get; }

    /// <summary>Pooled RoI features → mask features ("mask_head"); null without a mask branch.</summary>
    public Module<Tensor, Tensor>? MaskHead { get; }

    /// <summary>Mask features → per-class mask logits ("mask_predictor"); null without a mask branch.</summary>
    public MaskRcnnPredictor? MaskPredictor { get; }

    /// <summary>RoIAlign of the keypoint branch; null without one.</summary>
    public MultiScaleRoiAlign? KeypointRoiPool { get; }

    /// <summary>Pooled RoI features → keypoint features ("keypoint_head"); null without a keypoint branch.</summary>
    public Module<Tensor, Tensor>? KeypointHead { get; }

    /// <summary>Keypoint features → heatmap logits ("keypoint_predictor"); null without a keypoint branch.</summary>
    public KeypointRcnnPredictor? KeypointPredictor { get; }

    /// <summary>Whether the heads have a mask branch (Mask R-CNN).</summary>
    public bool HasMask => MaskHead is not null;

    /// <summary>Whether the heads have a keypoint branch (Keypoint R-CNN).</summary>
    public bool HasKeypoint => KeypointHead is not null;

    /// <summary>Detections per image in the resized image's coordinates (masks still 28×28 per box).</summary>
    /// <param name="features">FPN levels "0".."3" (the "pool" level is not pooled from).</param>
    /// <param name="proposals">[P_i, 4] per image.</param>
    /// <param name="imageSizes">(height, width) of each resized image.</param>
    /// <exception cref="InvalidOperationException">The heads are in training mode.</exception>
    /// <exception cref="ArgumentException">The numbers of proposal lists and image sizes differ.</exception>
    public DetectionTensors[] Forward(IReadOnlyList<Tensor> features, IReadOnlyList<Tensor> proposals, IReadOnlyList<(int Height, int Width)> imageSizes)
    {
        if (Training) throw new InvalidOperationException("RoiHeads.Forward runs inference; call Eval() first (in training mode use ComputeLosses)");
        if (proposals.Count != imageSizes.Count)
            throw new ArgumentException($"RoiHeads: {proposals.Count} proposal lists for {imageSizes.Count} images");
        using var scope = DisposeScope.Enter();
        var boxFeatures = BoxHead.Forward(BoxRoiPool.Forward(features, proposals, imageSizes));
        var (classLogits, boxRegression) = BoxPredictor.Forward(boxFeatures);
        var (boxes, scores, labels) = PostprocessDetections(classLogits, boxRegression, proposals, imageSizes);

        // With no detection anywhere the branches have nothing to pool: skip them (torchvision runs
        // them on empty batches, with the same empty results).
        bool any = boxes.Any(b => b.Size(0) > 0);
        Tensor[]? masks = null;
        if (HasMask && !any)
        {
            long side = 2L * MaskRoiPool!.OutputSize.Height;  // the predictor's 2× transposed conv
            masks = boxes.Select(b => Tensor.Zeros(new long[] { 0, 1, side, side }, classLogits.DType, b.Device)).ToArray();
        }
        else if (HasMask)
        {
            var maskLogits = MaskPredictor!.Forward(MaskHead!.Forward(MaskRoiPool!.Forward(features, boxes, imageSizes)));
            masks = MaskRcnnInference(maskLogits, labels);
        }
        Tensor[]? keypoints = null, keypointScores = null;
        if (HasKeypoint && !any)
        {
            long k = KeypointPredictor!.NumKeypoints;
            keypoints = boxes.Select(b => Tensor.Zeros(new long[] { 0, k, 3 }, DType.Float32, b.Device)).ToArray();
            keypointScores = boxes.Select(b => Tensor.Zeros(new long[] { 0, k }, DType.Float32, b.Device)).ToArray();
        }
        else if (HasKeypoint)
        {
            var heatmaps = KeypointPredictor!.Forward(KeypointHead!.Forward(KeypointRoiPool!.Forward(features, boxes, imageSizes)));
            (keypoints, keypointScores) = KeypointRcnnInference(heatmaps, boxes);
        }

        var result = new DetectionTensors[imageSizes.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = new DetectionTensors(imageSizes[i].Height, imageSizes[i].Width,
                scope.MoveToOuter(boxes[i]), scope.MoveToOuter(labels[i]), scope.MoveToOuter(scores[i]),
                masks is null ? null : scope.MoveToOuter(masks[i]),
                keypoints is null ? null : scope.MoveToOuter(keypoints[i]),
                keypointScores is null ? null : scope.MoveToOuter(keypointScores[i]));
        }
        return result;
    }

    /// <summary>torchvision's postprocess_detections: every (proposal, foreground class) pair is a
    /// candidate with its own decoded box; candidates are filtered per image as listed in the class summary.</summary>
    public (Tensor[] Boxes, Tensor[] Scores, Tensor[] Labels) PostprocessDetections(Tensor classLogits, Tensor boxRegression,
        IReadOnlyList<Tensor> proposals, IReadOnlyList<(int Height, int Width)> imageSizes)
    {
        using var scope = DisposeScope.Enter();
        var device = classLogits.Device;
        long numClasses = classLogits.Size(-1);
        var perImage = proposals.Select(p => p.Size(0)).ToArray();
        // [ΣP, C, 4]; the explicit shape also covers ΣP = 0, where torchvision's decode leaves [0, 4C].
        var predBoxes = BoxCoder.Decode(boxRegression, proposals).Reshape(perImage.Sum(), numClasses, 4);
        var predScores = Functional.Softmax(classLogits, -1);
        var boxesList = predBoxes.Split(perImage, 0);
        var scoresList = predScores.Split(perImage, 0);

        int n = proposals.Count;
        var allBoxes = new Tensor[n];
        var allScores = new Tensor[n];
        var allLabels = new Tensor[n];
        for (int i = 0; i < n; i++)
        {
            var (h, w) = imageSizes[i];
            var boxes = BoxOps.ClipBoxesToImage(boxesList[i], h, w);
            var scores = scoresList[i];
            var labels = Tensor.Arange(numClasses, DType.Int64, device).View(1, -1).ExpandAs(scores);

            // Drop the background column, then treat every class prediction as its own instance.
            boxes = boxes.Slice(1, 1).Reshape(-1, 4);
            scores = scores.Slice(1, 1).Reshape(-1);
            labels = labels.Slice(1, 1).Reshape(-1);

            var keep = scores.Gt(Settings.ScoreThresh).NonzeroAsTuple()[0];
            (boxes, scores, labels) = (boxes.Index(keep), scores.Index(keep), labels.Index(keep));

            keep = BoxOps.RemoveSmallBoxes(boxes, Settings.MinSize);
            (boxes, scores, labels) = (boxes.Index(keep), scores.Index(keep), labels.Index(keep));

            keep = VisionOps.BatchedNms(boxes, scores, labels, Settings.NmsThresh);
            keep = keep.Slice(0, 0, Settings.DetectionsPerImage);
            allBoxes[i] = scope.MoveToOuter(boxes.Index(keep));
            allScores[i] = scope.MoveToOuter(scores.Index(keep));
            allLabels[i] = scope.MoveToOuter(labels.Index(keep));
        }
        return (allBoxes, allScores, allLabels);
    }

    /// <summary>torchvision's maskrcnn_inference: sigmoid of each detection's own-class mask logits,
    /// [D_i, 1, M, M] per image.</summary>
    public static Tensor[] MaskRcnnInference(Tensor maskLogits, IReadOnlyList<Tensor> labels)
    {
        using var scope = DisposeScope.Enter();
        var probabilities = maskLogits.Sigmoid();
        var allLabels = Tensor.Cat(labels.ToArray());
        var index = Tensor.Arange(probabilities.Size(0), DType.Int64, allLabels.Device);
        var selected = probabilities.Index(index, allLabels).Unsqueeze(1);
        var parts = selected.Split(labels.Select(l => l.Size(0)).ToArray(), 0);
        foreach (var p in parts) scope.MoveToOuter(p);
        return parts;
    }

    /// <summary>torchvision's keypointrcnn_inference: heatmaps to keypoints, image by image.</summary>
    public static (Tensor[] Keypoints, Tensor[] Scores) KeypointRcnnInference(Tensor heatmaps, IReadOnlyList<Tensor> boxes)
    {
        using var scope = DisposeScope.Enter();
        var parts = heatmaps.Split(boxes.Select(b => b.Size(0)).ToArray(), 0);
        var keypoints = new Tensor[boxes.Count];
        var scores = new Tensor[boxes.Count];
        for (int i = 0; i < boxes.Count; i++)
        {
            var (kp, s) = VisionOps.HeatmapsToKeypoints(parts[i], boxes[i]);
            keypoints[i] = scope.MoveToOuter(kp);
            scores[i] = scope.MoveToOuter(s);
        }
        return (keypoints, scores);
    }
}
