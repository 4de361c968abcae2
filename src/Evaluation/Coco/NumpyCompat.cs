using System.Globalization;

namespace MLNetSeg.Evaluation.Coco;

/// <summary>
/// The exact floating-point behaviour of the numpy / Python operations pycocotools relies on, so
/// that our numbers are bit-for-bit the same: <c>numpy.linspace</c>, <c>numpy.sum</c>/<c>mean</c>
/// (pairwise summation inside 8192-element buffers) and Python's <c>'{:0.3f}'</c> formatting.
/// </summary>
internal static class NumpyCompat
{
    /// <summary>numpy's reduction buffer: a 1-D sum is done chunk by chunk, pairwise inside each chunk.</summary>
    private const int ReduceBufferSize = 8192;

    /// <summary>numpy's pairwise summation switches to a plain loop below this many elements.</summary>
    private const int PairwiseBlockSize = 128;

    /// <summary><c>numpy.linspace(start, stop, num)</c> (endpoint included): <c>i * step + start</c>, last value = stop.</summary>
    public static double[] Linspace(double start, double stop, int num)
    {
        var values = new double[num];
        int div = num - 1;
        double step = (stop - start) / div;
        for (int i = 0; i < num; i++) values[i] = i * step + start;
        if (num > 1) values[^1] = stop;
        return values;
    }

    /// <summary><c>numpy.sum</c> of a contiguous float64 array.</summary>
    public static double Sum(ReadOnlySpan<double> values)
    {
        double result = 0.0;
        for (int start = 0; start < values.Length; start += ReduceBufferSize)
            result += PairwiseSum(values.Slice(start, Math.Min(ReduceBufferSize, values.Length - start)));
        return result;
    }

    /// <summary><c>numpy.mean</c> of a contiguous float64 array (sum, then one division).</summary>
    public static double Mean(ReadOnlySpan<double> values) => Sum(values) / values.Length;

    // numpy/core/src/umath/loops_utils.h.src pairwise_sum_DOUBLE, operation for operation.
    private static double PairwiseSum(ReadOnlySpan<double> a)
    {
        int n = a.Length;
        if (n < 8)
        {
            double res = 0.0;
            for (int i = 0; i < n; i++) res += a[i];
            return res;
        }
        if (n <= PairwiseBlockSize)
        {
            double r0 = a[0], r1 = a[1], r2 = a[2], r3 = a[3], r4 = a[4], r5 = a[5], r6 = a[6], r7 = a[7];
            int i;
            for (i = 8; i < n - (n % 8); i += 8)
            {
                r0 += a[i]; r1 += a[i + 1]; r2 += a[i + 2]; r3 += a[i + 3];
                r4 += a[i + 4]; r5 += a[i + 5]; r6 += a[i + 6]; r7 += a[i + 7];
            }
            double res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
            for (; i < n; i++) res += a[i];
            return res;
        }
        int n2 = n / 2;
        n2 -= n2 % 8;
        return PairwiseSum(a[..n2]) + PairwiseSum(a[n2..]);
    }

    /// <summary>
    /// Python's <c>format(value, '0.{digits}f')</c>: correctly rounded, ties to even. .NET's "F" format
    /// rounds exact ties away from zero, so ties (values m / 2^(digits+1) with m odd, the only
    /// doubles that sit exactly halfway) are rounded here instead.
    /// </summary>
    public static string FormatFixed(double value, int digits)
    {
        double scaled = Math.ScaleB(value, digits + 1);
        bool exactTie = Math.Abs(scaled) < 1e9 && scaled == Math.Floor(scaled) && Math.Abs(scaled % 2) == 1;
        if (exactTie)
        {
            decimal rounded = Math.Round((decimal)value, digits, MidpointRounding.ToEven);
            return rounded.ToString("F" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        }
        return value.ToString("F" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }
}
