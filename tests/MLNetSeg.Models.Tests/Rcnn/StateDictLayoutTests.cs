using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Tests.Rcnn;

/// <summary>
/// Every state-dict entry of our models, in order, with its shape, equals torchvision 0.14's
/// (fixtures keys_*.json: torchvision's model.state_dict(), the v1 models built with
/// FrozenBatchNorm2d as for its published weights), so those checkpoints load key for key.
/// </summary>
[TestClass]
public sealed class StateDictLayoutTests
{
    [TestMethod]
    public void MaskRcnnResNet50Fpn() => Check(MaskRcnn.ResNet50Fpn, "keys_maskrcnn_resnet50_fpn.json");

    [TestMethod]
    public void MaskRcnnResNet50FpnV2() => Check(MaskRcnn.ResNet50FpnV2, "keys_maskrcnn_resnet50_fpn_v2.json");

    [TestMethod]
    public void KeypointRcnnResNet50Fpn() => Check(KeypointRcnn.ResNet50Fpn, "keys_keypointrcnn_resnet50_fpn.json");

    private static void Check(Func<RcnnOptions?, GeneralizedRcnn> create, string fixture)
    {
        var fx = DetectionFixture.Load(fixture);
        var expected = fx.Root.GetProperty("keys").EnumerateArray()
            .Select(e => $"{e[0].GetString()} [{string.Join(", ", e[1].EnumerateArray().Select(d => d.GetInt64()))}]").ToList();
        using var scope = DisposeScope.Enter();
        using var model = create(null);
        var actual = model.StateDict().Select(kv => $"{kv.Key} [{string.Join(", ", kv.Value.Shape)}]").ToList();
        var missing = expected.Except(actual).ToList();
        var extra = actual.Except(expected).ToList();
        Assert.IsTrue(missing.Count == 0 && extra.Count == 0,
            $"{fixture}: torchvision entries we lack: {string.Join("; ", missing.Take(10))}{(missing.Count > 10 ? " ..." : "")}\n" +
            $"entries torchvision lacks: {string.Join("; ", extra.Take(10))}{(extra.Count > 10 ? " ..." : "")}");
        CollectionAssert.AreEqual(expected, actual, $"{fixture}: same entries, different order");
    }
}
