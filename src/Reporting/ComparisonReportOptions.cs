namespace MLNetSeg.Reporting;

/// <summary>What <see cref="ComparisonReport.Write"/> puts in the page.</summary>
public sealed record ComparisonReportOptions
{
    /// <summary>The page's heading; null gives "Model comparison" and the folder's name.</summary>
    public string? Title { get; init; }

    /// <summary>How many validation images (the first ones) are shown overlaid by every candidate, side by side.</summary>
    public int OverlayImages { get; init; } = 4;

    /// <summary>Instances scoring below this are not drawn in the overlays (the precision–recall curves use every detection).</summary>
    public float OverlayScoreThreshold { get; init; } = 0.5f;

    /// <summary>How many validation images (the first ones) the precision–recall curves are computed on; null uses all.</summary>
    public int? CurveImages { get; init; }

    /// <summary>Where per-candidate progress lines go (each candidate's model is loaded and run on the validation images).</summary>
    public Action<string>? Log { get; init; }

    internal void Validate()
    {
        if (OverlayImages < 0) throw new ArgumentOutOfRangeException(nameof(OverlayImages), OverlayImages, "cannot be negative");
        if (!(OverlayScoreThreshold >= 0 && OverlayScoreThreshold <= 1))
            throw new ArgumentOutOfRangeException(nameof(OverlayScoreThreshold), OverlayScoreThreshold, "a score threshold lies in [0, 1]");
        if (CurveImages is < 1) throw new ArgumentOutOfRangeException(nameof(CurveImages), CurveImages, "at least one image, or null for all");
    }
}
