using System.Globalization;

namespace MLNetSeg.Reliability.Tests.Load;

/// <summary>
/// How big the load runs are. The test suite runs them small (minutes in all on two cores);
/// <c>MLNETSEG_RELIABILITY=full</c> runs them at the sizes (8 threads × 1,000 predictions per
/// predictor, 10,000 predictions per long run, 20,000 training iterations) and writes every sample
/// as CSV under <c>MLNETSEG_RELIABILITY_OUT</c> (default out/reliability), which
/// tools/reliability/load.sh turns into the figures of docs/reliability.md.
/// </summary>
internal static class ReliabilityScale
{
    public static bool Full { get; } = Environment.GetEnvironmentVariable("MLNETSEG_RELIABILITY") == "full";

    /// <summary>Predictions per thread in the concurrency tests (8 threads).</summary>
    public static int PredictionsPerThread => Full ? 1000 : 25;

    /// <summary>Predictions in each long run.</summary>
    public static int LongRunPredictions => Full ? 10_000 : 500;

    /// <summary>Training iterations of the long training run.</summary>
    public static int TrainingIterations => Full ? 20_000 : 300;

    /// <summary>Where the samples go (null: not written).</summary>
    public static string? OutputDirectory
    {
        get
        {
            var dir = Environment.GetEnvironmentVariable("MLNETSEG_RELIABILITY_OUT");
            if (string.IsNullOrEmpty(dir) && !Full) return null;
            return Directory.CreateDirectory(string.IsNullOrEmpty(dir) ? Path.Combine("out", "reliability") : dir).FullName;
        }
    }

    /// <summary>Writes <paramref name="lines"/> (a header line first) to <paramref name="name"/> under <see cref="OutputDirectory"/>, if set.</summary>
    public static void WriteCsv(string name, IEnumerable<string> lines)
    {
        if (OutputDirectory is { } dir) File.WriteAllLines(Path.Combine(dir, name), lines);
    }

    public static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
