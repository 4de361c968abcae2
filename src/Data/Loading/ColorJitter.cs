using MLNetSeg.Torch;

namespace MLNetSeg.Data.Loading;

/// <summary>
/// Random brightness, contrast and saturation changes, as torchvision's <c>ColorJitter</c>: each
/// enabled adjustment gets a factor drawn uniformly from [max(0, 1 − v), 1 + v] and the
/// adjustments run in a random order. Only the image changes. The adjustments themselves are
/// <see cref="ImageAdjust"/> (torchvision.transforms.functional on float images).
/// </summary>
/// <remarks>The draws come from the given <see cref="Random"/>: first the order (Fisher–Yates), then
/// one factor per enabled adjustment in the order brightness, contrast, saturation.</remarks>
public sealed class ColorJitter : IDetectionTransform
{
    /// <summary>Creates the jitter; with all three values 0 (the defaults) it returns samples unchanged.</summary>
    /// <param name="brightness">Brightness jitter v (0 disables it).</param>
    /// <param name="contrast">Contrast jitter v (0 disables it).</param>
    /// <param name="saturation">Saturation jitter v (0 disables it).</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is negative or not finite.</exception>
    public ColorJitter(double brightness = 0, double contrast = 0, double saturation = 0)
    {
        Brightness = CheckJitter(brightness, nameof(brightness));
        Contrast = CheckJitter(contrast, nameof(contrast));
        Saturation = CheckJitter(saturation, nameof(saturation));
    }

    /// <summary>Brightness jitter v: the factor is drawn from [max(0, 1 − v), 1 + v]; 0 means no brightness change.</summary>
    public double Brightness { get; }

    /// <summary>Contrast jitter v: the factor is drawn from [max(0, 1 − v), 1 + v]; 0 means no contrast change.</summary>
    public double Contrast { get; }

    /// <summary>Saturation jitter v: the factor is drawn from [max(0, 1 − v), 1 + v]; 0 means no saturation change.</summary>
    public double Saturation { get; }

    /// <inheritdoc/>
    public DetectionSample Apply(DetectionSample sample, Random random)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(random);
        var steps = new List<(ColorAdjustment Kind, double Jitter)>();
        if (Brightness > 0) steps.Add((ColorAdjustment.Brightness, Brightness));
        if (Contrast > 0) steps.Add((ColorAdjustment.Contrast, Contrast));
        if (Saturation > 0) steps.Add((ColorAdjustment.Saturation, Saturation));
        if (steps.Count == 0) return sample;
        var order = Enumerable.Range(0, steps.Count).ToArray();
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        var factors = steps.Select(s => Math.Max(0, 1 - s.Jitter) + random.NextDouble() * (1 + s.Jitter - Math.Max(0, 1 - s.Jitter))).ToArray();
        Tensor image;
        using (var scope = DisposeScope.Enter())
        {
            var x = sample.Image;
            foreach (int i in order) x = ImageAdjust.Apply(x, steps[i].Kind, factors[i]);
            image = x.MoveToOuterDisposeScope();
        }
        return sample.With(image, sample.Target);
    }

    private static double CheckJitter(double v, string name) =>
        v >= 0 && double.IsFinite(v) ? v : throw new ArgumentOutOfRangeException(name, $"jitter must be a finite non-negative number, got {v}");
}

/// <summary>What <see cref="ImageAdjust.Apply"/> changes.</summary>
public enum ColorAdjustment
{
    /// <summary><see cref="ImageAdjust.Brightness"/>.</summary>
    Brightness,

    /// <summary><see cref="ImageAdjust.Contrast"/>.</summary>
    Contrast,

    /// <summary><see cref="ImageAdjust.Saturation"/>.</summary>
    Saturation,
}

/// <summary>
/// torchvision.transforms.functional's colour adjustments for float [C, H, W] images in [0, 1]
/// (C = 1 or 3), computed with the same libtorch ops in the same order, so the results match
/// torchvision 0.14 bit for bit.
/// </summary>
public static class ImageAdjust
{
    /// <summary>Applies one adjustment: <see cref="Brightness"/>, <see cref="Contrast"/> or <see cref="Saturation"/>.</summary>
    /// <param name="image">Float32 or float64 [C, H, W] image in [0, 1], C = 1 or 3.</param>
    /// <param name="adjustment">Which adjustment.</param>
    /// <param name="factor">Non-negative factor: 1 leaves the image unchanged, 0 gives the blend target.</param>
    /// <returns>The adjusted image, same shape, clamped to [0, 1], in the caller's <c>DisposeScope</c> (saturation of a grey image returns the input itself).</returns>
    /// <exception cref="ArgumentException">The image is not a floating-point [C, H, W] tensor with 1 or 3 channels.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The factor is negative or NaN, or the adjustment is unknown.</exception>
    public static Tensor Apply(Tensor image, ColorAdjustment adjustment, double factor) => adjustment switch
    {
        ColorAdjustment.Brightness => Brightness(image, factor),
        ColorAdjustment.Contrast => Contrast(image, factor),
        ColorAdjustment.Saturation => Saturation(image, factor),
        _ => throw new ArgumentOutOfRangeException(nameof(adjustment), adjustment, "unknown adjustment"),
    };

    /// <summary><c>adjust_brightness</c>: blend with black.</summary>
    public static Tensor Brightness(Tensor image, double factor)
    {
        CheckFactor(factor);
        CheckChannels(image);
        using var scope = DisposeScope.Enter();
        return Blend(image, Tensor.ZerosLike(image), factor).MoveToOuterDisposeScope();
    }

    /// <summary><c>adjust_contrast</c>: blend with the mean grey level of the image.</summary>
    public static Tensor Contrast(Tensor image, double factor)
    {
        CheckFactor(factor);
        int c = CheckChannels(image);
        using var scope = DisposeScope.Enter();
        var grey = c == 3 ? Grayscale(image) : image;
        var mean = grey.Mean(new long[] { -3, -2, -1 }, keepDim: true);
        return Blend(image, mean, factor).MoveToOuterDisposeScope();
    }

    /// <summary><c>adjust_saturation</c>: blend with the grey version of the image (grey images are returned as they are).</summary>
    public static Tensor Saturation(Tensor image, double factor)
    {
        CheckFactor(factor);
        if (CheckChannels(image) == 1) return image;
        using var scope = DisposeScope.Enter();
        return Blend(image, Grayscale(image), factor).MoveToOuterDisposeScope();
    }

    /// <summary><c>rgb_to_grayscale</c>: 0.2989 R + 0.587 G + 0.114 B, as [1, H, W].</summary>
    public static Tensor RgbToGrayscale(Tensor image)
    {
        if (CheckChannels(image) != 3) throw new ArgumentException($"expected an RGB [3, H, W] image, got shape [{string.Join(", ", image.Shape)}]", nameof(image));
        using var scope = DisposeScope.Enter();
        return Grayscale(image).MoveToOuterDisposeScope();
    }

    private static Tensor Grayscale(Tensor image)
    {
        var r = image.Select(-3, 0);
        var g = image.Select(-3, 1);
        var b = image.Select(-3, 2);
        return r.Mul(0.2989).Add(g.Mul(0.587)).Add(b.Mul(0.114)).Unsqueeze(-3);
    }

    // _blend: (ratio * img1 + (1.0 - ratio) * img2).clamp(0, 1.0) for float images.
    private static Tensor Blend(Tensor image1, Tensor image2, double ratio) =>
        image1.Mul(ratio).Add(image2.Mul(1.0 - ratio)).Clamp(0.0, 1.0);

    private static void CheckFactor(double factor)
    {
        if (!(factor >= 0)) throw new ArgumentOutOfRangeException(nameof(factor), $"adjustment factor must be non-negative, got {factor}");
    }

    private static int CheckChannels(Tensor image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var shape = image.Shape;
        if (shape.Length != 3 || shape[0] is not (1 or 3))
            throw new ArgumentException($"expected a [C, H, W] image with 1 or 3 channels, got shape [{string.Join(", ", shape)}]", nameof(image));
        if (image.DType is not (DType.Float32 or DType.Float64))
            throw new ArgumentException($"expected a floating-point image in [0, 1], got {image.DType}", nameof(image));
        return (int)shape[0];
    }
}
