namespace MLNetSeg.Vision.Imaging;

/// <summary>An 8-bit RGB colour.</summary>
public readonly record struct Rgb(byte R, byte G, byte B)
{
    public static readonly Rgb Black = new(0, 0, 0);
    public static readonly Rgb White = new(255, 255, 255);

    public override string ToString() => $"#{R:X2}{G:X2}{B:X2}";
}
