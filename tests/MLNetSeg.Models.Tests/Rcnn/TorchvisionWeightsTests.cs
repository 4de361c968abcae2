using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Torch.Serialization;

namespace MLNetSeg.Models.Tests.Rcnn;

/// <summary>
/// The published torchvision weight sets build what torchvision's builders build for them
/// (fixture torchvision_weight_sets.json: torchvision 0.14's builders asked for each set, with the
/// download skipped), and loading a known set's file into a model with another eps is refused.
/// </summary>
[TestClass]
public sealed class TorchvisionWeightsTests
{
    [TestMethod]
    public void EverySetMatchesWhatTorchvisionsBuilderMakes()
    {
        var fixture = DetectionFixture.Load("torchvision_weight_sets.json");
        var sets = fixture.Root.GetProperty("sets").EnumerateArray().ToList();
        Assert.AreEqual(sets.Count, TorchvisionWeights.All.Count, "one preset per published set");
        foreach (var expected in sets)
        {
            string name = expected.GetProperty("name").GetString()!;
            var set = TorchvisionWeights.All.SingleOrDefault(s => s.Name == name);
            Assert.IsNotNull(set, $"no preset for {name}");
            Assert.AreEqual(expected.GetProperty("file").GetString(), set.FileName, name);
            Assert.AreEqual(expected.GetProperty("url").GetString(), set.Url, name);
            Assert.AreEqual(expected.GetProperty("builder").GetString(), set.Builder, name);
            Assert.AreEqual(expected.GetProperty("num_classes").GetInt32(), set.NumClasses, name);
            Assert.AreEqual(expected.GetProperty("num_keypoints").GetInt32(), set.NumKeypoints, name);
            bool frozen = expected.GetProperty("body_norm").GetString() == "FrozenBatchNorm2d";
            Assert.AreEqual(frozen ? expected.GetProperty("eps").GetDouble() : null, set.FrozenBatchNormEps, name);
            CollectionAssert.AreEqual(expected.GetProperty("categories").EnumerateArray().Select(c => c.GetString()).ToArray(),
                set.Categories.ToArray(), name);
            Assert.AreSame(set, TorchvisionWeights.Recognize("/downloads/" + set.FileName));
            Assert.AreSame(set, TorchvisionWeights.Recognize(Path.ChangeExtension(set.FileName, ".safetensors")));
        }
        Assert.IsNull(TorchvisionWeights.Recognize("maskrcnn_resnet50_fpn_coco.pth"), "a renamed file is not recognised");
    }

    [TestMethod]
    public void CreateBuildsTheBuildersLayoutAndNorms()
    {
        using var scope = DisposeScope.Enter();
        foreach (var (set, keys) in new[]
                 {
                     (TorchvisionWeights.MaskRcnnResNet50FpnCocoV1, "keys_maskrcnn_resnet50_fpn.json"),
                     (TorchvisionWeights.MaskRcnnResNet50FpnV2CocoV1, "keys_maskrcnn_resnet50_fpn_v2.json"),
                     (TorchvisionWeights.KeypointRcnnResNet50FpnCocoLegacy, "keys_keypointrcnn_resnet50_fpn.json"),
                 })
        {
            using var model = set.Create(new RcnnOptions { MinSize = 320 });
            var expected = DetectionFixture.Load(keys).Root.GetProperty("keys").EnumerateArray()
                .Select(e => $"{e[0].GetString()} [{string.Join(", ", e[1].EnumerateArray().Select(d => d.GetInt64()))}]").ToList();
            CollectionAssert.AreEqual(expected, model.StateDict().Select(kv => $"{kv.Key} [{string.Join(", ", kv.Value.Shape)}]").ToList(), set.Name);
            var eps = model.Modules().OfType<FrozenBatchNorm2d>().Select(m => m.Eps).Distinct().ToList();
            if (set.FrozenBatchNormEps is double e) CollectionAssert.AreEqual(new[] { e }, eps, set.Name);
            else Assert.AreEqual(0, eps.Count, $"{set.Name}: the v2 body uses BatchNorm2d");
            Assert.AreEqual(320, model.Options.MinSize, "the caller's settings are kept");
        }
    }

    [TestMethod]
    public void AKnownSetsFileIntoAModelWithAnotherEpsIsRefusedNamingTheSet()
    {
        using var scope = DisposeScope.Enter();
        var dir = Directory.CreateTempSubdirectory("mlnetseg-tvw-");
        try
        {
            // The guard reads the eps off the model's FrozenBatchNorm2d layers: a one-layer module is enough.
            var path = Path.Combine(dir.FullName, TorchvisionWeights.MaskRcnnResNet50FpnCocoV1.FileName);
            using (var source = new OneNorm(0)) SafeTensors.Save(path, source);

            using var wrongEps = new OneNorm(1e-5);
            var ex = Assert.ThrowsException<ArgumentException>(() => ModelWeights.Load(wrongEps, path));
            StringAssert.Contains(ex.Message, "MaskRCNN_ResNet50_FPN_Weights.COCO_V1");
            StringAssert.Contains(ex.Message, "TorchvisionWeights.MaskRcnnResNet50FpnCocoV1");
            StringAssert.Contains(ex.Message, path);

            using var rightEps = new OneNorm(0);
            Assert.AreEqual(4, ModelWeights.Load(rightEps, path).Loaded.Count);
            Assert.AreEqual(4, ModelWeights.Load(wrongEps, path, new WeightLoadOptions { IgnoreTorchvisionSettings = true }).Loaded.Count);

            // The same content under another name is not checked (nothing says which set it is).
            var renamed = Path.Combine(dir.FullName, "weights.pth");
            File.Copy(path, renamed);
            Assert.AreEqual(4, ModelWeights.Load(wrongEps, renamed).Loaded.Count);
        }
        finally { dir.Delete(recursive: true); }
    }

    [TestMethod]
    public void FineTuningOptionsCarryTheSetsArchitectureAndEps()
    {
        var v1 = MaskRcnnOptions.FromTorchvision(TorchvisionWeights.MaskRcnnResNet50FpnCocoV1, "w.pth", new RcnnOptions { MinSize = 512 });
        Assert.AreEqual("w.pth", v1.PretrainedWeights);
        Assert.AreEqual(0.0, v1.Settings.FrozenBatchNormEps);
        Assert.AreEqual(512, v1.Settings.MinSize);
        Assert.IsNull(v1.Settings.NumClasses, "the dataset gives the classes");
        Assert.AreEqual((BackboneNorm.FrozenBatchNorm, 1), (v1.Norm, v1.HeadVersion));
        var v2 = MaskRcnnOptions.FromTorchvision(TorchvisionWeights.MaskRcnnResNet50FpnV2CocoV1, "w2.pth");
        Assert.AreEqual((BackboneNorm.BatchNorm, 2), (v2.Norm, v2.HeadVersion));
        var kp = KeypointRcnnOptions.FromTorchvision(TorchvisionWeights.KeypointRcnnResNet50FpnCocoV1, "k.pth");
        Assert.AreEqual(0.0, kp.Settings.FrozenBatchNormEps);
        var ex = Assert.ThrowsException<ArgumentException>(() => MaskRcnnOptions.FromTorchvision(TorchvisionWeights.KeypointRcnnResNet50FpnCocoV1, "k.pth"));
        StringAssert.Contains(ex.Message, "KeypointRcnnOptions");
    }

    private sealed class OneNorm : Module
    {
        public OneNorm(double eps) => RegisterModule("bn1", new FrozenBatchNorm2d(3, eps));
    }
}
