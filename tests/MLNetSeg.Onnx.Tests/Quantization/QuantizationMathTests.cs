using MLNetSeg.Onnx.Quantization;

namespace MLNetSeg.Onnx.Tests.Quantization;

/// <summary>
/// The quantisation parameters against values worked out by hand from ONNX Runtime's quantization tool's formulas
/// (onnxruntime/python/tools/quantization/quant_utils.py: compute_scale_zp with the range widened to include 0,
/// symmetric per-channel weights, bias scale = input scale · weight scale), and percentile ranges against a sort.
/// </summary>
[TestClass]
public sealed class QuantizationMathTests
{
    [TestMethod]
    public void ActivationParametersWidenTheRangeToZeroAndRoundTheZeroPoint()
    {
        // [-1, 3] on uint8: scale 4/255, zero point round(1 / (4/255)) = round(63.75) = 64.
        var p = QuantizationMath.Activation(-1, 3, signed: false);
        Assert.AreEqual(4f / 255, p.Scale, 1e-9f);
        Assert.AreEqual(64, p.ZeroPoint);
        // [0.5, 2] becomes [0, 2]: zero point 0 (what lets ONNX Runtime drop a Relu before the QuantizeLinear).
        p = QuantizationMath.Activation(0.5, 2, signed: false);
        Assert.AreEqual(2f / 255, p.Scale, 1e-9f);
        Assert.AreEqual(0, p.ZeroPoint);
        // [-3, -1] on int8 becomes [-3, 0]: zero point -128 + 3 / (3/255) = 127.
        p = QuantizationMath.Activation(-3, -1, signed: true);
        Assert.AreEqual(3f / 255, p.Scale, 1e-9f);
        Assert.AreEqual(127, p.ZeroPoint);
        // A constant zero activation: scale 1, every value quantizes to the zero point.
        p = QuantizationMath.Activation(0, 0, signed: false);
        Assert.AreEqual((1f, 0), (p.Scale, p.ZeroPoint));
    }

    [TestMethod]
    public void ActivationParametersRefuseNonRanges()
    {
        Assert.ThrowsException<ArgumentException>(() => QuantizationMath.Activation(2, 1, false));
        Assert.ThrowsException<ArgumentException>(() => QuantizationMath.Activation(double.NaN, 1, false));
        Assert.ThrowsException<ArgumentException>(() => QuantizationMath.Activation(0, double.PositiveInfinity, false));
    }

    [TestMethod]
    public void WeightsAreSymmetricPerChannelWithHalfToEvenRounding()
    {
        // Channel 0: max |w| = 2 → scale 2/127; 1 → 63.5 → 64 (half to even), -2 → -127, 0.5 → 31.75 → 32.
        // Channel 1: all zero → scale 1, values 0.
        var (values, scales) = QuantizationMath.WeightsPerChannel(new[] { 1f, -2f, 0.5f, 0f, 0f, 0f }, new long[] { 2, 3 }, 0, reduceRange: false);
        CollectionAssert.AreEqual(new sbyte[] { 64, -127, 32, 0, 0, 0 }, values);
        Assert.AreEqual(2f / 127, scales[0], 1e-9f);
        Assert.AreEqual(1f, scales[1]);
        // Axis 1 of a [2, 2] tensor (Gemm's B without transB): channels are columns.
        (values, scales) = QuantizationMath.WeightsPerChannel(new[] { 1f, 4f, -0.5f, -2f }, new long[] { 2, 2 }, 1, reduceRange: false);
        Assert.AreEqual(1f / 127, scales[0], 1e-9f);
        Assert.AreEqual(4f / 127, scales[1], 1e-9f);
        CollectionAssert.AreEqual(new sbyte[] { 127, 127, -64, -64 }, values);   // -0.5·127 = -63.5 → -64; -2·127/4 = -63.5 → -64
        // Reduced range: ±64.
        (values, scales) = QuantizationMath.WeightsPerChannel(new[] { 1f, -2f }, new long[] { 1, 2 }, 0, reduceRange: true);
        Assert.AreEqual(2f / 64, scales[0], 1e-9f);
        CollectionAssert.AreEqual(new sbyte[] { 32, -64 }, values);
    }

    [TestMethod]
    public void BiasIsInt32AtInputTimesWeightScale()
    {
        // Values exact in binary: scale 0.5 · 0.25 = 0.125; 1 / 0.125 = 8, -0.3125 / 0.125 = -2.5 → -2 (half to even).
        var (values, scales) = QuantizationMath.Bias(new[] { 1f, -0.3125f }, 0.5f, new[] { 0.25f, 0.25f });
        Assert.AreEqual(0.125f, scales[0]);
        CollectionAssert.AreEqual(new[] { 8, -2 }, values);
        Assert.ThrowsException<ArgumentException>(() => QuantizationMath.Bias(new[] { 1f }, 1f, new[] { 1f, 1f }));
    }

    [TestMethod]
    public void PercentileRangeMatchesSortedValuesWithinOneBin()
    {
        var random = new Random(5);
        // Two batches with different ranges, so the histogram has to grow and re-bin once.
        var first = Enumerable.Range(0, 50_000).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var second = Enumerable.Range(0, 50_000).Select(_ => (float)(random.NextDouble() * 8 - 2) + (random.Next(1000) == 0 ? 30f : 0f)).ToArray();
        var range = new ActivationRange(histogram: true);
        range.Add(first);
        range.Add(second);
        var all = first.Concat(second).Select(v => (double)v).Order().ToArray();
        Assert.AreEqual((all[0], all[^1]), range.Range(null));
        var (lo, hi) = range.Range(99.0);
        double bin = (all[^1] - all[0]) * 1.2 / 4096 * 2;  // the grown histogram's bin width, with margin for re-binning
        Assert.AreEqual(all[(int)(0.01 * all.Length)], lo, bin, "1st percentile");
        Assert.AreEqual(all[(int)(0.99 * all.Length) - 1], hi, bin, "99th percentile");
        Assert.IsTrue(hi < 10, $"the rare outliers at ~30 are clipped (hi {hi})");
    }

    [TestMethod]
    public void RangesRefuseNaN()
    {
        var range = new ActivationRange(histogram: false);
        Assert.ThrowsException<ArgumentException>(() => range.Add(new[] { 1f, float.NaN, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f, 11f, 12f, 13f, 14f, 15f, 16f, 17f }));
        Assert.ThrowsException<InvalidOperationException>(() => range.Range(null), "nothing seen yet");
    }
}
