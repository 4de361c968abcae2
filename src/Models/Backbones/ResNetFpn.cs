using MLNetSeg.Torch;

namespace MLNetSeg.Models.Backbones;

/// <summary>
/// ResNet/ResNeXt + FPN detection backbones, built as torchvision 0.14 builds them
/// (resnet_fpn_backbone / _resnet_fpn_extractor; the "v2" recipe of maskrcnn_resnet50_fpn_v2).
/// </summary>
public static class ResNetFpn
{
    /// <summary>FPN channels of every torchvision detection recipe.</summary>
    public const long OutChannels = 256;

    /// <summary>
    /// A ResNet + FPN backbone.
    /// <list type="bullet">
    /// <item><paramref name="fpnVersion"/> 1 (resnet_fpn_backbone, Mask R-CNN v1): FrozenBatchNorm2d
    /// (eps <paramref name="frozenBatchNormEps"/>) in the ResNet, FPN convs with biases and no norm.</item>
    /// <item><paramref name="fpnVersion"/> 2 (maskrcnn_resnet50_fpn_v2): BatchNorm2d in the ResNet
    /// (torchvision's plain resnet50) and in the FPN (its convs without bias).</item>
    /// </list>
    /// </summary>
    /// <param name="depth">The ResNet variant.</param>
    /// <param name="trainableLayers">0..5: how many of layer4, layer3, layer2, layer1, conv1 (and
    /// bn1 at 5) keep requires_grad; the others are frozen. torchvision's default is 3.</param>
    /// <param name="fpnVersion">1 or 2, the recipe described above.</param>
    /// <param name="returnedLayers">ResNet stages (1..4, increasing) fed to the FPN; default all four.</param>
    /// <param name="extraBlocks">Levels after the FPN; default <see cref="LastLevelMaxPool"/> ("pool").</param>
    /// <param name="frozenBatchNormEps">FrozenBatchNorm2d eps of version 1: torchvision's 1e-5, or 0 for
    /// its legacy COCO_V1 Mask R-CNN weights.</param>
    /// <param name="baseWidth">The ResNet's stem/layer1 channels (<see cref="ResNetSpec.BaseWidth"/>; torchvision's 64).</param>
    /// <param name="fpnChannels">FPN output channels (torchvision's <see cref="OutChannels"/>).</param>
    /// <param name="dilateLastStage">layer4 dilated instead of strided (C5 at stride 16; <see cref="ResNetSpec.DilateLastStage"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fpnVersion"/> is not 1 or 2, or <paramref name="trainableLayers"/> is outside 0..5.</exception>
    /// <exception cref="ArgumentException"><paramref name="returnedLayers"/> is empty, outside 1..4 or not increasing.</exception>
    public static BackboneWithFpn Create(ResNetDepth depth, int trainableLayers = 3, int fpnVersion = 1,
        IReadOnlyList<int>? returnedLayers = null, ExtraFpnBlock? extraBlocks = null, double frozenBatchNormEps = 1e-5,
        int baseWidth = 64, long fpnChannels = OutChannels, bool dilateLastStage = false)
    {
        var (bodyNorm, fpnNorm) = fpnVersion switch
        {
            1 => (NormLayers.FrozenBatchNorm(frozenBatchNormEps), (NormLayer?)null),
            2 => (NormLayers.BatchNorm(), NormLayers.BatchNorm()),
            _ => throw new ArgumentOutOfRangeException(nameof(fpnVersion), fpnVersion, "the FPN recipe is 1 (torchvision v1) or 2 (v2, BatchNorm)"),
        };
        CheckTrainableLayers(trainableLayers);
        CheckReturnedLayers(returnedLayers);  // before building: a refused argument leaves nothing to dispose
        var spec = ResNetSpec.For(depth) with { BaseWidth = baseWidth, DilateLastStage = dilateLastStage };
        return FromResNet(new ResNet(spec, bodyNorm), trainableLayers, returnedLayers, extraBlocks, fpnNorm, fpnChannels);
    }

    /// <summary>ResNet-18 + FPN: <see cref="Create"/> with the other arguments at their defaults.</summary>
    /// <param name="trainableLayers">How many of the last stages keep requires_grad (0..5).</param>
    /// <param name="fpnVersion">1 (FrozenBatchNorm2d, torchvision's resnet_fpn_backbone) or 2 (BatchNorm2d, the v2 recipe).</param>
    public static BackboneWithFpn ResNet18(int trainableLayers = 3, int fpnVersion = 1) => Create(ResNetDepth.ResNet18, trainableLayers, fpnVersion);

    /// <summary>ResNet-34 + FPN: <see cref="Create"/> with the other arguments at their defaults.</summary>
    /// <param name="trainableLayers">How many of the last stages keep requires_grad (0..5).</param>
    /// <param name="fpnVersion">1 (FrozenBatchNorm2d, torchvision's resnet_fpn_backbone) or 2 (BatchNorm2d, the v2 recipe).</param>
    public static BackboneWithFpn ResNet34(int trainableLayers = 3, int fpnVersion = 1) => Create(ResNetDepth.ResNet34, trainableLayers, fpnVersion);

    /// <summary>ResNet-50 (the backbone of maskrcnn_resnet50_fpn) + FPN: <see cref="Create"/> with the other arguments at their defaults.</summary>
    /// <param name="trainableLayers">How many of the last stages keep requires_grad (0..5).</param>
    /// <param name="fpnVersion">1 (FrozenBatchNorm2d, torchvision's resnet_fpn_backbone) or 2 (BatchNorm2d, the v2 recipe).</param>
    public static BackboneWithFpn ResNet50(int trainableLayers = 3, int fpnVersion = 1) => Create(ResNetDepth.ResNet50, trainableLayers, fpnVersion);

    /// <summary>ResNet-101 + FPN: <see cref="Create"/> with the other arguments at their defaults.</summary>
    /// <param name="trainableLayers">How many of the last stages keep requires_grad (0..5).</param>
    /// <param name="fpnVersion">1 (FrozenBatchNorm2d, torchvision's resnet_fpn_backbone) or 2 (BatchNorm2d, the v2 recipe).</param>
    public static BackboneWithFpn ResNet101(int trainableLayers = 3, int fpnVersion = 1) => Create(ResNetDepth.ResNet101, trainableLayers, fpnVersion);

    /// <summary>ResNeXt-101 32×8d + FPN: <see cref="Create"/> with the other arguments at their defaults.</summary>
    /// <param name="trainableLayers">How many of the last stages keep requires_grad (0..5).</param>
    /// <param name="fpnVersion">1 (FrozenBatchNorm2d, torchvision's resnet_fpn_backbone) or 2 (BatchNorm2d, the v2 recipe).</param>
    public static BackboneWithFpn ResNeXt101_32x8d(int trainableLayers = 3, int fpnVersion = 1) =>
        Create(ResNetDepth.ResNeXt101_32x8d, trainableLayers, fpnVersion);

    /// <summary>
    /// torchvision's _resnet_fpn_extractor: freezes the ResNet's parameters outside the
    /// <paramref name="trainableLayers"/> last stages (requires_grad false; buffers are untouched),
    /// takes stages <paramref name="returnedLayers"/> (named "0", "1", ... in order) and puts an FPN
    /// (<paramref name="fpnChannels"/> channels, norm <paramref name="fpnNorm"/>) on them. Takes
    /// ownership of <paramref name="resnet"/> (see <see cref="IntermediateLayerGetter"/>), also
    /// when it throws: a refused argument disposes it.
    /// </summary>
    public static BackboneWithFpn FromResNet(ResNet resnet, int trainableLayers, IReadOnlyList<int>? returnedLayers = null,
        ExtraFpnBlock? extraBlocks = null, NormLayer? fpnNorm = null, long fpnChannels = OutChannels)
    {
        ArgumentNullException.ThrowIfNull(resnet);
        FeaturePyramidNetwork? fpn = null;
        try
        {
            CheckTrainableLayers(trainableLayers);
            returnedLayers = CheckReturnedLayers(returnedLayers);
            FreezeLayers(resnet, trainableLayers);
            var body = new IntermediateLayerGetter(resnet, returnedLayers.Select((stage, i) => ($"layer{stage}", i.ToString())).ToList());
            fpn = new FeaturePyramidNetwork(returnedLayers.Select(resnet.Spec.StageChannels).ToList(), fpnChannels,
                extraBlocks ?? new LastLevelMaxPool(), fpnNorm);
            return new BackboneWithFpn(body, fpn);
        }
        catch
        {
            // The ResNet is ours since the call (and what we built from it): nobody else would free their tensors.
            fpn?.Dispose();
            resnet.Dispose();
            throw;
        }
    }

    /// <summary>The returned stages (default all four), checked: each in [1,4], strictly increasing.</summary>
    private static IReadOnlyList<int> CheckReturnedLayers(IReadOnlyList<int>? returnedLayers)
    {
        returnedLayers ??= new[] { 1, 2, 3, 4 };
        if (returnedLayers.Count == 0 || returnedLayers.Any(l => l is < 1 or > 4))
            throw new ArgumentException($"Each returned layer should be in the range [1,4]. Got [{string.Join(", ", returnedLayers)}]", nameof(returnedLayers));
        if (returnedLayers.Zip(returnedLayers.Skip(1)).Any(p => p.First >= p.Second))
            throw new ArgumentException($"returned layers must be strictly increasing, got [{string.Join(", ", returnedLayers)}]", nameof(returnedLayers));
        return returnedLayers;
    }

    /// <summary>
    /// Sets requires_grad false on every ResNet parameter whose name does not start with one of
    /// the last <paramref name="trainableLayers"/> of ["layer4", "layer3", "layer2", "layer1", "conv1"]
    /// (plus "bn1" at 5), exactly as torchvision does: the FrozenBatchNorm2d statistics are
    /// buffers and stay as they are; a BatchNorm2d of a frozen stage keeps updating its running
    /// statistics in training mode, as in torchvision.
    /// </summary>
    public static void FreezeLayers(ResNet resnet, int trainableLayers)
    {
        CheckTrainableLayers(trainableLayers);
        var train = new[] { "layer4", "layer3", "layer2", "layer1", "conv1" }.Take(trainableLayers).ToList();
        if (trainableLayers == 5) train.Add("bn1");
        foreach (var (name, parameter) in resnet.NamedParameters())
            if (!train.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal)))
                parameter.RequiresGrad = false;
    }

    private static void CheckTrainableLayers(int trainableLayers)
    {
        if (trainableLayers is < 0 or > 5)
            throw new ArgumentOutOfRangeException(nameof(trainableLayers), trainableLayers, $"Trainable layers should be in the range [0,5], got {trainableLayers}");
    }
}
