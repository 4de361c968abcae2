using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Models;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Training;
using MLNetSeg.Training.Tests.TinySemanticFamily;
using MLNetSeg.Vision.Imaging;
using static MLNetSeg.Transforms.Tests.Scoring.TransformerTests;

namespace MLNetSeg.Transforms.Tests.Scoring;

/// <summary>The transformer's keypoint and semantic outputs, against the typed predictor.</summary>
[TestClass]
public sealed class OtherFamiliesTests
{
    private static string[] ValPaths()
    {
        var val = TinyDataset.Shared.Validation();
        return Enumerable.Range(0, 3).Select(val.ImagePath).ToArray();
    }

    [TestMethod]
    public void KeypointRcnnGivesKeypointsWithScores()
    {
        var train = MLNetSeg.Data.Loading.DetectionDataset.Load(
            MLNetSeg.Data.Synthetic.SyntheticDatasetGenerator.KeypointsJsonPath(TinyDataset.Shared.Root, "train"), TinyDataset.Shared.TrainImages);
        TorchRuntime.ManualSeed(4);
        var options = new KeypointRcnnOptions
        {
            Backbone = ModelFixtures.TinyMaskRcnn.Backbone, Norm = ModelFixtures.TinyMaskRcnn.Norm, Widths = ModelFixtures.TinyMaskRcnn.Widths,
            Settings = ModelFixtures.TinyMaskRcnn.Settings,
        };
        var info = TrainedModel.InfoFor(train);
        using var model = new TrainedModel(ModelRegistry.Get(options.Family).Create(options, info), info);
        var ml = new MLContext();
        var paths = ValPaths();
        var input = ml.Data.LoadFromEnumerable(new[] { new SegmentationPathInput { Image = paths[0] } });
        using var transformer = ml.Transforms.ApplySegmentationModel(model).Fit(input);
        var schema = transformer.GetOutputSchema(input.Schema);
        Assert.IsNull(schema.GetColumnOrNull("PredictedMasks"));
        VBuffer<ReadOnlyMemory<char>> names = default;
        schema["PredictedKeypoints"].Annotations.GetValue(SegmentationColumns.KeypointNamesAnnotation, ref names);
        CollectionAssert.AreEqual(train.KeypointSchema!.Names.ToArray(), names.DenseValues().Select(n => n.ToString()).ToArray());

        using var engine = ml.Model.CreatePredictionEngine<SegmentationPathInput, KeypointPrediction>(transformer);
        int compared = 0;
        foreach (var path in paths)
        {
            var typed = model.Predict(ImageIO.Read(path)).Instances!;
            var p = engine.Predict(new SegmentationPathInput { Image = path });
            int k = typed.Keypoints!.KeypointsPerInstance;
            Assert.AreEqual(typed.Count * k * 3, p.PredictedKeypoints.Length);
            for (int i = 0; i < typed.Count; i++)
                for (int j = 0; j < k; j++)
                {
                    int at = (i * k + j) * 3;
                    Assert.AreEqual(typed.Keypoints.X(i, j), p.PredictedKeypoints[at]);
                    Assert.AreEqual(typed.Keypoints.Y(i, j), p.PredictedKeypoints[at + 1]);
                    Assert.AreEqual(typed.KeypointScores![i][j], p.PredictedKeypoints[at + 2], "the third value is the keypoint's score");
                    compared++;
                }
        }
        Assert.IsTrue(compared > 0, "no keypoints to compare");
    }

    [TestMethod]
    public void SemanticModelsGiveALabelMapColumn()
    {
        TinySemanticFamily.Register();
        TorchRuntime.ManualSeed(6);
        var info = TrainedModel.InfoFor(TinyDataset.Shared.Train());
        using var model = new TrainedModel(TinySemanticFamily.Instance.Create(new TinySemanticOptions(), info), info);
        var ml = new MLContext();
        var paths = ValPaths();
        var input = ml.Data.LoadFromEnumerable(paths.Select(p => new SegmentationPathInput { Image = p }));
        using var transformer = ml.Transforms.ApplySegmentationModel(model).Fit(input);
        var scored = transformer.Transform(input);
        Assert.IsNull(scored.Schema.GetColumnOrNull("PredictedLabel"), "a semantic model has no instance outputs");
        var column = scored.Schema["PredictedSemanticLabels"];
        Assert.AreEqual(NumberDataViewType.UInt16, ((VectorDataViewType)column.Type).ItemType);
        using var cursor = scored.GetRowCursor(new[] { column });
        var get = cursor.GetGetter<VBuffer<ushort>>(column);
        VBuffer<ushort> map = default;
        int row = 0;
        while (cursor.MoveNext())
        {
            get(ref map);
            var typed = model.Predict(ImageIO.Read(paths[row])).Semantic!;
            var expected = typed.Labels.ToArray().Select(v => (ushort)v).ToArray();
            Assert.AreEqual(typed.Height * typed.Width, map.Length);
            CollectionAssert.AreEqual(expected, map.DenseValues().ToArray(), $"row {row}");
            row++;
        }
        Assert.AreEqual(paths.Length, row);
    }
}
