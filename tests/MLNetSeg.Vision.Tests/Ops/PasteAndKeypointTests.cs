using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Vision.Tests.Ops;

/// <summary>
/// Mask pasting against torchvision's paste_masks_in_image and detectron2's CPU paste (its code
/// run under torch 1.13 by the generator), keypoint decoding against heatmaps_to_keypoints.
/// </summary>
[TestClass]
public class PasteAndKeypointTests
{
    [TestMethod]
    [DataRow("paste_masks_tv", MaskPasteMode.Torchvision)]
    [DataRow("paste_masks_d2", MaskPasteMode.Detectron2)]
    public void PastedMasksMatchTheReference(string name, MaskPasteMode mode)
    {
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load(name);
        var size = f.Longs("image_size");
        var pasted = VisionOps.PasteMasksInImage(f.Input("masks"), f.Input("boxes"), size[0], size[1], mode);
        // Same resize/grid_sample kernels on the same inputs: only the float32 coordinate
        // arithmetic could differ, by an ulp.
        Expect.Close(f.Output("out"), pasted, 1e-6, 1e-6, name);
    }

    [TestMethod]
    public void MasksWithoutChannelAxisAndNoMasksAreAccepted()
    {
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load("paste_masks_tv");
        var masks3 = f.Input("masks").Reshape(6, 28, 28);
        var pasted = VisionOps.PasteMasksInImage(masks3, f.Input("boxes"), 40, 56);
        Expect.Close(f.Output("out"), pasted, 1e-6, 1e-6, "[N, M, M] masks");
        var none = VisionOps.PasteMasksInImage(Tensor.Zeros(new long[] { 0, 1, 28, 28 }), Tensor.Zeros(new long[] { 0, 4 }), 40, 56);
        CollectionAssert.AreEqual(new long[] { 0, 1, 40, 56 }, none.Shape);
        var e = Assert.ThrowsException<ArgumentException>(() => VisionOps.PasteMasksInImage(masks3, Tensor.Zeros(new long[] { 5, 4 }), 40, 56));
        StringAssert.Contains(e.Message, "6 masks but 5 boxes");
    }

    [TestMethod]
    public void KeypointsAndScoresMatchTorchvision()
    {
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load("heatmaps_to_keypoints");
        var (keypoints, scores) = VisionOps.HeatmapsToKeypoints(f.Input("maps"), f.Input("rois"));
        // Positions come from an argmax (exact) and float32 scaling: 1e-5.
        Expect.Close(f.Output("keypoints"), keypoints, "keypoints");
        Expect.Close(f.Output("scores"), scores, "scores");
    }
}
