using System.Text.Json;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.MaskLab;

/// <summary>
/// MaskLab (Chen et al. 2018): a Faster R-CNN box detector (torchvision's GeneralizedRCNN without a mask
/// branch: "backbone", "rpn", "roi_heads") and MaskLab's own mask side, "masklab" (<see cref="MaskLabBranch"/>):
/// semantic and direction logits over the whole image, per detected box the coarse mask from the box class's
/// semantic crop and the direction-pooled crop, refined with hypercolumn features. With
/// <see cref="MaskLabOptions.DeformableCrop"/> the box branch pools with deformable crop and resize
/// (<see cref="DeformableCropPool"/>, "roi_heads.box_roi_pool"). Build one with <see cref="MaskLabFamily"/>
/// (or <see cref="Create"/>); it is used through the segmentation-model contract like every family.
/// </summary>
public sealed class MaskLabModel : GeneralizedRcnn
{
    /// <summary>Assembles a MaskLab model from its parts; <see cref="Create"/> does it from an architecture.</summary>
    /// <param name="backbone">ResNet + FPN.</param>
    /// <param name="rpn">The region proposal network.</param>
    /// <param name="roiHeads">The box branch only (no mask or keypoint branch).</param>
    /// <param name="transform">Normalisation, resizing and batching, made from <paramref name="options"/>.</param>
    /// <param name="options">The settings the parts were made with.</param>
    /// <param name="branch">The semantic, direction, coarse-mask and refinement branches.</param>
    /// <exception cref="ArgumentException">The RoI heads have a mask or keypoint branch, or the branch's classes differ from the box predictor's.</exception>
    public MaskLabModel(BackboneWithFpn backbone, RegionProposalNetwork rpn, RoiHeads roiHeads, GeneralizedRcnnTransform transform,
        RcnnOptions options, MaskLabBranch branch)
        : base(backbone, rpn, roiHeads, transform, options)
    {
        if (roiHeads.HasMask || roiHeads.HasKeypoint)
            throw new ArgumentException("MaskLabModel: the RoI heads must be a box branch only (MaskLab predicts masks with its own branch)", nameof(roiHeads));
        ArgumentNullException.ThrowIfNull(branch);
        if (branch.NumClasses != roiHeads.BoxPredictor.NumClasses)
            throw new ArgumentException($"MaskLabModel: the branch has {branch.NumClasses} semantic classes, the box predictor {roiHeads.BoxPredictor.NumClasses}", nameof(branch));
        Branch = RegisterModule("masklab", branch);
        Eval();
    }

    /// <summary>The semantic, direction, coarse-mask and refinement branches ("masklab").</summary>
    public MaskLabBranch Branch { get; }

    /// <summary>Whether the box branch pools with deformable crop and resize.</summary>
    public bool DeformableCrop => RoiHeads.BoxRoiPool is DeformableCropPool;

    /// <summary><see cref="MaskLabFamily"/>.</summary>
    public override ModelFamily Family => MaskLabFamily.Instance;

    /// <summary>MaskLab always predicts masks.</summary>
    protected override bool PredictsMasks => true;

    /// <summary>Trains on label maps when its semantic head learns stuff classes.</summary>
    protected override bool PredictsSemantic => Branch.SemanticClasses is not null;

    /// <summary>
    /// A new MaskLab model (random weights, eval mode): the detector of <paramref name="architecture"/> (its model
    /// type must be <see cref="ModelArchitecture.MaskLabType"/>) with <paramref name="settings"/>, and the branches
    /// <paramref name="options"/> switch on. Made in torchvision's order (backbone, RPN, box head and predictor), then
    /// the box pooler and MaskLab's branches.
    /// </summary>
    /// <exception cref="ArgumentException">The architecture is not MaskLab's, or a setting is out of range.</exception>
    public static MaskLabModel Create(ModelArchitecture architecture, RcnnOptions settings, MaskLabOptions options)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(options);
        if (architecture.ModelType != ModelArchitecture.MaskLabType)
            throw new ArgumentException($"MaskLabModel.Create: the architecture's model type is '{architecture.ModelType}', not '{ModelArchitecture.MaskLabType}'", nameof(architecture));
        var (backbone, rpn, boxHead, boxPredictor, transform, built) = architecture.BuildDetector(settings);
        long channels = backbone.OutChannels;
        IRoiPool boxPool = options.DeformableCrop ? new DeformableCropPool(channels) : new MultiScaleRoiAlign(7, 2);
        var roiHeads = new RoiHeads(boxPool, boxHead, boxPredictor, built.ToRoiHeadsSettings());
        var branch = new MaskLabBranch(channels, architecture.NumClasses, options.Semantic, options.Direction, options.Refinement,
            options.CropSize, options.LogitStride, new DirectionCoding(options.Directions, options.DistanceBins),
            options.SemanticClasses, options.ThingSemanticLabels);
        return new MaskLabModel(backbone, rpn, roiHeads, transform, built, branch);
    }

    /// <summary>Box detections, then the mask of every detection from MaskLab's branch (probabilities, CropSize² per box).</summary>
    protected override IReadOnlyList<DetectionTensors> DetectInstances(Tensor[] pooled, Tensor[] proposals, IReadOnlyList<(int Height, int Width)> imageSizes)
    {
        var detections = RoiHeads.Forward(pooled, proposals, imageSizes);
        using var scope = DisposeScope.Enter();
        var counts = detections.Select(d => (long)d.Count).ToArray();
        int size = Branch.CropSize;
        Tensor probabilities;
        if (counts.Sum() == 0)
            probabilities = Tensor.Zeros(new long[] { 0, 1, size, size }, pooled[0].DType, pooled[0].Device);
        else
        {
            var rois = VisionOps.BoxesToRois(detections.Select(d => d.Boxes.To(pooled[0].DType)).ToArray());
            var labels = Tensor.Cat(detections.Select(d => d.Labels).ToArray(), 0);
            probabilities = Branch.MaskLogits(pooled, Branch.Logits(pooled), rois, labels).Sigmoid();
        }
        var perImage = probabilities.Split(counts, 0);
        return detections.Select((d, i) => d with { Masks = scope.MoveToOuter(perImage[i]) }).ToArray();
    }

    /// <summary>The box branch's losses (classifier, box regression) and MaskLab's: mask, semantic, direction.</summary>
    protected override (RoiHeadsLosses Heads, IReadOnlyDictionary<string, Tensor>? Extra) ComputeHeadLosses(
        Tensor[] pooled, Tensor[] proposals, ImageList batch, RcnnTarget[] targets)
    {
        var heads = RoiHeads.ComputeLosses(pooled, proposals, batch.ImageSizes, targets);
        var (mask, others) = Branch.Losses(pooled, batch, targets, RoiHeads.Settings.HeadPositivesPerImage);
        return (heads with { Mask = mask }, others);
    }

    /// <summary>The R-CNN section (type "masklab") and a "masklab" object with the branch's switches and sizes.</summary>
    protected override void WriteConfig(Utf8JsonWriter writer)
    {
        base.WriteConfig(writer);
        writer.WriteStartObject(MaskLabConfig.SectionName);
        MaskLabConfig.Write(writer, MaskLabConfig.Of(this));
        writer.WriteEndObject();
    }
}
