using MLNetSeg.Torch;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Data.Loading;

/// <summary>
/// Turns the [0, 1] float image into model input: (x − mean) / std per channel, as torchvision's
/// <c>F.normalize</c> (float32 mean and std, subtract then divide). For detectron2-style
/// normalisations (<see cref="ImageNormalization.ScaleTo01"/> false, BGR) the image is first
/// multiplied by 255 and its channels reversed.
/// </summary>
public sealed class Normalize : IDetectionTransform
{
    public Normalize(ImageNormalization? normalization = null)
    {
        Normalization = normalization ?? ImageNormalization.Torchvision;
        if (Normalization.Mean.Length != Normalization.Std.Length)
            throw new ArgumentException($"{Normalization.Mean.Length} means but {Normalization.Std.Length} stds", nameof(normalization));
        if (Normalization.Std.Any(s => s == 0)) throw new ArgumentException("a normalisation std is 0", nameof(normalization));
    }

    public Normalize(double[] mean, double[] std) : this(new ImageNormalization(mean, std)) { }

    public ImageNormalization Normalization { get; }

    public DetectionSample Apply(DetectionSample sample, Random random)
    {
        ArgumentNullException.ThrowIfNull(sample);
        return sample.With(Normalized(sample.Image, Normalization), sample.Target);
    }

    /// <summary>The normalised copy of a float [C, H, W] image in [0, 1].</summary>
    public static Tensor Normalized(Tensor image, ImageNormalization normalization)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(normalization);
        var shape = image.Shape;
        int c = normalization.Mean.Length;
        if (shape.Length != 3 || shape[0] != c)
            throw new ArgumentException($"a {c}-channel normalisation needs a [{c}, H, W] image, got shape [{string.Join(", ", shape)}]", nameof(image));
        using var scope = DisposeScope.Enter();
        var x = image;
        if (!normalization.ScaleTo01) x = x.Mul(255.0);
        if (normalization.Bgr) x = x.Flip(0);
        var mean = Tensor.FromArray(normalization.Mean.Select(v => (float)v).ToArray(), c, 1, 1).To(device: image.Device);
        var std = Tensor.FromArray(normalization.Std.Select(v => (float)v).ToArray(), c, 1, 1).To(device: image.Device);
        return x.Sub(mean).Div(std).MoveToOuterDisposeScope();
    }
}
