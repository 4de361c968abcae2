using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Torch.Serialization;
using MLNetSeg.Vision.Ops;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models.Tests.ModelFiles;

/// <summary>
/// The .mlseg model file: a save/load round trip gives the same config, bit-identical weights and
/// identical predictions; files that are not what was asked for fail with the file name and the
/// reason. Expected values are the saved model's own (a round trip must change nothing), so every
/// comparison is exact.
/// </summary>
[TestClass]
public sealed class ModelFileTests
{
    private static string directory = "";
    private static MaskRcnn? mask;
    private static string maskPath = "";
    private static ModelFileInfo? maskSaved;

    [ClassInitialize]
    public static void Setup(TestContext _)
    {
        directory = Path.Combine(Path.GetTempPath(), $"mlnetseg-modelfile-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        mask = TinyDetectors.Mask();
        maskPath = Path.Combine(directory, "mask.mlseg");
        maskSaved = ModelFile.Save(mask, TinyDetectors.MaskInfo, maskPath);
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        mask?.Dispose();
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
    }

    [TestMethod]
    public void MaskRcnnRoundTripKeepsConfigWeightsAndPredictions()
    {
        var (loaded, info) = ModelFile.Load<MaskRcnn>(maskPath);
        using var _ = loaded;

        var expectedArch = new ModelArchitecture
        {
            ModelType = "maskrcnn", Version = 1, Backbone = ResNetDepth.ResNet18, FpnVersion = 1, NumClasses = 3, NumKeypoints = null,
        };
        Assert.AreEqual(expectedArch, ModelArchitecture.Of(loaded));
        Assert.AreEqual("maskrcnn", info.Family);
        Assert.AreEqual("maskrcnn", maskSaved!.Family, "Save returns the family it read off the model");
        CollectionAssert.AreEqual(new[] { "__background__", "disc", "square" }, info.ClassNames.ToArray());
        CollectionAssert.AreEqual(new[] { 0, 7, 3 }, info.LabelToCategoryId.ToArray());
        Assert.IsNull(info.Keypoints);
        CollectionAssert.AreEquivalent(TinyDetectors.MaskInfo.Properties!.ToArray(), info.Properties!.ToArray());
        Assert.AreEqual(ModelFileInfo.CurrentFormatVersion, info.FormatVersion);
        AssertSameOptions(mask!.Options with { NumClasses = 3 }, loaded.Options, "the loaded model's Options");
        Assert.IsFalse(loaded.Training, "a loaded model is in eval mode");

        AssertSameStateDict(mask, loaded);

        var picture = TinyDetectors.Picture();
        var before = mask.Predict(picture);
        Assert.IsTrue(before.Count > 0 && before.Masks is not null, "the comparison needs detections (random weights give many)");
        AssertSamePredictions(before, loaded.Predict(picture), "mask model");
    }

    [TestMethod]
    public void KeypointRcnnRoundTripKeepsSchemaAndKeypoints()
    {
        using var model = TinyDetectors.Keypoint();
        string path = Path.Combine(directory, "keypoints.mlseg");
        ModelFile.Save(model, new ModelFileInfo { ClassNames = new[] { "__background__", "fish" }, Keypoints = TinyDetectors.FourKeypoints }, path);

        var (loaded, info) = ModelFile.Load<KeypointRcnn>(path);
        using var _ = loaded;
        Assert.AreEqual(4, ModelArchitecture.Of(loaded).NumKeypoints);
        Assert.AreEqual(4, loaded.NumKeypoints);
        CollectionAssert.AreEqual(TinyDetectors.FourKeypoints.Names.ToArray(), info.Keypoints!.Names.ToArray());
        CollectionAssert.AreEqual(TinyDetectors.FourKeypoints.Skeleton.ToArray(), info.Keypoints.Skeleton.ToArray());
        CollectionAssert.AreEqual(TinyDetectors.FourKeypoints.FlipMap.ToArray(), info.Keypoints.FlipMap.ToArray());
        CollectionAssert.AreEqual(new[] { 0, 1 }, info.LabelToCategoryId.ToArray(), "no category ids given: the labels are the ids");
        AssertSameStateDict(model, loaded);

        var picture = TinyDetectors.Picture();
        var before = model.Predict(picture);
        Assert.IsTrue(before.Count > 0 && before.Keypoints is not null, "the comparison needs keypoints");
        AssertSamePredictions(before, loaded.Predict(picture), "keypoint model");
    }

    [TestMethod]
    public void TheFileIsPlainSafetensorsWithOneMetadataEntry()
    {
        var (tensors, metadata) = SafeTensors.ReadHeader(maskPath);
        CollectionAssert.AreEqual(new[] { "mlnetseg" }, metadata.Keys.ToArray());
        using var config = JsonDocument.Parse(metadata["mlnetseg"]);
        var root = config.RootElement;
        Assert.AreEqual(3, root.GetProperty("format_version").GetInt32());
        Assert.AreEqual("maskrcnn", root.GetProperty("family").GetString());
        Assert.AreEqual("float32", root.GetProperty("dtype").GetString());
        var section = root.GetProperty("model");
        Assert.AreEqual("maskrcnn", section.GetProperty("type").GetString());
        Assert.AreEqual("resnet18", section.GetProperty("backbone").GetString());
        Assert.AreEqual(128, section.GetProperty("preprocessing").GetProperty("min_size").GetInt32());
        Assert.AreEqual(0.06, section.GetProperty("options").GetProperty("box_score_thresh").GetDouble());
        using var scope = DisposeScope.Enter();
        CollectionAssert.AreEqual(mask!.StateDict().Keys.ToArray(), tensors.Select(t => t.Name).ToArray(),
            "the tensors are the state dict under its own names, in order");
    }

    [TestMethod]
    public void LoadingTheWrongModelTypeNamesTheFileAndBothTypes()
    {
        var e = Assert.ThrowsException<ModelFileException>(() => ModelFile.Load<KeypointRcnn>(maskPath));
        StringAssert.StartsWith(e.Message, maskPath + ": ");
        StringAssert.Contains(e.Message, "holds a Mask R-CNN (MaskRcnn) model, not the KeypointRcnn asked for");
    }

    [TestMethod]
    public void ANewerFormatVersionSaysWhichVersionThisBuildReads()
    {
        string path = Rewrite("newer.mlseg", config => config["format_version"] = 4);
        var e = Assert.ThrowsException<ModelFileException>(() => ModelFile.Load(path));
        StringAssert.StartsWith(e.Message, path + ": ");
        StringAssert.Contains(e.Message, "format version 4 is newer than this build of MLNetSeg reads (format version 3)");
        Assert.ThrowsException<ModelFileException>(() => ModelFile.ReadInfo(path), "ReadInfo refuses it too");
    }

    [TestMethod]
    public void APlainSafetensorsFileIsRefusedAsWeightsOnly()
    {
        string path = Path.Combine(directory, "plain.safetensors");
        SafeTensors.Save(path, mask!);
        var e = Assert.ThrowsException<ModelFileException>(() => ModelFile.Load<MaskRcnn>(path));
        StringAssert.StartsWith(e.Message, path + ": ");
        StringAssert.Contains(e.Message, "without MLNetSeg model metadata (no \"mlnetseg\" entry");
    }

    [TestMethod]
    public void ATruncatedFileIsRefusedNamingIt()
    {
        string path = Path.Combine(directory, "truncated.mlseg");
        var bytes = File.ReadAllBytes(maskPath);
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        var e = Assert.ThrowsException<ModelFileException>(() => ModelFile.Load(path));
        StringAssert.StartsWith(e.Message, path + ": not a readable model file");
        StringAssert.Contains(e.Message, "truncated file?");

        File.WriteAllBytes(path, bytes.AsSpan(0, 100).ToArray());  // cut inside the header
        e = Assert.ThrowsException<ModelFileException>(() => ModelFile.ReadInfo(path));
        StringAssert.StartsWith(e.Message, path + ": not a readable model file");
    }

    [TestMethod]
    public void AMissingOrGarbledConfigNamesTheField()
    {
        var cases = new (string File, Action<JsonObject> Edit, string Expected)[]
        {
            ("no-classes.mlseg", c => c.Remove("classes"), "config field 'classes' is missing"),
            ("bad-version.mlseg", c => c["model"]!["version"] = "two", "config field 'model.version': expected a 32-bit integer, got string \"two\""),
            ("bad-backbone.mlseg", c => c["model"]!["backbone"] = "resnet5", "config field 'model.backbone': 'resnet5' is not a backbone"),
            ("few-names.mlseg", c => c["classes"]!["names"]!.AsArray().RemoveAt(2), "config field 'classes': 3 category ids for 2 labels"),
            ("few-ids.mlseg", c =>
            {
                c["classes"]!["names"]!.AsArray().RemoveAt(2);
                c["classes"]!["category_ids"]!.AsArray().RemoveAt(2);
            }, "config field 'classes': 2 class names for a model of 3 classes"),
            ("unknown-option.mlseg", c => c["model"]!["options"]!["box_magic"] = 1, "config field 'model.options.box_magic': not a setting this build of MLNetSeg knows"),
            ("unknown-family.mlseg", c => c["family"] = "maskmagic", "holds a model of family 'maskmagic', which this process does not know"),
        };
        foreach (var (file, edit, expected) in cases)
        {
            string path = Rewrite(file, edit);
            var e = Assert.ThrowsException<ModelFileException>(() => ModelFile.Load(path), file);
            StringAssert.StartsWith(e.Message, path + ": ", file);
            StringAssert.Contains(e.Message, expected, file);
        }

        string notJson = Rewrite("not-json.mlseg", _ => { }, rawConfig: "{\"format_version\": 1, \"model\": ");
        var error = Assert.ThrowsException<ModelFileException>(() => ModelFile.ReadInfo(notJson));
        StringAssert.StartsWith(error.Message, notJson + ": the \"mlnetseg\" config is not valid JSON");
    }

    [TestMethod]
    public void WeightsThatDoNotFitTheConfigAreRefusedNamingTheEntry()
    {
        // A config saying 4 classes over 3-class weights.
        string path = Rewrite("four-classes.mlseg", c =>
        {
            c["model"]!["num_classes"] = 4;
            c["classes"]!["names"]!.AsArray().Add("extra");
            c["classes"]!["category_ids"]!.AsArray().Add(9);
        });
        var e = Assert.ThrowsException<ModelFileException>(() => ModelFile.Load(path));
        StringAssert.StartsWith(e.Message, path + ": the weights do not fit");
        StringAssert.Contains(e.Message, "roi_heads.box_predictor.cls_score.weight");
    }

    [TestMethod]
    public void AConfigDescribingAModelLargerThanTheFileIsRefusedBeforeBuildingIt()
    {
        // Found by fuzzing: the model is built from the config before the weights are compared with it, so a
        // box head width of 16 000 in a 255 KB file built 1.6 GB of parameters (13 s); a million asks for terabytes.
        string path = Rewrite("wide.mlseg", c => c["model"]!["widths"]!["box_head"] = 1_000_000);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.ThrowsException<ModelFileException>(() => ModelFile.Load(path));
        StringAssert.StartsWith(e.Message, path + ": its config describes a model larger than the weights the file holds");
        Assert.IsTrue(clock.Elapsed < TimeSpan.FromSeconds(5), $"refused after {clock.Elapsed}");
    }

    [TestMethod]
    public void TheBuildBudgetAdmitsAFullSizeModel()
    {
        // Found by the packaging test: a trained ResNet-50-FPN Mask R-CNN's model.zip no longer loaded, because
        // building it creates more than its state dict holds (the ResNet classifier the backbone drops).
        long stored;
        using (var reference = MaskRcnn.ResNet50Fpn())
            stored = reference.StateDict().Values.Sum(t => t.NumEl);
        using var budget = AllocationBudget.Enter(ModelFile.BuildBudget(stored), "a ResNet-50-FPN Mask R-CNN");
        using var model = MaskRcnn.ResNet50Fpn();
        Assert.AreEqual(stored, model.StateDict().Values.Sum(t => t.NumEl));
    }

    [TestMethod]
    public void SaveRefusesInfoThatDisagreesWithTheModelAndLeavesTheTargetAlone()
    {
        string path = Path.Combine(directory, "refused.mlseg");
        File.WriteAllText(path, "previous");
        var wrongCount = TinyDetectors.MaskInfo with { ClassNames = new[] { "__background__", "disc" }, CategoryIds = null };
        var e = Assert.ThrowsException<ArgumentException>(() => ModelFile.Save(mask!, wrongCount, path));
        StringAssert.Contains(e.Message, "2 class names for a model of 3 classes");

        var wrongFamily = TinyDetectors.MaskInfo with { Family = "keypointrcnn" };
        e = Assert.ThrowsException<ArgumentException>(() => ModelFile.Save(mask!, wrongFamily, path));
        StringAssert.Contains(e.Message, "info.Family is 'keypointrcnn' but the model is a Mask R-CNN (maskrcnn)");

        var keypointsOnMask = TinyDetectors.MaskInfo with { Keypoints = TinyDetectors.FourKeypoints };
        e = Assert.ThrowsException<ArgumentException>(() => ModelFile.Save(mask, keypointsOnMask, path));
        StringAssert.Contains(e.Message, "has no keypoints");

        var duplicateIds = TinyDetectors.MaskInfo with { CategoryIds = new[] { 0, 7, 7 } };
        e = Assert.ThrowsException<ArgumentException>(() => ModelFile.Save(mask, duplicateIds, path));
        StringAssert.Contains(e.Message, "labels 1 and 2 both map to category id 7");

        Assert.AreEqual("previous", File.ReadAllText(path), "a refused save writes nothing");
    }

    [TestMethod]
    public void AModelLaidOutDifferentlyFromItsArchitectureIsNotSaved()
    {
        // A v1 model whose RPN head has two convs (the v2 recipe's): ModelArchitecture.Of sees
        // recipe 1 from the box head, and the layout check catches the extra RPN conv.
        var backbone = ResNetFpn.Create(ResNetDepth.ResNet18, fpnVersion: 1);
        var options = TinyDetectors.Options with { NumClasses = 3 };
        var roiHeads = new RoiHeads(new MultiScaleRoiAlign(7, 2), GeneralizedRcnn.CreateBoxHead(256, 1), new FastRcnnPredictor(1024, 3), null,
            maskRoiPool: new MultiScaleRoiAlign(14, 2), maskHead: new MaskRcnnHeads(256, new long[] { 256, 256, 256, 256 }), maskPredictor: new MaskRcnnPredictor(256, 256, 3));
        using var odd = new MaskRcnn(backbone, GeneralizedRcnn.CreateRpn(256, convDepth: 2, options), roiHeads, GeneralizedRcnn.CreateTransform(options), options);
        string path = Path.Combine(directory, "odd.mlseg");
        var e = Assert.ThrowsException<ArgumentException>(() => ModelFile.Save(odd, TinyDetectors.MaskInfo, path));
        StringAssert.Contains(e.Message, "unexpected rpn.head.conv.1.0.weight");
        Assert.IsFalse(File.Exists(path));
    }

    [TestMethod]
    public void CompactWidthsRoundTripForBothModelTypes()
    {
        var widths = new DetectorWidths { Backbone = 16, Fpn = 32, BoxHead = 64, MaskHead = 24, KeypointHead = 40 };
        using var compactMask = TinyDetectors.Mask(seed: 11, fpnVersion: 2, widths: widths);
        using var compactKeypoint = TinyDetectors.Keypoint(seed: 12, widths: widths);
        foreach (var (model, info, file) in new (GeneralizedRcnn, ModelFileInfo, string)[]
                 {
                     (compactMask, TinyDetectors.MaskInfo, "compact-mask.mlseg"),
                     (compactKeypoint, TinyDetectors.MaskInfo with { ClassNames = new[] { "__background__", "fish" }, CategoryIds = null,
                                                                     Keypoints = TinyDetectors.FourKeypoints }, "compact-keypoint.mlseg"),
                 })
        {
            var expected = model is MaskRcnn ? widths with { KeypointHead = 512 } : widths with { MaskHead = 256 };  // the absent branch: torchvision's
            Assert.AreEqual(expected, ModelArchitecture.Of(model).Widths, $"{file}: the widths are read off the modules");
            string path = Path.Combine(directory, file);
            ModelFile.Save(model, info, path);
            using (var config = JsonDocument.Parse(SafeTensors.ReadHeader(path).Metadata["mlnetseg"]))
                Assert.AreEqual(32, config.RootElement.GetProperty("model").GetProperty("widths").GetProperty("fpn").GetInt32(), file);
            var (loaded, _) = ModelFile.Load<GeneralizedRcnn>(path);
            using var __ = loaded;
            Assert.AreEqual(expected, ModelArchitecture.Of(loaded).Widths, file);
            AssertSameStateDict(model, loaded);
            var picture = TinyDetectors.Picture();
            AssertSamePredictions(model.Predict(picture), loaded.Predict(picture), file);
        }
    }

    [TestMethod]
    public void AFormatVersion1FileWithoutWidthsLoadsAsTorchvisionWidths()
    {
        string path = Rewrite("version1.mlseg", c =>
        {
            ToFormat2Layout(c);
            c["format_version"] = 1;
            c["model"]!.AsObject().Remove("widths");
        });
        var (loaded, info) = ModelFile.Load<MaskRcnn>(path);
        using var _ = loaded;
        Assert.AreEqual(1, info.FormatVersion);
        Assert.AreEqual("maskrcnn", info.Family, "format 1 names the family as the model type");
        Assert.AreEqual(DetectorWidths.Torchvision, ModelArchitecture.Of(loaded).Widths);
        AssertSameStateDict(mask!, loaded);

        string missing = Rewrite("version2-no-widths.mlseg", c =>
        {
            ToFormat2Layout(c);
            c["model"]!.AsObject().Remove("widths");
        });
        var e = Assert.ThrowsException<ModelFileException>(() => ModelFile.Load(missing));
        StringAssert.Contains(e.Message, "config field 'model.widths' is missing");
    }

    /// <summary>Files written by the format-2 code before the family registry (tests/fixtures/modelfiles/README.md) load
    /// with today's code: the family from the model type, the architecture and schema as written, every weight in place.</summary>
    [TestMethod]
    public void FilesWrittenByFormat2CodeStillLoad()
    {
        var mask2 = Path.Combine(AppContext.BaseDirectory, "fixtures", "modelfiles", "maskrcnn_format2.mlseg");
        var (maskModel, maskInfo) = ModelFile.Load<MaskRcnn>(mask2);
        using (maskModel)
        {
            Assert.AreEqual(2, maskInfo.FormatVersion);
            Assert.AreEqual("maskrcnn", maskInfo.Family);
            CollectionAssert.AreEqual(new[] { "__background__", "square", "disc" }, maskInfo.ClassNames.ToArray());
            CollectionAssert.AreEqual(new[] { 0, 3, 7 }, maskInfo.LabelToCategoryId.ToArray());
            Assert.AreEqual("format 2 (commit ffbf2f1)", maskInfo.Properties!["written_by"]);
            var arch = ModelArchitecture.Of(maskModel);
            Assert.AreEqual(ResNetDepth.ResNet18, arch.Backbone);
            Assert.AreEqual(2, arch.FpnVersion);
            Assert.AreEqual(new DetectorWidths { Backbone = 8, Fpn = 16, BoxHead = 32, MaskHead = 16, KeypointHead = 512 }, arch.Widths);
            Assert.AreEqual(96, maskModel.Options.MinSize);
            Assert.AreEqual(8, maskModel.Options.HeadPositivesPerImage);
            AssertWeightsAreTheFiles(maskModel, mask2);
        }

        var keypoint2 = Path.Combine(AppContext.BaseDirectory, "fixtures", "modelfiles", "keypointrcnn_format2.mlseg");
        var (keypointModel, keypointInfo) = ModelFile.Load(keypoint2);
        using (keypointModel)
        {
            Assert.IsInstanceOfType(keypointModel, typeof(KeypointRcnn));
            Assert.AreEqual("keypointrcnn", keypointInfo.Family);
            CollectionAssert.AreEqual(new[] { "head", "left_hand", "right_hand", "left_foot", "right_foot" }, keypointInfo.Keypoints!.Names.ToArray());
            CollectionAssert.AreEqual(new[] { 0, 2, 1, 4, 3 }, keypointInfo.Keypoints.FlipMap.ToArray());
            Assert.AreEqual(5, ((KeypointRcnn)keypointModel).NumKeypoints);
            Assert.AreEqual(SegmentationTasks.Boxes | SegmentationTasks.Keypoints, keypointModel.Tasks);
            AssertWeightsAreTheFiles(keypointModel.Module, keypoint2);
        }
    }

    private static void AssertWeightsAreTheFiles(Torch.Nn.Module model, string path)
    {
        using var scope = DisposeScope.Enter();
        var stored = SafeTensors.Read(path).Tensors.ToDictionary(t => t.Key, t => t.Value);
        var state = model.StateDict();
        Assert.AreEqual(stored.Count, state.Count, "one stored tensor per state-dict entry");
        Assert.IsTrue(stored.Count > 50, $"{path}: the fixture holds the whole model ({stored.Count} tensors)");
        foreach (var (name, tensor) in state)
            Assert.IsTrue(tensor.Equal(stored[name]), $"{path}: {name} is not the stored tensor");
    }

    /// <summary>A format-3 config rewritten as formats 1–2 laid it out: the R-CNN settings beside "model", the dtype inside it.</summary>
    private static void ToFormat2Layout(JsonObject c)
    {
        c["format_version"] = 2;
        var model = c["model"]!.AsObject();
        c["preprocessing"] = model["preprocessing"]!.DeepClone();
        c["options"] = model["options"]!.DeepClone();
        model.Remove("preprocessing");
        model.Remove("options");
        model["dtype"] = c["dtype"]!.DeepClone();
        c.Remove("dtype");
        c.Remove("family");
    }

    [TestMethod]
    public void ForCategoriesPutsTheBackgroundFirst()
    {
        var info = ModelFileInfo.ForCategories(new[] { (1, "person"), (18, "dog") });
        CollectionAssert.AreEqual(new[] { "__background__", "person", "dog" }, info.ClassNames.ToArray());
        CollectionAssert.AreEqual(new[] { 0, 1, 18 }, info.LabelToCategoryId.ToArray());
    }

    // ---- helpers

    /// <summary>The mask model's file with its config edited (or replaced by <paramref name="rawConfig"/>).</summary>
    private static string Rewrite(string name, Action<JsonObject> edit, string? rawConfig = null)
    {
        using var scope = DisposeScope.Enter();
        var content = SafeTensors.Read(maskPath);
        var config = JsonNode.Parse(content.Metadata["mlnetseg"])!.AsObject();
        edit(config);
        string path = Path.Combine(directory, name);
        SafeTensors.Save(path, content.Tensors, new Dictionary<string, string> { ["mlnetseg"] = rawConfig ?? config.ToJsonString() });
        return path;
    }

    internal static void AssertSameOptions(RcnnOptions expected, RcnnOptions actual, string what)
    {
        foreach (var p in typeof(RcnnOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            object? e = p.GetValue(expected), a = p.GetValue(actual);
            if (e is IReadOnlyList<double> el && a is IReadOnlyList<double> al)
                CollectionAssert.AreEqual(el.ToArray(), al.ToArray(), $"{what}.{p.Name}");
            else
                Assert.AreEqual(e, a, $"{what}.{p.Name}");
        }
    }

    private static void AssertSameStateDict(Torch.Nn.Module expected, Torch.Nn.Module actual)
    {
        using var scope = DisposeScope.Enter();
        var e = expected.StateDict();
        var a = actual.StateDict();
        CollectionAssert.AreEqual(e.Keys.ToArray(), a.Keys.ToArray(), "state-dict names and order");
        foreach (var (name, tensor) in e)
        {
            Assert.AreEqual(tensor.DType, a[name].DType, $"{name}: dtype");
            Assert.IsTrue(tensor.Equal(a[name]), $"{name}: values differ after the round trip");
        }
    }

    private static void AssertSamePredictions(Instances expected, Instances actual, string what)
    {
        Assert.IsTrue(expected.Count > 0, $"{what}: the comparison needs detections");
        Assert.AreEqual(expected.Count, actual.Count, $"{what}: count");
        CollectionAssert.AreEqual(expected.Boxes.ToXyxy(), actual.Boxes.ToXyxy(), $"{what}: boxes");
        CollectionAssert.AreEqual(expected.Labels.ToArray(), actual.Labels.ToArray(), $"{what}: labels");
        CollectionAssert.AreEqual(expected.Scores!.ToArray(), actual.Scores!.ToArray(), $"{what}: scores");
        Assert.AreEqual(expected.Masks is null, actual.Masks is null, $"{what}: masks present");
        if (expected.Masks is not null) CollectionAssert.AreEqual(expected.Masks.ToArray(), actual.Masks!.ToArray(), $"{what}: masks");
        Assert.AreEqual(expected.Keypoints is null, actual.Keypoints is null, $"{what}: keypoints present");
        if (expected.Keypoints is not null)
        {
            CollectionAssert.AreEqual(expected.Keypoints.Data.ToArray(), actual.Keypoints!.Data.ToArray(), $"{what}: keypoints");
            CollectionAssert.AreEqual(expected.KeypointScores!.ToArray(), actual.KeypointScores!.ToArray(), $"{what}: keypoint scores");
        }
    }
}
