using System.Diagnostics;
using System.Text.Json;
using MLNetSeg.Onnx.Export;
using MLNetSeg.Onnx.Runtime;
using MLNetSeg.Onnx.Tests.Export;
using MLNetSeg.Tests.Shared;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Onnx.Tests.Runtime;

/// <summary>The ONNX Runtime path in a fresh process: decodes image files, predicts, and never loads libtorch or our native shim.</summary>
[TestClass]
public sealed class RuntimeIsolationTests
{
    [TestMethod]
    public void AFreshProcessPredictsFromFilesWithoutLoadingLibtorch()
    {
        var dir = Directory.CreateTempSubdirectory("mlnetseg-onnx-fresh").FullName;
        using var model = OnnxTestModels.MaskRcnn(seed: 3);
        model.RoiHeads.Settings = model.RoiHeads.Settings with { ScoreThresh = 0.5 };
        var onnx = Path.Combine(dir, "model.onnx");
        OnnxExporter.Export(model, OnnxTestModels.Labels(model.NumClasses), onnx);
        var image = OnnxTestModels.Scene(96, 128, 1);
        var png = Path.Combine(dir, "scene.png");
        ImageIO.WritePng(image, png);
        Instances expected;
        using (var predictor = new OnnxSegmentationPredictor(onnx)) expected = predictor.Predict(image);
        Assert.IsTrue(expected.Count > 0);

        var (output, _) = RunTool(onnx, png);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.AreEqual(2, lines.Length, output);
        using var row = JsonDocument.Parse(lines[0]);
        Assert.AreEqual(expected.Count, row.RootElement.GetProperty("count").GetInt32());
        CollectionAssert.AreEqual(expected.Labels.ToArray(), row.RootElement.GetProperty("labels").EnumerateArray().Select(v => v.GetInt32()).ToArray());
        CollectionAssert.AreEqual(expected.Masks!.Select(m => m.Area).ToArray(), row.RootElement.GetProperty("masks").EnumerateArray().Select(v => v.GetInt64()).ToArray());
        using var native = JsonDocument.Parse(lines[1]);
        var loaded = native.RootElement.GetProperty("native").EnumerateArray().Select(v => v.GetString()).ToArray();
        Assert.AreEqual(0, loaded.Length, $"the ONNX path loaded {string.Join(", ", loaded)}");
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>Runs tests/Tools/OnnxPredict in a fresh process; asserts it succeeded and returns its output.</summary>
    internal static (string Output, string Errors) RunTool(params string[] args)
    {
        var (code, output, errors) = ToolProcess.Run("OnnxPredict", "OnnxPredict.dll", args);
        Assert.AreEqual(0, code, errors);
        return (output, errors);
    }
}
