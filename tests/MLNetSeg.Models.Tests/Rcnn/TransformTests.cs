using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;

namespace MLNetSeg.Models.Tests.Rcnn;

/// <summary>
/// GeneralizedRcnnTransform against torchvision's GeneralizedRCNNTransform (fixture transform.json,
/// tools/fixtures/gen_detection.py). Sizes must be equal; the batch is the same float32 kernels
/// in the same order (tolerance 1e-6 on values of magnitude ≤ 3); postprocessed boxes and
/// keypoints 1e-5 px; pasted mask probabilities 1e-6.
/// </summary>
[TestClass]
public sealed class TransformTests
{
    private static readonly double[] Mean = { 0.485, 0.456, 0.406 }, Std = { 0.229, 0.224, 0.225 };

    [TestMethod]
    public void ResizedSizesEqualTorchvisionIncludingFloat32ReciprocalRounding()
    {
        var fx = DetectionFixture.Load("transform.json");
        using var scope = DisposeScope.Enter();
        int cases = 0;
        foreach (var c in fx.Param("sizes").EnumerateArray())
        {
            cases++;
            int h = c[0].GetInt32(), w = c[1].GetInt32(), min = c[2].GetInt32(), max = c[3].GetInt32();
            var expected = (c[4].GetInt32(), c[5].GetInt32());
            var transform = new GeneralizedRcnnTransform(min, max, Mean, Std);
            Assert.AreEqual(expected, transform.ResizedSize(h, w), $"{h}×{w} with min {min}, max {max}");
            if ((long)h * w <= 100_000)
            {
                using var image = Tensor.Zeros(new long[] { 3, h, w });
                using var resized = transform.Resize(image);
                Assert.AreEqual(expected, ((int)resized.Size(1), (int)resized.Size(2)), $"{h}×{w}: resized tensor");
            }
        }
        Assert.IsTrue(cases > 0, "transform.json: no sizes");
    }

    [TestMethod]
    public void NormalisedResizedPaddedBatchEqualsTorchvision()
    {
        var fx = DetectionFixture.Load("transform.json");
        using var scope = DisposeScope.Enter();
        var transform = new GeneralizedRcnnTransform(fx.Int("min_size"), fx.Int("max_size"), Mean, Std);
        var images = new[] { new long[] { 3, 7, 9 }, new long[] { 3, 11, 5 } }
            .Select((shape, i) => DeterministicWeights.Uniform($"transform.image{i}", shape)).ToArray();
        var batch = transform.Transform(images);
        var expectedSizes = fx.Param("image_sizes").EnumerateArray().Select(s => (s[0].GetInt32(), s[1].GetInt32())).ToArray();
        CollectionAssert.AreEqual(expectedSizes, batch.ImageSizes.ToArray(), "image sizes");
        var expected = fx.Output("batch");
        CollectionAssert.AreEqual(expected.Shape, batch.Tensors.Shape, "padded batch shape");
        Assert.IsTrue(expected.AllClose(batch.Tensors, rtol: 0, atol: 1e-6), $"batch values differ by up to {(expected - batch.Tensors).Abs().Max().ItemDouble():G3}");
    }

    [TestMethod]
    public void PostprocessScalesBoxesAndKeypointsAndPastesMasksAsTorchvision()
    {
        var fx = DetectionFixture.Load("transform.json");
        using var scope = DisposeScope.Enter();
        var transform = new GeneralizedRcnnTransform(800, 1333, Mean, Std);
        var resized = (fx.Param("post_resized")[0].GetInt32(), fx.Param("post_resized")[1].GetInt32());
        var original = (fx.Param("post_original")[0].GetInt32(), fx.Param("post_original")[1].GetInt32());
        var masks = DeterministicWeights.Uniform("transform.masks", new long[] { 3, 1, 28, 28 });
        var detections = new DetectionTensors(resized.Item1, resized.Item2, fx.Output("post_boxes_in"),
            Tensor.FromArray(new long[] { 1, 2, 3 }), Tensor.FromArray(new float[] { 0.9f, 0.8f, 0.7f }),
            masks, fx.Output("post_keypoints_in"), Tensor.Zeros(new long[] { 3, 4 }));
        var result = transform.Postprocess(detections, resized, original);
        Assert.AreEqual((original.Item1, original.Item2), (result.ImageHeight, result.ImageWidth));
        Assert.IsTrue(fx.Output("post_boxes").AllClose(result.Boxes, 0, 1e-5), "boxes");
        Assert.IsTrue(fx.Output("post_keypoints").AllClose(result.Keypoints!, 0, 1e-5), "keypoints");
        var expectedMasks = fx.Output("post_masks");
        CollectionAssert.AreEqual(expectedMasks.Shape, result.Masks!.Shape, "pasted mask shape");
        Assert.IsTrue(expectedMasks.AllClose(result.Masks!, 0, 1e-6), "pasted masks");
    }

    [TestMethod]
    public void BadImagesAreRejectedWithTheirIndex()
    {
        using var scope = DisposeScope.Enter();
        var transform = new GeneralizedRcnnTransform(20, 40, Mean, Std);
        var good = Tensor.Zeros(new long[] { 3, 8, 8 });
        var ex = Assert.ThrowsException<ArgumentException>(() => transform.Transform(new[] { good, Tensor.Zeros(new long[] { 8, 8 }) }));
        StringAssert.Contains(ex.Message, "image 1");
        ex = Assert.ThrowsException<ArgumentException>(() => transform.Transform(new[] { Tensor.Zeros(new long[] { 3, 8, 8 }, DType.UInt8) }));
        StringAssert.Contains(ex.Message, "image 0 is UInt8");
        ex = Assert.ThrowsException<ArgumentException>(() => transform.Transform(new[] { good, Tensor.Zeros(new long[] { 1, 8, 8 }) }));
        StringAssert.Contains(ex.Message, "image 1 has 1 channels");
    }
}
