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

        double parallel = MedianMs(() => MaskPasting.PasteToRle(masks, m, boxes, size[0], size[1]), 7);
        double single = MedianMs(() => MaskPasting.PasteToRle(masks, m, boxes, size[0], size[1], 0.5, maxDegreeOfParallelism: 1), 7);
        double torch = bench.GetProperty("torchvision_median_ms").GetDouble();
        TestContext.WriteLine($"paste {d} masks into {size[0]}x{size[1]} + threshold + RLE: {parallel:F1} ms ({Environment.ProcessorCount} cores), " +
                              $"{single:F1} ms on one thread; torchvision paste_masks_in_image + threshold: {torch:F1} ms " +
                              $"({PostProcessingFixtures.Load("benchmark.json").GetProperty("torch_threads").GetInt32()} torch thread(s)) → " +
                              $"{torch / single:F1}x faster on one thread, {torch / parallel:F1}x in parallel");
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

        double parallel = MedianMs(() => KeypointDecoding.HeatmapsToKeypoints(maps, k, s, rois), 5);
        double single = MedianMs(() => KeypointDecoding.HeatmapsToKeypoints(maps, k, s, rois, maxDegreeOfParallelism: 1), 5);
        double torch = bench.GetProperty("torchvision_median_ms").GetDouble();
        TestContext.WriteLine($"decode {d}x{k} heatmaps: {parallel:F1} ms ({Environment.ProcessorCount} cores), {single:F1} ms on one thread; " +
                              $"torchvision heatmaps_to_keypoints: {torch:F1} ms → {torch / single:F1}x faster on one thread, {torch / parallel:F1}x in parallel");
    }

    private static double MedianMs(Action run, int repeats)
    {
        run();  // warm up (JIT, pools)
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            run();
            times[i] = watch.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times[repeats / 2];
    }
}
