using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Vision.Tests.Ops;

/// <summary>
/// The align2nat family against a slow reference written element by element from the definition (explicit loops over
/// n, v, u, y, x and the 16 bilinear taps of detectron2's SwapAlign2Nat kernel, pad outside in any coordinate), which
/// the operator computes as two separable passes of row gathers (composed) or in one fused native kernel (both checked); the paper's identities (align2nat with odd V is an integer
/// shift; swap_align2nat is up_align2nat subsampled); gradients by float64 central differences; bad inputs named.
/// </summary>
[TestClass]
public class Align2NatTests
{
    private const double Pad = -6;

    /// <summary>The definition, one output element at a time. Output window (y, x) at spatial stride <paramref name="stride"/>, mask
    /// pixel (v, u) of <paramref name="outSide"/>²: mask coordinates (v + 0.5)·inSide/outSide − 0.5 (nearest: the cell the centre falls
    /// in), spatial coordinates y·stride + v − outSide/2 + 0.5 when aligned (else y·stride); any tap outside reads the pad.</summary>
    private static double[] Reference(double[] input, int n, int inSide, int h, int w, int outSide, int stride, bool aligned, bool nearest)
    {
        int hOut = (h + stride - 1) / stride, wOut = (w + stride - 1) / stride;
        double ratio = (double)outSide / inSide;
        var output = new double[n * outSide * outSide * hOut * wOut];
        double At(int b, int v, int u, int y, int x) =>
            v < 0 || v >= inSide || u < 0 || u >= inSide || y < 0 || y >= h || x < 0 || x >= w ? Pad
            : input[(((b * inSide + v) * inSide + u) * h + y) * w + x];
        static (int Low, int High, double WLow, double WHigh) Taps(float o)
        {
            int f = (int)MathF.Floor(o), c = (int)MathF.Ceiling(o);
            double wc = o - f;
            return (f, c, 1 - wc, wc);
        }
        int index = 0;
        for (int b = 0; b < n; b++)
            for (int v = 0; v < outSide; v++)
                for (int u = 0; u < outSide; u++)
                    for (int y = 0; y < hOut; y++)
                        for (int x = 0; x < wOut; x++)
                        {
                            var (yf, yc, ywf, ywc) = Taps(aligned ? (float)((float)y * stride + v - outSide / 2f + 0.5) : y * stride);
                            var (xf, xc, xwf, xwc) = Taps(aligned ? (float)((float)x * stride + u - outSide / 2f + 0.5) : x * stride);
                            var (vf, vc, vwf, vwc) = nearest ? (Math.Min(inSide - 1, (int)Math.Floor((v + 0.5) / ratio)), 0, 1.0, 0.0) : Taps((float)((v + 0.5) / ratio - 0.5));
                            var (uf, uc, uwf, uwc) = nearest ? (Math.Min(inSide - 1, (int)Math.Floor((u + 0.5) / ratio)), 0, 1.0, 0.0) : Taps((float)((u + 0.5) / ratio - 0.5));
                            double sum = 0;
                            foreach (var (yy, wy) in new[] { (yf, ywf), (yc, ywc) })
                                foreach (var (xx, wx) in new[] { (xf, xwf), (xc, xwc) })
                                    foreach (var (vv, wv) in new[] { (vf, vwf), (vc, vwc) })
                                        foreach (var (uu, wu) in new[] { (uf, uwf), (uc, uwc) })
                                            sum += wy * wx * wv * wu * At(b, vv, uu, yy, xx);
                            output[index++] = sum;
                        }
        return output;
    }

    private static double[] Random(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => random.NextDouble() * 4 - 2).ToArray();
    }

    private static void AssertClose(double[] expected, double[] actual, double tolerance, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, $"{what}: element count");
        for (int i = 0; i < expected.Length; i++)
            if (Math.Abs(expected[i] - actual[i]) > tolerance)
                Assert.Fail($"{what}: element {i} is {actual[i]}, expected {expected[i]} (tolerance {tolerance})");
    }

    [DataTestMethod]
    [DataRow(1, 3, 7, 9, 2)]     // λ = 1 is align2nat; odd V: integer shifts
    [DataRow(1, 2, 5, 6, 1)]     // even V: half-pixel shifts, two taps each
    [DataRow(2, 3, 8, 8, 2)]
    [DataRow(2, 4, 7, 5, 1)]     // odd spatial sizes: ⌈H/λ⌉ windows, the last one half outside
    [DataRow(5, 3, 11, 13, 1)]
    [DataRow(32, 2, 33, 35, 1)]  // the bipyramid's top level: 64×64 masks from 2×2
    public void SwapAlign2NatMatchesTheDefinition(int lambda, int side, int h, int w, int n)
    {
        using var scope = DisposeScope.Enter();
        var data = Random(n * side * side * h * w, lambda * 100 + side);
        var expected = Reference(data, n, side, h, w, side * lambda, lambda, aligned: true, nearest: false);

        foreach (var kernel in new[] { Align2NatKernel.Composed, Align2NatKernel.Fused })
        {
            // float64 twin: the same sums in another order, equal to rounding.
            var input64 = Tensor.FromArray(data, new long[] { n, side * side, h, w });
            var output64 = VisionOps.SwapAlign2Nat(input64, lambda, kernel: kernel);
            CollectionAssert.AreEqual(new long[] { n, (long)side * lambda * side * lambda, (h + lambda - 1) / lambda, (w + lambda - 1) / lambda }, output64.Shape.ToArray());
            AssertClose(expected, output64.ToArray<double>(), 1e-12, $"{kernel} float64, λ = {lambda}");

            // float32, the models' dtype: float rounding of values of magnitude ≤ 6.
            var output32 = VisionOps.SwapAlign2Nat(input64.To(DType.Float32), lambda, kernel: kernel);
            AssertClose(expected, output32.To(DType.Float64).ToArray<double>(), 1e-5, $"{kernel} float32, λ = {lambda}");
        }
    }

    [DataTestMethod]
    [DataRow(10, 15, false)]   // Tab. 2a's λ = 1.5: not an integer
    [DataRow(5, 15, false)]    // λ = 3
    [DataRow(3, 15, false)]    // λ = 5
    [DataRow(3, 15, true)]     // the "unaligned" (nearest) variant of Tab. 2b
    [DataRow(2, 7, true)]
    public void UpAlign2NatAndNaturalUpsamplingMatchTheDefinition(int side, int outSide, bool nearest)
    {
        using var scope = DisposeScope.Enter();
        const int n = 2, h = 6, w = 5;
        var data = Random(n * side * side * h * w, side * 31 + outSide);
        var input = Tensor.FromArray(data, new long[] { n, side * side, h, w });
        var mode = nearest ? WindowInterpolation.Nearest : WindowInterpolation.Bilinear;
        AssertClose(Reference(data, n, side, h, w, outSide, 1, aligned: true, nearest),
            VisionOps.UpAlign2Nat(input, outSide, mode).ToArray<double>(), 1e-12, "up_align2nat");
        AssertClose(Reference(data, n, side, h, w, outSide, 1, aligned: false, nearest),
            VisionOps.UpsampleNaturalWindows(input, outSide, mode).ToArray<double>(), 1e-12, "natural upsampling");
    }

    /// <summary>The paper's align2nat (§3.4, α = 1) with odd V: F(v, u, y, x) = F̂(v, u, y + v − ⌊V/2⌋, x + u − ⌊U/2⌋), pad outside.</summary>
    [TestMethod]
    public void Align2NatWithOddSidesIsTheIntegerShiftOfThePaper()
    {
        using var scope = DisposeScope.Enter();
        const int side = 5, h = 6, w = 7;
        var data = Random(side * side * h * w, 7);
        var output = VisionOps.Align2Nat(Tensor.FromArray(data, new long[] { 1, side * side, h, w })).ToArray<double>();
        int half = side / 2, at = 0;
        for (int v = 0; v < side; v++)
            for (int u = 0; u < side; u++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                    {
                        int ys = y + v - half, xs = x + u - half;
                        double expected = ys < 0 || ys >= h || xs < 0 || xs >= w ? Pad : data[((v * side + u) * h + ys) * w + xs];
                        Assert.AreEqual(expected, output[at++], 1e-12, $"v {v} u {u} y {y} x {x}");
                    }
    }

    /// <summary>§3.6: swap_align2nat is up_align2nat by λ followed by subsampling (H, W) by λ.</summary>
    [DataTestMethod]
    [DataRow(2, 3)]
    [DataRow(4, 2)]
    public void SwapAlign2NatIsUpAlign2NatSubsampled(int lambda, int side)
    {
        using var scope = DisposeScope.Enter();
        const int h = 9, w = 8;
        var input = Tensor.FromArray(Random(side * side * h * w, 3), new long[] { 1, side * side, h, w });
        var swapped = VisionOps.SwapAlign2Nat(input, lambda);
        var rows = Tensor.FromArray(Enumerable.Range(0, (h + lambda - 1) / lambda).Select(y => (long)y * lambda).ToArray(), new long[] { (h + lambda - 1) / lambda });
        var cols = Tensor.FromArray(Enumerable.Range(0, (w + lambda - 1) / lambda).Select(x => (long)x * lambda).ToArray(), new long[] { (w + lambda - 1) / lambda });
        var subsampled = VisionOps.UpAlign2Nat(input, side * lambda).IndexSelect(2, rows).IndexSelect(3, cols);
        AssertClose(subsampled.ToArray<double>(), swapped.ToArray<double>(), 1e-12, "swap vs up + subsample");
    }

    [DataTestMethod]
    [DataRow(1, 3)]
    [DataRow(4, 2)]
    [DataRow(8, 3)]
    public void SwapAlign2NatWindowsAreTheDenseOpsWindows(int lambda, int side)
    {
        using var scope = DisposeScope.Enter();
        const int n = 2, h = 17, w = 13;
        var input = Tensor.FromArray(Random(n * side * side * h * w, 5 + lambda), new long[] { n, side * side, h, w }).To(DType.Float32);
        var dense = VisionOps.SwapAlign2Nat(input, lambda);
        int hOut = (h + lambda - 1) / lambda, wOut = (w + lambda - 1) / lambda;
        int[] images = { 1, 0, 1, 0 }, ys = { 0, hOut - 1, hOut / 2, 0 }, xs = { wOut - 1, 0, wOut / 2, 0 };
        var picked = VisionOps.SwapAlign2NatWindows(input, lambda, images, ys, xs);
        CollectionAssert.AreEqual(new long[] { 4, (long)side * lambda * side * lambda }, picked.Shape.ToArray());
        for (int j = 0; j < images.Length; j++)
        {
            var expected = dense.Select(0, images[j]).Select(2, xs[j]).Select(1, ys[j]).ToArray<float>();
            var actual = picked.Select(0, j).ToArray<float>();
            for (int i = 0; i < expected.Length; i++)
                Assert.AreEqual(expected[i], actual[i], 1e-5, $"window {j}, mask pixel {i}");
        }
        var e = Assert.ThrowsException<ArgumentException>(() => VisionOps.SwapAlign2NatWindows(input, lambda, new[] { 2 }, new[] { 0 }, new[] { 0 }));
        StringAssert.Contains(e.Message, "window 0 (image 2, row 0, column 0) is outside");
    }

    [DataTestMethod]
    [DataRow("swap_fused", 2, 3)]
    [DataRow("swap_fused", 1, 2)]
    [DataRow("swap_fused", 3, 2)]
    [DataRow("swap_composed", 2, 3)]
    [DataRow("swap_composed", 1, 2)]
    [DataRow("up", 2, 3)]
    [DataRow("natural", 2, 2)]
    public void GradientsMatchFiniteDifferences(string op, int lambda, int side)
    {
        using var scope = DisposeScope.Enter();
        const int n = 2, h = 5, w = 4;
        var data = Random(n * side * side * h * w, 11);
        var shape = new long[] { n, side * side, h, w };
        Tensor Apply(Tensor x) => op switch
        {
            "swap_fused" => VisionOps.SwapAlign2Nat(x, lambda, kernel: Align2NatKernel.Fused),
            "swap_composed" => VisionOps.SwapAlign2Nat(x, lambda, kernel: Align2NatKernel.Composed),
            "up" => VisionOps.UpAlign2Nat(x, side * lambda + 1),
            _ => VisionOps.UpsampleNaturalWindows(x, side * lambda),
        };
        using var probe = Apply(Tensor.FromArray(data, shape));
        var weights = Tensor.FromArray(Enumerable.Range(0, (int)probe.NumEl).Select(i => Math.Sin(0.37 * i + 1)).ToArray(), probe.Shape.ToArray());
        double Objective(double[] values)
        {
            using var s = DisposeScope.Enter();
            return Apply(Tensor.FromArray(values, shape)).Mul(weights).Sum().ItemDouble();
        }
        var x = Tensor.FromArray(data, shape).RequiresGrad_();
        Apply(x).Mul(weights).Sum().Backward();
        var grad = x.Grad!.ToArray<double>();
        Assert.IsTrue(grad.Count(g => Math.Abs(g) > 1e-9) > data.Length / 2, "most inputs must reach the output");
        const double step = 1e-6;
        for (int i = 0; i < data.Length; i++)
        {
            var plus = (double[])data.Clone();
            var minus = (double[])data.Clone();
            plus[i] += step;
            minus[i] -= step;
            Assert.AreEqual((Objective(plus) - Objective(minus)) / (2 * step), grad[i], 1e-6, $"{op}: d/d input {i}");
        }
    }

    [TestMethod]
    public void BadInputsAreNamed()
    {
        using var scope = DisposeScope.Enter();
        var e = Assert.ThrowsException<ArgumentException>(() => VisionOps.SwapAlign2Nat(Tensor.Zeros(new long[] { 1, 8, 4, 4 }, DType.Float32), 2));
        StringAssert.Contains(e.Message, "channel count 8 is not a square");
        e = Assert.ThrowsException<ArgumentException>(() => VisionOps.SwapAlign2Nat(Tensor.Zeros(new long[] { 9, 4, 4 }, DType.Float32), 2));
        StringAssert.Contains(e.Message, "must be [N, V·U, H, W]");
        e = Assert.ThrowsException<ArgumentException>(() => VisionOps.SwapAlign2Nat(Tensor.Zeros(new long[] { 1, 9, 4, 4 }, DType.Float32), 0));
        StringAssert.Contains(e.Message, "lambda must be at least 1");
        e = Assert.ThrowsException<ArgumentException>(() => VisionOps.UpAlign2Nat(Tensor.Zeros(new long[] { 1, 9, 4, 4 }, DType.Float32), 2));
        StringAssert.Contains(e.Message, "output side 2 is below the input's 3");
        e = Assert.ThrowsException<ArgumentException>(() => VisionOps.Align2Nat(Tensor.Zeros(new long[] { 1, 9, 4, 4 }, DType.Int64)));
        StringAssert.Contains(e.Message, "must be floating point");
        foreach (var kernel in new[] { Align2NatKernel.Composed, Align2NatKernel.Fused })
        {
            var empty = VisionOps.SwapAlign2Nat(Tensor.Zeros(new long[] { 0, 9, 4, 4 }, DType.Float32), 2, kernel: kernel);
            CollectionAssert.AreEqual(new long[] { 0, 36, 2, 2 }, empty.Shape.ToArray(), kernel.ToString());
        }
    }
}
