using MLNetSeg.Torch;

namespace MLNetSeg.Vision.Imaging;

/// <summary>
/// How pixels become model input: optional RGB→BGR swap, optional /255, then (x − mean) / std
/// per channel, all in float32.
/// </summary>
/// <param name="Mean">Per-channel mean, in the scale the pixels have after <paramref name="ScaleTo01"/>.</param>
/// <param name="Std">Per-channel standard deviation.</param>
/// <param name="ScaleTo01">Divide by 255 first (torchvision) or keep 0–255 (detectron2).</param>
/// <param name="Bgr">Reverse the channel order (detectron2 models are trained on BGR).</param>
public sealed record ImageNormalization(double[] Mean, double[] Std, bool ScaleTo01 = true, bool Bgr = false)
{
    /// <summary>torchvision detection/classification: RGB /255, ImageNet mean and std.</summary>
    public static ImageNormalization Torchvision { get; } = new([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);

    /// <summary>detectron2's default: BGR 0–255, mean (103.530, 116.280, 123.675), std 1.</summary>
    public static ImageNormalization Detectron2 { get; } = new([103.530, 116.280, 123.675], [1.0, 1.0, 1.0], ScaleTo01: false, Bgr: true);
}

/// <summary>Images to float tensors, and padded batches of them.</summary>
public static class ImageTensors
{
    private static readonly Op PermuteOp = new("permute"), FlipOp = new("flip"), ConstantPadOp = new("constant_pad_nd"),
        StackOp = new("stack");

    /// <summary>
    /// The image as a float32 [C, H, W] tensor, normalised as torchvision's
    /// <c>normalize(to_tensor(img), mean, std)</c> does (same libtorch kernels, same order:
    /// uint8 → float → ÷255 → −mean → ÷std), so the values match torchvision bit for bit.
    /// The uint8 pixels are moved to <paramref name="device"/> before the conversion.
    /// </summary>
    public static Tensor ToTensor(this Image image, double[] mean, double[] std, Device? device = null) =>
        ToTensor(image, new ImageNormalization(mean, std), device);

    /// <summary>
    /// The image as a float32 [C, H, W] tensor normalised by <paramref name="normalization"/>: channels reversed when
    /// <see cref="ImageNormalization.Bgr"/>, ÷255 when <see cref="ImageNormalization.ScaleTo01"/>, then (x − mean) ÷ std,
    /// computed on <paramref name="device"/> (CPU when null).
    /// </summary>
    /// <param name="image">The image; its channel count must match the normalisation's.</param>
    /// <param name="normalization">Per-channel mean and std and the channel order and scale, e.g. <see cref="ImageNormalization.Torchvision"/>.</param>
    /// <param name="device">Where the tensor is made; CPU when null.</param>
    /// <exception cref="ArgumentException">The number of means or stds differs from the image's channels, or a std is 0.</exception>
    public static Tensor ToTensor(this Image image, ImageNormalization normalization, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(normalization);
        int c = image.Channels;
        if (normalization.Mean.Length != c || normalization.Std.Length != c)
            throw new ArgumentException($"normalisation has {normalization.Mean.Length} means and {normalization.Std.Length} stds for a {c}-channel image");
        if (normalization.Std.Any(s => s == 0)) throw new ArgumentException("a normalisation std is 0");
        var dev = device ?? Device.Cpu;
        using var scope = DisposeScope.Enter();
        var hwc = Tensor.FromArray(image.PixelArray, new long[] { image.Height, image.Width, c }, dev);
        var chw = PermuteOp.Invoke(hwc, new long[] { 2, 0, 1 });
        if (normalization.Bgr) chw = FlipOp.Invoke(chw, new long[] { 0 });
        var x = chw.Contiguous().To(DType.Float32);
        if (normalization.ScaleTo01) x = x.Div(255.0);
        var m = Tensor.FromArray(normalization.Mean.Select(v => (float)v).ToArray(), new long[] { c, 1, 1 }, dev);
        var s = Tensor.FromArray(normalization.Std.Select(v => (float)v).ToArray(), new long[] { c, 1, 1 }, dev);
        var result = x.Sub(m).Div(s);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Stacks [C, H, W] tensors into one zero-padded [N, C, H', W'] batch, the way torchvision's
    /// GeneralizedRCNNTransform.batch_images does: H', W' are the largest height and width rounded
    /// up to a multiple of <paramref name="sizeDivisible"/>; each image sits in the top-left corner.
    /// </summary>
    public static Tensor Batch(IReadOnlyList<Tensor> images, int sizeDivisible = 32, double padValue = 0)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) throw new ArgumentException("cannot batch zero images", nameof(images));
        if (sizeDivisible < 1) throw new ArgumentOutOfRangeException(nameof(sizeDivisible), $"must be at least 1, got {sizeDivisible}");
        long channels = -1, maxH = 0, maxW = 0;
        for (int i = 0; i < images.Count; i++)
        {
            var shape = images[i].Shape;
            if (shape.Length != 3) throw new ArgumentException($"image {i} has shape [{string.Join(", ", shape)}], expected [C, H, W]", nameof(images));
            if (channels >= 0 && shape[0] != channels)
                throw new ArgumentException($"image {i} has {shape[0]} channels, image 0 has {channels}", nameof(images));
            channels = shape[0];
            maxH = Math.Max(maxH, shape[1]);
            maxW = Math.Max(maxW, shape[2]);
        }
        long h = RoundUp(maxH, sizeDivisible), w = RoundUp(maxW, sizeDivisible);
        using var scope = DisposeScope.Enter();
        var padded = new Tensor?[images.Count];
        for (int i = 0; i < images.Count; i++)
        {
            var shape = images[i].Shape;
            // constant_pad_nd takes (left, right) pairs starting from the last dimension.
            padded[i] = ConstantPadOp.Invoke(images[i], new long[] { 0, w - shape[2], 0, h - shape[1] }, padValue);
        }
        return StackOp.Invoke(padded, 0L).MoveToOuterDisposeScope();
    }

    private static long RoundUp(long value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
