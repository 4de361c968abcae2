using MLNetSeg.Torch;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Models;

/// <summary>The input convention of <see cref="ISegmentationModel"/>: images as [3, H, W] float32 RGB in [0, 1].</summary>
public static class ModelInput
{
    /// <summary>torchvision's to_tensor: RGB [3, H, W] float32 = pixel / 255 (grey images are expanded to RGB).</summary>
    public static Tensor FromImage(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var rgb = image.Channels == 3 ? image : image.ToRgb();
        return rgb.ToTensor(new ImageNormalization(new[] { 0.0, 0, 0 }, new[] { 1.0, 1, 1 }));
    }
}
