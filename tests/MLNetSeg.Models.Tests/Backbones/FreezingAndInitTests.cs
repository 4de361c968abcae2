using MLNetSeg.Models.Backbones;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using static MLNetSeg.Models.Tests.Backbones.BackboneFixtures;

namespace MLNetSeg.Models.Tests.Backbones;

/// <summary>trainable_layers freezing and the seeded initialisation, both against torchvision 0.14.</summary>
[TestClass]
public class FreezingAndInitTests
{
    /// <summary>requires_grad.json: for trainable_layers 0..5, the parameters torchvision leaves
    /// trainable, with FrozenBatchNorm2d (v1) and BatchNorm2d (v2 recipe, where bn1 matters at 5).</summary>
    [DataTestMethod]
    [DataRow("resnet18_fpn")]
    [DataRow("resnet18_bn_fpn_v2")]
    public void TrainableParametersEqualTorchvisions(string backbone)
    {
        var expected = Load("requires_grad.json").GetProperty(backbone);
        for (int t = 0; t <= 5; t++)
        {
            using var scope = DisposeScope.Enter();
            using var model = Build(backbone, t);
            var trainable = model.NamedParameters().Where(p => p.Parameter.RequiresGrad).Select(p => p.Name).ToArray();
            CollectionAssert.AreEqual(Strings(expected.GetProperty(t.ToString())), trainable, $"{backbone}, trainable_layers={t}");
        }
    }

    /// <summary>
    /// init_*.json: torchvision's initialisation after torch.manual_seed(0). Values compare exactly
    /// (the same libtorch generator, drawn in the same order); sums are float64 sums of the
    /// float32 values, |Δ| ≤ 1e-12·n for summation order (every value is below 1 in magnitude).
    /// </summary>
    [DataTestMethod]
    [DataRow("resnet18_fpn")]
    [DataRow("resnet18_p6p7_c5")]
    public void SeededInitialisationEqualsTorchvisions(string backbone)
    {
        var fixture = Load($"init_{backbone}.json");
        using var scope = DisposeScope.Enter();
        TorchRuntime.ManualSeed((ulong)fixture.GetProperty("seed").GetInt64());
        using var model = Build(backbone);
        var state = model.StateDict();
        int entries = 0;
        foreach (var entry in fixture.GetProperty("entries").EnumerateArray())
        {
            entries++;
            var name = entry.GetProperty("name").GetString()!;
            var values = state[name].ToArray<float>();
            var indices = Longs(entry.GetProperty("indices"));
            var expected = Doubles(entry.GetProperty("values"));
            Assert.IsTrue(indices.Length > 0 && expected.Length == indices.Length, $"{backbone}: {name} has {indices.Length} indices and {expected.Length} values in the fixture");
            for (int k = 0; k < indices.Length; k++)
                Assert.AreEqual((float)expected[k], values[indices[k]], $"{backbone}: {name}[{indices[k]}]");
            double sum = values.Sum(v => (double)v);
            Assert.AreEqual(entry.GetProperty("sum").GetDouble(), sum, 1e-12 * values.Length, $"{backbone}: sum of {name}");
        }
        Assert.IsTrue(entries > 0, $"init_{backbone}.json: no entries");
    }

    [TestMethod]
    public void FrozenBatchNormEpsReachesEveryNormLayer()
    {
        // torchvision's legacy COCO_V1 Mask R-CNN weights need eps 0 (overwrite_eps(model, 0.0)).
        using var scope = DisposeScope.Enter();
        using var model = ResNetFpn.Create(ResNetDepth.ResNet50, frozenBatchNormEps: 0);
        var norms = model.Modules().OfType<FrozenBatchNorm2d>().ToList();
        Assert.AreEqual(53, norms.Count);
        Assert.IsTrue(norms.All(n => n.Eps == 0));
        Assert.IsFalse(model.Modules().OfType<BatchNorm2d>().Any());
    }

    [TestMethod]
    public void InvalidConfigurationsAreNamed()
    {
        var e1 = Assert.ThrowsException<ArgumentOutOfRangeException>(() => ResNetFpn.Create(ResNetDepth.ResNet18, trainableLayers: 6));
        StringAssert.Contains(e1.Message, "[0,5]");
        var e2 = Assert.ThrowsException<ArgumentException>(() => ResNetFpn.Create(ResNetDepth.ResNet18, returnedLayers: new[] { 0, 2 }));
        StringAssert.Contains(e2.Message, "[1,4]");
        var e3 = Assert.ThrowsException<ArgumentException>(() => ResNetFpn.Create(ResNetDepth.ResNet18, returnedLayers: new[] { 3, 2 }));
        StringAssert.Contains(e3.Message, "increasing");
        Assert.ThrowsException<ArgumentOutOfRangeException>(() => ResNetFpn.Create(ResNetDepth.ResNet18, fpnVersion: 3));
        var e4 = Assert.ThrowsException<ArgumentException>(() => ResNetSpec.ParseDepth("resnet51"));
        StringAssert.Contains(e4.Message, "'resnet51'");
    }

    [TestMethod]
    public void WrongImageShapeIsNamed()
    {
        using var scope = DisposeScope.Enter();
        using var model = ResNetFpn.ResNet18();
        var e = Assert.ThrowsException<ArgumentException>(() => model.Forward(Tensor.Zeros(new long[] { 1, 1, 32, 32 })));
        StringAssert.Contains(e.Message, "[1, 1, 32, 32]");
    }

    [TestMethod]
    public void ReturnedLayersPickStagesAndDropDeeperOnes()
    {
        // returned_layers [1, 2, 3]: layer4 is neither built into the state dict nor run.
        using var scope = DisposeScope.Enter();
        using var model = ResNetFpn.Create(ResNetDepth.ResNet18, returnedLayers: new[] { 1, 2, 3 });
        Assert.IsFalse(model.StateDict().Keys.Any(k => k.StartsWith("body.layer4", StringComparison.Ordinal)));
        CollectionAssert.AreEqual(new long[] { 64, 128, 256 }, model.Body.OutChannels.ToArray());
        using var noGrad = NoGradScope.Enter();
        var levels = model.Forward(Tensor.Zeros(new long[] { 1, 3, 64, 64 }));
        CollectionAssert.AreEqual(new[] { "0", "1", "2", "pool" }, levels.Select(l => l.Name).ToArray());
        CollectionAssert.AreEqual(new long[] { 1, 256, 4, 4 }, levels[2].Feature.Shape);
        CollectionAssert.AreEqual(new long[] { 1, 256, 2, 2 }, levels[3].Feature.Shape);
    }
}
