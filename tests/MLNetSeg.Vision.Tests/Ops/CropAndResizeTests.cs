using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Vision.Tests.Ops;

/// <summary>
/// MaskLab's crop and resize and its deformable variant against a slow reference written from the
/// definition (explicit loops: cell centres of the box, feature index = image coordinate × scale − 0.5,
/// bilinear taps, zeros outside the map), and their gradients (features, boxes, offsets) against float64
/// central finite differences.
/// </summary>
[TestClass]
public class CropAndResizeTests
{
    private static double Bilinear(double[] map, int c, int channels, int height, int width, double y, double x)
    {
        int y0 = (int)Math.Floor(y), x0 = (int)Math.Floor(x);
        double wy = y - y0, wx = x - x0, sum = 0;
        for (int dy = 0; dy < 2; dy++)
            for (int dx = 0; dx < 2; dx++)
            {
                int yy = y0 + dy, xx = x0 + dx;
                if (yy < 0 || yy >= height || xx < 0 || xx >= width) continue;
                sum += (dy == 0 ? 1 - wy : wy) * (dx == 0 ? 1 - wx : wx) * map[(c * height + yy) * width + xx];
            }
        return sum;
    }

    /// <summary>The slow reference: one RoI's crop from one image's [C, H, W] map.</summary>
    private static double[] Reference(double[] map, int channels, int height, int width, double[] box, int outH, int outW, double scale)
    {
        var output = new double[channels * outH * outW];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < outH; i++)
                for (int j = 0; j < outW; j++)
                {
                    double y = (box[1] + (i + 0.5) / outH * (box[3] - box[1])) * scale - 0.5;
                    double x = (box[0] + (j + 0.5) / outW * (box[2] - box[0])) * scale - 0.5;
                    output[(c * outH + i) * outW + j] = Bilinear(map, c, channels, height, width, y, x);
                }
        return output;
    }

    private static double[] Features(int n, int c, int h, int w) =>
        Enumerable.Range(0, n * c * h * w).Select(i => Math.Sin(0.37 * i) + 0.1 * Math.Cos(1.7 * i)).ToArray();

    // Boxes inside, crossing the border, smaller than a pixel, and on the second image.
    private static readonly double[][] Rois =
    {
        new double[] { 0, 1.2, 0.7, 9.5, 6.3 },
        new double[] { 1, -3.0, 2.5, 5.0, 14.0 },
        new double[] { 0, 4.1, 4.4, 4.6, 4.9 },
        new double[] { 1, 0, 0, 12, 10 },
    };

    [TestMethod]
    [DataRow(1.0, 4, 4)]
    [DataRow(0.5, 3, 5)]
    [DataRow(0.25, 7, 7)]
    public void CropAndResizeMatchesTheSlowReference(double scale, int outH, int outW)
    {
        const int n = 2, c = 3, h = 9, w = 11;
        var map = Features(n, c, h, w);
        using var scope = DisposeScope.Enter();
        var input = Tensor.FromArray(map, n, c, h, w);
        var rois = Tensor.FromArray(Rois.SelectMany(r => r).ToArray(), Rois.Length, 5);
        var output = VisionOps.CropAndResize(input, rois, (outH, outW), scale).ToArray<double>();
        for (int r = 0; r < Rois.Length; r++)
        {
            int image = (int)Rois[r][0];
            var expected = Reference(map[(image * c * h * w)..((image + 1) * c * h * w)], c, h, w, Rois[r][1..], outH, outW, scale);
            for (int k = 0; k < expected.Length; k++)
                Assert.AreEqual(expected[k], output[r * expected.Length + k], 1e-12, $"roi {r}, element {k}");
        }
    }

    /// <summary>Zero offsets give the plain crop; non-zero offsets give the crops of the moved sub-boxes, tiled.</summary>
    [TestMethod]
    public void DeformableCropAndResizeMatchesTheSlowReference()
    {
        const int n = 2, c = 2, h = 9, w = 11, outH = 6, outW = 4, kh = 3, kw = 2;
        var map = Features(n, c, h, w);
        using var scope = DisposeScope.Enter();
        var input = Tensor.FromArray(map, n, c, h, w);
        var rois = Tensor.FromArray(Rois.SelectMany(r => r).ToArray(), Rois.Length, 5);
        var zero = Tensor.Zeros(new long[] { Rois.Length, kh, kw, 2 }, DType.Float64);
        Assert.IsTrue(VisionOps.DeformableCropAndResize(input, rois, zero, (outH, outW)).AllClose(VisionOps.CropAndResize(input, rois, (outH, outW)), 1e-12, 1e-12));

        var offsetValues = Enumerable.Range(0, Rois.Length * kh * kw * 2).Select(i => 0.15 * Math.Sin(2.1 * i)).ToArray();
        var offsets = Tensor.FromArray(offsetValues, Rois.Length, kh, kw, 2);
        var output = VisionOps.DeformableCropAndResize(input, rois, offsets, (outH, outW), 0.5).ToArray<double>();
        int sh = outH / kh, sw = outW / kw;
        for (int r = 0; r < Rois.Length; r++)
        {
            var box = Rois[r];
            int image = (int)box[0];
            double bw = box[3] - box[1], bh = box[4] - box[2];
            for (int a = 0; a < kh; a++)
                for (int b = 0; b < kw; b++)
                {
                    double dx = offsetValues[((r * kh + a) * kw + b) * 2], dy = offsetValues[((r * kh + a) * kw + b) * 2 + 1];
                    double x1 = box[1] + (b / (double)kw + dx) * bw, y1 = box[2] + (a / (double)kh + dy) * bh;
                    var sub = Reference(map[(image * c * h * w)..((image + 1) * c * h * w)], c, h, w, new[] { x1, y1, x1 + bw / kw, y1 + bh / kh }, sh, sw, 0.5);
                    for (int ch = 0; ch < c; ch++)
                        for (int i = 0; i < sh; i++)
                            for (int j = 0; j < sw; j++)
                                Assert.AreEqual(sub[(ch * sh + i) * sw + j], output[((r * c + ch) * outH + a * sh + i) * outW + b * sw + j], 1e-12,
                                    $"roi {r}, sub-box ({a}, {b}), channel {ch}, cell ({i}, {j})");
                }
        }
    }

    /// <summary>
    /// d(Σ weight·output)/d(features, box coordinates, offsets) against central differences in float64
    /// (step 1e-6; bilinear sampling is piecewise linear in the coordinates, so the points are kept away
    /// from the pixel grid where the derivative jumps).
    /// </summary>
    [TestMethod]
    public void GradientsMatchFiniteDifferences()
    {
        const int c = 2, h = 7, w = 8;
        var map = Features(1, c, h, w);
        var roiValues = new double[] { 0, 1.13, 0.77, 6.21, 5.43, 0, 2.31, 1.19, 5.87, 6.61 };
        var offsetValues = new[] { 0.031, -0.047, 0.012, 0.021, -0.033, 0.044, 0.019, -0.011, 0.027, 0.036, -0.024, 0.008, 0.041, -0.016, 0.005, -0.029 };
        using var scope = DisposeScope.Enter();
        var weights = Tensor.FromArray(Enumerable.Range(0, 2 * c * 4 * 4).Select(i => Math.Cos(0.9 * i)).ToArray(), 2, c, 4, 4);

        double Objective(double[] f, double[] r, double[] o)
        {
            using var s = DisposeScope.Enter();
            var output = VisionOps.DeformableCropAndResize(Tensor.FromArray(f, 1, c, h, w), Tensor.FromArray(r, 2, 5), Tensor.FromArray(o, 2, 2, 2, 2), (4, 4), 0.9);
            return (output * weights).Sum().ItemDouble();
        }

        var features = Tensor.FromArray(map, 1, c, h, w).RequiresGrad_();
        var rois = Tensor.FromArray(roiValues, 2, 5).RequiresGrad_();
        var offsets = Tensor.FromArray(offsetValues, 2, 2, 2, 2).RequiresGrad_();
        (VisionOps.DeformableCropAndResize(features, rois, offsets, (4, 4), 0.9) * weights).Sum().Backward();

        void Check(double[] values, double[] analytic, Func<double[], double> f, string what, IEnumerable<int> skip)
        {
            const double step = 1e-6;
            var skipped = skip.ToHashSet();
            int nonZero = 0;
            for (int i = 0; i < values.Length; i++)
            {
                if (skipped.Contains(i)) continue;
                var plus = (double[])values.Clone();
                var minus = (double[])values.Clone();
                plus[i] += step;
                minus[i] -= step;
                double numeric = (f(plus) - f(minus)) / (2 * step);
                Assert.AreEqual(numeric, analytic[i], 1e-6 * Math.Max(1, Math.Abs(numeric)), $"{what}[{i}]");
                if (Math.Abs(numeric) > 1e-6) nonZero++;
            }
            Assert.IsTrue(nonZero > 0, $"{what}: every derivative is zero, the check would pass on anything");
        }
        Check(map, features.Grad!.ToArray<double>(), f => Objective(f, roiValues, offsetValues), "features", Array.Empty<int>());
        Check(roiValues, rois.Grad!.ToArray<double>(), r => Objective(map, r, offsetValues), "rois", new[] { 0, 5 });  // batch indices are not coordinates
        Check(offsetValues, offsets.Grad!.ToArray<double>(), o => Objective(map, roiValues, o), "offsets", Array.Empty<int>());
    }

    [TestMethod]
    public void BadInputsAreNamed()
    {
        using var scope = DisposeScope.Enter();
        var input = Tensor.Zeros(new long[] { 1, 2, 5, 5 });
        var e = Assert.ThrowsException<ArgumentException>(() => VisionOps.CropAndResize(input, Tensor.FromArray(new float[] { 1, 0, 0, 2, 2 }, 1, 5), (3, 3)));
        StringAssert.Contains(e.Message, "rois[0, 0] = 1 is not the index of one of the 1 image(s)");
        e = Assert.ThrowsException<ArgumentException>(() => VisionOps.DeformableCropAndResize(input, Tensor.FromArray(new float[] { 0, 0, 0, 2, 2 }, 1, 5),
            Tensor.Zeros(new long[] { 1, 2, 2, 2 }), (3, 3)));
        StringAssert.Contains(e.Message, "must divide into the 2×2 sub-boxes");
        var empty = VisionOps.CropAndResize(input, Tensor.Zeros(new long[] { 0, 5 }), (3, 4));
        CollectionAssert.AreEqual(new long[] { 0, 2, 3, 4 }, empty.Shape);
    }
}
