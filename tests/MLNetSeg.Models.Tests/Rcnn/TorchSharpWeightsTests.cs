using MLNetSeg.Models.Backbones;
using MLNetSeg.Models;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Torch.Serialization;

namespace MLNetSeg.Models.Tests.Rcnn;

/// <summary>
/// Weights saved by TorchSharp (module.save) load into our detectors by content, through
/// ModelWeights, LoadWeights and LoadPretrainedWeights (what TrainingOptions.Model.PretrainedWeights
/// calls). Fixtures from tools/fixtures/gen_torchsharp.py: maskrcnn_tiny is torchvision's MaskRCNN
/// state dict (deterministic weights) at tiny widths, with a torch.save twin; resnet18_tiny a
/// width-2 classification ResNet-18; box_predictor_2cls.dat the re-save of gen_detection.py's .pth.
/// Expected values: the .pth twins (read by PyTorchCheckpoint) and DeterministicWeights.
/// </summary>
[TestClass]
public sealed class TorchSharpWeightsTests
{
    /// <summary>The widths gen_torchsharp.py builds torchvision's MaskRCNN with.</summary>
    private static readonly DetectorWidths Tiny = new() { Backbone = 2, Fpn = 8, BoxHead = 16, MaskHead = 8, KeypointHead = 8 };

    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "torchsharp", name);

    private static MaskRcnn TinyMaskRcnn(int classes = 3, DetectorWidths? widths = null)
    {
        TorchRuntime.ManualSeed(11);
        return (MaskRcnn)new ModelArchitecture
        {
            ModelType = ModelArchitecture.MaskRcnnType, Backbone = ResNetDepth.ResNet18, FpnVersion = 2, NumClasses = classes, Widths = widths ?? Tiny,
        }.Build();
    }

    private static byte[] Bytes(Tensor t)
    {
        var bytes = new byte[t.NumEl * t.DType.ElementSize()];
        t.Contiguous().CopyTo<byte>(bytes);
        return bytes;
    }

    private static void AssertSameState(IReadOnlyDictionary<string, Tensor> expected, Module model, string what)
    {
        var actual = model.StateDict();
        Assert.IsTrue(expected.Count > 100, $"{what}: only {expected.Count} entries to compare");
        CollectionAssert.AreEquivalent(expected.Keys.ToArray(), actual.Keys.ToArray(), $"{what}: entries");
        foreach (var (name, e) in expected)
        {
            Assert.AreEqual(e.DType, actual[name].DType, $"{what} '{name}': dtype");
            CollectionAssert.AreEqual(Bytes(e), Bytes(actual[name]), $"{what} '{name}': values");
        }
    }

    [TestMethod]
    public void ATorchSharpFileLoadsLikeItsTorchSaveTwinAndHoldsTheDeterministicWeights()
    {
        using var scope = DisposeScope.Enter();
        using var fromTorchSharp = TinyMaskRcnn();
        using var fromPth = TinyMaskRcnn();
        var report = fromTorchSharp.LoadWeights(Fixture("maskrcnn_tiny.dat"));  // strict: every entry by name, shape checked
        Assert.AreEqual(fromTorchSharp.StateDict().Count, report.Loaded.Count);
        Assert.AreEqual(0, report.Missing.Count + report.Unexpected.Count + report.SkippedMismatched.Count);
        fromPth.LoadWeights(Fixture("maskrcnn_tiny.pth"));

        AssertSameState(fromPth.StateDict(), fromTorchSharp, "TorchSharp file vs torch.save twin");
        AssertSameState(DeterministicWeights.For(fromTorchSharp), fromTorchSharp, "TorchSharp file vs DeterministicWeights");
    }

    [TestMethod]
    public void LoadPretrainedWeightsTakesATorchSharpDetectorAndATorchSharpResNet()
    {
        using var scope = DisposeScope.Enter();
        var options = new MaskRcnnOptions { Backbone = ResNetDepth.ResNet18, Norm = BackboneNorm.BatchNorm, Widths = Tiny };
        ISegmentationModel Create(int classes) =>
            MaskRcnnFamily.Instance.Create(options, ModelFileInfo.ForCategories(Enumerable.Range(1, classes - 1).Select(i => (i, $"c{i}"))));

        // A 3-class detector file into a 3-class model: everything loads.
        TorchRuntime.ManualSeed(12);
        using var same = Create(3);
        var summary = same.LoadPretrainedWeights(Fixture("maskrcnn_tiny.dat"));
        StringAssert.Contains(summary, $"loaded {same.Module.StateDict().Count} detector tensors");
        AssertSameState(DeterministicWeights.For(same.Module), same.Module, "LoadPretrainedWeights");

        // Into a 5-class model: the class-specific layers keep their initialisation.
        using var five = Create(5);
        summary = five.LoadPretrainedWeights(Fixture("maskrcnn_tiny.dat"));
        StringAssert.Contains(summary, "kept 6 of another shape initialised");
        StringAssert.Contains(summary, "roi_heads.box_predictor.cls_score.weight: checkpoint [3, 16], model [5, 16]");

        // TorchSharp's torchvision.models.resnet18 names (conv1, bn1, layer1..4, fc) go into the backbone body.
        using var fromResNet = Create(3);
        summary = fromResNet.LoadPretrainedWeights(Fixture("resnet18_tiny.dat"));
        StringAssert.Contains(summary, "ImageNet ResNet tensors into the backbone (2 unused: fc.weight, fc.bias)");
        var body = ((GeneralizedRcnn)fromResNet).Backbone.Body;
        AssertSameState(DeterministicWeights.For(body), body, "ResNet body");
    }

    [TestMethod]
    public void TheBoxPredictorCheckpointReSavedByTorchSharpLoadsLikeThePth()
    {
        using var scope = DisposeScope.Enter();
        var pth = Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "detection", "box_predictor_2cls.pth");
        var fromPth = ModelWeights.Read(pth);
        var fromTorchSharp = ModelWeights.Read(Fixture("box_predictor_2cls.dat"));
        Assert.AreEqual(4, fromPth.Count);
        CollectionAssert.AreEqual(fromPth.Keys.ToArray(), fromTorchSharp.Keys.ToArray());
        foreach (var (name, e) in fromPth)
        {
            CollectionAssert.AreEqual(e.Shape, fromTorchSharp[name].Shape, name);
            CollectionAssert.AreEqual(Bytes(e), Bytes(fromTorchSharp[name]), name);
        }
    }

    [TestMethod]
    public void MisShapedMissingAndUnexpectedEntriesOfATorchSharpFileAreNamed()
    {
        using var scope = DisposeScope.Enter();
        var path = Fixture("maskrcnn_tiny.dat");

        // Another class count: the six class-specific entries, each with both shapes; nothing copied.
        using var fiveClass = TinyMaskRcnn(classes: 5);
        var before = Bytes(fiveClass.StateDict()["backbone.body.conv1.weight"]);
        var ex = Assert.ThrowsException<StateDictException>(() => fiveClass.LoadWeights(path));
        StringAssert.Contains(ex.Message, path);
        Assert.AreEqual(6, ex.SizeMismatches.Count, string.Join("; ", ex.SizeMismatches));
        Assert.IsTrue(ex.SizeMismatches.Any(m => m.Contains("roi_heads.mask_predictor.mask_fcn_logits.weight: checkpoint [3, 8, 1, 1], model [5, 8, 1, 1]")),
            string.Join("; ", ex.SizeMismatches));
        CollectionAssert.AreEqual(before, Bytes(fiveClass.StateDict()["backbone.body.conv1.weight"]), "a refused file copies nothing");

        // Other widths: every entry of the FPN and heads mis-shaped.
        using var wider = TinyMaskRcnn(widths: Tiny with { Fpn = 16 });
        ex = Assert.ThrowsException<StateDictException>(() => wider.LoadWeights(path));
        Assert.IsTrue(ex.SizeMismatches.Any(m => m.Contains("backbone.fpn.inner_blocks.0.0.weight: checkpoint [8, 2, 1, 1], model [16, 2, 1, 1]")),
            string.Join("; ", ex.SizeMismatches));

        // A Keypoint R-CNN: its keypoint head is missing, the mask head unexpected.
        TorchRuntime.ManualSeed(13);
        using var keypoint = (KeypointRcnn)new ModelArchitecture
        {
            ModelType = ModelArchitecture.KeypointRcnnType, Backbone = ResNetDepth.ResNet18, FpnVersion = 2, NumClasses = 3, NumKeypoints = 4, Widths = Tiny,
        }.Build();
        ex = Assert.ThrowsException<StateDictException>(() => keypoint.LoadWeights(path));
        CollectionAssert.Contains(ex.MissingKeys.ToArray(), "roi_heads.keypoint_predictor.kps_score_lowres.weight");
        CollectionAssert.Contains(ex.UnexpectedKeys.ToArray(), "roi_heads.mask_predictor.conv5_mask.weight");
        Assert.IsTrue(ex.UnexpectedKeys.All(k => k.StartsWith("roi_heads.mask_", StringComparison.Ordinal)), string.Join(", ", ex.UnexpectedKeys));
    }

    [TestMethod]
    public void ModelWeightsRecognisesTorchSharpFilesByContentAndReportsTheirDamage()
    {
        var dir = Directory.CreateTempSubdirectory("mlnetseg-tsw-");
        try
        {
            using var scope = DisposeScope.Enter();
            // Any extension; 256 entries start with 0x80 0x02, like a legacy torch.save pickle.
            var renamed = Path.Combine(dir.FullName, "weights.pth");
            File.Copy(Fixture("many.dat"), renamed);
            Assert.AreEqual(256, ModelWeights.Read(renamed).Count);

            var bytes = File.ReadAllBytes(Fixture("maskrcnn_tiny.dat"));
            var cut = Path.Combine(dir.FullName, "cut.bin");
            File.WriteAllBytes(cut, bytes[..^3]);
            using var model = TinyMaskRcnn();
            var ex = Assert.ThrowsException<TorchSharpFormatException>(() => model.LoadWeights(cut));
            Assert.AreEqual(TorchSharpFormatError.Truncated, ex.Error);
            Assert.AreEqual(TorchSharpFormatInfoLastName(), ex.Entry);
            StringAssert.Contains(ex.Message, cut);

            var trailing = Path.Combine(dir.FullName, "trailing.dat");
            File.WriteAllBytes(trailing, [.. bytes, 0]);
            Assert.AreEqual(TorchSharpFormatError.TrailingBytes, Assert.ThrowsException<TorchSharpFormatException>(() => model.LoadWeights(trailing)).Error);
        }
        finally { dir.Delete(recursive: true); }
    }

    private static string TorchSharpFormatInfoLastName() => TorchSharpFormat.ReadHeader(Fixture("maskrcnn_tiny.dat"))[^1].Name;
}
