using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.Tests.Training;

/// <summary>
/// <see cref="RoiHeadsSettings.HeadPositivesPerImage"/>: the mask branch trains on at most that many of
/// each image's positive RoIs, while the box branch keeps all its samples; without a cap, or with a cap
/// the positives do not reach, the step is exactly torchvision's (no extra random draw, identical losses).
/// A recording mask head counts the RoIs it is given.
/// </summary>
[TestClass]
public sealed class HeadPositivesCapTests
{
    private const int Channels = 8, Classes = 3;

    [TestMethod]
    public void TheMaskBranchSeesAtMostTheCapPerImageAndTheBoxBranchIsUnchanged()
    {
        using var scope = DisposeScope.Enter();
        var uncapped = Run(cap: null);
        Assert.IsTrue(uncapped.MaskRois > 2 * 3, $"the scene must give more than 3 positives per image to exercise the cap (got {uncapped.MaskRois} for 2 images)");

        var capped = Run(cap: 3);
        Assert.AreEqual(2 * 3, capped.MaskRois, "3 positives for each of the 2 images");
        Assert.AreEqual(uncapped.Classifier, capped.Classifier, "the box branch's sample is drawn before the cap: same classifier loss");
        Assert.AreEqual(uncapped.BoxReg, capped.BoxReg, "same box loss");

        var notReached = Run(cap: 10_000);
        Assert.AreEqual(uncapped.MaskRois, notReached.MaskRois);
        Assert.AreEqual(uncapped.Mask, notReached.Mask, "a cap the positives do not reach changes nothing");
    }

    [TestMethod]
    public void ACapBelowOneIsRefused()
    {
        var e = Assert.ThrowsException<ArgumentOutOfRangeException>(() => MaskRcnn.ResNet50Fpn(new RcnnOptions { HeadPositivesPerImage = 0 }));
        StringAssert.Contains(e.Message, "HeadPositivesPerImage");
    }

    private static (long MaskRois, double Classifier, double BoxReg, double Mask) Run(int? cap)
    {
        using var scope = DisposeScope.Enter();
        TorchRuntime.ManualSeed(3);
        var recorder = new RecordingHead(Channels, Channels);
        using var heads = new RoiHeads(new MultiScaleRoiAlign(7, 2), new TwoMlpHead(Channels * 7 * 7, 16), new FastRcnnPredictor(16, Classes),
            new RoiHeadsSettings { BatchSizePerImage = 64, PositiveFraction = 0.5, HeadPositivesPerImage = cap },
            maskRoiPool: new MultiScaleRoiAlign(14, 2), maskHead: recorder, maskPredictor: new MaskRcnnPredictor(Channels, Channels, Classes));
        heads.Train();
        var features = new[] { 16L, 8, 4, 2 }.Select(s => Tensor.Rand(new[] { 2L, Channels, s, s + 2 })).ToArray();
        var sizes = new[] { (64, 72), (64, 72) };
        var targets = new[]
        {
            Target(new[] { 4f, 6, 30, 40, 36, 10, 60, 50 }, new long[] { 1, 2 }),
            Target(new[] { 10f, 12, 50, 44 }, new long[] { 2 }),
        };
        // Jittered copies of the ground truth: many proposals above the 0.5 IoU of a positive.
        var proposals = targets.Select(t => Jitter(t.Boxes, 12)).ToArray();
        var losses = heads.ComputeLosses(features, proposals, sizes, targets);
        return (recorder.RoisSeen, losses.Classifier.ItemDouble(), losses.BoxReg.ItemDouble(), losses.Mask!.ItemDouble());
    }

    private static RcnnTarget Target(float[] boxes, long[] labels)
    {
        int n = labels.Length;
        var boxTensor = Tensor.FromArray(boxes, n, 4);
        var masks = Tensor.Zeros(new long[] { n, 64, 72 }, DType.UInt8);
        for (int i = 0; i < n; i++)
        {
            int x0 = (int)boxes[4 * i], y0 = (int)boxes[4 * i + 1], x1 = (int)boxes[4 * i + 2], y1 = (int)boxes[4 * i + 3];
            masks.Fill_(1, i, y0..y1, x0..x1);
        }
        return new RcnnTarget(boxTensor, Tensor.FromArray(labels, n), masks);
    }

    private static Tensor Jitter(Tensor boxes, int copies) =>
        Tensor.Cat(Enumerable.Range(0, copies).Select(_ => boxes.Add(Tensor.Rand(boxes.Shape).Mul(4).Sub(2))).ToArray());

    /// <summary>A one-conv mask head that counts the RoIs it is run on.</summary>
    private sealed class RecordingHead : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv;

        public RecordingHead(long inChannels, long outChannels) => conv = RegisterModule("0", new Conv2d(inChannels, outChannels, 3, padding: 1));

        public long RoisSeen { get; private set; }

        public override Tensor Forward(Tensor input)
        {
            RoisSeen += input.Size(0);
            return Functional.Relu(conv.Forward(input));
        }
    }
}
