using MLNetSeg.Models;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Onnx;
using MLNetSeg.Torch;
using Onnx;

namespace MLNetSeg.Cli.Tests;

/// <summary>`mlnetseg export`: a saved model becomes an ONNX file with the contract's inputs, outputs and metadata
/// (running it is the ONNX tests' business); bad arguments exit 2 with the reason.</summary>
[TestClass]
public sealed class ExportCommandTests
{
    [TestMethod]
    public void ExportsAModelFileWithTheContractsInputsOutputsAndClassNames()
    {
        var root = Directory.CreateTempSubdirectory("mlnetseg-export").FullName;
        TorchRuntime.ManualSeed(11);
        var arch = new ModelArchitecture { ModelType = ModelArchitecture.KeypointRcnnType, Backbone = ResNetDepth.ResNet18, NumClasses = 2, NumKeypoints = 17 };
        using (var model = arch.Build(new RcnnOptions { MinSize = 128, MaxSize = 192 }))
            ModelFile.Save(model, new ModelFileInfo { ClassNames = new[] { "__background__", "person" }, Keypoints = Vision.Structures.KeypointSchema.CocoPerson }, Path.Combine(root, "kp.mlseg"));
        var onnx = Path.Combine(root, "out", "kp.onnx");

        var (code, stdout, stderr) = CliRunner.Run("export", "--model", Path.Combine(root, "kp.mlseg"), "--out", onnx);

        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "(keypointrcnn)");
        StringAssert.Contains(stdout, "opset 17");
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnx));
        CollectionAssert.AreEqual(new[] { OnnxContract.Images, OnnxContract.ImageSizes }, proto.Graph.Input.Select(i => i.Name).ToArray());
        CollectionAssert.AreEqual(new[] { OnnxContract.Boxes, OnnxContract.Scores, OnnxContract.Labels, OnnxContract.BatchIndices, OnnxContract.ResizedSizes,
            OnnxContract.KeypointHeatmaps, OnnxContract.NetworkBoxes }, proto.Graph.Output.Select(o => o.Name).ToArray());
        Assert.AreEqual(17, proto.OpsetImport.Single().Version);
        var metadata = proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.AreEqual("keypointrcnn", metadata[OnnxContract.FamilyKey]);
        StringAssert.Contains(metadata[OnnxContract.ModelInfoKey], "\"person\"");
        Assert.IsFalse(Directory.EnumerateFiles(Path.Combine(root, "out"), "*.tmp").Any(), "the temporary file was left behind");
        Directory.Delete(root, recursive: true);
    }

    [TestMethod]
    public void AMissingOrDamagedModelFileExitsWithTheReason()
    {
        var root = Directory.CreateTempSubdirectory("mlnetseg-export-bad").FullName;
        var (code, _, stderr) = CliRunner.Run("export", "--model", Path.Combine(root, "none.mlseg"), "--out", Path.Combine(root, "x.onnx"));
        Assert.AreEqual(CliApp.InputError, code);
        StringAssert.Contains(stderr, "model file not found");
        File.WriteAllText(Path.Combine(root, "bad.mlseg"), "not a model");
        (code, _, stderr) = CliRunner.Run("export", "--model", Path.Combine(root, "bad.mlseg"), "--out", Path.Combine(root, "x.onnx"));
        Assert.AreEqual(CliApp.InputError, code);
        StringAssert.Contains(stderr, "bad.mlseg");
        Assert.IsFalse(File.Exists(Path.Combine(root, "x.onnx")));
        Directory.Delete(root, recursive: true);
    }
}
