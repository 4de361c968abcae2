using System.Text.Json;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Onnx.Tests.PostProcessing;

/// <summary>
/// Reads tests/fixtures/onnx_postprocessing (written by tools/fixtures/gen_onnx_postprocessing.py
/// from torchvision 0.14) and reproduces its synthetic inputs (<see cref="Synth"/>).
/// </summary>
internal static class PostProcessingFixtures
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "onnx_postprocessing");

    public static JsonElement Load(string name)
    {
        var path = Path.Combine(Dir, name);
        if (!File.Exists(path))
            throw new FileNotFoundException($"fixture {path} is missing; regenerate it with /usr/bin/python3 tools/fixtures/gen_onnx_postprocessing.py", path);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return doc.RootElement.Clone();
    }

    /// <summary>A base64 little-endian float32 array.</summary>
    public static float[] Floats(JsonElement e, string property)
    {
        var bytes = Convert.FromBase64String(e.GetProperty(property).GetString()!);
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }

    public static int[] Ints(JsonElement e, string property) => e.GetProperty(property).EnumerateArray().Select(v => v.GetInt32()).ToArray();

    public static uint[] Counts(JsonElement e, string property) => e.GetProperty(property).EnumerateArray().Select(v => v.GetUInt32()).ToArray();

    /// <summary>The generator's checksum of an input: count, float64 sum, first and last values.</summary>
    public static void AssertChecksum(JsonElement expected, float[] actual, string what)
    {
        Assert.AreEqual(expected.GetProperty("count").GetInt32(), actual.Length, $"{what}: value count");
        if (actual.Length == 0) return;
        double sum = 0;
        foreach (var v in actual) sum += v;
        Assert.AreEqual(expected.GetProperty("first").GetSingle(), actual[0], $"{what}: first value");
        Assert.AreEqual(expected.GetProperty("last").GetSingle(), actual[^1], $"{what}: last value");
        // numpy sums pairwise, we sum in order: equal to well within this for these sizes.
        Assert.AreEqual(expected.GetProperty("sum").GetDouble(), sum, 1e-6 * Math.Max(1, Math.Abs(sum)), $"{what}: sum");
    }

    /// <summary>Pixels (column-major indices) set in an RLE.</summary>
    public static IEnumerable<long> SetPixels(IReadOnlyList<uint> counts)
    {
        long position = 0;
        for (int i = 0; i < counts.Count; i++)
        {
            if (i % 2 == 1)
                for (long p = position; p < position + counts[i]; p++) yield return p;
            position += counts[i];
        }
    }

    /// <summary>FNV-1a over run lengths, the generator's fnv1a().</summary>
    public static string Fnv1a(IReadOnlyList<uint> counts)
    {
        ulong h = 0xCBF29CE484222325;
        foreach (var c in counts) h = unchecked((h ^ c) * 0x100000001B3);
        return h.ToString("x16");
    }
}

/// <summary>
/// The generator's synthetic inputs (synth_* in gen_onnx_postprocessing.py): a counter-based
/// splitmix64 stream of integers below 2^24, scaled by powers of two, so every float32 is the
/// same in both languages.
/// </summary>
internal static class Synth
{
    private static ulong[] SplitMix(ulong seed, long n)
    {
        var z = new ulong[n];
        for (long i = 0; i < n; i++)
        {
            ulong v = unchecked(seed + (ulong)(i + 1) * 0x9E3779B97F4A7C15UL);
            v = unchecked((v ^ (v >> 30)) * 0xBF58476D1CE4E5B9UL);
            v = unchecked((v ^ (v >> 27)) * 0x94D049BB133111EBUL);
            z[i] = v ^ (v >> 31);
        }
        return z;
    }

    private static long Top24(ulong z) => (long)(z >> 40);

    /// <summary>synth_heatmaps: [d, k, s, s] logits.</summary>
    public static float[] Heatmaps(ulong seed, int d, int k, int s)
    {
        var u = SplitMix(seed, (long)d * k * s * s);
        var c = SplitMix(seed ^ 0x5EED, (long)d * k);
        var maps = new float[u.Length];
        for (int i = 0; i < d; i++)
        for (int j = 0; j < k; j++)
        {
            ulong cj = c[i * k + j];
            long cy = (long)((cj >> 40) % (ulong)s), cx = (long)((cj >> 20) % (ulong)s);
            int style = j % 4;
            for (int y = 0; y < s; y++)
            for (int x = 0; x < s; x++)
            {
                long index = (((long)i * k + j) * s + y) * s + x;
                long noise = (Top24(u[index]) >> 6) - (1 << 17);
                long peak = Math.Max(0, 400 - (y - cy) * (y - cy) - (x - cx) * (x - cx)) << 10;
                long total = style switch { 0 => peak + noise, 1 => peak, 2 => Math.Min(peak, 200 << 10), _ => noise };
                maps[index] = (float)total / (1 << 16);
            }
        }
        return maps;
    }

    /// <summary>synth_masks: [d, m, m] probabilities.</summary>
    public static float[] Masks(ulong seed, int d, int m)
    {
        var u = SplitMix(seed, (long)d * m * m);
        var c = SplitMix(seed ^ 0x5EED, d);
        var masks = new float[u.Length];
        for (int i = 0; i < d; i++)
        {
            long cy = (long)((c[i] >> 40) % (ulong)m), cx = (long)((c[i] >> 20) % (ulong)m), r = 6 + (long)((c[i] >> 8) % 12);
            for (int y = 0; y < m; y++)
            for (int x = 0; x < m; x++)
            {
                long index = ((long)i * m + y) * m + x;
                long noise = (Top24(u[index]) >> 8) - (1 << 15);
                long v = (r * r - (y - cy) * (y - cy) - (x - cx) * (x - cx)) * 4096 + noise;
                masks[index] = (float)Math.Clamp(v, 0, 1 << 20) / (1 << 20);
            }
        }
        return masks;
    }

    /// <summary>synth_boxes: [d, 4] boxes in 1/8 px steps, clipped to the image.</summary>
    public static float[] Boxes(ulong seed, int d, int height, int width, int minSide, int maxSide)
    {
        var u = SplitMix(seed ^ 0xB0C5, 4L * d);
        var boxes = new float[4 * d];
        for (int i = 0; i < d; i++)
        {
            long bw = minSide * 8 + Top24(u[4 * i]) % ((maxSide - minSide) * 8);
            long bh = minSide * 8 + Top24(u[4 * i + 1]) % ((maxSide - minSide) * 8);
            long x1 = Top24(u[4 * i + 2]) % (width * 8L), y1 = Top24(u[4 * i + 3]) % (height * 8L);
            boxes[4 * i] = x1 / 8f;
            boxes[4 * i + 1] = y1 / 8f;
            boxes[4 * i + 2] = Math.Min(x1 + bw, width * 8L) / 8f;
            boxes[4 * i + 3] = Math.Min(y1 + bh, height * 8L) / 8f;
        }
        return boxes;
    }
}

/// <summary>RLE helpers for comparisons.</summary>
internal static class RleAssert
{
    /// <summary>Pixels (column-major) where the two masks differ.</summary>
    public static List<long> Differences(Rle actual, uint[] expectedCounts)
    {
        var a = new HashSet<long>(PostProcessingFixtures.SetPixels(actual.Counts));
        var e = new HashSet<long>(PostProcessingFixtures.SetPixels(expectedCounts));
        a.SymmetricExceptWith(e);
        return a.OrderBy(p => p).ToList();
    }
}
