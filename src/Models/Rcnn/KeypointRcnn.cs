using MLNetSeg.Models.Backbones;

namespace MLNetSeg.Models.Rcnn;

/// <summary>
/// Keypoint R-CNN (He et al. 2017, §5) as torchvision 0.14 builds it: ResNet-50-FPN, RPN, box
/// branch and keypoint branch (RoIAlign 14×14, 8 × conv 512, 4×4 transposed conv and ×2 bilinear
/// upsampling to 56×56 heatmaps, one per keypoint). <see cref="ResNet50Fpn"/> has the state-dict names
/// and shapes of keypointrcnn_resnet50_fpn.
/// </summary>
public sealed class KeypointRcnn : GeneralizedRcnn
{
    /// <summary>Background and person.</summary>
    public const int DefaultNumClasses = 2;

    /// <summary>Assembles a Keypoint R-CNN from its parts; <see cref="ResNet50Fpn"/> and <see cref="ModelArchitecture.Build"/> do it for the recipes.</summary>
    /// <param name="backbone">ResNet + FPN.</param>
    /// <param name="rpn">The region proposal network.</param>
    /// <param name="roiHeads">The box and keypoint branches, with their RoI poolers.</param>
    /// <param name="transform">Normalisation, resizing and batching, made from <paramref name="options"/> (<see cref="GeneralizedRcnn.CreateTransform"/>).</param>
    /// <param name="options">The settings the parts were made with.</param>
    /// <exception cref="ArgumentException"><paramref name="roiHeads"/> has no keypoint branch, the transform does not match the options,
    /// or an option is out of range.</exception>
    public KeypointRcnn(BackboneWithFpn backbone, RegionProposalNetwork rpn, RoiHeads roiHeads, GeneralizedRcnnTransform transform, RcnnOptions options)
        : base(backbone, rpn, roiHeads, transform, options)
    {
        if (!roiHeads.HasKeypoint) throw new ArgumentException("KeypointRcnn: the RoI heads have no keypoint branch", nameof(roiHeads));
    }

    /// <summary>Keypoints per instance.</summary>
    public int NumKeypoints => RoiHeads.KeypointPredictor!.NumKeypoints;

    /// <summary>keypointrcnn_resnet50_fpn: FrozenBatchNorm2d ResNet-50 (eps <see cref="RcnnOptions.FrozenBatchNormEps"/>),
    /// FPN without norm, one-conv RPN head, TwoMLPHead, keypoint head. Classes default to 2; built by
    /// <see cref="ModelArchitecture.Build"/> at torchvision's widths.</summary>
    /// <param name="options">Sizes, thresholds and the keypoint count (17 by default); null for the defaults.</param>
    public static KeypointRcnn ResNet50Fpn(RcnnOptions? options = null)
    {
        options ??= new RcnnOptions();
        options.Validate(nameof(KeypointRcnn));
        var architecture = new ModelArchitecture
        {
            ModelType = ModelArchitecture.KeypointRcnnType,
            Version = 1,
            Backbone = ResNetDepth.ResNet50,
            FpnVersion = 1,
            NumClasses = options.NumClasses ?? DefaultNumClasses,
            NumKeypoints = options.NumKeypoints,
            Widths = DetectorWidths.Torchvision,
        };
        return (KeypointRcnn)architecture.Build(options);
    }
}
