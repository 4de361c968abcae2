namespace MLNetSeg.Vision.Imaging;

/// <summary>An 8-bit RGB colour.</summary>
public readonly record struct Rgb(byte R, byte G, byte B)
{
    /// <summary>(0, 0, 0).</summary>
    public static readonly Rgb Black = new(0, 0, 0);

    /// <summary>(255, 255, 255).</summary>
    public static readonly Rgb White = new(255, 255, 255);

    /// <summary>The colour as an HTML hex string, e.g. "#F3C300".</summary>
    public override string ToString() => $"#{R:X2}{G:X2}{B:X2}";
}
