using MLNetSeg.Onnx.Export;
using MLNetSeg.Onnx.Runtime;
using MLNetSeg.Onnx.Tests.Export;

namespace MLNetSeg.Onnx.Tests.Runtime;

/// <summary>The CUDA provider option: where CUDA cannot start (this machine has no GPU), the predictor says so and
/// runs on the CPU, or refuses when told not to fall back; where it starts, it predicts what the CPU predicts.</summary>
[TestClass]
public sealed class ExecutionProviderTests
{
    [TestMethod]
    public void CudaFallsBackToTheCpuWithAMessageOrRefusesWhenToldNotTo()
    {
        var dir = Directory.CreateTempSubdirectory("mlnetseg-onnx-cuda").FullName;
        using var model = OnnxTestModels.MaskRcnn(seed: 3);
        model.RoiHeads.Settings = model.RoiHeads.Settings with { ScoreThresh = 0.5 };
        var onnx = Path.Combine(dir, "model.onnx");
        OnnxExporter.Export(model, OnnxTestModels.Labels(model.NumClasses), onnx);
        var image = OnnxTestModels.Scene(96, 128, 1);
        using var cpu = new OnnxSegmentationPredictor(onnx);
        Assert.AreEqual(OnnxExecutionProvider.Cpu, cpu.ExecutionProvider);

        var messages = new List<string>();
        using var cuda = new OnnxSegmentationPredictor(onnx, new OnnxPredictorOptions { Provider = OnnxExecutionProvider.Cuda, Log = messages.Add });
        if (cuda.ExecutionProvider == OnnxExecutionProvider.Cuda)
        {
            Assert.AreEqual(0, messages.Count);
            OnnxParityTests.AssertSame(new[] { cpu.Predict(image) }, new[] { cuda.Predict(image) }, "CUDA vs CPU");
        }
        else
        {
            Assert.AreEqual(1, messages.Count, string.Join("\n", messages));
            StringAssert.Contains(messages[0], "CUDA provider could not start");
            StringAssert.Contains(messages[0], "on the CPU");
            OnnxParityTests.AssertSame(new[] { cpu.Predict(image) }, new[] { cuda.Predict(image) }, "fallback vs CPU");
            var e = Assert.ThrowsException<InvalidOperationException>(() =>
                new OnnxSegmentationPredictor(onnx, new OnnxPredictorOptions { Provider = OnnxExecutionProvider.Cuda, FallbackToCpu = false }));
            StringAssert.Contains(e.Message, "FallbackToCpu");
            StringAssert.Contains(e.Message, onnx);
        }
        Directory.Delete(dir, recursive: true);
    }
}
