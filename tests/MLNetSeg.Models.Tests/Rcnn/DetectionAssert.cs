using MLNetSeg.Torch;

namespace MLNetSeg.Models.Tests.Rcnn;

/// <summary>Comparisons of detector outputs against torchvision's, naming the fixture field and the detection.</summary>
internal static class DetectionAssert
{
    /// <summary>
    /// Checks that <paramref name="actual"/> holds the same detections as <paramref name="expected"/>
    /// (label equal, box corners within <paramref name="boxTolerance"/>, score within
    /// <paramref name="scoreTolerance"/>) in the same order, except that detections whose scores tie
    /// within the tolerance may come in either order. Returns, for each expected detection, the
    /// index of its actual counterpart.
    /// </summary>
    public static int[] SameDetections((Tensor Boxes, Tensor Labels, Tensor Scores) expected, (Tensor Boxes, Tensor Labels, Tensor Scores) actual,
        double boxTolerance, double scoreTolerance, string what)
    {
        var eb = Floats(expected.Boxes); var el = Longs(expected.Labels); var es = Floats(expected.Scores);
        var ab = Floats(actual.Boxes); var al = Longs(actual.Labels); var @as = Floats(actual.Scores);
        Assert.AreEqual(el.Length, al.Length, $"{what}: {al.Length} detections, torchvision has {el.Length} " +
                                              $"(expected scores [{string.Join(", ", es.Take(8).Select(s => s.ToString("G6")))}...], " +
                                              $"actual [{string.Join(", ", @as.Take(8).Select(s => s.ToString("G6")))}...])");
        var used = new bool[al.Length];
        var map = new int[el.Length];
        for (int i = 0; i < el.Length; i++)
        {
            bool Matches(int j) => !used[j] && al[j] == el[i] && Math.Abs(@as[j] - es[i]) <= scoreTolerance &&
                                   Enumerable.Range(0, 4).All(c => Math.Abs(ab[4 * j + c] - eb[4 * i + c]) <= boxTolerance);
            int found = Matches(i) ? i : Enumerable.Range(0, al.Length).FirstOrDefault(j => j != i && Math.Abs(@as[j] - es[i]) <= scoreTolerance && Matches(j), -1);
            if (found < 0)
                Assert.Fail($"{what}: detection {i} differs: torchvision label {el[i]} score {es[i]:R} box [{string.Join(", ", eb.Skip(4 * i).Take(4).Select(v => v.ToString("R")))}], " +
                            $"ours label {al[i]} score {@as[i]:R} box [{string.Join(", ", ab.Skip(4 * i).Take(4).Select(v => v.ToString("R")))}] " +
                            $"(box tolerance {boxTolerance} px, score tolerance {scoreTolerance})");
            used[found] = true;
            map[i] = found;
        }
        return map;
    }

    /// <summary>|actual − expected| ≤ tolerance elementwise, rows of <paramref name="actual"/> taken in <paramref name="order"/>.</summary>
    public static void CloseRows(Tensor expected, Tensor actual, int[] order, double tolerance, string what)
    {
        Assert.AreEqual(expected.Size(0), actual.Size(0), $"{what}: row count");
        CollectionAssert.AreEqual(expected.Shape.Skip(1).ToArray(), actual.Shape.Skip(1).ToArray(), $"{what}: shape [{string.Join(", ", actual.Shape)}], expected [{string.Join(", ", expected.Shape)}]");
        long rowSize = expected.NumEl / Math.Max(expected.Size(0), 1);
        var e = Floats(expected);
        var a = Floats(actual);
        for (int i = 0; i < order.Length; i++)
            for (long k = 0; k < rowSize; k++)
            {
                double ev = e[i * rowSize + k], av = a[order[i] * rowSize + k];
                if (!(Math.Abs(av - ev) <= tolerance))
                    Assert.Fail($"{what}: row {i} element {k} is {av:R}, torchvision {ev:R} (tolerance {tolerance})");
            }
    }

    public static double[] Floats(Tensor t) => t.Detach().To(DType.Float64, Device.Cpu).Contiguous().ToArray<double>();
    public static long[] Longs(Tensor t) => t.To(DType.Int64, Device.Cpu).Contiguous().ToArray<long>();
}
