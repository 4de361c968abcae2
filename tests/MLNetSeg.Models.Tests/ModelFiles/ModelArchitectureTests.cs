using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Models.Tests.Rcnn;
using MLNetSeg.Torch;

namespace MLNetSeg.Models.Tests.ModelFiles;

/// <summary>
/// <see cref="ModelArchitecture.Build"/> (what a model file is rebuilt from) lays a model out as
/// torchvision 0.14 does: every state-dict entry, in order, with its shape, equals the fixture
/// keys_*.json (torchvision's model.state_dict(), tools/fixtures/gen_detection.py); and
/// <see cref="ModelArchitecture.Of"/> reads the same architecture back off the built model.
/// </summary>
[TestClass]
public sealed class ModelArchitectureTests
{
    [TestMethod]
    public void MaskRcnnV1IsTorchvisionsMaskRcnnResNet50Fpn() =>
        Check(new ModelArchitecture { ModelType = "maskrcnn", Version = 1, Backbone = ResNetDepth.ResNet50, FpnVersion = 1, NumClasses = 91 },
            "keys_maskrcnn_resnet50_fpn.json");

    [TestMethod]
    public void MaskRcnnV2IsTorchvisionsMaskRcnnResNet50FpnV2() =>
        Check(new ModelArchitecture { ModelType = "maskrcnn", Version = 2, Backbone = ResNetDepth.ResNet50, FpnVersion = 2, NumClasses = 91 },
            "keys_maskrcnn_resnet50_fpn_v2.json");

    [TestMethod]
    public void KeypointRcnnV1IsTorchvisionsKeypointRcnnResNet50Fpn() =>
        Check(new ModelArchitecture { ModelType = "keypointrcnn", Backbone = ResNetDepth.ResNet50, NumClasses = 2, NumKeypoints = 17 },
            "keys_keypointrcnn_resnet50_fpn.json");

    [TestMethod]
    public void InconsistentArchitecturesAreRefusedByName()
    {
        var mask = new ModelArchitecture { ModelType = "maskrcnn", NumClasses = 3 };
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() => (mask with { ModelType = "fcos" }).Validate()).Message, "'fcos'");
        StringAssert.Contains(Assert.ThrowsException<ArgumentOutOfRangeException>(() => (mask with { Version = 3 }).Validate()).Message, "Version");
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() => (mask with { NumKeypoints = 17 }).Validate()).Message, "no keypoints");
        StringAssert.Contains(Assert.ThrowsException<ArgumentOutOfRangeException>(() => (mask with { ModelType = "keypointrcnn" }).Validate()).Message,
            "NumKeypoints");
    }

    private static void Check(ModelArchitecture arch, string fixture)
    {
        var fx = DetectionFixture.Load(fixture);
        var expected = fx.Root.GetProperty("keys").EnumerateArray()
            .Select(e => $"{e[0].GetString()} [{string.Join(", ", e[1].EnumerateArray().Select(d => d.GetInt64()))}]").ToList();
        using var scope = DisposeScope.Enter();
        using var model = arch.Build();
        var actual = model.StateDict().Select(kv => $"{kv.Key} [{string.Join(", ", kv.Value.Shape)}]").ToList();
        CollectionAssert.AreEqual(expected, actual,
            $"{fixture}: entries torchvision has and we lack: {string.Join("; ", expected.Except(actual).Take(5))}; " +
            $"entries we have and torchvision lacks: {string.Join("; ", actual.Except(expected).Take(5))}");
        Assert.AreEqual(arch, ModelArchitecture.Of(model), "the architecture read back off the built model");
    }
}
