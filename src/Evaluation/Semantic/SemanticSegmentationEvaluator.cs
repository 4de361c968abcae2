using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Evaluation.Semantic;

/// <summary>
/// Accumulates semantic segmentation results image by image and scores them with detectron2's
/// SemSegEvaluator semantics: a (C+1)×(C+1) confusion matrix indexed [prediction, ground truth]
/// whose last column collects ignored ground-truth pixels (left out of every metric), then
/// mIoU, fwIoU, mean accuracy, pixel accuracy and per-class IoU/accuracy. A prediction may also be the ignore label, an
/// unlabelled pixel (Mask R-CNN-IMP's canvas where no detection reaches the threshold; detectron2's argmax never makes one): it
/// goes to the matrix's spare last row, a miss of its ground-truth class that no class's prediction count includes.
/// </summary>
/// <remarks>
/// Boundary IoU follows boundary-iou-api (Cheng et al. 2021), class by class: for class c the
/// boundaries of the binary masks gt == c and prediction == c (see <see cref="MaskBoundary"/>) are
/// intersected and united over pixels whose ground truth is not ignored, summed over all images.
/// detectron2's own B-IoU erodes the multi-class label map as grey levels, which mixes classes;
/// its numbers are therefore not reproduced.
/// </remarks>
public sealed class SemanticSegmentationEvaluator
{
    private readonly long[] _confusion;   // (C+1)² row-major, [pred, gt]
    private readonly long[] _boundaryIntersection, _boundaryUnion;
    private readonly string[] _classNames;

    /// <summary>Creates an evaluator with an empty confusion matrix.</summary>
    /// <param name="numClasses">Classes 0 … numClasses−1.</param>
    /// <param name="classNames">Names for reports; defaults to "0", "1", …</param>
    /// <param name="ignoreLabel">Ground-truth value excluded from scoring (255 by convention).</param>
    /// <param name="computeBoundaryIou">Also accumulate Boundary IoU (costs about two more passes per image).</param>
    /// <param name="boundaryDilationRatio">Boundary width as a fraction of the image diagonal.</param>
    /// <exception cref="ArgumentOutOfRangeException">No classes, a negative ignore label, or a non-positive dilation ratio with Boundary IoU on.</exception>
    /// <exception cref="ArgumentException">The number of class names differs from <paramref name="numClasses"/>.</exception>
    public SemanticSegmentationEvaluator(int numClasses, IReadOnlyList<string>? classNames = null,
        int ignoreLabel = SemanticLabelMap.IgnoreLabel, bool computeBoundaryIou = true,
        double boundaryDilationRatio = MaskBoundary.DefaultDilationRatio)
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), $"need at least one class, got {numClasses}");
        if (ignoreLabel < 0) throw new ArgumentOutOfRangeException(nameof(ignoreLabel), $"must be non-negative, got {ignoreLabel}");
        if (classNames is not null && classNames.Count != numClasses)
            throw new ArgumentException($"{classNames.Count} class names for {numClasses} classes", nameof(classNames));
        if (computeBoundaryIou && !(boundaryDilationRatio > 0))
            throw new ArgumentOutOfRangeException(nameof(boundaryDilationRatio), $"must be positive, got {boundaryDilationRatio}");
        NumClasses = numClasses;
        IgnoreLabel = ignoreLabel;
        ComputeBoundaryIou = computeBoundaryIou;
        BoundaryDilationRatio = boundaryDilationRatio;
        _classNames = classNames?.ToArray() ?? Enumerable.Range(0, numClasses).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        _confusion = new long[(numClasses + 1) * (numClasses + 1)];
        _boundaryIntersection = new long[numClasses];
        _boundaryUnion = new long[numClasses];
    }

    /// <summary>C: predictions and ground truth must be in 0 … C−1 or <see cref="IgnoreLabel"/>.</summary>
    public int NumClasses { get; }
    /// <summary>The ground-truth value left out of every metric; as a prediction, an unlabelled pixel.</summary>
    public int IgnoreLabel { get; }
    /// <summary>Whether Boundary IoU is accumulated.</summary>
    public bool ComputeBoundaryIou { get; }
    /// <summary>Boundary width as a fraction of the image diagonal (boundary-iou-api's default 0.02).</summary>
    public double BoundaryDilationRatio { get; }
    /// <summary>One name per class, used in reports and result keys.</summary>
    public IReadOnlyList<string> ClassNames => _classNames;

    /// <summary>Images added since construction or the last <see cref="Reset"/>.</summary>
    public int ImageCount { get; private set; }

    /// <summary>Clears the accumulated counts, to evaluate another set of images with the same settings.</summary>
    public void Reset()
    {
        Array.Clear(_confusion);
        Array.Clear(_boundaryIntersection);
        Array.Clear(_boundaryUnion);
        ImageCount = 0;
    }

    /// <summary>Adds one image's predicted and ground-truth label maps (same size).</summary>
    /// <param name="prediction">Predicted class per pixel, each in 0 … C−1 or <see cref="IgnoreLabel"/> (unlabelled).</param>
    /// <param name="groundTruth">True class per pixel, each in 0 … C−1 or <see cref="IgnoreLabel"/>.</param>
    /// <param name="imageName">Names the image in error messages.</param>
    /// <exception cref="ArgumentException">The sizes differ, or a label is out of range; the message names the image and pixel.</exception>
    public void Add(SemanticLabelMap prediction, SemanticLabelMap groundTruth, string? imageName = null)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(groundTruth);
        var name = imageName ?? $"image #{ImageCount}";
        if (prediction.Height != groundTruth.Height || prediction.Width != groundTruth.Width)
            throw new ArgumentException(
                $"{name}: prediction is {prediction.Height}x{prediction.Width} but ground truth is {groundTruth.Height}x{groundTruth.Width}");
        Add(prediction.Labels, groundTruth.Labels, groundTruth.Height, groundTruth.Width, name);
    }

    /// <summary>Adds one image given row-major label arrays of <paramref name="height"/> × <paramref name="width"/>.
    /// Predictions and ground truth must be classes or the ignore label.</summary>
    public void Add(ReadOnlySpan<int> prediction, ReadOnlySpan<int> groundTruth, int height, int width, string? imageName = null)
    {
        var name = imageName ?? $"image #{ImageCount}";
        long n = (long)height * width;
        if (height < 0 || width < 0 || prediction.Length != n || groundTruth.Length != n)
            throw new ArgumentException($"{name}: {height}x{width} needs {n} labels, got {prediction.Length} predicted and {groundTruth.Length} ground-truth");
        int c = NumClasses, stride = c + 1;
        // Validate first, so a bad image leaves the accumulated state untouched.
        for (int i = 0; i < prediction.Length; i++)
        {
            int p = prediction[i], g = groundTruth[i];
            if (p != IgnoreLabel && (uint)p >= (uint)c)
                throw new ArgumentException($"{name}: predicted label {p} at (y={i / width}, x={i % width}) is neither a class in 0..{c - 1} nor the ignore label {IgnoreLabel} (unlabelled)");
            if (g != IgnoreLabel && (uint)g >= (uint)c)
                throw new ArgumentException($"{name}: ground-truth label {g} at (y={i / width}, x={i % width}) is neither a class in 0..{c - 1} nor the ignore label {IgnoreLabel}");
        }
        for (int i = 0; i < prediction.Length; i++)
        {
            int g = groundTruth[i] == IgnoreLabel ? c : groundTruth[i];
            int p = prediction[i] == IgnoreLabel ? c : prediction[i];
            _confusion[p * stride + g]++;
        }
        if (ComputeBoundaryIou) AccumulateBoundaries(prediction, groundTruth, height, width);
        ImageCount++;
    }

    private void AccumulateBoundaries(ReadOnlySpan<int> prediction, ReadOnlySpan<int> groundTruth, int height, int width)
    {
        int dilation = MaskBoundary.Dilation(height, width, BoundaryDilationRatio);
        var gtBoundary = MaskBoundary.OfLabelMap(groundTruth, height, width, dilation);
        var predBoundary = MaskBoundary.OfLabelMap(prediction, height, width, dilation);
        for (int i = 0; i < prediction.Length; i++)
        {
            int g = groundTruth[i];
            if (g == IgnoreLabel) continue;
            int p = prediction[i];
            bool gb = gtBoundary[i] != 0, pb = predBoundary[i] != 0;
            if (gb && pb && g == p)
            {
                _boundaryIntersection[g]++;
                _boundaryUnion[g]++;
                continue;
            }
            if (gb) _boundaryUnion[g]++;
            if (pb && p != IgnoreLabel) _boundaryUnion[p]++;
        }
    }

    /// <summary>A copy of the confusion matrix, [prediction, ground truth], (C+1)×(C+1); the last
    /// column counts pixels whose ground truth is ignored (detectron2's layout).</summary>
    public long[,] ConfusionMatrix()
    {
        int s = NumClasses + 1;
        var m = new long[s, s];
        for (int r = 0; r < s; r++)
            for (int col = 0; col < s; col++)
                m[r, col] = _confusion[r * s + col];
        return m;
    }

    /// <summary>Scores everything added so far (detectron2 SemSegEvaluator.evaluate, as fractions).</summary>
    public SemanticSegmentationMetrics Compute()
    {
        int c = NumClasses, s = c + 1;
        var tp = new double[c];
        var posGt = new double[c];
        var posPred = new double[c];
        for (int k = 0; k < c; k++) tp[k] = _confusion[k * s + k];
        for (int p = 0; p < s; p++)  // row c: unlabelled predictions, misses of their ground truth
            for (int g = 0; g < c; g++)
            {
                posGt[g] += _confusion[p * s + g];
                if (p < c) posPred[p] += _confusion[p * s + g];
            }
        double totalGt = posGt.Sum();
        var acc = new double[c];
        var iou = new double[c];
        double accSum = 0, iouSum = 0, fwIou = 0;
        int accCount = 0, iouCount = 0;
        for (int k = 0; k < c; k++)
        {
            acc[k] = iou[k] = double.NaN;
            if (posGt[k] > 0)
            {
                acc[k] = tp[k] / posGt[k];
                accSum += acc[k];
                accCount++;
            }
            double union = posGt[k] + posPred[k] - tp[k];
            if (posGt[k] > 0 && union > 0)
            {
                iou[k] = tp[k] / union;
                iouSum += iou[k];
                iouCount++;
                fwIou += iou[k] * (posGt[k] / totalGt);
            }
        }
        double[]? boundaryIou = null;
        double? meanBoundaryIou = null;
        if (ComputeBoundaryIou)
        {
            boundaryIou = new double[c];
            double sum = 0;
            int count = 0;
            for (int k = 0; k < c; k++)
            {
                boundaryIou[k] = _boundaryUnion[k] > 0 ? (double)_boundaryIntersection[k] / _boundaryUnion[k] : double.NaN;
                if (!double.IsNaN(boundaryIou[k])) { sum += boundaryIou[k]; count++; }
            }
            meanBoundaryIou = count > 0 ? sum / count : double.NaN;
        }
        return new SemanticSegmentationMetrics
        {
            MeanIou = iouCount > 0 ? iouSum / iouCount : double.NaN,
            FrequencyWeightedIou = fwIou, // detectron2 sums over the valid classes: 0 when there are none
            MeanAccuracy = accCount > 0 ? accSum / accCount : double.NaN,
            PixelAccuracy = totalGt > 0 ? tp.Sum() / totalGt : double.NaN,
            ClassIou = iou,
            ClassAccuracy = acc,
            ClassBoundaryIou = boundaryIou,
            MeanBoundaryIou = meanBoundaryIou,
            ClassNames = _classNames,
        };
    }
}
