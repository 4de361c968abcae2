namespace MLNetSeg.Data.Synthetic;

/// <summary>
/// What <see cref="SyntheticDatasetGenerator"/> produces. Start from a preset
/// (<see cref="Tiny"/>, <see cref="Small"/>, <see cref="Full"/>) and change fields with
/// <c>with { … }</c>. Everything except <see cref="MaxDegreeOfParallelism"/> changes the output;
/// the thread count never does.
/// </summary>
public sealed record SyntheticOptions
{
    /// <summary>Preset name, recorded in the json "info".</summary>
    public string Name { get; init; } = "custom";

    /// <summary>Images in the train split (0…999999; the two splits together need at least one).</summary>
    public int TrainImages { get; init; }

    /// <summary>Images in the val split (0…999999).</summary>
    public int ValImages { get; init; }

    /// <summary>Image width in pixels (64…4096); every image has the same size.</summary>
    public int Width { get; init; }

    /// <summary>Image height in pixels (64…4096).</summary>
    public int Height { get; init; }

    /// <summary>Every image is drawn from its own stream seeded by (Seed, split, index).</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Shape instances planned per image (uniform in [MinShapes, MaxShapes]); some may not fit and are skipped.</summary>
    public int MinShapes { get; init; }

    /// <summary>Most shape instances planned per image (<see cref="MinShapes"/>…100).</summary>
    public int MaxShapes { get; init; }

    /// <summary>Up to this many stick-figure persons per image, each present with <see cref="PersonProbability"/>.</summary>
    public int MaxPersons { get; init; }

    /// <summary>Chance that each of the <see cref="MaxPersons"/> person slots of an image holds a person, in [0, 1].</summary>
    public double PersonProbability { get; init; }

    /// <summary>Relative frequency of COCO "small" objects (area &lt; 32²) among planned objects.</summary>
    public double SmallWeight { get; init; } = 0.4;

    /// <summary>Relative frequency of COCO "medium" objects (32² &lt; area &lt; 96²).</summary>
    public double MediumWeight { get; init; } = 0.4;

    /// <summary>Relative frequency of COCO "large" objects (area &gt; 96²).</summary>
    public double LargeWeight { get; init; } = 0.2;

    /// <summary>Chance per image of one crowd region (iscrowd 1): a swarm of tiny shapes of one class.</summary>
    public double CrowdProbability { get; init; }

    /// <summary>Chance per image of a "clutter" patch that belongs to no class (semantic label 255).</summary>
    public double ClutterProbability { get; init; }

    /// <summary>
    /// A new object is only placed where every object it partly covers keeps at least this fraction of
    /// its pixels and stays in its COCO area range; objects it covers completely are dropped.
    /// </summary>
    public double MinVisibleFraction { get; init; } = 0.3;

    /// <summary>Rendering threads; null = all cores. Does not change the output.</summary>
    public int? MaxDegreeOfParallelism { get; init; }

    /// <summary>For tests: 16 train / 8 val images of 128×96.</summary>
    public static SyntheticOptions Tiny { get; } = new()
    {
        Name = "tiny", TrainImages = 16, ValImages = 8, Width = 128, Height = 96,
        MinShapes = 2, MaxShapes = 4, MaxPersons = 1, PersonProbability = 0.6,
        SmallWeight = 0.45, MediumWeight = 0.4, LargeWeight = 0.15,
        CrowdProbability = 0.2, ClutterProbability = 0.3,
    };

    /// <summary>Quickstart: 600 train / 100 val images of 256×192, few bold objects per image.</summary>
    public static SyntheticOptions Small { get; } = new()
    {
        Name = "small", TrainImages = 600, ValImages = 100, Width = 256, Height = 192,
        MinShapes = 2, MaxShapes = 5, MaxPersons = 2, PersonProbability = 0.35,
        SmallWeight = 0.35, MediumWeight = 0.45, LargeWeight = 0.2,
        CrowdProbability = 0.1, ClutterProbability = 0.2,
    };

    /// <summary>Benchmarks: 5000 train / 500 val images of 512×384, crowded scenes.</summary>
    public static SyntheticOptions Full { get; } = new()
    {
        Name = "full", TrainImages = 5000, ValImages = 500, Width = 512, Height = 384,
        MinShapes = 3, MaxShapes = 10, MaxPersons = 3, PersonProbability = 0.35,
        SmallWeight = 0.4, MediumWeight = 0.4, LargeWeight = 0.2,
        CrowdProbability = 0.1, ClutterProbability = 0.25,
    };

    /// <summary>The names <see cref="FromPreset"/> accepts: tiny, small, full.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["tiny", "small", "full"];

    /// <summary>The preset called <paramref name="name"/> (tiny, small, full; case-insensitive).</summary>
    /// <exception cref="ArgumentException">The name is not a preset.</exception>
    public static SyntheticOptions FromPreset(string name) => name?.ToLowerInvariant() switch
    {
        "tiny" => Tiny,
        "small" => Small,
        "full" => Full,
        _ => throw new ArgumentException($"unknown synthetic preset '{name}'; known: {string.Join(", ", PresetNames)}", nameof(name)),
    };

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first option that is out of range.</summary>
    public void Validate()
    {
        static void Require(bool ok, string option, string message)
        {
            if (!ok) throw new ArgumentException($"SyntheticOptions.{option} {message}", option);
        }
        Require(TrainImages >= 0, nameof(TrainImages), $"must be non-negative, got {TrainImages}");
        Require(ValImages >= 0, nameof(ValImages), $"must be non-negative, got {ValImages}");
        Require(TrainImages + ValImages > 0, nameof(TrainImages), "and ValImages are both 0: nothing to generate");
        Require(TrainImages <= 999_999 && ValImages <= 999_999, nameof(TrainImages), "must be at most 999999 per split (six-digit file names)");
        Require(Width is >= 64 and <= 4096, nameof(Width), $"must be in 64…4096, got {Width}");
        Require(Height is >= 64 and <= 4096, nameof(Height), $"must be in 64…4096, got {Height}");
        Require(MinShapes >= 0, nameof(MinShapes), $"must be non-negative, got {MinShapes}");
        Require(MaxShapes >= MinShapes && MaxShapes <= 100, nameof(MaxShapes), $"must be in MinShapes ({MinShapes})…100, got {MaxShapes}");
        Require(MaxPersons is >= 0 and <= 20, nameof(MaxPersons), $"must be in 0…20, got {MaxPersons}");
        Require(IsProbability(PersonProbability), nameof(PersonProbability), $"must be in [0, 1], got {PersonProbability}");
        Require(IsProbability(CrowdProbability), nameof(CrowdProbability), $"must be in [0, 1], got {CrowdProbability}");
        Require(IsProbability(ClutterProbability), nameof(ClutterProbability), $"must be in [0, 1], got {ClutterProbability}");
        Require(MinVisibleFraction is > 0 and <= 1, nameof(MinVisibleFraction), $"must be in (0, 1], got {MinVisibleFraction}");
        foreach (var (name, w) in new[] { (nameof(SmallWeight), SmallWeight), (nameof(MediumWeight), MediumWeight), (nameof(LargeWeight), LargeWeight) })
            Require(w >= 0 && double.IsFinite(w), name, $"must be a non-negative number, got {w}");
        Require(SmallWeight + MediumWeight + LargeWeight > 0, nameof(SmallWeight), "MediumWeight and LargeWeight are all 0");
        Require(MaxDegreeOfParallelism is null or >= 1, nameof(MaxDegreeOfParallelism), $"must be null (all cores) or at least 1, got {MaxDegreeOfParallelism}");
    }

    private static bool IsProbability(double p) => p is >= 0 and <= 1;
}
