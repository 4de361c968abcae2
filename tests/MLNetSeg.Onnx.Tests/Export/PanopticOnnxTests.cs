using MLNetSeg.Models;
using MLNetSeg.Models.Panoptic;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Onnx.Export;
using MLNetSeg.Onnx.Runtime;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Onnx.Tests.Export;

/// <summary>
/// The panoptic family's exports on ONNX Runtime against the libtorch model they came from (same weights and images): the
/// instances as the R-CNN parity tests compare them, and the semantic label map decoded in C# agreeing with the model's on
/// ≥ 99.5% of the pixels (float32 sums in another order move argmax ties and bilinear taps by a last bit), for every head:
/// Panoptic-FPN-IMP (the IMP canvas in ONNX ops), Panoptic-P2, Mask R-CNN-IMP (the canvas as the prediction, thresholded) and
/// Semantic-FPN (no detector outputs).
/// </summary>
[TestClass]
public sealed class PanopticOnnxTests
{
    private static readonly Image[] Pair = { OnnxTestModels.Scene(96, 128, 1), OnnxTestModels.Scene(150, 100, 2) };

    public static IEnumerable<object[]> Variants => new[]
    {
        new object[] { "Fpn", true, true },
        new object[] { "P2", false, true },
        new object[] { "None", true, true },
        new object[] { "Fpn", false, false },
    };

    [TestMethod]
    [DynamicData(nameof(Variants))]
    public void ExportMatchesTheModelsInstancesAndLabelMaps(string head, bool imp, bool instances)
    {
        using var model = OnnxTestModels.Panoptic(seed: 11, o => o with
        {
            SemanticHead = Enum.Parse<SemanticHeadKind>(head), Imp = imp, Instances = instances, ImpCanvasThreshold = 0.05,
        });
        // A low score threshold so the canvas holds many overlapping detections of every class.
        model.RoiHeads.Settings = model.RoiHeads.Settings with { ScoreThresh = 0.05 };
        var dir = Directory.CreateTempSubdirectory("mlnetseg-onnx-panoptic").FullName;
        var path = Path.Combine(dir, "panoptic.onnx");
        var report = OnnxExporter.Export(model, OnnxTestModels.Labels(4), path);
        CollectionAssert.Contains(report.Outputs.ToList(), OnnxContract.SemanticScores);

        IReadOnlyList<SegmentationResult> expected;
        using (var scope = DisposeScope.Enter())
            expected = ((ISegmentationModel)model).Predict(Pair.Select(GeneralizedRcnn.ToUnitTensor).ToArray());
        using var predictor = new OnnxSegmentationPredictor(path);
        Assert.AreEqual(model.Tasks, predictor.Info.Tasks);
        var actual = predictor.PredictSegmentation(Pair);
        Assert.AreEqual(Pair.Length, actual.Count);
        for (int i = 0; i < Pair.Length; i++)
        {
            var (e, a) = (expected[i].Semantic!, actual[i].Semantic!);
            Assert.AreEqual((e.Height, e.Width), (a.Height, a.Width));
            int[] el = e.Labels.ToArray(), al = a.Labels.ToArray();
            int same = el.Zip(al).Count(p => p.First == p.Second);
            Assert.IsTrue(same >= 0.995 * el.Length, $"{head} imp={imp}: image {i}: {same} of {el.Length} labels agree");
            Assert.IsTrue(el.Distinct().Count() > 1, "the comparison needs a label map with more than one label");
            if (!instances)
            {
                Assert.IsNull(actual[i].Instances);
                continue;
            }
            var (ei, ai) = (expected[i].Instances!, actual[i].Instances!);
            Assert.IsTrue(ei.Count > 3, $"image {i}: the comparison needs detections, got {ei.Count}");
            Assert.AreEqual(ei.Count, ai.Count, $"image {i}: detections");
            CollectionAssert.AreEqual(ei.Labels.ToArray(), ai.Labels.ToArray(), $"image {i}: labels");
            for (int d = 0; d < ei.Count; d++) Assert.AreEqual(ei.Scores![d], ai.Scores![d], 1e-3, $"image {i} detection {d}: score");
            Assert.IsNotNull(actual[i].Panoptic);
            int segments = expected[i].Panoptic!.Segments.Count;
            Assert.IsTrue(Math.Abs(segments - actual[i].Panoptic!.Segments.Count) <= 1, $"image {i}: {segments} vs {actual[i].Panoptic!.Segments.Count} panoptic segments");
        }
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    [TestMethod]
    public void AnImpExportWithoutDetectionsPaintsAnEmptyCanvas()
    {
        using var model = OnnxTestModels.Panoptic(seed: 13);
        model.RoiHeads.Settings = model.RoiHeads.Settings with { ScoreThresh = 0.99999 };
        var path = Path.Combine(Directory.CreateTempSubdirectory("mlnetseg-onnx-panoptic-empty").FullName, "panoptic.onnx");
        OnnxExporter.Export(model, OnnxTestModels.Labels(4), path);
        IReadOnlyList<SegmentationResult> expected;
        using (var scope = DisposeScope.Enter())
            expected = ((ISegmentationModel)model).Predict(Pair.Select(GeneralizedRcnn.ToUnitTensor).ToArray());
        using var predictor = new OnnxSegmentationPredictor(path);
        var actual = predictor.PredictSegmentation(Pair);
        for (int i = 0; i < Pair.Length; i++)
        {
            Assert.AreEqual(0, expected[i].Instances!.Count, "the model should find nothing at this threshold");
            Assert.AreEqual(0, actual[i].Instances!.Count);
            int[] el = expected[i].Semantic!.Labels.ToArray(), al = actual[i].Semantic!.Labels.ToArray();
            int same = el.Zip(al).Count(p => p.First == p.Second);
            Assert.IsTrue(same >= 0.995 * el.Length, $"image {i}: {same} of {el.Length} labels agree");
        }
    }
}
