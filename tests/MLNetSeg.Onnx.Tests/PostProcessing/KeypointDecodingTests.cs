using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Onnx.PostProcessing;

namespace MLNetSeg.Onnx.Tests.PostProcessing;

/// <summary>
/// KeypointDecoding against torchvision 0.14's heatmaps_to_keypoints and transform.resize_keypoints
/// (fixtures from tools/fixtures/gen_onnx_postprocessing.py; the heatmaps are regenerated here by
/// <see cref="Synth"/> and checked against the generator's checksums).
/// </summary>
[TestClass]
public class KeypointDecodingTests
{
    public TestContext TestContext { get; set; } = null!;

    private static IEnumerable<object[]> Cases() =>
        PostProcessingFixtures.Load("keypoints.json").GetProperty("cases").EnumerateArray()
            .Select(c => new object[] { c.GetProperty("name").GetString()! });

    [TestMethod]
    [DynamicData(nameof(Cases), DynamicDataSourceType.Method)]
    public void KeypointsAndScoresMatchTorchvision(string name)
    {
        var c = PostProcessingFixtures.Load("keypoints.json").GetProperty("cases").EnumerateArray()
            .Single(e => e.GetProperty("name").GetString() == name);
        int d = c.GetProperty("count").GetInt32(), k = c.GetProperty("keypoints").GetInt32(), s = c.GetProperty("heatmap_size").GetInt32();
        var maps = Synth.Heatmaps(c.GetProperty("seed").GetUInt64(), d, k, s);
        PostProcessingFixtures.AssertChecksum(c.GetProperty("heatmaps_checksum"), maps, $"{name}: heatmaps");
        var (keypoints, scores) = KeypointDecoding.HeatmapsToKeypoints(maps, k, s, PostProcessingFixtures.Floats(c, "rois"));
        var expectedKeypoints = PostProcessingFixtures.Floats(c, "expected_keypoints");
        var expectedScores = PostProcessingFixtures.Floats(c, "expected_scores");
        AssertKeypoints(name, k, expectedKeypoints, keypoints, expectedScores, scores, TestContext);
    }

    /// <summary>Within the brief's 1e-4 (pixels, score units); the number of exact matches is
    /// reported, and asserted to be all of them: the arithmetic is torch's, operation for operation.</summary>
    internal static void AssertKeypoints(string name, int k, float[] expectedKeypoints, float[] keypoints, float[] expectedScores, float[] scores,
        TestContext context)
    {
        Assert.AreEqual(expectedKeypoints.Length, keypoints.Length, $"{name}: keypoint values");
        Assert.AreEqual(expectedScores.Length, scores.Length, $"{name}: scores");
        int exact = 0;
        for (int i = 0; i < keypoints.Length; i++)
        {
            Assert.AreEqual(expectedKeypoints[i], keypoints[i], 1e-4, $"{name}: detection {i / 3 / k}, keypoint {i / 3 % k}, component {i % 3}");
            if (expectedKeypoints[i] == keypoints[i]) exact++;
        }
        for (int i = 0; i < scores.Length; i++)
        {
            Assert.AreEqual(expectedScores[i], scores[i], 1e-4, $"{name}: score of detection {i / k}, keypoint {i % k}");
            if (BitConverter.SingleToInt32Bits(expectedScores[i]) == BitConverter.SingleToInt32Bits(scores[i])) exact++;
        }
        context.WriteLine($"{name}: {exact} of {keypoints.Length + scores.Length} values bit-identical to torchvision");
        Assert.AreEqual(keypoints.Length + scores.Length, exact, $"{name}: every value should be bit-identical to torchvision's");
    }

    [TestMethod]
    public void ResizedKeypointsMatchTorchvision()
    {
        int cases = 0;
        foreach (var c in PostProcessingFixtures.Load("keypoints.json").GetProperty("resize").EnumerateArray())
        {
            var resized = PostProcessingFixtures.Ints(c, "resized_size");
            var original = PostProcessingFixtures.Ints(c, "original_size");
            var keypoints = PostProcessingFixtures.Floats(c, "keypoints");
            var expected = PostProcessingFixtures.Floats(c, "expected");
            KeypointDecoding.ResizeKeypoints(keypoints, resized[0], resized[1], original[0], original[1]);
            for (int i = 0; i < expected.Length; i++)
                Assert.AreEqual(BitConverter.SingleToInt32Bits(expected[i]), BitConverter.SingleToInt32Bits(keypoints[i]),
                    $"{resized[0]}x{resized[1]} → {original[0]}x{original[1]}: value {i} is {keypoints[i]:R}, torchvision gives {expected[i]:R}");
            cases++;
        }
        Assert.AreEqual(5, cases);
    }

    [TestMethod]
    public void ParallelAndSingleThreadedRunsAgree()
    {
        var maps = Synth.Heatmaps(99, 6, 17, 56);
        var rois = Synth.Boxes(98, 6, 400, 600, 10, 300);
        var (kp1, s1) = KeypointDecoding.HeatmapsToKeypoints(maps, 17, 56, rois, maxDegreeOfParallelism: 1);
        var (kp2, s2) = KeypointDecoding.HeatmapsToKeypoints(maps, 17, 56, rois);
        CollectionAssert.AreEqual(kp1, kp2);
        CollectionAssert.AreEqual(s1, s2);
    }

    [TestMethod]
    public void ArgmaxTakesTheFirstMaximumInRowMajorOrder()
    {
        // Zeros resize to zeros: every position ties and (0, 0) must win, also when the output
        // spans several column blocks. (The fixtures' "large" case checks flat-topped peaks
        // across blocks against torchvision.)
        var zeros = new float[56 * 56];
        var first = KeypointDecoding.ResizedArgmax(zeros, 56, 30, 1300);
        Assert.AreEqual((0, 0), (first.X, first.Y));
        Assert.AreEqual(0f, first.Value);
        // Same size: the map itself (torch copies it). Two equal maxima: the one on the earlier row.
        var map = new float[4 * 4];
        map[3] = 5f;   // row 0, column 3
        map[12] = 5f;  // row 3, column 0
        Assert.AreEqual((3, 0, 5f), KeypointDecoding.ResizedArgmax(map, 4, 4, 4));
        // NaN counts as the maximum, as in torch.argmax.
        map[9] = float.NaN;
        var nan = KeypointDecoding.ResizedArgmax(map, 4, 4, 4);
        Assert.AreEqual((1, 2), (nan.X, nan.Y));
        Assert.IsTrue(float.IsNaN(nan.Value));
    }

    [TestMethod]
    public void NoDetectionsAndBadArguments()
    {
        var (kp, scores) = KeypointDecoding.HeatmapsToKeypoints(ReadOnlySpan<float>.Empty, 17, 56, ReadOnlySpan<float>.Empty);
        Assert.AreEqual(0, kp.Length);
        Assert.AreEqual(0, scores.Length);
        var e = Assert.ThrowsException<ArgumentException>(() => KeypointDecoding.HeatmapsToKeypoints(new float[56 * 56], 17, 56, new float[4]));
        StringAssert.Contains(e.Message, "1 rois with 17 keypoints need 1x17x56x56 heatmap values, got 3136");
        e = Assert.ThrowsException<ArgumentException>(() => KeypointDecoding.HeatmapsToKeypoints(new float[56 * 56], 1, 56, new float[] { 0, float.PositiveInfinity, 4, 4 }));
        StringAssert.Contains(e.Message, "roi 0");
        Assert.ThrowsException<ArgumentException>(() => KeypointDecoding.ResizeKeypoints(new float[4], 1, 1, 1, 1));
        Assert.ThrowsException<ArgumentOutOfRangeException>(() => KeypointDecoding.ResizeKeypoints(new float[3], 0, 1, 1, 1));
    }
}
