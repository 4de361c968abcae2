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

    public KeypointRcnn(BackboneWithFpn backbone, RegionProposalNetwork rpn, RoiHeads roiHeads, RcnnOptions options)
        : base(backbone, rpn, roiHeads, options)
    {
        if (!roiHeads.HasKeypoint) throw new ArgumentException("KeypointRcnn: the RoI heads have no keypoint branch", nameof(roiHeads));
    }

    /// <summary>Keypoints per instance.</summary>
    public int NumKeypoints => RoiHeads.KeypointPredictor!.NumKeypoints;

    /// <summary>keypointrcnn_resnet50_fpn: FrozenBatchNorm2d ResNet-50 (eps <see cref="RcnnOptions.FrozenBatchNormEps"/>),
    /// FPN without norm, one-conv RPN head, TwoMLPHead, keypoint head. Classes default to 2.</summary>
    public static KeypointRcnn ResNet50Fpn(RcnnOptions? options = null)
    {
        options ??= new RcnnOptions();
        options.Validate(nameof(KeypointRcnn));
        int numClasses = options.NumClasses ?? DefaultNumClasses;
        var backbone = ResNetFpn.Create(ResNetDepth.ResNet50, options.TrainableBackboneLayers, fpnVersion: 1,
            frozenBatchNormEps: options.FrozenBatchNormEps);
        long channels = backbone.OutChannels;
        var rpn = CreateRpn(channels, convDepth: 1, options);
        var roiHeads = new RoiHeads(CreateBoxHead(channels, 1), new FastRcnnPredictor(1024, numClasses), options.ToRoiHeadsSettings(),
            keypointHead: new KeypointRcnnHeads(channels, Enumerable.Repeat(512L, 8).ToArray()),
            keypointPredictor: new KeypointRcnnPredictor(512, options.NumKeypoints));
        return new KeypointRcnn(backbone, rpn, roiHeads, options);
    }
}
