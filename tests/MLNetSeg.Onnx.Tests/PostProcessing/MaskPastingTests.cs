using System.Text.Json;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Onnx.PostProcessing;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Onnx.Tests.PostProcessing;

/// <summary>
/// MaskPasting against torchvision 0.14's paste_masks_in_image (fixtures from
/// tools/fixtures/gen_onnx_postprocessing.py): soft values bit for bit, binary masks as RLEs.
/// </summary>
[TestClass]
public class MaskPastingTests
{
    public TestContext TestContext { get; set; } = null!;

    private static IEnumerable<object[]> SoftCases() =>
        PostProcessingFixtures.Load("paste_soft.json").GetProperty("cases").EnumerateArray()
            .Select(c => new object[] { c.GetProperty("name").GetString()! });

    [TestMethod]
    [DynamicData(nameof(SoftCases), DynamicDataSourceType.Method)]
    public void SoftValuesAreTorchvisionsBitForBit(string name)
    {
        var c = PostProcessingFixtures.Load("paste_soft.json").GetProperty("cases").EnumerateArray()
            .Single(e => e.GetProperty("name").GetString() == name);
        var size = PostProcessingFixtures.Ints(c, "image_size");
        int m = c.GetProperty("mask_size").GetInt32();
        var box = c.GetProperty("box").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        var expected = PostProcessingFixtures.Floats(c, "soft");
        var actual = MaskPasting.PasteSoft(PostProcessingFixtures.Floats(c, "mask"), m, box, size[0], size[1]);
        Assert.AreEqual(expected.Length, actual.Length, $"{name}: pixel count");
        int nonZero = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            if (expected[i] != 0) nonZero++;
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{name}: pixel (y={i / size[1]}, x={i % size[1]}) is {actual[i]:R}, torchvision gives {expected[i]:R}");
        }
        Assert.IsTrue(nonZero > 0, $"{name}: the reference pastes nothing, the case tests nothing");
    }

    [TestMethod]
    public void BinaryMasksMatchTorchvisionAfterThresholding()
    {
        var doc = PostProcessingFixtures.Load("paste_rle.json");
        Assert.AreEqual(0.5, doc.GetProperty("threshold").GetDouble());
        int detections = 0, mismatches = 0, near = 0;
        long setPixels = 0;
        foreach (var image in doc.GetProperty("images").EnumerateArray())
        {
            string name = image.GetProperty("name").GetString()!;
            var size = PostProcessingFixtures.Ints(image, "image_size");
            int m = image.GetProperty("mask_size").GetInt32(), count = image.GetProperty("count").GetInt32();
            var rles = MaskPasting.PasteToRle(PostProcessingFixtures.Floats(image, "masks"), m,
                PostProcessingFixtures.Floats(image, "boxes"), size[0], size[1]);
            Assert.AreEqual(count, rles.Length, $"{name}: one RLE per detection");
            int i = 0;
            foreach (var det in image.GetProperty("detections").EnumerateArray())
            {
                var rle = rles[i];
                Assert.AreEqual(size[0], rle.Height, $"{name}[{i}]: height");
                Assert.AreEqual(size[1], rle.Width, $"{name}[{i}]: width");
                var expected = PostProcessingFixtures.Counts(det, "counts");
                var nearPixels = new HashSet<long>(PostProcessingFixtures.SetPixels(PostProcessingFixtures.Counts(det, "near_counts")));
                // Pixels whose torch value lies within 1e-5 of the threshold may differ (another
                // float order would flip them); none else may.
                var differences = RleAssert.Differences(rle, expected);
                foreach (var p in differences)
                    Assert.IsTrue(nearPixels.Contains(p), $"{name}[{i}]: pixel (x={p / size[0]}, y={p % size[0]}) differs from torchvision and its value is not within 1e-5 of 0.5");
                mismatches += differences.Count;
                near += nearPixels.Count;
                setPixels += det.GetProperty("area").GetInt64();
                if (differences.Count == 0) Assert.AreEqual(new Rle(size[0], size[1], expected), rle, $"{name}[{i}]");
                i++;
                detections++;
            }
        }
        TestContext.WriteLine($"{detections} detections, {setPixels} set pixels, {near} within 1e-5 of 0.5, {mismatches} differ from torchvision");
        Assert.IsTrue(detections >= 30 && setPixels > 10_000, "the fixture is too small to test anything");
        Assert.IsTrue(near > 1000, "the fixture should hold masks near the threshold");
        Assert.IsTrue(mismatches <= 5, $"{mismatches} near-threshold pixels differ: more than a handful");
    }

    [TestMethod]
    public void OtherThresholdsBinariseTheSoftValuesInFloat32()
    {
        var c = PostProcessingFixtures.Load("paste_soft.json").GetProperty("cases").EnumerateArray()
            .Single(e => e.GetProperty("name").GetString() == "large_upscale");
        var size = PostProcessingFixtures.Ints(c, "image_size");
        var box = c.GetProperty("box").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        var mask = PostProcessingFixtures.Floats(c, "mask");
        var soft = PostProcessingFixtures.Floats(c, "soft");
        foreach (double threshold in new[] { 0.3, 0.7, 0.0 })
        {
            var rle = MaskPasting.PasteToRle(mask, 28, box, size[0], size[1], threshold).Single();
            var decoded = rle.Decode();
            long expectedArea = 0;
            for (int y = 0; y < size[0]; y++)
            for (int x = 0; x < size[1]; x++)
            {
                bool set = soft[y * size[1] + x] > (float)threshold;  // torch compares a float32 tensor in float32
                if (set) expectedArea++;
                Assert.AreEqual(set, decoded[y, x], $"threshold {threshold}: pixel ({y}, {x})");
            }
            Assert.AreEqual(expectedArea, rle.Area);
            Assert.IsTrue(expectedArea > 0 && expectedArea < soft.Length, $"threshold {threshold} should split the mask");
        }
    }

    [TestMethod]
    public void NoDetectionsGiveNoMasks()
    {
        Assert.AreEqual(0, MaskPasting.PasteToRle(ReadOnlySpan<float>.Empty, 28, ReadOnlySpan<float>.Empty, 30, 40).Length);
    }

    [TestMethod]
    public void BoxesOutsideTheImagePasteNothing()
    {
        // torchvision's slicing breaks on these (negative stops); the pasted part is their
        // overlap with the image, which is empty.
        var masks = Enumerable.Repeat(1f, 3 * 28 * 28).ToArray();
        var boxes = new float[] { -50, 5, -20, 20, 60, 5, 90, 20, 5, 45, 20, 80 };
        foreach (var rle in MaskPasting.PasteToRle(masks, 28, boxes, 40, 56))
        {
            Assert.AreEqual(0, rle.Area);
            CollectionAssert.AreEqual(new uint[] { 40 * 56 }, rle.Counts.ToArray());
        }
        Assert.IsTrue(MaskPasting.PasteSoft(masks.AsSpan(0, 784), 28, boxes.AsSpan(0, 4), 40, 56).All(v => v == 0));
    }

    [TestMethod]
    public void ParallelAndSingleThreadedRunsAgree()
    {
        var masks = Synth.Masks(7, 40, 28);
        var boxes = Synth.Boxes(8, 40, 300, 400, 4, 200);
        var parallel = MaskPasting.PasteToRle(masks, 28, boxes, 300, 400);
        var single = MaskPasting.PasteToRle(masks, 28, boxes, 300, 400, 0.5, maxDegreeOfParallelism: 1);
        CollectionAssert.AreEqual(single, parallel);
        Assert.IsTrue(single.Sum(r => r.Area) > 10_000);
    }

    [TestMethod]
    public void BadArgumentsAreRefusedWithTheirValues()
    {
        var masks = new float[2 * 28 * 28];
        var e = Assert.ThrowsException<ArgumentException>(() => MaskPasting.PasteToRle(masks, 28, new float[12], 10, 10));
        StringAssert.Contains(e.Message, "3 boxes need 3x28x28 mask values, got 1568");
        e = Assert.ThrowsException<ArgumentException>(() => MaskPasting.PasteToRle(masks, 28, new float[7], 10, 10));
        StringAssert.Contains(e.Message, "[D, 4], got 7");
        e = Assert.ThrowsException<ArgumentException>(() => MaskPasting.PasteToRle(masks, 28, new float[] { 0, 0, 5, 5, 1, float.NaN, 3, 4 }, 10, 10));
        StringAssert.Contains(e.Message, "box 1");
        StringAssert.Contains(e.Message, "not finite");
        Assert.ThrowsException<ArgumentOutOfRangeException>(() => MaskPasting.PasteToRle(masks, 28, new float[8], 0, 10));
        Assert.ThrowsException<ArgumentOutOfRangeException>(() => MaskPasting.PasteToRle(masks, 28, new float[8], 10, 10, double.NaN));
        Assert.ThrowsException<ArgumentException>(() => MaskPasting.PasteSoft(masks, 28, new float[4], 10, 10));
        e = Assert.ThrowsException<ArgumentException>(() => MaskPasting.PasteSoft(masks.AsSpan(0, 784), 28, new float[8], 10, 10));
        StringAssert.Contains(e.Message, "one box of 4 values expected, got 8");
    }
}
