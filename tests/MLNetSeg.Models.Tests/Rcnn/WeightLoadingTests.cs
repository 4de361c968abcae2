using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Torch.Serialization;

namespace MLNetSeg.Models.Tests.Rcnn;

/// <summary>
/// Loading weights into detectors: refusals name every offending key (and leave the model
/// untouched), partial loading skips mis-shaped entries, torchvision's pre-0.13 names load,
/// and both file formats are read (a safetensors file we write, a .pth written by torch.save).
/// Expected values are the deterministic weights (the same generator torchvision's side uses).
/// </summary>
[TestClass]
public sealed class WeightLoadingTests
{
    private static MaskRcnn? coco;      // 91 classes, deterministic weights
    private static MaskRcnn? fiveClass; // 5 classes, PyTorch-style random init

    private static readonly string[] ClassSpecific =
    {
        "roi_heads.box_predictor.cls_score.weight", "roi_heads.box_predictor.cls_score.bias",
        "roi_heads.box_predictor.bbox_pred.weight", "roi_heads.box_predictor.bbox_pred.bias",
        "roi_heads.mask_predictor.mask_fcn_logits.weight", "roi_heads.mask_predictor.mask_fcn_logits.bias",
    };

    [ClassInitialize]
    public static void Setup(TestContext _)
    {
        coco = DeterministicWeights.Apply(MaskRcnn.ResNet50Fpn());
        fiveClass = MaskRcnn.ResNet50Fpn(new RcnnOptions { NumClasses = 5 });
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        coco?.Dispose();
        fiveClass?.Dispose();
    }

    [TestMethod]
    public void AMisShapedEntryFailsNamingItAndBothShapesAndCopiesNothing()
    {
        using var scope = DisposeScope.Enter();
        var stateDict = Copy(fiveClass!);
        stateDict["rpn.head.bbox_pred.bias"] = Tensor.Zeros(new long[] { 12 });  // leaves the model if copied
        stateDict["roi_heads.box_predictor.cls_score.weight"] = Tensor.Zeros(new long[] { 91, 1024 });
        var before = Value(fiveClass!, "rpn.head.bbox_pred.bias");
        var ex = Assert.ThrowsException<StateDictException>(() => ModelWeights.Load(fiveClass!, stateDict));
        StringAssert.Contains(ex.Message, "roi_heads.box_predictor.cls_score.weight");
        StringAssert.Contains(ex.Message, "[91, 1024]");
        StringAssert.Contains(ex.Message, "[5, 1024]");
        Assert.IsTrue(before.Equal(Value(fiveClass!, "rpn.head.bbox_pred.bias")), "a refused checkpoint must not be copied in part");
    }

    [TestMethod]
    public void MissingAndUnexpectedEntriesFailNamingThem()
    {
        using var scope = DisposeScope.Enter();
        var stateDict = Copy(fiveClass!);
        stateDict.Remove("rpn.head.cls_logits.bias");
        var ex = Assert.ThrowsException<StateDictException>(() => ModelWeights.Load(fiveClass!, stateDict));
        StringAssert.Contains(ex.Message, "\"rpn.head.cls_logits.bias\"");
        CollectionAssert.AreEqual(new[] { "rpn.head.cls_logits.bias" }, ex.MissingKeys.ToArray());

        stateDict = Copy(fiveClass!);
        stateDict["roi_heads.extra.weight"] = Tensor.Zeros(new long[] { 1 });
        ex = Assert.ThrowsException<StateDictException>(() => ModelWeights.Load(fiveClass!, stateDict));
        CollectionAssert.AreEqual(new[] { "roi_heads.extra.weight" }, ex.UnexpectedKeys.ToArray());

        // Allowed explicitly, the same checkpoint loads and the report lists what was left out.
        var report = ModelWeights.Load(fiveClass!, stateDict, new WeightLoadOptions { AllowUnexpected = true });
        CollectionAssert.AreEqual(new[] { "roi_heads.extra.weight" }, report.Unexpected.ToArray());
    }

    [TestMethod]
    public void PartialLoadSkipsTheClassSpecificLayersOfA91ClassCheckpoint()
    {
        using var scope = DisposeScope.Enter();
        var keptBefore = ClassSpecific.ToDictionary(k => k, k => Value(fiveClass!, k));
        var report = ModelWeights.Load(fiveClass!, coco!.StateDict(), WeightLoadOptions.SkipMismatchedShapes);

        CollectionAssert.AreEquivalent(ClassSpecific, report.SkippedMismatched.Select(s => s[..s.IndexOf(':')]).ToArray());
        StringAssert.Contains(report.SkippedMismatched.Single(s => s.StartsWith("roi_heads.box_predictor.cls_score.weight:")),
            "checkpoint [91, 1024], model [5, 1024]");
        Assert.AreEqual(0, report.Missing.Count);
        Assert.AreEqual(0, report.Unexpected.Count);
        Assert.AreEqual(fiveClass!.StateDict().Count - ClassSpecific.Length, report.Loaded.Count);
        foreach (var key in new[] { "backbone.body.conv1.weight", "rpn.head.conv.0.0.weight", "roi_heads.box_head.fc7.bias",
                     "roi_heads.mask_predictor.conv5_mask.weight" })
            Assert.IsTrue(Value(coco!, key).Equal(Value(fiveClass!, key)), $"{key} was not loaded");
        foreach (var (key, before) in keptBefore)
            Assert.IsTrue(before.Equal(Value(fiveClass!, key)), $"{key} should keep its initial values");
    }

    [TestMethod]
    public void TorchvisionPre013NamesOfTheRpnAndMaskHeadsLoad()
    {
        using var scope = DisposeScope.Enter();
        var stateDict = Copy(fiveClass!);
        var renames = new Dictionary<string, string>
        {
            ["rpn.head.conv.0.0.weight"] = "rpn.head.conv.weight",
            ["rpn.head.conv.0.0.bias"] = "rpn.head.conv.bias",
        };
        for (int i = 0; i < 4; i++)
            foreach (var m in new[] { "weight", "bias" })
                renames[$"roi_heads.mask_head.{i}.0.{m}"] = $"roi_heads.mask_head.mask_fcn{i + 1}.{m}";
        foreach (var (current, legacy) in renames)
        {
            stateDict[legacy] = Tensor.Full(stateDict[current].Shape, 0.25);
            stateDict.Remove(current);
        }
        var report = ModelWeights.Load(fiveClass!, stateDict);
        Assert.AreEqual(0, report.Missing.Count + report.Unexpected.Count + report.SkippedMismatched.Count);
        foreach (var current in renames.Keys)
            Assert.AreEqual(0.25, Value(fiveClass!, current).Mean().ItemDouble(), 1e-7, $"{current} was not loaded from its legacy name");
    }

    /// <summary>
    /// A state dict of torchvision's untrained model (weights=None: BatchNorm2d in the ResNet body,
    /// 53 num_batches_tracked entries; names and shapes from torchvision in keys_*_untrained.json)
    /// loads strictly into our FrozenBatchNorm2d model, as torchvision's own FrozenBatchNorm2d
    /// load hook allows, and every value arrives.
    /// </summary>
    [TestMethod]
    [DataRow("maskrcnn_resnet50_fpn")]
    [DataRow("keypointrcnn_resnet50_fpn")]
    public void AStateDictOfTorchvisionsUntrainedModelWithNumBatchesTrackedLoadsStrictly(string modelName)
    {
        using var scope = DisposeScope.Enter();
        var fixture = DetectionFixture.Load($"keys_{modelName}_untrained.json");
        var entries = new List<KeyValuePair<string, Tensor>>();
        foreach (var e in fixture.Root.GetProperty("keys").EnumerateArray())
        {
            string name = e[0].GetString()!;
            long[] shape = e[1].EnumerateArray().Select(d => d.GetInt64()).ToArray();
            entries.Add(new(name, name.EndsWith(".num_batches_tracked", StringComparison.Ordinal)
                ? Tensor.Full(shape, 7, DType.Int64)
                : Tensor.FromArray(DeterministicWeights.Values(name, shape).Select(v => (float)v).ToArray(), shape, null)));
        }
        Assert.AreEqual(53, entries.Count(kv => kv.Key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)), "the fixture is the BatchNorm2d layout");

        var path = Path.Combine(Path.GetTempPath(), $"mlnetseg-untrained-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafeTensors.Save(path, entries);
            using GeneralizedRcnn model = modelName.StartsWith("mask", StringComparison.Ordinal) ? MaskRcnn.ResNet50Fpn() : KeypointRcnn.ResNet50Fpn();
            var report = model.LoadWeights(path);
            Assert.AreEqual(0, report.Missing.Count + report.Unexpected.Count + report.SkippedMismatched.Count);
            var state = model.StateDict();
            Assert.AreEqual(entries.Count - 53, report.Loaded.Count);
            foreach (var (key, value) in state)
            {
                var expected = DeterministicWeights.Values(key, value.Shape).Select(v => (float)v).ToArray();
                CollectionAssert.AreEqual(expected, value.Contiguous().ToArray<float>(), key);
            }
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void SafeTensorsFileLoadsAndAPthCheckpointFromTorchSaveLoads()
    {
        using var scope = DisposeScope.Enter();
        // safetensors: a file we write from the 91-class model, read back into a module with the same entries.
        var path = Path.Combine(Path.GetTempPath(), $"mlnetseg-m3-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var source = new Predictor2(deterministic: true);
            SafeTensors.Save(path, source);
            using var target = new Predictor2(deterministic: false);
            var report = ModelWeights.Load(target, path);
            Assert.AreEqual(4, report.Loaded.Count);
            foreach (var (key, value) in source.StateDict()) Assert.IsTrue(value.Equal(target.StateDict()[key]), key);
        }
        finally { File.Delete(path); }

        // .pth (torch.save zip): Keypoint R-CNN's 2-class box predictor with the deterministic values.
        using var fromPth = new Predictor2(deterministic: false);
        var pthReport = ModelWeights.Load(fromPth, DetectionFixture.File("box_predictor_2cls.pth"));
        Assert.AreEqual(4, pthReport.Loaded.Count);
        foreach (var (key, value) in fromPth.StateDict())
        {
            var expected = DeterministicWeights.Values(key, value.Shape).Select(v => (float)v).ToArray();
            CollectionAssert.AreEqual(expected, value.Contiguous().ToArray<float>(), key);
        }
    }

    [TestMethod]
    public void AFileThatIsNeitherFormatFailsNamingTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mlnetseg-m3-{Guid.NewGuid():N}.pth");
        try
        {
            File.WriteAllText(path, "not a checkpoint");
            using var target = new Predictor2(deterministic: false);
            var ex = Assert.ThrowsException<CheckpointFormatException>(() => ModelWeights.Load(target, path));
            StringAssert.Contains(ex.Message, path);
            Assert.ThrowsException<FileNotFoundException>(() => ModelWeights.Load(target, path + ".absent"));
        }
        finally { File.Delete(path); }
    }

    /// <summary>roi_heads.box_predictor of a 2-class model, under the detector's names.</summary>
    private sealed class Predictor2 : Module
    {
        public Predictor2(bool deterministic)
        {
            var roi = new Holder();
            roi.Add(new FastRcnnPredictor(1024, 2));
            RegisterModule("roi_heads", roi);
            if (deterministic) DeterministicWeights.Apply(this);
        }

        private sealed class Holder : Module
        {
            public void Add(FastRcnnPredictor predictor) => RegisterModule("box_predictor", predictor);
        }
    }

    private static Dictionary<string, Tensor> Copy(Module model) =>
        model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());

    private static Tensor Value(Module model, string key) => model.StateDict()[key].Clone();
}
