using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Vision.Tests.Ops;

/// <summary>NMS and batched NMS against torchvision.ops.nms / batched_nms (indices must be identical).</summary>
[TestClass]
public class NmsTests
{
    [TestMethod]
    [DataRow("nms_random", VisionOpsBackend.Native)]
    [DataRow("nms_random", VisionOpsBackend.Composed)]
    [DataRow("nms_ties", VisionOpsBackend.Native)]
    [DataRow("nms_ties", VisionOpsBackend.Composed)]
    [DataRow("nms_float64", VisionOpsBackend.Native)]
    [DataRow("nms_float64", VisionOpsBackend.Composed)]
    [DataRow("nms_empty", VisionOpsBackend.Native)]
    [DataRow("nms_empty", VisionOpsBackend.Composed)]
    public void NmsKeepsTorchvisionsIndices(string name, VisionOpsBackend backend)
    {
        Expect.BackendAvailable(backend);
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load(name);
        var keep = VisionOps.Nms(f.Input("boxes"), f.Input("scores"), f.Double("iou_threshold"), backend);
        Expect.Exact(f.Output("keep"), keep, $"{f.Name} ({backend}) keep");
    }

    [TestMethod]
    [DataRow("batched_nms_trick", VisionOpsBackend.Native)]
    [DataRow("batched_nms_trick", VisionOpsBackend.Composed)]
    [DataRow("batched_nms_per_class", VisionOpsBackend.Native)]
    [DataRow("batched_nms_per_class", VisionOpsBackend.Composed)]
    [DataRow("batched_nms_empty", VisionOpsBackend.Composed)]
    public void BatchedNmsKeepsTorchvisionsIndices(string name, VisionOpsBackend backend)
    {
        Expect.BackendAvailable(backend);
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load(name);
        var keep = VisionOps.BatchedNms(f.Input("boxes"), f.Input("scores"), f.Input("idxs"), f.Double("iou_threshold"), backend);
        Expect.Exact(f.Output("keep"), keep, $"{f.Name} ({backend}) keep");
    }

    [TestMethod]
    public void BothBatchedStrategiesKeepTheSameBoxesWithoutTies()
    {
        // The large fixture has continuous random scores: the per-class strategy and the
        // coordinate trick must agree on it, the case torchvision switches between them on.
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load("batched_nms_per_class");
        var trick = VisionOps.BatchedNmsCoordinateTrick(f.Input("boxes"), f.Input("scores"), f.Input("idxs"), f.Double("iou_threshold"), VisionOpsBackend.Composed);
        Expect.Exact(f.Output("keep"), trick, "coordinate trick on the per-class fixture");
    }

    [TestMethod]
    public void MalformedInputIsRejectedWithItsName()
    {
        using var scope = DisposeScope.Enter();
        var boxes = Tensor.Zeros(new long[] { 3, 5 });
        var scores = Tensor.Zeros(new long[] { 3 });
        var e = Assert.ThrowsException<ArgumentException>(() => VisionOps.Nms(boxes, scores, 0.5));
        StringAssert.Contains(e.Message, "boxes must be a [N, 4] tensor, got [3, 5]");
        var e2 = Assert.ThrowsException<ArgumentException>(() => VisionOps.Nms(Tensor.Zeros(new long[] { 3, 4 }), Tensor.Zeros(new long[] { 2 }), 0.5));
        StringAssert.Contains(e2.Message, "scores must be a [3] tensor");
        var e3 = Assert.ThrowsException<ArgumentException>(() => VisionOps.Nms(Tensor.Zeros(new long[] { 3, 4 }), Tensor.Zeros(new long[] { 3 }, DType.Float64), 0.5));
        StringAssert.Contains(e3.Message, "share one floating dtype");
    }
}
