namespace MLNetSeg.Data.Synthetic;

/// <summary>
/// The generator's own pseudo-random source (xoshiro256** seeded through SplitMix64). It is
/// spelled out here rather than taken from <see cref="Random"/> so that a seed means the same
/// dataset on every .NET version and platform, and so that every image gets an independent
/// stream derived from (seed, split, index): images can then be rendered in any order, on any
/// number of threads, and come out byte-identical.
/// </summary>
internal sealed class SceneRandom
{
    private ulong _s0, _s1, _s2, _s3;

    public SceneRandom(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>The stream of image <paramref name="index"/> of split <paramref name="splitId"/>.</summary>
    public static SceneRandom ForImage(long seed, int splitId, int index) =>
        new(Mix((ulong)seed, (ulong)splitId, (ulong)index));

    /// <summary>A well-mixed 64-bit value of three inputs (used for seeds and texture salts).</summary>
    public static ulong Mix(ulong a, ulong b, ulong c)
    {
        ulong x = a ^ 0x9E3779B97F4A7C15UL;
        ulong h = SplitMix64(ref x);
        x = h ^ b;
        h = SplitMix64(ref x);
        x = h ^ c;
        return SplitMix64(ref x);
    }

    public ulong NextUInt64()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1), 53 bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [<paramref name="min"/>, <paramref name="max"/>).</summary>
    public double Uniform(double min, double max) => min + (max - min) * NextDouble();

    /// <summary>Uniform integer in [<paramref name="min"/>, <paramref name="maxInclusive"/>].</summary>
    public int Int(int min, int maxInclusive)
    {
        if (maxInclusive < min) throw new ArgumentOutOfRangeException(nameof(maxInclusive), $"empty range [{min}, {maxInclusive}]");
        ulong span = (ulong)((long)maxInclusive - min + 1);
        return (int)(min + (long)(NextUInt64() % span));  // modulo bias is < 2^-40 for our spans
    }

    public bool Chance(double probability) => NextDouble() < probability;

    public T Pick<T>(IReadOnlyList<T> items) => items[Int(0, items.Count - 1)];

    /// <summary>An index drawn with probability proportional to <paramref name="weights"/>.</summary>
    public int PickWeighted(ReadOnlySpan<double> weights)
    {
        double total = 0;
        foreach (var w in weights) total += w;
        double r = NextDouble() * total;
        for (int i = 0; i < weights.Length; i++)
        {
            r -= weights[i];
            if (r < 0) return i;
        }
        for (int i = weights.Length - 1; i >= 0; i--) if (weights[i] > 0) return i;
        throw new ArgumentException("all weights are zero", nameof(weights));
    }

    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = Int(0, i);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));
}
