using MLNetSeg.Torch;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Data.Loading;

/// <summary>
/// Mirrors image, boxes, masks and keypoints left-right with probability <see cref="Probability"/>,
/// as torchvision's reference <c>RandomHorizontalFlip</c> (references/detection/transforms.py):
/// x1' = W − x2, x2' = W − x1; keypoints x' = W − x with left/right keypoints swapped through the
/// schema's flip map and unlabelled ones (visibility 0) set to (0, 0, 0).
/// </summary>
public sealed class RandomHorizontalFlip : IDetectionTransform
{
    private static readonly Op FlipOp = new("flip");

    /// <summary>Creates the transform.</summary>
    /// <param name="probability">Chance of flipping (0.5 in torchvision's presets).</param>
    /// <param name="keypointSchema">
    /// Which keypoints swap (its <see cref="KeypointSchema.FlipMap"/>): pass the dataset's
    /// <see cref="DetectionDataset.KeypointSchema"/>. Null means the 17 COCO person keypoints. Only
    /// samples with keypoints use it; one whose keypoint count differs from the schema's is an error
    /// naming the sample.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="probability"/> is outside [0, 1].</exception>
    public RandomHorizontalFlip(double probability = 0.5, KeypointSchema? keypointSchema = null)
    {
        if (!(probability >= 0 && probability <= 1)) throw new ArgumentOutOfRangeException(nameof(probability), $"must be in [0, 1], got {probability}");
        Probability = probability;
        KeypointSchema = keypointSchema ?? KeypointSchema.CocoPerson;
    }

    /// <summary>Chance of flipping.</summary>
    public double Probability { get; }

    /// <summary>The schema whose flip map swaps left and right keypoints.</summary>
    public KeypointSchema KeypointSchema { get; }

    /// <inheritdoc/>
    /// <remarks>Draws one <see cref="Random.NextDouble"/> and flips when it is below <see cref="Probability"/>.</remarks>
    public DetectionSample Apply(DetectionSample sample, Random random)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(random);
        return random.NextDouble() < Probability ? Flip(sample, KeypointSchema) : sample;
    }

    /// <summary>The mirrored sample (always flips).</summary>
    /// <param name="sample">The sample to mirror.</param>
    /// <param name="keypointSchema">The schema whose flip map swaps left and right keypoints.</param>
    /// <exception cref="ArgumentException">The sample's keypoint count differs from the schema's.</exception>
    public static DetectionSample Flip(DetectionSample sample, KeypointSchema keypointSchema)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(keypointSchema);
        int width = sample.Size.Width;
        var image = FlipOp.Invoke(sample.Image, new long[] { -1 });
        var t = sample.Target;
        var src = t.Boxes.Data;
        var boxes = new float[src.Length];
        for (int i = 0; i < src.Length; i += 4)
        {
            boxes[i] = width - src[i + 2];
            boxes[i + 1] = src[i + 1];
            boxes[i + 2] = width - src[i];
            boxes[i + 3] = src[i + 3];
        }
        var masks = t.Masks?.Select(FlipMask).ToArray();
        Keypoints? keypoints = null;
        if (t.Keypoints is { } kp)
        {
            try { keypoints = kp.FlipHorizontal(width, keypointSchema); }
            catch (ArgumentException e)
            {
                throw new ArgumentException(
                    $"{sample.Describe()}: {e.Message} Flip with the dataset's keypoint schema (DetectionDataset.KeypointSchema).", nameof(keypointSchema), e);
            }
        }
        var semantic = t.Semantic is { } map ? SemanticLabelMap.FromBytes(map.Height, map.Width, FlipRows(map.ToBytes(), map.Width)) : null;
        return sample.With(image, t.WithGeometry(Boxes.FromXyxy(boxes), masks, keypoints, semantic));
    }

    private static BitMask FlipMask(BitMask mask) => BitMask.FromRowMajor(mask.Height, mask.Width, FlipRows(mask.Pixels, mask.Width));

    /// <summary>Each row of a row-major byte image mirrored.</summary>
    private static byte[] FlipRows(ReadOnlySpan<byte> src, int width)
    {
        var dst = new byte[src.Length];
        for (int row = 0; row < src.Length; row += width)
            for (int x = 0; x < width; x++) dst[row + x] = src[row + width - 1 - x];
        return dst;
    }
}
