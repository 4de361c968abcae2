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
    /// <summary>Match code of a prediction whose best quality is below <see cref="LowThreshold"/> (a negative, for the RPN and box head).</summary>
    public const long BelowLowThreshold = -1;

    /// <summary>Match code of a prediction whose best quality is in [<see cref="LowThreshold"/>, <see cref="HighThreshold"/>) (ignored in training).</summary>
    public const long BetweenThresholds = -2;

    /// <summary>Creates a matcher; torchvision's RPN uses (0.7, 0.3, true) and its box head (0.5, 0.5, false).</summary>
    /// <param name="highThreshold">Quality at or above which a prediction is matched to its best ground truth.</param>
    /// <param name="lowThreshold">Quality below which a prediction is <see cref="BelowLowThreshold"/>.</param>
    /// <param name="allowLowQualityMatches">Whether predictions that are a ground truth's best match keep that match below the high threshold.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lowThreshold"/> exceeds <paramref name="highThreshold"/>.</exception>
    public Matcher(double highThreshold, double lowThreshold, bool allowLowQualityMatches = false)
    {
        if (lowThreshold > highThreshold)
            throw new ArgumentOutOfRangeException(nameof(lowThreshold), $"Matcher: low threshold {lowThreshold} must be ≤ high threshold {highThreshold}");
        HighThreshold = highThreshold;
        LowThreshold = lowThreshold;
        AllowLowQualityMatches = allowLowQualityMatches;
    }

    /// <summary>Quality at or above which a prediction is matched (torchvision's <c>high_threshold</c>).</summary>
    public double HighThreshold { get; }

    /// <summary>Quality below which a prediction is a negative (torchvision's <c>low_threshold</c>).</summary>
    public double LowThreshold { get; }

    /// <summary>Whether each ground truth's best predictions are matched to it regardless of the thresholds (torchvision's <c>allow_low_quality_matches</c>).</summary>
    public bool AllowLowQualityMatches { get; }

    /// <summary>Matches every prediction (column) to the ground truth (row) of highest quality, as described on the class.</summary>
    /// <param name="matchQualityMatrix">[M, N]: M ground-truth elements × N predictions.</param>
    /// <returns>int64 [N]: ground-truth index in [0, M) or a negative code.</returns>
    /// <exception cref="ArgumentException">The matrix is not 2-d, or it is empty (no ground truth or no predictions).</exception>
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
