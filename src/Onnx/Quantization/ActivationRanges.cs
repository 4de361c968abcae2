using System.Numerics;
using System.Runtime.InteropServices;

namespace MLNetSeg.Onnx.Quantization;

/// <summary>
/// The range of one activation over the calibration images: min and max always, and for percentile
/// calibration a histogram whose range grows with the values seen (old bins are re-binned by their centre
/// when it grows, as ONNX Runtime's histogram collector does).
/// </summary>
internal sealed class ActivationRange
{
    private const int Bins = 4096;
    private readonly bool histogram;
    private double[]? counts;
    private double lo, hi;

    public ActivationRange(bool histogram) => this.histogram = histogram;

    /// <summary>The smallest value seen (+∞ before any).</summary>
    public double Min { get; private set; } = double.PositiveInfinity;
    /// <summary>The largest value seen (−∞ before any).</summary>
    public double Max { get; private set; } = double.NegativeInfinity;
    /// <summary>Values seen.</summary>
    public long Count { get; private set; }

    /// <summary>Adds one run's values.</summary>
    /// <exception cref="ArgumentException">A value is NaN or infinite (the float graph misbehaves there).</exception>
    public void Add(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty) return;
        var (min, max) = MinMax(values);
        if (!float.IsFinite(min) || !float.IsFinite(max))
            throw new ArgumentException("a calibration value is NaN or infinite");
        Min = Math.Min(Min, min);
        Max = Math.Max(Max, max);
        Count += values.Length;
        if (histogram) AddToHistogram(values, min, max);
    }

    /// <summary>[Min, Max], or the percentile range when <paramref name="percentile"/> is given (clipped to [Min, Max]).</summary>
    public (double Lo, double Hi) Range(double? percentile)
    {
        if (Count == 0) throw new InvalidOperationException("no calibration values were seen");
        if (percentile is not double p || counts is null || p >= 100) return (Min, Max);
        double total = counts.Sum(), width = (hi - lo) / Bins;
        double lowTarget = total * (1 - p / 100), highTarget = total * p / 100;
        double cumulative = 0, rLo = Min, rHi = Max;
        bool lowFound = false;
        for (int b = 0; b < Bins; b++)
        {
            cumulative += counts[b];
            if (!lowFound && cumulative >= lowTarget) { rLo = lo + b * width; lowFound = true; }
            if (cumulative >= highTarget) { rHi = lo + (b + 1) * width; break; }
        }
        return (Math.Max(Min, rLo), Math.Min(Max, rHi));
    }

    private void AddToHistogram(ReadOnlySpan<float> values, float min, float max)
    {
        if (counts is null)
        {
            counts = new double[Bins];
            (lo, hi) = (min, max > min ? max : min + 1e-6);
        }
        else if (min < lo || max > hi)
        {
            // Grow with some margin so that small overshoots do not re-bin every run.
            double newLo = Math.Min(lo, min), newHi = Math.Max(hi, max);
            double margin = 0.1 * (newHi - newLo);
            if (min < lo) newLo -= margin;
            if (max > hi) newHi += margin;
            var old = counts;
            double oldWidth = (hi - lo) / Bins;
            counts = new double[Bins];
            for (int b = 0; b < Bins; b++)
                if (old[b] > 0) counts[Bin(lo + (b + 0.5) * oldWidth, newLo, newHi)] += old[b];
            (lo, hi) = (newLo, newHi);
        }
        double scale = Bins / (hi - lo);
        foreach (var v in values)
        {
            int b = (int)((v - lo) * scale);
            counts[b < 0 ? 0 : b >= Bins ? Bins - 1 : b]++;
        }
    }

    private static int Bin(double v, double lo, double hi) => Math.Clamp((int)((v - lo) / (hi - lo) * Bins), 0, Bins - 1);

    private static (float Min, float Max) MinMax(ReadOnlySpan<float> values)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= 2 * Vector<float>.Count)
        {
            var vectors = MemoryMarshal.Cast<float, Vector<float>>(values);
            Vector<float> vmin = vectors[0], vmax = vectors[0];
            bool finite = true;
            foreach (var v in vectors)
            {
                vmin = Vector.Min(vmin, v);
                vmax = Vector.Max(vmax, v);
                // NaN compares false both ways: v == v is false only for NaN.
                finite &= Vector.EqualsAll(v, v);
            }
            if (!finite) return (float.NaN, float.NaN);
            for (int k = 0; k < Vector<float>.Count; k++)
            {
                min = Math.Min(min, vmin[k]);
                max = Math.Max(max, vmax[k]);
            }
            i = vectors.Length * Vector<float>.Count;
        }
        for (; i < values.Length; i++)
        {
            if (float.IsNaN(values[i])) return (float.NaN, float.NaN);
            min = Math.Min(min, values[i]);
            max = Math.Max(max, values[i]);
        }
        return (min, max);
    }
}
