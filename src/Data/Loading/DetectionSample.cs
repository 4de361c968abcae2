using MLNetSeg.Torch;

namespace MLNetSeg.Data.Loading;

/// <summary>
/// One training example on its way through the transforms: the image as a float32 [C, H, W]
/// tensor (values in [0, 1], as torchvision's <c>ConvertImageDtype(torch.float)</c> leaves them;
/// the model's own transform normalises and resizes) and its <see cref="DetectionTarget"/> in the
/// same pixel coordinates.
/// </summary>
/// <remarks>
/// Ownership: a sample does not own <see cref="Image"/>. Tensors follow the engine's rules: they
/// belong to the <see cref="DisposeScope"/> open when they were made (or to whoever made them
/// outside any scope). Wrap standalone use of <see cref="DetectionDataset.Get"/> and the transforms
/// in a <c>DisposeScope</c>; the <see cref="DataLoader"/> does this per sample itself.
/// </remarks>
public sealed class DetectionSample
{
    /// <summary>Creates a sample, checking that the image is a float32 [C, H, W] tensor and that the masks have its size.</summary>
    /// <param name="datasetIndex">Position in the <see cref="DetectionDataset"/>.</param>
    /// <param name="imageId">COCO image id.</param>
    /// <param name="imagePath">The image file, for messages.</param>
    /// <param name="originalSize">Size of the image as stored, before any transform.</param>
    /// <param name="image">Float32 [C, H, W] image with values in [0, 1]; not owned by the sample.</param>
    /// <param name="target">The ground truth in the pixel coordinates of <paramref name="image"/>.</param>
    /// <exception cref="ArgumentException">The image is not float32 [C, H, W], or the masks' size differs from the image's.</exception>
    public DetectionSample(int datasetIndex, long imageId, string imagePath, ImageSize originalSize, Tensor image, DetectionTarget target)
    {
        ArgumentNullException.ThrowIfNull(imagePath);
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(target);
        DatasetIndex = datasetIndex;
        ImageId = imageId;
        ImagePath = imagePath;
        OriginalSize = originalSize;
        Size = CheckImage(image, target);
        Image = image;
        Target = target;
    }

    /// <summary>Position in the <see cref="DetectionDataset"/> (the key of the sample's random stream).</summary>
    public int DatasetIndex { get; }

    /// <summary>COCO image id (<see cref="Coco.CocoImage.Id"/>).</summary>
    public long ImageId { get; }

    /// <summary>The image file the sample was read from (for messages).</summary>
    public string ImagePath { get; }

    /// <summary>Size of the image as stored, before any transform.</summary>
    public ImageSize OriginalSize { get; }

    /// <summary>Current size of <see cref="Image"/>.</summary>
    public ImageSize Size { get; }

    /// <summary>float32 [C, H, W] (C = 3, RGB).</summary>
    public Tensor Image { get; }

    /// <summary>The ground truth, in the coordinates of <see cref="Image"/>.</summary>
    public DetectionTarget Target { get; }

    /// <summary>The same sample with a new image and target (sizes are checked again).</summary>
    public DetectionSample With(Tensor image, DetectionTarget target) =>
        new(DatasetIndex, ImageId, ImagePath, OriginalSize, image, target);

    /// <summary>"sample 3 (image 42, /data/x.jpg)", for messages.</summary>
    public string Describe() => $"sample {DatasetIndex} (image {ImageId}, {ImagePath})";

    /// <inheritdoc/>
    public override string ToString() => $"DetectionSample {Describe()}, {Size}, {Target}";

    private ImageSize CheckImage(Tensor image, DetectionTarget target)
    {
        var shape = image.Shape;
        if (shape.Length != 3)
            throw new ArgumentException($"{Describe()}: the image must be a [C, H, W] tensor, got shape [{string.Join(", ", shape)}]", nameof(image));
        if (image.DType != DType.Float32)
            throw new ArgumentException($"{Describe()}: the image must be float32, got {image.DType}", nameof(image));
        var size = new ImageSize(checked((int)shape[1]), checked((int)shape[2]));
        if (target.Masks is { Count: > 0 } masks && (masks[0].Height != size.Height || masks[0].Width != size.Width))
            throw new ArgumentException(
                $"{Describe()}: the masks are {masks[0].Height}x{masks[0].Width} but the image is {size}", nameof(target));
        if (target.Semantic is { } semantic && (semantic.Height != size.Height || semantic.Width != size.Width))
            throw new ArgumentException(
                $"{Describe()}: the semantic map is {semantic.Height}x{semantic.Width} but the image is {size}", nameof(target));
        return size;
    }
}
