using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Onnx.Export;
using MLNetSeg.Onnx.Tests.Export;
using MLNetSeg.Onnx.Tests.Runtime;
using MLNetSeg.Training;
using MLNetSeg.Transforms;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Onnx.Tests.MLNet;

/// <summary>
/// The ML.NET deployment route: ExtractSegmentationOnnxInput → ML.NET's own ApplyOnnxModel on the
/// exported file → DecodeSegmentationOnnxOutput gives the columns and values MLNetSeg's libtorch
/// transformer gives on the same images.
/// </summary>
[TestClass]
public sealed class ApplyOnnxModelTests
{
    private sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
    }

    /// <summary>The images as dir/scene{i}.png, for ML.NET's LoadImages.</summary>
    private static string[] WriteScenes(string dir, Image[] images) => images.Select((im, i) =>
    {
        var p = Path.Combine(dir, $"scene{i}.png");
        ImageIO.WritePng(im, p);
        return p;
    }).ToArray();

    [TestMethod]
    public void ApplyOnnxModelThenDecodingGivesTheColumnsAndValuesOfTheLibtorchTransformer()
    {
        using var model = OnnxTestModels.MaskRcnn(seed: 3);
        model.RoiHeads.Settings = model.RoiHeads.Settings with { ScoreThresh = 0.5 };
        AssertRouteMatchesTheLibtorchTransformer(model);
    }

    [TestMethod]
    public void TensorMasksWindowMasksTakeTheRouteToo()
    {
        // Masks of several sides pasted into their windows: two more ONNX columns, their own saved decoding step.
        using var model = TensorMaskOnnxTests.Model(11, Models.TensorMask.TensorMaskHeadKind.Bipyramid);
        AssertRouteMatchesTheLibtorchTransformer(model);
    }

    /// <summary>The route's rows equal the libtorch transformer's, also after model.zip is saved and loaded, and in a fresh process
    /// that references only the ONNX route (libtorch never loaded).</summary>
    private static void AssertRouteMatchesTheLibtorchTransformer(Models.ISegmentationModel model)
    {
        var dir = Directory.CreateTempSubdirectory("mlnetseg-onnx-mlnet").FullName;
        var images = new[] { OnnxTestModels.Scene(96, 128, 1), OnnxTestModels.Scene(150, 100, 2), OnnxTestModels.Scene(80, 80, 7) };
        var paths = WriteScenes(dir, images);
        var labels = OnnxTestModels.Labels(model.NumClasses);
        var onnx = Path.Combine(dir, "model.onnx");
        OnnxExporter.Export(model, labels, onnx);

        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(paths.Select(p => new PathRow { ImagePath = p }));
        var load = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath");
        using var trained = new TrainedModel(model, labels);
        var ours = load.Append(ml.Transforms.ApplySegmentationModel(trained)).Fit(data).Transform(data);
        var route = load.Append(ml.Transforms.ExtractSegmentationOnnxInput("Image"))
            .Append(ml.Transforms.ApplyOnnxModel(onnx))
            .Append(ml.Transforms.DecodeSegmentationOnnxOutput(onnx))
            .Fit(data).Transform(data);

        var columns = new[] { SegmentationColumns.PredictedLabel, SegmentationColumns.Score, SegmentationColumns.PredictedBoundingBoxes, SegmentationColumns.PredictedMasks };
        foreach (var name in columns)
        {
            var (a, b) = (ours.Schema[name], route.Schema[name]);
            Assert.AreEqual(a.Type, b.Type, $"column {name} type");
        }
        var classNames = default(VBuffer<ReadOnlyMemory<char>>);
        route.Schema[SegmentationColumns.PredictedLabel].GetKeyValues(ref classNames);
        CollectionAssert.AreEqual(labels.ClassNames.Skip(1).ToArray(), classNames.DenseValues().Select(v => v.ToString()).ToArray());

        var expected = Rows(ours);
        var actual = Rows(route);
        Assert.AreEqual(images.Length, actual.Count);
        int detections = 0;
        for (int r = 0; r < expected.Count; r++)
        {
            var (e, a) = (expected[r], actual[r]);
            Assert.AreEqual(e.Labels.Length, a.Labels.Length, $"row {r}: detections");
            detections += e.Labels.Length;
            for (int d = 0; d < e.Labels.Length; d++)
            {
                Assert.AreEqual(e.Labels[d], a.Labels[d], $"row {r} detection {d}: label");
                Assert.AreEqual(e.Scores[d], a.Scores[d], 1e-3f, $"row {r} detection {d}: score");
                for (int c = 0; c < 4; c++) Assert.AreEqual(e.Boxes[4 * d + c], a.Boxes[4 * d + c], 1e-2f, $"row {r} detection {d}: box");
                var (h, w) = (images[r].Height, images[r].Width);
                var iou = Vision.Structures.Rle.Iou(new[] { Vision.Structures.Rle.FromCompressedString(e.Masks[d], h, w) },
                    new[] { Vision.Structures.Rle.FromCompressedString(a.Masks[d], h, w) }, new[] { false })[0, 0];
                Assert.IsTrue(iou >= 0.99, $"row {r} detection {d}: mask IoU {iou}");
            }
        }
        Assert.IsTrue(detections > 0, "the model made no detection to compare");

        // model.zip: the whole route (ML.NET saves ApplyOnnxModel with the ONNX bytes; ours as chains of ML.NET's
        // own transformers) loads in a fresh context, without the .onnx file, and gives the same rows.
        var fitted = load.Append(ml.Transforms.ExtractSegmentationOnnxInput("Image"))
            .Append(ml.Transforms.ApplyOnnxModel(onnx))
            .Append(ml.Transforms.DecodeSegmentationOnnxOutput(onnx))
            .Fit(data);
        fitted.Transform(data);
        var zip = Path.Combine(dir, "route.zip");
        ml.Model.Save(fitted, data.Schema, zip);
        File.Delete(onnx);
        var fresh = new MLContext(seed: 2);
        var loaded = fresh.Model.Load(zip, out _);
        var reloaded = Rows(loaded.Transform(fresh.Data.LoadFromEnumerable(paths.Select(p => new PathRow { ImagePath = p }))));
        Assert.AreEqual(actual.Count, reloaded.Count);
        for (int r = 0; r < actual.Count; r++)
        {
            CollectionAssert.AreEqual(actual[r].Labels, reloaded[r].Labels, $"reloaded row {r}: labels");
            CollectionAssert.AreEqual(actual[r].Scores, reloaded[r].Scores, $"reloaded row {r}: scores");
            CollectionAssert.AreEqual(actual[r].Boxes, reloaded[r].Boxes, $"reloaded row {r}: boxes");
            CollectionAssert.AreEqual(actual[r].Masks, reloaded[r].Masks, $"reloaded row {r}: masks");
        }

        // And in a fresh process that references only the ONNX route: same scores, libtorch never loaded.
        var (output, _) = RuntimeIsolationTests.RunTool("--zip", zip, paths[0], paths[1], paths[2]);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.AreEqual(4, lines.Length, output);
        for (int r = 0; r < 3; r++)
        {
            using var row = System.Text.Json.JsonDocument.Parse(lines[r]);
            CollectionAssert.AreEqual(actual[r].Scores, row.RootElement.GetProperty("scores").EnumerateArray().Select(v => v.GetSingle()).ToArray(), $"fresh process, row {r}");
        }
        StringAssert.Contains(lines[3], "\"native\":[]", "the saved ONNX route loaded libtorch or the shim");
        Directory.Delete(dir, recursive: true);
    }

    [TestMethod]
    public void APanopticExportGivesTheSemanticLabelColumnOfTheLibtorchTransformer()
    {
        var dir = Directory.CreateTempSubdirectory("mlnetseg-onnx-mlnet-panoptic").FullName;
        var images = new[] { OnnxTestModels.Scene(96, 128, 1), OnnxTestModels.Scene(150, 100, 2) };
        var paths = WriteScenes(dir, images);
        using var model = OnnxTestModels.Panoptic(seed: 12);
        model.RoiHeads.Settings = model.RoiHeads.Settings with { ScoreThresh = 0.05 };
        var labels = OnnxTestModels.Labels(model.NumClasses);
        var onnx = Path.Combine(dir, "panoptic.onnx");
        OnnxExporter.Export(model, labels, onnx);

        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(paths.Select(p => new PathRow { ImagePath = p }));
        var load = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath");
        using var trained = new TrainedModel(model, labels);
        var ours = load.Append(ml.Transforms.ApplySegmentationModel(trained)).Fit(data).Transform(data);
        var fitted = load.Append(ml.Transforms.ExtractSegmentationOnnxInput("Image"))
            .Append(ml.Transforms.ApplyOnnxModel(onnx))
            .Append(ml.Transforms.DecodeSegmentationOnnxOutput(onnx))
            .Fit(data);
        var route = fitted.Transform(data);
        var expected = ours.GetColumn<VBuffer<ushort>>(SegmentationColumns.PredictedSemanticLabels).Select(v => v.DenseValues().ToArray()).ToArray();
        var actual = route.GetColumn<VBuffer<ushort>>(SegmentationColumns.PredictedSemanticLabels).Select(v => v.DenseValues().ToArray()).ToArray();
        for (int r = 0; r < images.Length; r++)
        {
            Assert.AreEqual(images[r].Height * images[r].Width, expected[r].Length, $"row {r}: one label per pixel");
            Assert.AreEqual(expected[r].Length, actual[r].Length, $"row {r}: label map size");
            Assert.IsTrue(expected[r].Distinct().Count() > 1, $"row {r}: the comparison needs more than one label");
            int same = expected[r].Zip(actual[r]).Count(p => p.First == p.Second);
            Assert.IsTrue(same >= 0.995 * expected[r].Length, $"row {r}: {same} of {expected[r].Length} labels agree");
        }
        // Saving this route's decoding is refused by name rather than dropping the semantic column.
        var e = Assert.ThrowsException<NotSupportedException>(() => ml.Model.Save(fitted, data.Schema, Path.Combine(dir, "route.zip")));
        StringAssert.Contains(e.Message, "semantic");
        Directory.Delete(dir, recursive: true);
    }

    [TestMethod]
    public void DecodingRefusesAViewWithoutTheOnnxColumnsAndANonExport()
    {
        var dir = Directory.CreateTempSubdirectory("mlnetseg-onnx-mlnet-bad").FullName;
        using var model = OnnxTestModels.MaskRcnn(seed: 3);
        var onnx = Path.Combine(dir, "model.onnx");
        OnnxExporter.Export(model, OnnxTestModels.Labels(model.NumClasses), onnx);
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new PathRow { ImagePath = "x.png" } });
        var e = Assert.ThrowsException<ArgumentOutOfRangeException>(() => ml.Transforms.DecodeSegmentationOnnxOutput(onnx).Fit(data));
        StringAssert.Contains(e.Message, "'boxes'");
        StringAssert.Contains(e.Message, "ApplyOnnxModel");
        var text = Path.Combine(dir, "text.onnx");
        File.WriteAllText(text, "not a model");
        Assert.ThrowsException<MLNetSeg.Onnx.Runtime.OnnxModelException>(() => ml.Transforms.DecodeSegmentationOnnxOutput(text));
        var input = Assert.ThrowsException<ArgumentOutOfRangeException>(() => ml.Transforms.ExtractSegmentationOnnxInput("Nope").Fit(data));
        StringAssert.Contains(input.Message, "'Nope'");
        Directory.Delete(dir, recursive: true);
    }

    private sealed record Row(uint[] Labels, float[] Scores, float[] Boxes, string[] Masks);

    private static List<Row> Rows(IDataView view)
    {
        var rows = new List<Row>();
        var columns = new[] { SegmentationColumns.PredictedLabel, SegmentationColumns.Score, SegmentationColumns.PredictedBoundingBoxes, SegmentationColumns.PredictedMasks }
            .Select(n => view.Schema[n]).ToArray();
        using var cursor = view.GetRowCursor(columns);
        var labels = cursor.GetGetter<VBuffer<uint>>(columns[0]);
        var scores = cursor.GetGetter<VBuffer<float>>(columns[1]);
        var boxes = cursor.GetGetter<VBuffer<float>>(columns[2]);
        var masks = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(columns[3]);
        VBuffer<uint> l = default;
        VBuffer<float> s = default, b = default;
        VBuffer<ReadOnlyMemory<char>> m = default;
        while (cursor.MoveNext())
        {
            labels(ref l); scores(ref s); boxes(ref b); masks(ref m);
            rows.Add(new Row(l.DenseValues().ToArray(), s.DenseValues().ToArray(), b.DenseValues().ToArray(), m.DenseValues().Select(v => v.ToString()).ToArray()));
        }
        return rows;
    }
}
