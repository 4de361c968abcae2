using MLNetSeg.Models.Backbones;

namespace MLNetSeg.Models.Rcnn;

/// <summary>
/// Mask R-CNN (He et al. 2017) as torchvision 0.14 builds it: ResNet-50-FPN backbone, RPN, box
/// branch and mask branch (RoIAlign 14×14, 4 × conv 256, 2× transposed conv, per-class 28×28
/// mask logits). <see cref="ResNet50Fpn"/> and <see cref="ResNet50FpnV2"/> have exactly the state-dict
/// names and shapes of maskrcnn_resnet50_fpn and maskrcnn_resnet50_fpn_v2, so torchvision
/// checkpoints load directly (<see cref="GeneralizedRcnn.LoadWeights"/>).
/// </summary>
public sealed class MaskRcnn : GeneralizedRcnn
{
    /// <summary>Classes when <see cref="RcnnOptions.NumClasses"/> is null: 91, torchvision's COCO layout (background + category ids 1..90,
    /// some unused), which its checkpoints have.</summary>
    public const int DefaultNumClasses = 91;

    /// <summary>Assembles a Mask R-CNN from its parts; <see cref="ResNet50Fpn"/>, <see cref="ResNet50FpnV2"/> and
    /// <see cref="ModelArchitecture.Build"/> do it for the recipes.</summary>
    /// <param name="backbone">ResNet + FPN.</param>
    /// <param name="rpn">The region proposal network.</param>
    /// <param name="roiHeads">The box and mask branches, with their RoI poolers.</param>
    /// <param name="transform">Normalisation, resizing and batching, made from <paramref name="options"/> (<see cref="GeneralizedRcnn.CreateTransform"/>).</param>
    /// <param name="options">The settings the parts were made with.</param>
    /// <exception cref="ArgumentException"><paramref name="roiHeads"/> has no mask branch, the transform does not match the options,
    /// or an option is out of range.</exception>
    public MaskRcnn(BackboneWithFpn backbone, RegionProposalNetwork rpn, RoiHeads roiHeads, GeneralizedRcnnTransform transform, RcnnOptions options)
        : base(backbone, rpn, roiHeads, transform, options)
    {
        if (!roiHeads.HasMask) throw new ArgumentException("MaskRcnn: the RoI heads have no mask branch", nameof(roiHeads));
    }

    /// <summary>maskrcnn_resnet50_fpn: FrozenBatchNorm2d ResNet-50 (eps <see cref="RcnnOptions.FrozenBatchNormEps"/>),
    /// FPN without norm, one-conv RPN head, TwoMLPHead, mask head without norm.</summary>
    /// <param name="options">Sizes, thresholds and the class count (91 by default); null for the defaults.</param>
    public static MaskRcnn ResNet50Fpn(RcnnOptions? options = null) => Create(options, version: 1);

    /// <summary>maskrcnn_resnet50_fpn_v2 (Li et al. 2021 recipe): BatchNorm2d ResNet-50 and FPN, two-conv
    /// RPN head, 4-conv + FC box head and mask head with BatchNorm.</summary>
    /// <param name="options">Sizes, thresholds and the class count (91 by default); null for the defaults.</param>
    public static MaskRcnn ResNet50FpnV2(RcnnOptions? options = null) => Create(options, version: 2);

    /// <summary>The torchvision recipe <paramref name="version"/> at torchvision's widths, built by <see cref="ModelArchitecture.Build"/>.</summary>
    private static MaskRcnn Create(RcnnOptions? options, int version)
    {
        options ??= new RcnnOptions();
        options.Validate(nameof(MaskRcnn));
        var architecture = new ModelArchitecture
        {
            ModelType = ModelArchitecture.MaskRcnnType,
            Version = version,
            Backbone = ResNetDepth.ResNet50,
            FpnVersion = version,
            NumClasses = options.NumClasses ?? DefaultNumClasses,
            Widths = DetectorWidths.Torchvision,
        };
        return (MaskRcnn)architecture.Build(options);
    }
}
