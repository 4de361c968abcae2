namespace MLNetSeg.Data.Loading;

/// <summary>
/// One step of a training augmentation pipeline: image and target in, image and target out, in
/// step with each other. Transforms are stateless and thread-safe; all their randomness comes
/// from the <see cref="Random"/> they are handed (the <see cref="DataLoader"/> hands each sample a
/// stream derived from (seed, epoch, index), see <see cref="SampleSeeds"/>).
/// </summary>
/// <remarks>
/// A transform returns a new sample (or the same one when it changes nothing) and never disposes
/// the input's image tensor: new tensors land in the caller's <c>DisposeScope</c>.
/// </remarks>
public interface IDetectionTransform
{
    /// <summary>Transforms one sample.</summary>
    /// <param name="sample">The sample: image and target in the same pixel coordinates.</param>
    /// <param name="random">The sample's random stream; the only source of randomness allowed.</param>
    /// <returns>The transformed sample, or <paramref name="sample"/> itself when nothing changes.</returns>
    DetectionSample Apply(DetectionSample sample, Random random);
}

/// <summary>Applies transforms one after the other (torchvision's <c>Compose</c>).</summary>
public sealed class Compose : IDetectionTransform
{
    private readonly IDetectionTransform[] _transforms;

    /// <summary>Chains the given transforms (the array is copied).</summary>
    /// <param name="transforms">The transforms, applied first to last; none may be null.</param>
    /// <exception cref="ArgumentException">An element is null.</exception>
    public Compose(params IDetectionTransform[] transforms)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        for (int i = 0; i < transforms.Length; i++)
            if (transforms[i] is null) throw new ArgumentException($"transforms[{i}] is null", nameof(transforms));
        _transforms = (IDetectionTransform[])transforms.Clone();
    }

    /// <summary>The transforms, in the order they run.</summary>
    public IReadOnlyList<IDetectionTransform> Transforms => _transforms;

    /// <inheritdoc/>
    /// <remarks>Every transform draws from the same <paramref name="random"/>, in order.</remarks>
    public DetectionSample Apply(DetectionSample sample, Random random)
    {
        foreach (var t in _transforms) sample = t.Apply(sample, random);
        return sample;
    }
}
