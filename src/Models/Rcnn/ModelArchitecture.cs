using MLNetSeg.Models.Backbones;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.Rcnn;

/// <summary>
/// What it takes to rebuild a torchvision-style R-CNN before its weights go in: the model type,
/// the torchvision recipe (<see cref="Version"/> 1 = maskrcnn_resnet50_fpn, 2 = the _v2 recipe:
/// two-conv RPN head, 4-conv + FC box head, BatchNorm in the mask head), the ResNet of the
/// backbone, its FPN recipe (1: FrozenBatchNorm body, plain FPN; 2: BatchNorm body and FPN), the
/// channel widths (<see cref="DetectorWidths"/>) and the head sizes. <see cref="Of"/> reads it off a
/// model; <see cref="Build"/> makes a new model from it (random weights). Build is the one place
/// where R-CNNs are put together: <see cref="MaskRcnn.ResNet50Fpn"/> and the other named recipes are
/// architectures at torchvision's widths built by it.
/// </summary>
public sealed record ModelArchitecture
{
    /// <summary>The <see cref="ModelType"/> of a <see cref="MaskRcnn"/>, as stored in model files ("maskrcnn").</summary>
    public const string MaskRcnnType = "maskrcnn";

    /// <summary>The <see cref="ModelType"/> of a <see cref="KeypointRcnn"/>, as stored in model files ("keypointrcnn").</summary>
    public const string KeypointRcnnType = "keypointrcnn";

    /// <summary>The <see cref="ModelType"/> of a MaskLab model (<see cref="MaskLab.MaskLabModel"/>), "masklab": the R-CNN
    /// detector without a mask branch, MaskLab's semantic, direction and refinement branches beside it.</summary>
    public const string MaskLabType = "masklab";

    /// <summary>The <see cref="ModelType"/> of a Panoptic FPN / IMP model (<see cref="Panoptic.PanopticModel"/>), "panoptic": Mask R-CNN
    /// with a semantic head (and the instance mask projection) beside it.</summary>
    public const string PanopticType = "panoptic";

    /// <summary><see cref="MaskRcnnType"/>, <see cref="KeypointRcnnType"/>, <see cref="MaskLabType"/> or <see cref="PanopticType"/>.</summary>
    public required string ModelType { get; init; }

    /// <summary>torchvision recipe of the RPN and RoI heads: 1 or 2.</summary>
    public int Version { get; init; } = 1;

    /// <summary>The ResNet of the backbone (torchvision's recipes: ResNet-50).</summary>
    public ResNetDepth Backbone { get; init; } = ResNetDepth.ResNet50;

    /// <summary>Atrous last stage (<see cref="ResNetSpec.DilateLastStage"/>): C5 at stride 16 instead of 32, so P5 and the pooled P6
    /// are at 16 and 32 (MaskLab's output-stride option, §3.4). Bottleneck ResNets only.</summary>
    public bool DilateLastStage { get; init; }

    /// <summary>1: FrozenBatchNorm ResNet and an FPN without norm; 2: BatchNorm in both.</summary>
    public int FpnVersion { get; init; } = 1;

    /// <summary>Classes including background.</summary>
    public required int NumClasses { get; init; }

    /// <summary>Keypoints per instance of a Keypoint R-CNN; null for Mask R-CNN.</summary>
    public int? NumKeypoints { get; init; }

    /// <summary>Channel widths of the backbone, FPN and heads (torchvision's unless a smaller model was asked for).
    /// The width of a branch the model does not have (a Mask R-CNN's keypoint head) plays no part: <see cref="Of"/>
    /// and model files record it as torchvision's.</summary>
    public DetectorWidths Widths { get; init; } = DetectorWidths.Torchvision;

    /// <summary>This architecture with the width of the branch it does not have set to torchvision's, as
    /// <see cref="Of"/> reports it: two architectures that build the same model compare equal this way.</summary>
    public ModelArchitecture WithoutUnusedWidths() => this with
    {
        Widths = ModelType switch
        {
            KeypointRcnnType => Widths with { MaskHead = DetectorWidths.Torchvision.MaskHead },
            MaskRcnnType or PanopticType => Widths with { KeypointHead = DetectorWidths.Torchvision.KeypointHead },
            _ => Widths with { MaskHead = DetectorWidths.Torchvision.MaskHead, KeypointHead = DetectorWidths.Torchvision.KeypointHead },
        },
    };

    /// <summary>The torchvision name of <see cref="Backbone"/> ("resnet50", "resnext101_32x8d").</summary>
    public string BackboneName => BackboneNames.First(b => b.Depth == Backbone).Name;

    /// <summary>The type name a model class is stored under (<see cref="MaskRcnn"/> → "maskrcnn"); null for
    /// <see cref="GeneralizedRcnn"/> itself, which stands for any.</summary>
    public static string? TypeNameOf(Type modelClass) =>
        modelClass == typeof(MaskRcnn) ? MaskRcnnType
        : modelClass == typeof(KeypointRcnn) ? KeypointRcnnType
        : modelClass == typeof(MaskLab.MaskLabModel) ? MaskLabType
        : modelClass == typeof(Panoptic.PanopticModel) ? PanopticType
        : modelClass == typeof(GeneralizedRcnn) ? null
        : throw new NotSupportedException($"model files hold MaskRcnn, KeypointRcnn, MaskLabModel or PanopticModel models, not {modelClass.Name}");

    /// <summary>The torchvision ResNet names, as <see cref="ResNetSpec.ParseDepth"/> reads them.</summary>
    internal static readonly (ResNetDepth Depth, string Name)[] BackboneNames =
    {
        (ResNetDepth.ResNet18, "resnet18"), (ResNetDepth.ResNet34, "resnet34"), (ResNetDepth.ResNet50, "resnet50"),
        (ResNetDepth.ResNet101, "resnet101"), (ResNetDepth.ResNet152, "resnet152"),
        (ResNetDepth.ResNeXt50_32x4d, "resnext50_32x4d"), (ResNetDepth.ResNeXt101_32x8d, "resnext101_32x8d"),
        (ResNetDepth.WideResNet50_2, "wide_resnet50_2"), (ResNetDepth.WideResNet101_2, "wide_resnet101_2"),
    };

    /// <summary>
    /// The architecture of <paramref name="model"/>, read from its modules: the class, the box head
    /// (TwoMLPHead → recipe 1, conv + FC head → 2), the ResNet's block layout and its stem norm
    /// (FrozenBatchNorm2d → FPN recipe 1, BatchNorm2d → 2), the predictors' sizes. Models put
    /// together by hand in other ways are caught by <see cref="ModelFile.Save"/>, which compares
    /// the model's state dict with the one <see cref="Build"/> makes.
    /// </summary>
    /// <exception cref="NotSupportedException">The model is not a <see cref="MaskRcnn"/> or <see cref="KeypointRcnn"/>, or its box head,
    /// ResNet or backbone norm is none of torchvision's.</exception>
    public static ModelArchitecture Of(GeneralizedRcnn model)
    {
        ArgumentNullException.ThrowIfNull(model);
        string type = TypeNameOf(model.GetType()) ?? throw new NotSupportedException("model files hold MaskRcnn, KeypointRcnn, MaskLabModel or PanopticModel models");
        int version = model.RoiHeads.BoxHead switch
        {
            TwoMlpHead => 1,
            FastRcnnConvFcHead => 2,
            var other => throw new NotSupportedException($"{model.GetType().Name}: box head {other.GetType().Name} is not a torchvision recipe's (TwoMlpHead or FastRcnnConvFcHead)"),
        };
        var resnet = model.Backbone.Body.Model;
        var depth = BackboneNames.Select(b => b.Depth).Cast<ResNetDepth?>()
                        .FirstOrDefault(d => SameSpec(ResNetSpec.For(d!.Value) with { BaseWidth = resnet.Spec.BaseWidth }, resnet.Spec))
            ?? throw new NotSupportedException($"{model.GetType().Name}: its ResNet ({resnet.Spec.Block}, layers [{string.Join(", ", resnet.Spec.Layers)}], " +
                                               $"{resnet.Spec.Groups}×{resnet.Spec.WidthPerGroup}) is none of torchvision's");
        int fpnVersion = resnet.Bn1 switch
        {
            FrozenBatchNorm2d => 1,
            BatchNorm2d => 2,
            var other => throw new NotSupportedException($"{model.GetType().Name}: backbone norm {other.GetType().Name} is neither FrozenBatchNorm2d (FPN recipe 1) nor BatchNorm2d (2)"),
        };
        return new ModelArchitecture
        {
            ModelType = type,
            Version = version,
            Backbone = depth,
            FpnVersion = fpnVersion,
            DilateLastStage = resnet.Spec.DilateLastStage,
            NumClasses = model.NumClasses,
            NumKeypoints = model is KeypointRcnn k ? k.NumKeypoints : null,
            Widths = new DetectorWidths
            {
                Backbone = resnet.Spec.BaseWidth,
                Fpn = (int)model.Backbone.OutChannels,
                BoxHead = (int)model.RoiHeads.BoxPredictor.ClsScore.InFeatures,
                MaskHead = model.RoiHeads.MaskHead is MaskRcnnHeads mask ? (int)mask.OutChannels : DetectorWidths.Torchvision.MaskHead,
                KeypointHead = model.RoiHeads.KeypointHead is KeypointRcnnHeads keypoint ? (int)keypoint.OutChannels : DetectorWidths.Torchvision.KeypointHead,
            },
        };
    }

    /// <summary>
    /// A new model of this architecture (weights initialised as torchvision initialises them, in
    /// eval mode) with <paramref name="options"/> for everything else; the options' class and
    /// keypoint counts are replaced by this architecture's. The parts are made in torchvision's
    /// order (backbone, RPN, box head and predictor, mask or keypoint head and predictor), so the
    /// same seed gives the same initial weights as torchvision's builders.
    /// </summary>
    /// <param name="options">Sizes, thresholds and sampling settings; null for <see cref="RcnnOptions"/>' defaults.</param>
    /// <exception cref="ArgumentException">The architecture or the options are out of range (see <see cref="Validate"/>), or
    /// <see cref="RcnnOptions.AnchorSizes"/> does not have one size per FPN level (5).</exception>
    public GeneralizedRcnn Build(RcnnOptions? options = null)
    {
        if (ModelType is MaskLabType or PanopticType)
            throw new NotSupportedException($"a {ModelType} model needs its own switches besides the architecture: build it with its family (MaskLabFamily, PanopticFamily)");
        var (backbone, rpn, boxHead, boxPredictor, transform, settings) = BuildDetector(options);
        options = settings;
        long channels = backbone.OutChannels;
        if (ModelType == MaskRcnnType)
            return new MaskRcnn(backbone, rpn, MaskRoiHeads(channels, boxHead, boxPredictor, options), transform, options);
        long keypoint = Widths.KeypointHead;
        // torchvision's poolers: 7×7 for the box branch, 14×14 for the mask and keypoint branches, sampling ratio 2.
        var keypointHeads = new RoiHeads(new MultiScaleRoiAlign(7, 2), boxHead, boxPredictor, options.ToRoiHeadsSettings(),
            keypointRoiPool: new MultiScaleRoiAlign(14, 2),
            keypointHead: new KeypointRcnnHeads(channels, Enumerable.Repeat(keypoint, 8).ToArray()),
            keypointPredictor: new KeypointRcnnPredictor(keypoint, options.NumKeypoints));
        return new KeypointRcnn(backbone, rpn, keypointHeads, transform, options);
    }

    /// <summary>Mask R-CNN's RoI heads over <paramref name="channels"/>-channel FPN levels: the box branch (7×7 pooler) and the mask
    /// branch (14×14 pooler, 4 convs of <see cref="DetectorWidths.MaskHead"/>, BatchNorm in recipe 2, the per-class predictor).</summary>
    internal RoiHeads MaskRoiHeads(long channels, Module<Tensor, Tensor> boxHead, FastRcnnPredictor boxPredictor, RcnnOptions options)
    {
        long width = Widths.MaskHead;
        return new RoiHeads(new MultiScaleRoiAlign(7, 2), boxHead, boxPredictor, options.ToRoiHeadsSettings(),
            maskRoiPool: new MultiScaleRoiAlign(14, 2),
            maskHead: new MaskRcnnHeads(channels, new[] { width, width, width, width }, dilation: 1, batchNorm: Version == 2),
            maskPredictor: new MaskRcnnPredictor(width, width, NumClasses));
    }

    /// <summary>
    /// The parts every R-CNN of this architecture shares, made in torchvision's order (backbone, RPN, box head
    /// and predictor): <see cref="Build"/> adds the box pooler and the model's own branch, as does MaskLab.
    /// </summary>
    /// <param name="options">Sizes, thresholds and sampling settings; null for <see cref="RcnnOptions"/>' defaults. The class and
    /// keypoint counts are replaced by this architecture's in the returned <c>Options</c>.</param>
    /// <exception cref="ArgumentException">The architecture or the options are out of range, or
    /// <see cref="RcnnOptions.AnchorSizes"/> does not have one size per FPN level (5).</exception>
    internal (BackboneWithFpn Backbone, RegionProposalNetwork Rpn, Module<Tensor, Tensor> BoxHead, FastRcnnPredictor BoxPredictor,
        GeneralizedRcnnTransform Transform, RcnnOptions Options) BuildDetector(RcnnOptions? options)
    {
        Validate();
        options = (options ?? new RcnnOptions()) with { NumClasses = NumClasses };
        if (NumKeypoints is { } k) options = options with { NumKeypoints = k };
        options.Validate(ModelType switch { MaskRcnnType => nameof(MaskRcnn), KeypointRcnnType => nameof(KeypointRcnn), PanopticType => "PanopticModel", _ => "MaskLabModel" });
        if (options.AnchorSizes.Count != 5)
            throw new ArgumentException($"RcnnOptions.AnchorSizes has {options.AnchorSizes.Count} sizes; the ResNet-FPN backbone has 5 levels (P2–P6), one size each");
        var backbone = ResNetFpn.Create(Backbone, options.TrainableBackboneLayers, FpnVersion, frozenBatchNormEps: options.FrozenBatchNormEps,
            baseWidth: Widths.Backbone, fpnChannels: Widths.Fpn, dilateLastStage: DilateLastStage);
        long channels = backbone.OutChannels;
        var rpn = GeneralizedRcnn.CreateRpn(channels, convDepth: Version, options);
        var boxHead = GeneralizedRcnn.CreateBoxHead(channels, Version, Widths.BoxHead);
        var boxPredictor = new FastRcnnPredictor(Widths.BoxHead, NumClasses);
        return (backbone, rpn, boxHead, boxPredictor, GeneralizedRcnn.CreateTransform(options), options);
    }

    /// <summary>Throws naming the first field out of range.</summary>
    /// <exception cref="ArgumentException">An unknown model type, version, FPN version or backbone, a width below 1, fewer than
    /// 2 classes, or keypoints that do not match the model type (<see cref="ArgumentOutOfRangeException"/> for the ranges).</exception>
    public void Validate()
    {
        if (ModelType is not (MaskRcnnType or KeypointRcnnType or MaskLabType or PanopticType))
            throw new ArgumentException($"model type '{ModelType}' is none of '{MaskRcnnType}', '{KeypointRcnnType}', '{MaskLabType}', '{PanopticType}'");
        if (Version is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(Version), Version, "the torchvision recipes are version 1 or 2");
        if (FpnVersion is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(FpnVersion), FpnVersion, "the FPN recipe is 1 or 2");
        if (!Enum.IsDefined(Backbone)) throw new ArgumentOutOfRangeException(nameof(Backbone), Backbone, "unknown ResNet");
        if (DilateLastStage && ResNetSpec.For(Backbone).Block == ResidualBlockKind.Basic)
            throw new ArgumentException($"{nameof(DilateLastStage)}: {BackboneName} is built of BasicBlocks, which do not dilate (torchvision); use a Bottleneck ResNet (ResNet-50 or deeper)");
        ArgumentNullException.ThrowIfNull(Widths, nameof(Widths));
        Widths.Validate();
        if (NumClasses < 2) throw new ArgumentOutOfRangeException(nameof(NumClasses), NumClasses, "background + at least one class");
        if (ModelType == KeypointRcnnType && NumKeypoints is not >= 1)
            throw new ArgumentOutOfRangeException(nameof(NumKeypoints), NumKeypoints, "a keypoint model needs at least one keypoint");
        if (ModelType != KeypointRcnnType && NumKeypoints is not null)
            throw new ArgumentException($"a {ModelType} model has no keypoints (NumKeypoints is {NumKeypoints})");
    }

    private static bool SameSpec(ResNetSpec a, ResNetSpec b) =>
        a.Block == b.Block && a.Layers.SequenceEqual(b.Layers) && a.Groups == b.Groups && a.WidthPerGroup == b.WidthPerGroup;
}
