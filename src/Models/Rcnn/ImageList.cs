using MLNetSeg.Torch;

namespace MLNetSeg.Models.Rcnn;

/// <summary>
/// A padded batch of images and the size of each image inside it (torchvision's ImageList):
/// image i occupies the top-left <see cref="ImageSizes"/>[i] of <see cref="Tensors"/>.
/// </summary>
/// <param name="Tensors">[N, C, H, W], H and W multiples of the transform's size divisor.</param>
/// <param name="ImageSizes">(height, width) of each image after resizing, before padding.</param>
public sealed record ImageList(Tensor Tensors, IReadOnlyList<(int Height, int Width)> ImageSizes)
{
    /// <summary>Number of images, N.</summary>
    public int Count => ImageSizes.Count;

    /// <summary>Height of the padded batch.</summary>
    public long PaddedHeight => Tensors.Size(-2);

    /// <summary>Width of the padded batch.</summary>
    public long PaddedWidth => Tensors.Size(-1);
}
