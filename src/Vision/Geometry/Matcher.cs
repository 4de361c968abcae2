using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Vision.Geometry;

/// <summary>
/// Assigns each prediction (column of an M×N quality matrix, e.g. IoU of M ground-truth boxes
/// with N anchors) its best ground truth, as torchvision's det_utils.Matcher: quality ≥ high →
/// that ground truth's index; in [low, high) → <see cref="BetweenThresholds"/>; &lt; low →
/// <see cref="BelowLowThreshold"/>. With low-quality matches allowed, every prediction that is
/// some ground truth's best match (ties included) keeps its best ground truth regardless.
/// </summary>
public sealed class Matcher
{
    public const long BelowLowThreshold = -1;
    public const long BetweenThresholds = -2;

    public Matcher(double highThreshold, double lowThreshold, bool allowLowQualityMatches = false)
    {
        if (lowThreshold > highThreshold)
            throw new ArgumentOutOfRangeException(nameof(lowThreshold), $"Matcher: low threshold {lowThreshold} must be ≤ high threshold {highThreshold}");
        HighThreshold = highThreshold;
        LowThreshold = lowThreshold;
        AllowLowQualityMatches = allowLowQualityMatches;
    }

    public double HighThreshold { get; }
    public double LowThreshold { get; }
    public bool AllowLowQualityMatches { get; }

    /// <param name="matchQualityMatrix">[M, N]: M ground-truth elements × N predictions.</param>
    /// <returns>int64 [N]: ground-truth index in [0, M) or a negative code.</returns>
    public Tensor Match(Tensor matchQualityMatrix)
    {
        if (matchQualityMatrix.Dim != 2)
            throw new ArgumentException($"Matcher: the quality matrix must be [M, N], got [{string.Join(", ", matchQualityMatrix.Shape)}]");
        if (matchQualityMatrix.NumEl == 0)
            throw new ArgumentException(matchQualityMatrix.Size(0) == 0
                ? "Matcher: no ground-truth boxes available for one of the images during training"
                : "Matcher: no proposal boxes available for one of the images during training");
        using var scope = DisposeScope.Enter();
        var (matchedVals, matches) = matchQualityMatrix.Max(0);
        var allMatches = AllowLowQualityMatches ? matches.Clone() : null;

        var below = matchedVals.Lt(LowThreshold);
        var between = matchedVals.Ge(LowThreshold).LogicalAnd(matchedVals.Lt(HighThreshold));
        var device = matches.Device;
        matches.IndexPut_(new[] { below }, Tensor.Scalar(BelowLowThreshold, DType.Int64, device));
        matches.IndexPut_(new[] { between }, Tensor.Scalar(BetweenThresholds, DType.Int64, device));

        if (allMatches is not null)
        {
            // For each ground truth, the predictions of its highest quality (ties included)
            // take back their best ground truth.
            var (highestForEachGt, _) = matchQualityMatrix.Max(1);
            var pairs = matchQualityMatrix.Eq(highestForEachGt.Unsqueeze(1)).Nonzero();
            var predictions = pairs.Select(1, 1);
            matches.IndexPut_(new[] { predictions }, allMatches.Index(predictions));
        }
        return scope.MoveToOuter(matches);
    }
}
