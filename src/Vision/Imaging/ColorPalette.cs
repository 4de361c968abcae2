namespace MLNetSeg.Vision.Imaging;

/// <summary>
/// A fixed, deterministic palette: the same index always gives the same colour, on every machine
/// and run. The first 20 are Kelly's colours of maximum contrast (1965, white and black left
/// out); after those, colours continue on a golden-ratio walk around the hue circle.
/// </summary>
public static class ColorPalette
{
    private static readonly Rgb[] Kelly =
    [
        new(0xF3, 0xC3, 0x00), new(0x87, 0x56, 0x92), new(0xF3, 0x84, 0x00), new(0xA1, 0xCA, 0xF1),
        new(0xBE, 0x00, 0x32), new(0xC2, 0xB2, 0x80), new(0x84, 0x84, 0x82), new(0x00, 0x88, 0x56),
        new(0xE6, 0x8F, 0xAC), new(0x00, 0x67, 0xA5), new(0xF9, 0x93, 0x79), new(0x60, 0x4E, 0x97),
        new(0xF6, 0xA6, 0x00), new(0xB3, 0x44, 0x6C), new(0xDC, 0xD3, 0x00), new(0x88, 0x2D, 0x17),
        new(0x8D, 0xB6, 0x00), new(0x65, 0x45, 0x22), new(0xE2, 0x58, 0x22), new(0x2B, 0x3D, 0x26),
    ];

    /// <summary>How many colours come from the hand-picked table before the generated ones.</summary>
    public static int TableSize => Kelly.Length;

    /// <summary>The colour of <paramref name="index"/> (e.g. a category id); negative indices are rejected.</summary>
    public static Rgb ForIndex(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        if (index < Kelly.Length) return Kelly[index];
        // Golden-ratio hue steps spread successive colours far apart on the hue circle.
        double hue = (index - Kelly.Length) * 0.6180339887498949 % 1.0;
        return FromHsv(hue, 0.75, 0.95);
    }

    /// <summary>HSV (each in [0, 1]) to 8-bit RGB.</summary>
    public static Rgb FromHsv(double h, double s, double v)
    {
        double hh = h * 6;
        int sector = (int)Math.Floor(hh) % 6;
        double f = hh - Math.Floor(hh);
        double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
        var (r, g, b) = sector switch
        {
            0 => (v, t, p),
            1 => (q, v, p),
            2 => (p, v, t),
            3 => (p, q, v),
            4 => (t, p, v),
            _ => (v, p, q),
        };
        return new Rgb(ToByte(r), ToByte(g), ToByte(b));
    }

    private static byte ToByte(double x) => (byte)Math.Clamp(Math.Round(x * 255, MidpointRounding.AwayFromZero), 0, 255);
}
