namespace MLNetSeg.Data.Synthetic;

/// <summary>COCO's object size ranges (evaluation "areaRng"), by pixel area.</summary>
public enum AreaRange
{
    /// <summary>Area below 32² = 1024 pixels.</summary>
    Small,

    /// <summary>Area between 32² and 96² = 9216 pixels.</summary>
    Medium,

    /// <summary>Area above 96² pixels.</summary>
    Large,
}

/// <summary>The COCO area boundaries of <see cref="AreaRange"/> and the classification the synthetic generator uses to balance object sizes.</summary>
public static class AreaRanges
{
    /// <summary>32²: COCO small/medium boundary.</summary>
    public const long SmallMax = 32 * 32;

    /// <summary>96²: COCO medium/large boundary.</summary>
    public const long MediumMax = 96 * 96;

    /// <summary>
    /// The COCO range of <paramref name="area"/>, or null for 0 and for exactly 32² or 96²
    /// (pycocotools counts those in both neighbouring ranges, so the generator never produces them).
    /// </summary>
    public static AreaRange? Classify(double area) => area switch
    {
        <= 0 => null,
        < SmallMax => AreaRange.Small,
        > SmallMax and < MediumMax => AreaRange.Medium,
        > MediumMax => AreaRange.Large,
        _ => null,
    };
}
