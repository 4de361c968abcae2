using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models.Tests.Rcnn;

/// <summary>Conversion of raw detections to <see cref="Instances"/>.</summary>
[TestClass]
public sealed class DetectionTensorsTests
{
    [TestMethod]
    public void MasksAreThresholdedAboveTheThresholdAndEncodedAsPycocotoolsRle()
    {
        using var scope = DisposeScope.Enter();
        // Probabilities from the deterministic stream, including exact 0.5 values (not foreground: torchvision keeps > 0.5).
        var probabilities = DeterministicWeights.Uniform("detection_tensors.masks", new long[] { 3, 1, 7, 5 });
        probabilities.Select(0, 1).Fill_(0.5);
        probabilities.Select(0, 2).Fill_(0.75);
        var detections = new DetectionTensors(7, 5, Tensor.Zeros(new long[] { 3, 4 }), Tensor.FromArray(new long[] { 1, 2, 3 }),
            Tensor.FromArray(new float[] { 0.9f, 0.5f, 0.25f }), probabilities);
        var instances = detections.ToInstances(maskThreshold: 0.5);

        var values = probabilities.Contiguous().ToArray<float>();
        for (int i = 0; i < 3; i++)
        {
            var bits = values.Skip(i * 35).Take(35).Select(v => v > 0.5f).ToArray();
            var expected = Rle.Encode(BitMask.FromRowMajor(7, 5, bits));
            Assert.AreEqual(expected, instances.Masks![i], $"mask {i}");
        }
        Assert.AreEqual(0, instances.Masks![1].Area, "exactly 0.5 is background");
        Assert.AreEqual(35, instances.Masks![2].Area);
        CollectionAssert.AreEqual(new[] { 1, 2, 3 }, instances.Labels.ToArray());
        CollectionAssert.AreEqual(new[] { 0.9f, 0.5f, 0.25f }, instances.Scores!.ToArray());
    }

    [TestMethod]
    public void UnpastedMasksAreRefused()
    {
        using var scope = DisposeScope.Enter();
        var detections = new DetectionTensors(40, 30, Tensor.Zeros(new long[] { 1, 4 }), Tensor.FromArray(new long[] { 1 }),
            Tensor.FromArray(new float[] { 0.9f }), Tensor.Zeros(new long[] { 1, 1, 28, 28 }));
        var ex = Assert.ThrowsException<InvalidOperationException>(() => detections.ToInstances());
        StringAssert.Contains(ex.Message, "not pasted at the image size 40×30");
    }
}
