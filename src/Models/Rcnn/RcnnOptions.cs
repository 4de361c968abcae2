namespace MLNetSeg.Models.Rcnn;

/// <summary>
/// Settings of a torchvision-style Mask / Keypoint R-CNN. Defaults are torchvision 0.14's
/// (maskrcnn_resnet50_fpn / keypointrcnn_resnet50_fpn); every threshold is the one torchvision
/// applies in the same place, with the same comparison.
/// </summary>
public sealed record RcnnOptions
{
    /// <summary>Classes including background; null takes the model's default (91 for Mask R-CNN,
    /// 2 for Keypoint R-CNN).</summary>
    public int? NumClasses { get; init; }

    /// <summary>Keypoints per instance (Keypoint R-CNN).</summary>
    public int NumKeypoints { get; init; } = 17;

    /// <summary>Target short side of the network input (torchvision's eval min_size; Keypoint R-CNN
    /// trains on 640–800 and tests on the last, 800).</summary>
    public int MinSize { get; init; } = 800;

    /// <summary>Cap on the long side of the network input.</summary>
    public int MaxSize { get; init; } = 1333;

    /// <summary>Per-channel RGB mean subtracted from [0, 1] pixels (ImageNet's, torchvision's image_mean).</summary>
    public IReadOnlyList<double> ImageMean { get; init; } = new[] { 0.485, 0.456, 0.406 };
    /// <summary>Per-channel RGB standard deviation pixels are divided by (ImageNet's, torchvision's image_std).</summary>
    public IReadOnlyList<double> ImageStd { get; init; } = new[] { 0.229, 0.224, 0.225 };

    /// <summary>The padded batch's sides are multiples of this.</summary>
    public int SizeDivisible { get; init; } = 32;

    // ---- RPN
    /// <summary>Anchor side per FPN level (P2…P6, one size each), torchvision's 32…512. (On the quickstart's
    /// 256×192 synthetic images, 16…256 gave no gain: mask AP 17.7 vs 20.4 for the same schedule.)</summary>
    public IReadOnlyList<double> AnchorSizes { get; init; } = new[] { 32.0, 64, 128, 256, 512 };

    /// <summary>Anchor aspect ratios (height / width) at every level; torchvision's 0.5, 1, 2.</summary>
    public IReadOnlyList<double> AnchorAspectRatios { get; init; } = new[] { 0.5, 1.0, 2.0 };

    /// <summary>Proposals per FPN level kept by objectness before NMS, in training (torchvision's rpn_pre_nms_top_n_train).</summary>
    public int RpnPreNmsTopNTrain { get; init; } = 2000;
    /// <summary>Proposals per FPN level kept by objectness before NMS, in eval mode (rpn_pre_nms_top_n_test).</summary>
    public int RpnPreNmsTopNTest { get; init; } = 1000;
    /// <summary>Proposals per image kept after NMS, in training (rpn_post_nms_top_n_train).</summary>
    public int RpnPostNmsTopNTrain { get; init; } = 2000;
    /// <summary>Proposals per image kept after NMS, in eval mode (rpn_post_nms_top_n_test).</summary>
    public int RpnPostNmsTopNTest { get; init; } = 1000;
    /// <summary>IoU above which NMS drops a lower-scoring proposal (rpn_nms_thresh).</summary>
    public double RpnNmsThresh { get; init; } = 0.7;
    /// <summary>Proposals must have an objectness probability at least this (rpn_score_thresh; 0 keeps all).</summary>
    public double RpnScoreThresh { get; init; } = 0.0;
    /// <summary>An anchor with IoU at least this with a ground-truth box is a positive RPN sample (rpn_fg_iou_thresh).</summary>
    public double RpnFgIouThresh { get; init; } = 0.7;
    /// <summary>An anchor whose best IoU is below this is a negative RPN sample (rpn_bg_iou_thresh).</summary>
    public double RpnBgIouThresh { get; init; } = 0.3;
    /// <summary>Anchors sampled per image for the RPN losses (rpn_batch_size_per_image).</summary>
    public int RpnBatchSizePerImage { get; init; } = 256;
    /// <summary>Largest share of positives among the sampled anchors (rpn_positive_fraction).</summary>
    public double RpnPositiveFraction { get; init; } = 0.5;

    // ---- Box branch
    /// <summary>Detections must score above this (class probability).</summary>
    public double BoxScoreThresh { get; init; } = 0.05;
    /// <summary>Class-wise NMS IoU threshold.</summary>
    public double BoxNmsThresh { get; init; } = 0.5;
    /// <summary>Most detections kept per image after NMS, highest scores first (box_detections_per_img).</summary>
    public int BoxDetectionsPerImage { get; init; } = 100;
    /// <summary>A proposal with IoU at least this with a ground-truth box is a foreground RoI (box_fg_iou_thresh).</summary>
    public double BoxFgIouThresh { get; init; } = 0.5;
    /// <summary>A proposal whose best IoU is below this is a background RoI (box_bg_iou_thresh).</summary>
    public double BoxBgIouThresh { get; init; } = 0.5;
    /// <summary>RoIs sampled per image for the box-branch losses (box_batch_size_per_image).</summary>
    public int BoxBatchSizePerImage { get; init; } = 512;
    /// <summary>Largest share of foreground among the sampled RoIs (box_positive_fraction).</summary>
    public double BoxPositiveFraction { get; init; } = 0.25;
    /// <summary>Most positive RoIs per image the mask (keypoint) branch trains on, a random subset of
    /// the box branch's positives; null (torchvision) takes them all. On a CPU the mask head costs
    /// far more per RoI than the box head: a cap lets the box branch sample many RoIs cheaply.</summary>
    public int? HeadPositivesPerImage { get; init; }

    // ---- Masks
    /// <summary>A pasted mask pixel is foreground when its probability is above this.</summary>
    public double MaskThreshold { get; init; } = 0.5;

    // ---- Backbone
    /// <summary>eps of the FrozenBatchNorm2d layers (v1 models); torchvision's default 1e-5. Published
    /// weights need the value torchvision builds them with (0 for the COCO_V1 Mask R-CNN and
    /// Keypoint R-CNN sets): build from <see cref="TorchvisionWeights"/> rather than setting it by hand.</summary>
    public double FrozenBatchNormEps { get; init; } = 1e-5;

    /// <summary>Backbone stages that will be trained (0–5); the rest are frozen (torchvision's
    /// default for detection is 3). Only affects training.</summary>
    public int TrainableBackboneLayers { get; init; } = 3;

    internal RpnSettings ToRpnSettings() => new()
    {
        PreNmsTopNTrain = RpnPreNmsTopNTrain,
        PreNmsTopNTest = RpnPreNmsTopNTest,
        PostNmsTopNTrain = RpnPostNmsTopNTrain,
        PostNmsTopNTest = RpnPostNmsTopNTest,
        NmsThresh = RpnNmsThresh,
        ScoreThresh = RpnScoreThresh,
        FgIouThresh = RpnFgIouThresh,
        BgIouThresh = RpnBgIouThresh,
        BatchSizePerImage = RpnBatchSizePerImage,
        PositiveFraction = RpnPositiveFraction,
    };

    internal RoiHeadsSettings ToRoiHeadsSettings() => new()
    {
        ScoreThresh = BoxScoreThresh,
        NmsThresh = BoxNmsThresh,
        DetectionsPerImage = BoxDetectionsPerImage,
        FgIouThresh = BoxFgIouThresh,
        BgIouThresh = BoxBgIouThresh,
        BatchSizePerImage = BoxBatchSizePerImage,
        PositiveFraction = BoxPositiveFraction,
        HeadPositivesPerImage = HeadPositivesPerImage,
    };

    /// <summary>Throws naming the first setting out of range.</summary>
    internal void Validate(string model)
    {
        void Require(bool ok, string what)
        {
            if (!ok) throw new ArgumentOutOfRangeException(what, $"{model}: {what} is out of range");
        }
        Require(NumClasses is null or >= 2, $"{nameof(NumClasses)} ({NumClasses}; background + at least one class)");
        Require(NumKeypoints >= 1, $"{nameof(NumKeypoints)} ({NumKeypoints})");
        Require(MinSize >= 1 && MaxSize >= 1, $"{nameof(MinSize)}/{nameof(MaxSize)} ({MinSize}/{MaxSize})");
        Require(RpnPreNmsTopNTest >= 1 && RpnPostNmsTopNTest >= 1 && RpnPreNmsTopNTrain >= 1 && RpnPostNmsTopNTrain >= 1,
            "RPN top-n settings (must be at least 1)");
        Require(AnchorSizes is { Count: > 0 } && AnchorSizes.All(a => a > 0 && double.IsFinite(a)), $"{nameof(AnchorSizes)} (positive, one per FPN level)");
        Require(AnchorAspectRatios is { Count: > 0 } && AnchorAspectRatios.All(a => a > 0 && double.IsFinite(a)), $"{nameof(AnchorAspectRatios)} (positive)");
        Require(HeadPositivesPerImage is null or >= 1, $"{nameof(HeadPositivesPerImage)} ({HeadPositivesPerImage}; null or at least 1)");
        Require(BoxDetectionsPerImage >= 0, $"{nameof(BoxDetectionsPerImage)} ({BoxDetectionsPerImage})");
        Require(MaskThreshold is >= 0 and <= 1, $"{nameof(MaskThreshold)} ({MaskThreshold})");
        Require(TrainableBackboneLayers is >= 0 and <= 5, $"{nameof(TrainableBackboneLayers)} ({TrainableBackboneLayers})");
        Require(FrozenBatchNormEps >= 0, $"{nameof(FrozenBatchNormEps)} ({FrozenBatchNormEps})");
    }
}
