using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Vision.Tests.Ops;

/// <summary>
/// The IMP operator against a slow reference written from the paper's Algorithm 1 (cell-driven: every mask cell's
/// value × score written to its footprint on the canvas with a max), which the operator computes the other way round
/// (pixel-driven gather); hand-computed small cases; gradients with respect to the masks and scores by float64
/// central differences; bad inputs named.
/// </summary>
[TestClass]
public class InstanceMaskProjectionTests
{
    private sealed record Detection(int Image, int Label, double Score, double[] Box, double[] Mask);

    /// <summary>Algorithm 1: for each cell, its footprint [x1 + b·w/M, x1 + (b+1)·w/M) × [y1 + a·h/M, ...) in image pixels
    /// covers the canvas pixels whose centres ((j + 0.5)·stride, (i + 0.5)·stride) fall in it; atomicMax of value × score.</summary>
    private static double[] Reference(IReadOnlyList<Detection> detections, int m, int batch, int channels, int height, int width, double stride)
    {
        var canvas = new double[batch * channels * height * width];
        foreach (var d in detections)
        {
            double bw = d.Box[2] - d.Box[0], bh = d.Box[3] - d.Box[1];
            for (int a = 0; a < m; a++)
                for (int b = 0; b < m; b++)
                {
                    double v = d.Mask[a * m + b] * d.Score;
                    double xLo = d.Box[0] + b * bw / m, xHi = d.Box[0] + (b + 1) * bw / m;
                    double yLo = d.Box[1] + a * bh / m, yHi = d.Box[1] + (a + 1) * bh / m;
                    for (int i = 0; i < height; i++)
                    {
                        double y = (i + 0.5) * stride;
                        if (y < yLo || y >= yHi) continue;
                        for (int j = 0; j < width; j++)
                        {
                            double x = (j + 0.5) * stride;
                            if (x < xLo || x >= xHi) continue;
                            int at = ((d.Image * channels + d.Label) * height + i) * width + j;
                            canvas[at] = Math.Max(canvas[at], v);
                        }
                    }
                }
        }
        return canvas;
    }

    private static (Tensor Masks, Tensor Scores, Tensor Labels, Tensor Boxes, Tensor Images) Tensors(IReadOnlyList<Detection> d, int m) => (
        Tensor.FromArray(d.SelectMany(x => x.Mask).ToArray(), new long[] { d.Count, m, m }),
        Tensor.FromArray(d.Select(x => x.Score).ToArray(), new long[] { d.Count }),
        Tensor.FromArray(d.Select(x => (long)x.Label).ToArray(), new long[] { d.Count }),
        Tensor.FromArray(d.SelectMany(x => x.Box).ToArray(), new long[] { d.Count, 4 }),
        Tensor.FromArray(d.Select(x => (long)x.Image).ToArray(), new long[] { d.Count }));

    private const int M = 5, Batch = 2, Channels = 4, Height = 12, Width = 16;
    private const double Stride = 4;

    /// <summary>Overlapping detections of one class in one image, others of other classes, one crossing the border,
    /// one narrower than a canvas pixel, and one on the second image.</summary>
    private static Detection[] Scene()
    {
        var random = new Random(21);
        double[] Mask() => Enumerable.Range(0, M * M).Select(_ => random.NextDouble()).ToArray();
        return new[]
        {
            new Detection(0, 1, 0.9, new[] { 3.3, 2.1, 37.9, 30.2 }, Mask()),
            new Detection(0, 1, 0.7, new[] { 20.6, 10.4, 55.1, 44.7 }, Mask()),
            new Detection(0, 2, 0.8, new[] { 10.2, 5.5, 30.7, 25.3 }, Mask()),
            new Detection(0, 3, 0.6, new[] { -9.3, 30.1, 14.8, 60.4 }, Mask()),
            new Detection(0, 2, 0.95, new[] { 41.1, 3.2, 43.4, 20.9 }, Mask()),
            new Detection(1, 1, 0.5, new[] { 5.2, 6.6, 60.9, 41.8 }, Mask()),
            new Detection(1, 1, 0.85, new[] { 8.9, 9.7, 28.4, 22.2 }, Mask()),
        };
    }

    [TestMethod]
    public void MatchesTheCellDrivenReferenceOfAlgorithm1()
    {
        var scene = Scene();
        using var scope = DisposeScope.Enter();
        var (masks, scores, labels, boxes, images) = Tensors(scene, M);
        var canvas = VisionOps.InstanceMaskProjection(masks, scores, labels, boxes, images, Batch, Channels, Height, Width, Stride);
        CollectionAssert.AreEqual(new long[] { Batch, Channels, Height, Width }, canvas.Shape.ToArray());
        var expected = Reference(scene, M, Batch, Channels, Height, Width, Stride);
        var actual = canvas.ToArray<double>();
        Assert.IsTrue(expected.Count(v => v > 0) > 100, "the scene must paint a good part of the canvas");
        for (int i = 0; i < expected.Length; i++)
            Assert.AreEqual(expected[i], actual[i], 0.0, $"canvas element {i}");
        // The two overlapping class-1 detections of image 0 both win somewhere: the max is per pixel, not per detection.
        Assert.IsTrue(actual.Where((v, i) => i / (Height * Width) == 1 && v > 0).Distinct().Count() > M * M);
    }

    [TestMethod]
    public void HandComputedCases()
    {
        using var scope = DisposeScope.Enter();
        // A 2×2 mask over the box (0, 0, 8, 8) on a stride-4 canvas: each cell is one canvas pixel, times the score.
        var masks = Tensor.FromArray(new[] { 0.1, 0.2, 0.3, 0.4 }, new long[] { 1, 1, 2, 2 });
        var one = VisionOps.InstanceMaskProjection(masks, Tensor.FromArray(new[] { 0.5 }, new long[] { 1 }), Tensor.FromArray(new long[] { 1 }, new long[] { 1 }),
            Tensor.FromArray(new[] { 0.0, 0, 8, 8 }, new long[] { 1, 4 }), Tensor.FromArray(new long[] { 0 }, new long[] { 1 }), 1, 2, 3, 3, 4);
        CollectionAssert.AreEqual(new[] { 0.0, 0, 0, 0, 0, 0, 0, 0, 0, 0.05, 0.1, 0, 0.15, 0.2, 0, 0, 0, 0 }, one.ToArray<double>());

        // Two detections of one class over the same pixels: the larger value × score wins each pixel.
        var two = VisionOps.InstanceMaskProjection(
            Tensor.FromArray(new[] { 0.9, 0.1 }, new long[] { 2, 1, 1 }), Tensor.FromArray(new[] { 0.5, 1.0 }, new long[] { 2 }),
            Tensor.FromArray(new long[] { 0, 0 }, new long[] { 2 }), Tensor.FromArray(new[] { 0.0, 0, 8, 4, 4, 0, 8, 8 }, new long[] { 2, 4 }),
            Tensor.FromArray(new long[] { 0, 0 }, new long[] { 2 }), 1, 1, 2, 2, 4);
        // Pixel (0, 1) is covered by both (0.45 vs 0.1), (1, 1) by the second only, (0, 0) by the first only, (1, 0) by none.
        CollectionAssert.AreEqual(new[] { 0.45, 0.45, 0.0, 0.1 }, two.ToArray<double>());
    }

    [TestMethod]
    public void GradientsMatchFiniteDifferences()
    {
        var scene = Scene();
        using var scope = DisposeScope.Enter();
        var (masks, scores, labels, boxes, images) = Tensors(scene, M);
        var weights = Tensor.FromArray(Enumerable.Range(0, Batch * Channels * Height * Width).Select(i => Math.Sin(0.7 * i)).ToArray(),
            new long[] { Batch, Channels, Height, Width });
        double Objective(Tensor mk, Tensor sc)
        {
            using var s = DisposeScope.Enter();
            return VisionOps.InstanceMaskProjection(mk, sc, labels, boxes, images, Batch, Channels, Height, Width, Stride).Mul(weights).Sum().ItemDouble();
        }
        var m = masks.Detach().RequiresGrad_();
        var sc = scores.Detach().RequiresGrad_();
        VisionOps.InstanceMaskProjection(m, sc, labels, boxes, images, Batch, Channels, Height, Width, Stride).Mul(weights).Sum().Backward();
        var gm = m.Grad!.ToArray<double>();
        var gs = sc.Grad!.ToArray<double>();
        Assert.IsTrue(gm.Count(g => g != 0) > 50, "many mask cells must win a pixel");

        const double h = 1e-6;
        var maskValues = masks.ToArray<double>();
        for (int i = 0; i < maskValues.Length; i++)
        {
            double Shifted(double delta)
            {
                var copy = (double[])maskValues.Clone();
                copy[i] += delta;
                using var s = DisposeScope.Enter();
                return Objective(Tensor.FromArray(copy, masks.Shape.ToArray()), scores);
            }
            Assert.AreEqual((Shifted(h) - Shifted(-h)) / (2 * h), gm[i], 1e-6, $"d/d mask element {i}");
        }
        var scoreValues = scores.ToArray<double>();
        for (int i = 0; i < scoreValues.Length; i++)
        {
            double Shifted(double delta)
            {
                var copy = (double[])scoreValues.Clone();
                copy[i] += delta;
                using var s = DisposeScope.Enter();
                return Objective(masks, Tensor.FromArray(copy, new long[] { copy.Length }));
            }
            Assert.AreEqual((Shifted(h) - Shifted(-h)) / (2 * h), gs[i], 1e-6, $"d/d score {i}");
        }
    }

    [TestMethod]
    public void BadInputsAreNamed()
    {
        var scene = Scene();
        using var scope = DisposeScope.Enter();
        var (masks, scores, labels, boxes, images) = Tensors(scene, M);
        var e = Assert.ThrowsException<ArgumentException>(() =>
            VisionOps.InstanceMaskProjection(masks, scores, labels, boxes, images, Batch, 2, Height, Width, Stride));
        StringAssert.Contains(e.Message, "labels[2] = 2 is not a canvas channel (0..1)");
        e = Assert.ThrowsException<ArgumentException>(() =>
            VisionOps.InstanceMaskProjection(masks, scores, labels, boxes, images, 1, Channels, Height, Width, Stride));
        StringAssert.Contains(e.Message, "images[5] = 1 is not an image of the batch");
        e = Assert.ThrowsException<ArgumentException>(() =>
            VisionOps.InstanceMaskProjection(masks, scores.Narrow(0, 0, 3), labels, boxes, images, Batch, Channels, Height, Width, Stride));
        StringAssert.Contains(e.Message, "scores must be [7]");
        var empty = VisionOps.InstanceMaskProjection(masks.Narrow(0, 0, 0), scores.Narrow(0, 0, 0), labels.Narrow(0, 0, 0), boxes.Narrow(0, 0, 0),
            images.Narrow(0, 0, 0), Batch, Channels, Height, Width, Stride);
        Assert.AreEqual(0.0, empty.Abs().Sum().ItemDouble(), "no detections: an empty canvas");
        CollectionAssert.AreEqual(new long[] { Batch, Channels, Height, Width }, empty.Shape.ToArray());
    }
}
