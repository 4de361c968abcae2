using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Vision.Geometry;

/// <summary>
/// Samples a fixed-size batch per image with at most a given fraction of positives, as
/// torchvision's det_utils.BalancedPositiveNegativeSampler: labels ≥ 1 are positives, 0
/// negatives, −1 ignored; positives then negatives are drawn with torch.randperm on the
/// labels' device, so with the same generator seed the same elements are picked.
/// </summary>
public sealed class BalancedPositiveNegativeSampler
{
    /// <summary>Creates a sampler; torchvision's RPN uses (256, 0.5) and its box head (512, 0.25).</summary>
    /// <param name="batchSizePerImage">Number of elements to sample per image (fewer when there are not enough positives and negatives).</param>
    /// <param name="positiveFraction">Largest fraction of the batch that may be positives, in [0, 1]; negatives fill the rest.</param>
    /// <exception cref="ArgumentOutOfRangeException">The batch size is negative or the fraction is outside [0, 1].</exception>
    public BalancedPositiveNegativeSampler(int batchSizePerImage, double positiveFraction)
    {
        if (batchSizePerImage < 0) throw new ArgumentOutOfRangeException(nameof(batchSizePerImage), $"sampler: batch size {batchSizePerImage} is negative");
        if (positiveFraction is < 0 or > 1 || double.IsNaN(positiveFraction))
            throw new ArgumentOutOfRangeException(nameof(positiveFraction), $"sampler: positive fraction {positiveFraction} is outside [0, 1]");
        BatchSizePerImage = batchSizePerImage;
        PositiveFraction = positiveFraction;
    }

    /// <summary>Number of elements sampled per image at most (torchvision's <c>batch_size_per_image</c>).</summary>
    public int BatchSizePerImage { get; }

    /// <summary>Largest fraction of <see cref="BatchSizePerImage"/> taken from the positives (torchvision's <c>positive_fraction</c>).</summary>
    public double PositiveFraction { get; }

    /// <summary>Draws, per image, up to <c>floor(BatchSizePerImage · PositiveFraction)</c> positives at random and fills the
    /// rest of the batch with random negatives.</summary>
    /// <param name="matchedIdxs">Per image, [N] labels (−1 ignore, 0 negative, ≥ 1 positive).</param>
    /// <returns>Per image, uint8 [N] masks of the sampled positives and negatives.</returns>
    /// <exception cref="ArgumentException">An image's labels are not one-dimensional.</exception>
    public (Tensor[] Positive, Tensor[] Negative) Sample(IReadOnlyList<Tensor> matchedIdxs)
    {
        var positives = new Tensor[matchedIdxs.Count];
        var negatives = new Tensor[matchedIdxs.Count];
        for (int i = 0; i < matchedIdxs.Count; i++)
        {
            using var scope = DisposeScope.Enter();
            var labels = matchedIdxs[i];
            if (labels.Dim != 1)
                throw new ArgumentException($"sampler: labels of image {i} must be 1-d, got [{string.Join(", ", labels.Shape)}]");
            var positive = labels.Ge(1).NonzeroAsTuple()[0];
            var negative = labels.Eq(0).NonzeroAsTuple()[0];

            // int(batch · fraction) truncates, as Python's int() does.
            long numPos = Math.Min(positive.NumEl, (long)(BatchSizePerImage * PositiveFraction));
            long numNeg = Math.Min(negative.NumEl, BatchSizePerImage - numPos);

            var perm1 = Tensor.Randperm(positive.NumEl, DType.Int64, positive.Device).Narrow(0, 0, numPos);
            var perm2 = Tensor.Randperm(negative.NumEl, DType.Int64, negative.Device).Narrow(0, 0, numNeg);
            var one = Tensor.Scalar(1, DType.UInt8, labels.Device);
            var posMask = Tensor.Zeros(labels.Shape, DType.UInt8, labels.Device);
            var negMask = Tensor.Zeros(labels.Shape, DType.UInt8, labels.Device);
            posMask.IndexPut_(new[] { positive.Index(perm1) }, one);
            negMask.IndexPut_(new[] { negative.Index(perm2) }, one);
            positives[i] = scope.MoveToOuter(posMask);
            negatives[i] = scope.MoveToOuter(negMask);
        }
        return (positives, negatives);
    }
}
