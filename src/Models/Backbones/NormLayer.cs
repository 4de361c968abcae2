using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Backbones;

/// <summary>Creates the normalisation layer for <paramref name="channels"/> channels
/// (torchvision's <c>norm_layer</c> callables).</summary>
public delegate Module<Tensor, Tensor> NormLayer(long channels);

/// <summary>The normalisation layers torchvision's detection backbones use.</summary>
public static class NormLayers
{
    /// <summary>FrozenBatchNorm2d (torchvision.ops.misc): the detection default. eps 1e-5, except
    /// torchvision's legacy COCO_V1 Mask R-CNN weights, which were trained with eps 0.</summary>
    public static NormLayer FrozenBatchNorm(double eps = 1e-5) => channels => new FrozenBatchNorm2d(channels, eps);

    /// <summary>nn.BatchNorm2d with PyTorch's defaults (the "v2" detection models use it in the
    /// ResNet body and in the FPN).</summary>
    public static NormLayer BatchNorm(double eps = 1e-5, double? momentum = 0.1) => channels => new BatchNorm2d(channels, eps, momentum);
}
