using System.Diagnostics;
using MLNetSeg.Models;
using MLNetSeg.Torch;

namespace MLNetSeg.Benchmarks;

/// <summary>Inference time of several models on the same images, the models in turn within each round (so a change of
/// machine load touches all of them), one warm-up round first; medians over rounds.</summary>
internal static class InterleavedTiming
{
    /// <summary>Per model: the median over <paramref name="rounds"/> of its seconds per image, and its detections per image.</summary>
    public static (double MedianSeconds, int DetectionsPerImage)[] Run(IReadOnlyList<ISegmentationModel> models, IReadOnlyList<Tensor> images, int rounds)
    {
        var times = models.Select(_ => new List<double>()).ToArray();
        var found = new int[models.Count];
        for (int round = -1; round < rounds; round++)  // round -1 warms up
            for (int m = 0; m < models.Count; m++)
            {
                var sw = Stopwatch.StartNew();
                int total = 0;
                foreach (var image in images) total += models[m].Predict(new[] { image })[0].Instances!.Count;
                if (round >= 0) times[m].Add(sw.Elapsed.TotalSeconds / images.Count);
                found[m] = total / images.Count;
            }
        return times.Select((t, m) => (Median(t), found[m])).ToArray();
    }

    /// <summary>The middle value (the upper one of an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
