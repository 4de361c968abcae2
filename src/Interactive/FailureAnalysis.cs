using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Interactive;

/// <summary>One image's errors: the detections that match no ground truth, and the ground truth no detection found.</summary>
public sealed record ImageFailures(int ImageIndex, Instances FalsePositives, Instances Missed, int Matched)
{
    /// <summary>False positives plus missed objects.</summary>
    public int Errors => FalsePositives.Count + Missed.Count;
}

/// <summary>
/// Sorts an image's detections into hits and false positives, and its ground truth into found and missed, the way COCO's
/// matching does at one threshold: detections (at or above a score) in descending score order each take the unmatched
/// ground-truth instance of their class with the highest IoU at or above the threshold (mask IoU when both sides have
/// masks, else box IoU). Crowd regions are not in the instances given, so they neither match nor count as missed.
/// </summary>
public static class FailureAnalysis
{
    /// <summary>The errors of <paramref name="predicted"/> against <paramref name="truth"/> (same image size).</summary>
    /// <exception cref="ArgumentException">The two belong to images of different sizes, or the predictions have no scores.</exception>
    public static ImageFailures Compare(int imageIndex, Instances predicted, Instances truth, double iouThreshold = 0.5, float scoreThreshold = 0.5f)
    {
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(truth);
        if (predicted.ImageHeight != truth.ImageHeight || predicted.ImageWidth != truth.ImageWidth)
            throw new ArgumentException($"predictions are for a {predicted.ImageHeight}x{predicted.ImageWidth} image, the ground truth for {truth.ImageHeight}x{truth.ImageWidth}");
        var scores = predicted.Scores ?? throw new ArgumentException("the predictions have no scores (is it ground truth?)", nameof(predicted));
        var kept = Enumerable.Range(0, predicted.Count).Where(i => scores[i] >= scoreThreshold).OrderByDescending(i => scores[i]).ToArray();
        double[,] iou = Overlaps(predicted.Select(kept), truth);
        var taken = new bool[truth.Count];
        var hit = new bool[kept.Length];
        for (int d = 0; d < kept.Length; d++)
        {
            int best = -1;
            double bestIou = iouThreshold;
            for (int g = 0; g < truth.Count; g++)
                if (!taken[g] && truth.Labels[g] == predicted.Labels[kept[d]] && iou[d, g] >= bestIou) { best = g; bestIou = iou[d, g]; }
            if (best < 0) continue;
            taken[best] = true;
            hit[d] = true;
        }
        var falsePositives = kept.Where((_, d) => !hit[d]).ToArray();
        var missed = Enumerable.Range(0, truth.Count).Where(g => !taken[g]).ToArray();
        return new ImageFailures(imageIndex, predicted.Select(falsePositives), truth.Select(missed), hit.Count(h => h));
    }

    private static double[,] Overlaps(Instances detections, Instances truth)
    {
        if (detections.Masks is { } dm && truth.Masks is { } gm)
            return Rle.Iou(dm, gm, new bool[truth.Count]);
        var boxes = Boxes.Iou(detections.Boxes, truth.Boxes);
        var result = new double[detections.Count, truth.Count];
        for (int d = 0; d < detections.Count; d++)
            for (int g = 0; g < truth.Count; g++) result[d, g] = boxes[d, g];
        return result;
    }
}
