using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Onnx.Export;
using MLNetSeg.Onnx.Runtime;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Onnx.Tests.Export;

/// <summary>
/// Exported graphs run on ONNX Runtime against the libtorch model they came from, same weights and
/// images (no Python): boxes within 1e-2 px, scores within 1e-3, labels equal, mask IoU ≥ 0.99,
/// keypoints within 0.5 px — for batches of one and of two images of different sizes, and for
/// images without any detection.
/// </summary>
[TestClass]
public sealed class OnnxParityTests
{
    private static readonly Image[] Pair = { OnnxTestModels.Scene(96, 128, 1), OnnxTestModels.Scene(150, 100, 2) };

    private static string Export(GeneralizedRcnn model, string name)
    {
        var dir = Directory.CreateTempSubdirectory("mlnetseg-onnx-parity").FullName;
        var path = Path.Combine(dir, name + ".onnx");
        var labels = model is KeypointRcnn
            ? OnnxTestModels.Labels(2, new KeypointSchema(Enumerable.Range(0, model.RoiHeads.KeypointPredictor!.NumKeypoints).Select(i => $"k{i}").ToArray(),
                Array.Empty<(int, int)>(), Enumerable.Range(0, model.RoiHeads.KeypointPredictor!.NumKeypoints).ToArray()))
            : OnnxTestModels.Labels(model.NumClasses);
        OnnxExporter.Export(model, labels, path);
        return path;
    }

    private static void WithThreshold(GeneralizedRcnn model, double threshold) =>
        model.RoiHeads.Settings = model.RoiHeads.Settings with { ScoreThresh = threshold };

    [TestMethod]
    public void MaskRcnnMatchesOnOneImageAndOnABatchOfTwoSizes()
    {
        using var model = OnnxTestModels.MaskRcnn(seed: 3);
        WithThreshold(model, 0.5);
        var path = Export(model, "maskrcnn_v1");
        using var predictor = new OnnxSegmentationPredictor(path);
        AssertSame(model.Predict(Pair), predictor.Predict(Pair), "batch of two");
        AssertSame(new[] { model.Predict(Pair[1]) }, new[] { predictor.Predict(Pair[1]) }, "single image");
        try { File.Delete(path); } catch (IOException) { }
    }

    [TestMethod]
    public void MaskRcnnV2WithBatchNormHeadsMatches()
    {
        using var model = OnnxTestModels.MaskRcnn(seed: 4, headVersion: 2, norm: BackboneNorm.BatchNorm);
        WithThreshold(model, 0.5);
        var path = Export(model, "maskrcnn_v2");
        using var predictor = new OnnxSegmentationPredictor(path);
        AssertSame(model.Predict(Pair), predictor.Predict(Pair), "v2 batch of two");
    }

    [TestMethod]
    public void KeypointRcnnMatches()
    {
        using var model = OnnxTestModels.KeypointRcnn(seed: 6);
        WithThreshold(model, 0.5);
        var path = Export(model, "keypointrcnn");
        using var predictor = new OnnxSegmentationPredictor(path);
        Assert.IsTrue(predictor.Info.Tasks.HasFlag(SegmentationTasks.Keypoints));
        AssertSame(model.Predict(Pair), predictor.Predict(Pair), "keypoints, batch of two");
    }

    [TestMethod]
    public void MaskLabMatchesWithEachMaskFeatureAndRefusesTheDeformablePooler()
    {
        using (var model = OnnxTestModels.MaskLab(seed: 7, o => o with { DeformableCrop = false }))
        {
            WithThreshold(model, 0.5);
            var path = Export(model, "masklab");
            using var predictor = new OnnxSegmentationPredictor(path);
            var expected = model.Predict(Pair);
            Assert.IsTrue(expected.All(r => r.Count > 0 && r.Masks!.Any(m => m.Area > 0)), "the comparison needs detections with non-empty masks");
            AssertSame(expected, predictor.Predict(Pair), "MaskLab, batch of two");
        }
        using (var model = OnnxTestModels.MaskLab(seed: 8, o => o with { DeformableCrop = false, Semantic = false, Refinement = false, LogitStride = 4 }))
        {
            WithThreshold(model, 0.5);
            using var predictor = new OnnxSegmentationPredictor(Export(model, "masklab_direction_only"));
            AssertSame(model.Predict(Pair), predictor.Predict(Pair), "MaskLab, direction feature alone at stride 4");
        }
        using (var model = OnnxTestModels.MaskLab(seed: 9))
        {
            var e = Assert.ThrowsException<NotSupportedException>(() => Export(model, "masklab_deformable"));
            StringAssert.Contains(e.Message, "DeformableCrop = false");
        }
    }

    [TestMethod]
    public void ImagesWithoutDetectionsGiveEmptyResultsAlsoBesideAnImageWithDetections()
    {
        using var model = OnnxTestModels.MaskRcnn(seed: 3);
        // The threshold between the two images' best scores: one keeps detections, the other none.
        WithThreshold(model, 0.0);
        var best = model.Predict(Pair).Select(r => r.Scores!.Max()).ToArray();
        Assert.AreNotEqual(best[0], best[1], "the two images need different best scores");
        WithThreshold(model, (best[0] + best[1]) / 2);
        var path = Export(model, "maskrcnn_mixed");
        using (var predictor = new OnnxSegmentationPredictor(path))
        {
            var expected = model.Predict(Pair);
            Assert.IsTrue(expected.Count(r => r.Count == 0) == 1, "one image with and one without detections");
            AssertSame(expected, predictor.Predict(Pair), "mixed batch");
        }

        WithThreshold(model, 0.99999);
        path = Export(model, "maskrcnn_none");
        using (var predictor = new OnnxSegmentationPredictor(path))
        {
            var results = predictor.Predict(Pair);
            Assert.IsTrue(results.All(r => r.Count == 0 && r.Masks is { Count: 0 }));
            Assert.AreEqual((150, 100), (results[1].ImageHeight, results[1].ImageWidth));
            AssertSame(model.Predict(Pair), results, "no detections");
        }
    }

    /// <summary>Every libtorch detection has an ONNX twin (same label, score within 1e-3, box within 1e-2 px, mask IoU ≥ 0.99,
    /// keypoints within 0.5 px), and the counts are equal. Twins are found by position first and by search when two
    /// near-equal scores swapped places.</summary>
    internal static void AssertSame(IReadOnlyList<Instances> expected, IReadOnlyList<Instances> actual, string what)
    {
        Assert.AreEqual(expected.Count, actual.Count, $"{what}: images");
        for (int i = 0; i < expected.Count; i++)
        {
            var (e, a) = (expected[i], actual[i]);
            string where = $"{what}, image {i}";
            Assert.AreEqual((e.ImageHeight, e.ImageWidth), (a.ImageHeight, a.ImageWidth), $"{where}: size");
            Assert.AreEqual(e.Count, a.Count, $"{where}: detections");
            Assert.AreEqual(e.Masks is null, a.Masks is null, $"{where}: masks present");
            Assert.AreEqual(e.Keypoints is null, a.Keypoints is null, $"{where}: keypoints present");
            var used = new bool[a.Count];
            for (int d = 0; d < e.Count; d++)
            {
                int twin = Twin(e, a, d, used);
                Assert.IsTrue(twin >= 0, $"{where}: detection {d} (label {e.Labels[d]}, score {e.Scores![d]}, box {e.Boxes[d]}) has no ONNX twin");
                used[twin] = true;
                if (e.Masks is not null)
                {
                    double iou = Rle.Iou(new[] { e.Masks[d] }, new[] { a.Masks![twin] }, new[] { false })[0, 0];
                    bool bothEmpty = e.Masks[d].Area == 0 && a.Masks![twin].Area == 0;
                    Assert.IsTrue(bothEmpty || iou >= 0.99, $"{where}: detection {d} mask IoU {iou} (areas {e.Masks[d].Area}, {a.Masks![twin].Area})");
                }
                if (e.Keypoints is not null)
                {
                    var ek = e.Keypoints.Data.ToArray();
                    var ak = a.Keypoints!.Data.ToArray();
                    int k = e.Keypoints.KeypointsPerInstance;
                    for (int j = 0; j < k; j++)
                    {
                        float dx = ek[(d * k + j) * 3] - ak[(twin * k + j) * 3], dy = ek[(d * k + j) * 3 + 1] - ak[(twin * k + j) * 3 + 1];
                        Assert.IsTrue(MathF.Sqrt(dx * dx + dy * dy) <= 0.5f, $"{where}: detection {d} keypoint {j} off by ({dx}, {dy})");
                        Assert.AreEqual(e.KeypointScoreData[d * k + j], a.KeypointScoreData[twin * k + j], 1e-2f, $"{where}: detection {d} keypoint {j} score");
                    }
                }
            }
        }
    }

    private static int Twin(Instances e, Instances a, int d, bool[] used)
    {
        bool Matches(int j) =>
            !used[j] && e.Labels[d] == a.Labels[j] && Math.Abs(e.Scores![d] - a.Scores![j]) <= 1e-3f
            && MaxDiff(e.Boxes[d], a.Boxes[j]) <= 1e-2f;
        if (d < a.Count && Matches(d)) return d;
        for (int j = 0; j < a.Count; j++)
            if (Matches(j)) return j;
        return -1;
    }

    private static float MaxDiff(Box x, Box y) =>
        new[] { x.X1 - y.X1, x.Y1 - y.Y1, x.X2 - y.X2, x.Y2 - y.Y2 }.Max(MathF.Abs);
}
