namespace MLNetSeg.Onnx.Quantization;

/// <summary>Scale and zero point of one affinely quantized tensor: real = (q − ZeroPoint) · Scale.</summary>
internal readonly record struct QuantParams(float Scale, int ZeroPoint);

/// <summary>
/// The arithmetic of ONNX QuantizeLinear / DequantizeLinear as ONNX Runtime's quantization tool computes
/// its parameters: activations asymmetric over [min(0, lo), max(0, hi)] (so that 0 is exact, which padding
/// and ReLU need), weights symmetric per output channel, biases int32 with scale = input scale · weight scale.
/// Rounding is half to even, as QuantizeLinear rounds.
/// </summary>
internal static class QuantizationMath
{
    /// <summary>The integer range of an activation type: uint8 [0, 255] or int8 [−128, 127].</summary>
    public static (int Min, int Max) ActivationRange(bool signed) => signed ? (-128, 127) : (0, 255);

    /// <summary>
    /// Parameters mapping [<paramref name="lo"/>, <paramref name="hi"/>] (widened to include 0) onto the
    /// activation type's whole range. A range of zero width gets scale 1 (every value then quantizes to the zero point).
    /// </summary>
    public static QuantParams Activation(double lo, double hi, bool signed)
    {
        if (double.IsNaN(lo) || double.IsNaN(hi) || lo > hi)
            throw new ArgumentException($"activation range [{lo}, {hi}] is not a range");
        var (qmin, qmax) = ActivationRange(signed);
        double rmin = Math.Min(0, lo), rmax = Math.Max(0, hi);
        if (double.IsInfinity(rmin) || double.IsInfinity(rmax))
            throw new ArgumentException($"activation range [{lo}, {hi}] is not finite");
        if (rmax == rmin) return new QuantParams(1f, 0);
        float scale = (float)((rmax - rmin) / (qmax - qmin));
        int zero = (int)Math.Round(qmin - rmin / scale, MidpointRounding.ToEven);
        return new QuantParams(scale, Math.Clamp(zero, qmin, qmax));
    }

    /// <summary>
    /// Symmetric int8 weights per slice along <paramref name="axis"/> of a tensor of <paramref name="shape"/>:
    /// scale_c = max|w_c| / q (q = 127, or 64 with <paramref name="reduceRange"/>, ONNX Runtime's reduced range
    /// for CPUs whose u8·s8 products can saturate), zero point 0. A slice of zeros gets scale 1.
    /// </summary>
    public static (sbyte[] Values, float[] Scales) WeightsPerChannel(ReadOnlySpan<float> weights, IReadOnlyList<long> shape, int axis, bool reduceRange)
    {
        if (axis < 0 || axis >= shape.Count) throw new ArgumentOutOfRangeException(nameof(axis), axis, $"tensor of rank {shape.Count}");
        long outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= shape[i];
        for (int i = axis + 1; i < shape.Count; i++) inner *= shape[i];
        int channels = checked((int)shape[axis]);
        if (outer * channels * inner != weights.Length)
            throw new ArgumentException($"{weights.Length} weights for shape [{string.Join(", ", shape)}]");
        float q = reduceRange ? 64f : 127f;
        var absMax = new float[channels];
        for (long o = 0; o < outer; o++)
            for (int c = 0; c < channels; c++)
            {
                var slice = weights.Slice(checked((int)((o * channels + c) * inner)), (int)inner);
                float m = absMax[c];
                foreach (var w in slice) m = Math.Max(m, Math.Abs(w));
                absMax[c] = m;
            }
        var scales = new float[channels];
        for (int c = 0; c < channels; c++) scales[c] = absMax[c] > 0 ? absMax[c] / q : 1f;
        var values = new sbyte[weights.Length];
        for (long o = 0; o < outer; o++)
            for (int c = 0; c < channels; c++)
            {
                long start = (o * channels + c) * inner;
                for (long i = start; i < start + inner; i++)
                    values[i] = (sbyte)Math.Clamp(Math.Round(weights[(int)i] / scales[c], MidpointRounding.ToEven), -q, q);
            }
        return (values, scales);
    }

    /// <summary>Bias as int32 with scale inputScale · weightScale_c per channel (zero point 0), as QLinearConv expects it.</summary>
    public static (int[] Values, float[] Scales) Bias(ReadOnlySpan<float> bias, float inputScale, IReadOnlyList<float> weightScales)
    {
        if (bias.Length != weightScales.Count)
            throw new ArgumentException($"{bias.Length} bias values for {weightScales.Count} weight scales");
        var values = new int[bias.Length];
        var scales = new float[bias.Length];
        for (int c = 0; c < bias.Length; c++)
        {
            scales[c] = inputScale * weightScales[c];
            double q = Math.Round(bias[c] / (double)scales[c], MidpointRounding.ToEven);
            values[c] = (int)Math.Clamp(q, int.MinValue, int.MaxValue);
        }
        return (values, scales);
    }
}
