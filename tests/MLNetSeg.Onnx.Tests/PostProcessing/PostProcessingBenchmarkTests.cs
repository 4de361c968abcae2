using System.Diagnostics;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Onnx.PostProcessing;

namespace MLNetSeg.Onnx.Tests.PostProcessing;

/// <summary>
/// The generator's benchmark workloads (100 masks pasted into an 800×1067 image; 100 detections
/// × 17 heatmaps decoded): the results must equal torchvision's, and the timings are reported next
/// to torchvision's (measured by the generator on its machine), not asserted.
/// </summary>
[TestClass]
public class PostProcessingBenchmarkTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void PastingOneHundredMasksMatchesTorchvision()
    {
        var bench = PostProcessingFixtures.Load("benchmark.json").GetProperty("paste");
        var size = PostProcessingFixtures.Ints(bench, "image_size");
        int d = bench.GetProperty("count").GetInt32(), m = bench.GetProperty("mask_size").GetInt32();
        var sides = PostProcessingFixtures.Ints(bench, "box_sides");
        var masks = Synth.Masks(bench.GetProperty("mask_seed").GetUInt64(), d, m);
        var boxes = Synth.Boxes(bench.GetProperty("box_seed").GetUInt64(), d, size[0], size[1], sides[0], sides[1]);
        PostProcessingFixtures.AssertChecksum(bench.GetProperty("masks_checksum"), masks, "benchmark masks");
        PostProcessingFixtures.AssertChecksum(bench.GetProperty("boxes_checksum"), boxes, "benchmark boxes");

        var rles = MaskPasting.PasteToRle(masks, m, boxes, size[0], size[1]);
        int i = 0;
        long area = 0;
        foreach (var det in bench.GetProperty("detections").EnumerateArray())
        {
            Assert.AreEqual(det.GetProperty("area").GetInt64(), rles[i].Area, $"detection {i}: area");
            Assert.AreEqual(det.GetProperty("runs").GetInt32(), rles[i].Counts.Count, $"detection {i}: runs");
            Assert.AreEqual(det.GetProperty("fnv1a").GetString(), PostProcessingFixtures.Fnv1a(rles[i].Counts), $"detection {i}: run lengths");
            area += rles[i].Area;
            i++;
        }
        Assert.AreEqual(d, i);
        Assert.IsTrue(area > 200_000, $"the workload should paste real masks, pasted {area} pixels");

        var parallel = Time(() => MaskPasting.PasteToRle(masks, m, boxes, size[0], size[1]), 9);
        var single = Time(() => MaskPasting.PasteToRle(masks, m, boxes, size[0], size[1], 0.5, maxDegreeOfParallelism: 1), 9);
        Report($"paste {d} masks into {size[0]}x{size[1]} + threshold + RLE", "paste_masks_in_image + threshold", bench, parallel, single);
    }

    [TestMethod]
    public void DecodingOneHundredTimesSeventeenHeatmapsMatchesTorchvision()
    {
        var bench = PostProcessingFixtures.Load("benchmark.json").GetProperty("keypoints");
        int d = bench.GetProperty("count").GetInt32(), k = bench.GetProperty("keypoints").GetInt32(), s = bench.GetProperty("heatmap_size").GetInt32();
        var roiImage = PostProcessingFixtures.Ints(bench, "roi_image_size");
        var sides = PostProcessingFixtures.Ints(bench, "roi_sides");
        var maps = Synth.Heatmaps(bench.GetProperty("heatmap_seed").GetUInt64(), d, k, s);
        var rois = Synth.Boxes(bench.GetProperty("roi_seed").GetUInt64(), d, roiImage[0], roiImage[1], sides[0], sides[1]);
        PostProcessingFixtures.AssertChecksum(bench.GetProperty("heatmaps_checksum"), maps, "benchmark heatmaps");
        PostProcessingFixtures.AssertChecksum(bench.GetProperty("rois_checksum"), rois, "benchmark rois");

        var (keypoints, scores) = KeypointDecoding.HeatmapsToKeypoints(maps, k, s, rois);
        KeypointDecodingTests.AssertKeypoints("benchmark", k, PostProcessingFixtures.Floats(bench, "expected_keypoints"), keypoints,
            PostProcessingFixtures.Floats(bench, "expected_scores"), scores, TestContext);

        var parallel = Time(() => KeypointDecoding.HeatmapsToKeypoints(maps, k, s, rois), 7);
        var single = Time(() => KeypointDecoding.HeatmapsToKeypoints(maps, k, s, rois, maxDegreeOfParallelism: 1), 7);
        Report($"decode {d}x{k} heatmaps", "heatmaps_to_keypoints", bench, parallel, single);
    }

    /// <summary>Min and median of timed runs after a warm-up (JIT, pools). On a shared machine the
    /// minimum is the better estimate of the cost; both are reported.</summary>
    private static (double Min, double Median) Time(Action run, int repeats)
    {
        run();
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            run();
            times[i] = watch.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return (times[0], times[repeats / 2]);
    }

    private void Report(string what, string torchWhat, System.Text.Json.JsonElement bench, (double Min, double Median) parallel, (double Min, double Median) single)
    {
        double torchMin = bench.GetProperty("torchvision_min_ms").GetDouble(), torchMedian = bench.GetProperty("torchvision_median_ms").GetDouble();
        int threads = PostProcessingFixtures.Load("benchmark.json").GetProperty("torch_threads").GetInt32();
        TestContext.WriteLine($"{what}: min {single.Min:F1} ms / median {single.Median:F1} ms on one thread, " +
                              $"min {parallel.Min:F1} / median {parallel.Median:F1} ms on {Environment.ProcessorCount} cores; " +
                              $"torchvision {torchWhat} ({threads} torch thread(s), generator run): min {torchMin:F1} / median {torchMedian:F1} ms → " +
                              $"one thread {torchMin / single.Min:F1}x (min) / {torchMedian / single.Median:F1}x (median) faster");
    }
}
