using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Data.Loading;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Structures;
using static MLNetSeg.Data.Tests.Loading.LoadingFixtures;

namespace MLNetSeg.Data.Tests.Loading;

/// <summary>
/// Flip and colour jitter against torchvision 0.14 (color.json: the installed torchvision functions;
/// flip.json: references/detection/transforms.py's RandomHorizontalFlip with p = 1). Tolerance 0
/// everywhere: the same libtorch kernels run in the same order, and the box/keypoint formulas are
/// the same float32 operations, so results must be bit-identical. (Resizing and normalisation are
/// the model's GeneralizedRcnnTransform's, tested against torchvision in MLNetSeg.Models.Tests.)
/// </summary>
[TestClass]
public sealed class TransformTests
{
    [TestMethod]
    public void FlipMatchesTorchvisionReferenceRandomHorizontalFlip()
    {
        var f = Load("flip.json");
        using var scope = DisposeScope.Enter();
        var sample = Sample(f.GetProperty("image"), f.GetProperty("boxes"), f.GetProperty("masks"), f.GetProperty("keypoints"));
        var flipped = new RandomHorizontalFlip(1.0).Apply(sample, new Random(0));
        AssertExact(f.GetProperty("expected_image"), flipped.Image, "image");
        AssertExact(Floats(f.GetProperty("expected_boxes")), flipped.Target.Boxes.Data, "boxes");
        AssertExact(Floats(f.GetProperty("expected_keypoints")), flipped.Target.Keypoints!.Data, "keypoints");
        AssertMasks(f.GetProperty("expected_masks"), flipped.Target.Masks!, "masks");
    }

    [TestMethod]
    public void FlipSwapsLeftAndRightKeypointsOnAHandComputedExample()
    {
        // Width 10. left_eye (index 1) labelled at (2, 3); right_eye (index 2) unlabelled.
        // After the flip the right_eye slot holds the mirrored left eye (10 − 2, 3, v = 2) and the
        // left_eye slot the unlabelled one, zeroed: torchvision's _flip_coco_person_keypoints.
        var kp = new float[17 * 3];
        kp[1 * 3] = 2; kp[1 * 3 + 1] = 3; kp[1 * 3 + 2] = 2;
        kp[0] = 5; kp[1] = 1; kp[2] = 1; // nose maps to itself
        using var scope = DisposeScope.Enter();
        var target = new DetectionTarget(Boxes.FromXyxy([1, 2, 4, 6]), [1], [false], [7], [12f], keypoints: new Keypoints(1, 17, kp));
        var sample = new DetectionSample(0, 1, "x", new ImageSize(8, 10), Tensor.Zeros([3, 8, 10]), target);
        var flipped = RandomHorizontalFlip.Flip(sample, KeypointSchema.CocoPerson).Target;
        CollectionAssert.AreEqual(new float[] { 6, 2, 9, 6 }, flipped.Boxes.ToXyxy(), "x1' = W − x2, x2' = W − x1");
        var k = flipped.Keypoints!;
        Assert.AreEqual((5f, 1f, 1f), (k.X(0, 0), k.Y(0, 0), k.Visibility(0, 0)), "nose");
        Assert.AreEqual((8f, 3f, 2f), (k.X(0, 2), k.Y(0, 2), k.Visibility(0, 2)), "right_eye holds the mirrored left eye");
        Assert.AreEqual((0f, 0f, 0f), (k.X(0, 1), k.Y(0, 1), k.Visibility(0, 1)), "left_eye is unlabelled");
    }

    [TestMethod]
    public void FlipProbabilityZeroNeverFlipsAndOneAlwaysDoes()
    {
        using var scope = DisposeScope.Enter();
        var sample = BlankSample(4, 6);
        for (int seed = 0; seed < 20; seed++)
        {
            Assert.AreSame(sample, new RandomHorizontalFlip(0).Apply(sample, new Random(seed)));
            Assert.AreNotSame(sample, new RandomHorizontalFlip(1).Apply(sample, new Random(seed)));
        }
    }

    [TestMethod]
    public void ColourAdjustmentsMatchTorchvisionFunctional()
    {
        var f = Load("color.json");
        using var scope = DisposeScope.Enter();
        var image = FloatTensor(f.GetProperty("image"));
        int singles = 0, steps = 0;
        foreach (var s in f.GetProperty("single").EnumerateArray())
        {
            singles++;
            string op = s.GetProperty("op").GetString()!;
            double factor = s.GetProperty("factor").GetDouble();
            var adjustment = Enum.Parse<ColorAdjustment>(op, ignoreCase: true);
            AssertExact(s.GetProperty("expected"), ImageAdjust.Apply(image, adjustment, factor), $"adjust_{op}({factor})");
        }
        var chain = f.GetProperty("chain");
        var x = image;
        foreach (var step in chain.GetProperty("steps").EnumerateArray())
        {
            x = ImageAdjust.Apply(x, Enum.Parse<ColorAdjustment>(step.GetProperty("op").GetString()!, true), step.GetProperty("factor").GetDouble());
            steps++;
        }
        Assert.IsTrue(singles > 0 && steps > 0, $"color.json: {singles} single adjustments and {steps} chained steps");
        AssertExact(chain.GetProperty("expected"), x, "saturation → brightness → contrast chain");
        AssertExact(f.GetProperty("grayscale"), ImageAdjust.RgbToGrayscale(image), "rgb_to_grayscale");
    }

    [TestMethod]
    public void ColorJitterDrawsFactorsInRangeReproduciblyAndLeavesTheTargetAlone()
    {
        using var scope = DisposeScope.Enter();
        var pixels = new float[3 * 4 * 5];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = 0.1f + 0.5f * i / pixels.Length; // stays < 1 / 1.3: no clamping
        var target = new DetectionTarget(Boxes.FromXyxy([0, 0, 2, 2]), [1], [false], [1], [4f]);
        var sample = new DetectionSample(0, 1, "x", new ImageSize(4, 5), Tensor.FromArray(pixels, 3, 4, 5), target);
        var jitter = new ColorJitter(brightness: 0.3);
        var ratios = new List<double>();
        for (int seed = 0; seed < 30; seed++)
        {
            var a = jitter.Apply(sample, new Random(seed));
            var b = jitter.Apply(sample, new Random(seed));
            var va = a.Image.ToArray<float>();
            CollectionAssert.AreEqual(va, b.Image.ToArray<float>(), $"seed {seed}: same stream, same result");
            Assert.AreSame(target, a.Target);
            // Brightness alone is factor · x: every pixel has the same ratio, inside [0.7, 1.3].
            double ratio = va[0] / pixels[0];
            for (int i = 0; i < va.Length; i++) Assert.AreEqual(ratio, va[i] / pixels[i], 1e-5, $"seed {seed}, pixel {i}");
            Assert.IsTrue(ratio >= 0.7 - 1e-6 && ratio <= 1.3 + 1e-6, $"seed {seed}: factor {ratio} outside [0.7, 1.3]");
            ratios.Add(ratio);
        }
        Assert.IsTrue(ratios.Max() - ratios.Min() > 0.3, "30 seeds spread the factor over the range");
    }

    private static DetectionSample BlankSample(int h, int w) =>
        new(0, 1, "blank", new ImageSize(h, w), Tensor.Zeros([3, h, w]),
            new DetectionTarget(Boxes.FromXyxy([0, 0, 1, 1]), [1], [false], [1], [1f], [new BitMask(h, w)]));
}
