namespace MLNetSeg.Data.Loading;

/// <summary>
/// Derives independent, reproducible random streams from (seed, epoch, index), so what happens to
/// a sample depends only on those three numbers — not on which worker handles it or when.
/// </summary>
public static class SampleSeeds
{
    private const int ShuffleStream = -1;

    /// <summary>The random stream of dataset item <paramref name="datasetIndex"/> in <paramref name="epoch"/>.</summary>
    public static Random ForSample(long seed, int epoch, int datasetIndex)
    {
        if (datasetIndex < 0) throw new ArgumentOutOfRangeException(nameof(datasetIndex), $"must be non-negative, got {datasetIndex}");
        return new Random(Derive(seed, epoch, datasetIndex));
    }

    /// <summary>The stream that shuffles <paramref name="epoch"/>.</summary>
    public static Random ForShuffle(long seed, int epoch) => new(Derive(seed, epoch, ShuffleStream));

    /// <summary>
    /// A 31-bit seed from SplitMix64 over the three inputs. <see cref="Random(int)"/> with a seed is
    /// specified to give the same sequence on every .NET version and platform.
    /// </summary>
    public static int Derive(long seed, int epoch, int stream)
    {
        ulong z = Mix((ulong)seed);
        z = Mix(z ^ (uint)epoch);
        z = Mix(z ^ ((ulong)(uint)stream << 32));
        return (int)(z >> 33);
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
