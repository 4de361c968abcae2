using System.Diagnostics;
using MLNetSeg.Data.Loading;

namespace MLNetSeg.Training.Comparison;

/// <summary>The leaderboard's inference time: one image per call, as a server predicts, decoding not counted.</summary>
internal static class InferenceTiming
{
    /// <summary>The median milliseconds of <see cref="TrainedModel.Predict(MLNetSeg.Vision.Imaging.Image)"/> over the first
    /// <paramref name="images"/> images of <paramref name="dataset"/>, after one untimed call (first-call allocations).</summary>
    public static double MedianMilliseconds(TrainedModel model, DetectionDataset dataset, int images)
    {
        var loaded = Enumerable.Range(0, Math.Min(images, dataset.Count)).Select(dataset.LoadImage).ToArray();
        model.Predict(loaded[0]);
        var times = new double[loaded.Length];
        for (int i = 0; i < loaded.Length; i++)
        {
            var clock = Stopwatch.StartNew();
            model.Predict(loaded[i]);
            times[i] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times[times.Length / 2];
    }
}
