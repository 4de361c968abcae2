using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Vision.Tests.Ops;

/// <summary>Box utilities against torchvision.ops.boxes.</summary>
[TestClass]
public class BoxOpsTests
{
    [TestMethod]
    public void IouAndAreaMatchTorchvision()
    {
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load("box_iou");
        Expect.Close(f.Output("iou"), BoxOps.BoxIou(f.Input("boxes1"), f.Input("boxes2")), "iou");
        Expect.Close(f.Output("area1"), BoxOps.BoxArea(f.Input("boxes1")), "area");
    }

    [TestMethod]
    public void ClippingAndSmallBoxRemovalMatchTorchvision()
    {
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load("clip_and_small");
        var boxes = f.Input("boxes");
        Expect.Exact(f.Output("clipped"), BoxOps.ClipBoxesToImage(boxes, f.Int("height"), f.Int("width")), "clipped");
        Expect.Exact(f.Output("keep"), BoxOps.RemoveSmallBoxes(boxes, f.Double("min_size")), "keep");
    }

    [TestMethod]
    public void IntegerBoxesStayIntegerWhenClipped()
    {
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load("clip_int");
        Expect.Exact(f.Output("clipped"), BoxOps.ClipBoxesToImage(f.Input("boxes"), f.Int("height"), f.Int("width")), "clipped int64");
    }
}
