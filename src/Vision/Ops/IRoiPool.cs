using MLNetSeg.Torch;

namespace MLNetSeg.Vision.Ops;

/// <summary>
/// Pools a fixed-size feature map for every box from a feature pyramid: what a detector's box branch
/// reads. <see cref="MultiScaleRoiAlign"/> is torchvision's; MaskLab's deformable crop and resize is another.
/// </summary>
public interface IRoiPool
{
    /// <summary>(height, width) of every pooled map.</summary>
    (int Height, int Width) OutputSize { get; }

    /// <summary>Pools every box from the level it belongs to.</summary>
    /// <param name="features">[N, C, H_l, W_l] per level, finest first.</param>
    /// <param name="boxes">[L_i, 4] per image, in image coordinates.</param>
    /// <param name="imageShapes">Each image's (height, width) before the backbone.</param>
    /// <returns>[ΣL_i, C, OutputSize.Height, OutputSize.Width].</returns>
    Tensor Forward(IReadOnlyList<Tensor> features, IReadOnlyList<Tensor> boxes, IReadOnlyList<(int Height, int Width)> imageShapes);
}
