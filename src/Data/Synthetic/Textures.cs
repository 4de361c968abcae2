using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Data.Synthetic;

/// <summary>Deterministic hash noise: the same (x, y, salt) gives the same value on every thread and run.</summary>
internal static class Noise
{
    /// <summary>Uniform in [0, 1) from a lattice point.</summary>
    public static double Hash(int x, int y, uint salt)
    {
        uint h = salt ^ 0x9E3779B9u;
        h ^= (uint)x * 0x85EBCA6Bu;
        h = (h << 13 | h >> 19) * 5 + 0xE6546B64u;
        h ^= (uint)y * 0xC2B2AE35u;
        h ^= h >> 16;
        h *= 0x7FEB352Du;
        h ^= h >> 15;
        h *= 0x846CA68Bu;
        h ^= h >> 16;
        return (h >> 8) * (1.0 / (1 << 24));
    }

    /// <summary>Smooth value noise in [0, 1): lattice values every <paramref name="scale"/> pixels, blended with smoothstep.</summary>
    public static double Smooth(double x, double y, double scale, uint salt)
    {
        double fx = x / scale, fy = y / scale;
        int ix = (int)Math.Floor(fx), iy = (int)Math.Floor(fy);
        double tx = fx - ix, ty = fy - iy;
        tx = tx * tx * (3 - 2 * tx);
        ty = ty * ty * (3 - 2 * ty);
        double a = Hash(ix, iy, salt), b = Hash(ix + 1, iy, salt);
        double c = Hash(ix, iy + 1, salt), d = Hash(ix + 1, iy + 1, salt);
        double top = a + (b - a) * tx, bottom = c + (d - c) * tx;
        return top + (bottom - top) * ty;
    }
}

/// <summary>Colour arithmetic on doubles, rounded once when a pixel is written.</summary>
internal static class Colours
{
    public static Rgb FromHsv(double hueDegrees, double saturation, double value)
    {
        double h = ((hueDegrees % 360) + 360) % 360 / 60;
        int sector = (int)Math.Floor(h) % 6;
        double f = h - Math.Floor(h);
        double p = value * (1 - saturation), q = value * (1 - saturation * f), t = value * (1 - saturation * (1 - f));
        var (r, g, b) = sector switch
        {
            0 => (value, t, p),
            1 => (q, value, p),
            2 => (p, value, t),
            3 => (p, q, value),
            4 => (t, p, value),
            _ => (value, p, q),
        };
        return new Rgb(ToByte(r * 255), ToByte(g * 255), ToByte(b * 255));
    }

    public static Rgb Scale(Rgb c, double factor) => new(ToByte(c.R * factor), ToByte(c.G * factor), ToByte(c.B * factor));

    public static Rgb Mix(Rgb a, Rgb b, double t) =>
        new(ToByte(a.R + (b.R - a.R) * t), ToByte(a.G + (b.G - a.G) * t), ToByte(a.B + (b.B - a.B) * t));

    public static Rgb Offset(Rgb c, double delta) => new(ToByte(c.R + delta), ToByte(c.G + delta), ToByte(c.B + delta));

    public static byte ToByte(double v) => (byte)Math.Clamp((int)Math.Round(v, MidpointRounding.AwayFromZero), 0, 255);

    /// <summary>A bold, saturated colour of random hue: things must stand out from the muted stuff.</summary>
    public static Rgb Bold(SceneRandom rng) => FromHsv(rng.Uniform(0, 360), rng.Uniform(0.65, 1), rng.Uniform(0.7, 1));

    /// <summary>
    /// A bold colour at least <see cref="MinContrast"/> (RGB distance) away from <paramref name="background"/>,
    /// the mean colour the object is painted over, so that no object melts into the sky or grass.
    /// </summary>
    public static Rgb BoldAgainst(SceneRandom rng, Rgb background)
    {
        var best = Bold(rng);
        for (int attempt = 0; attempt < 12 && Distance(best, background) < MinContrast; attempt++)
        {
            var next = Bold(rng);
            if (Distance(next, background) > Distance(best, background)) best = next;
        }
        return best;
    }

    public const double MinContrast = 120;

    public static double Distance(Rgb a, Rgb b)
    {
        double dr = a.R - b.R, dg = a.G - b.G, db = a.B - b.B;
        return Math.Sqrt(dr * dr + dg * dg + db * db);
    }
}

internal enum TextureKind { Solid, Stripes, Checker, Blotches }

/// <summary>The fill of one thing: a colour, stripes, a checkerboard or smooth two-colour blotches.</summary>
internal sealed class ThingTexture
{
    private readonly TextureKind _kind;
    private readonly Rgb _primary, _secondary;
    private readonly double _period, _cos, _sin;
    private readonly uint _salt;

    private ThingTexture(TextureKind kind, Rgb primary, Rgb secondary, double period, double angle, uint salt)
    {
        _kind = kind;
        _primary = primary;
        _secondary = secondary;
        _period = period;
        _cos = Math.Cos(angle);
        _sin = Math.Sin(angle);
        _salt = salt;
    }

    /// <summary>Dark edge colour drawn along the object's outline (bold, easy-to-learn boundaries).</summary>
    public Rgb Outline => Colours.Scale(_primary, 0.35);

    public static ThingTexture Solid(Rgb colour) => new(TextureKind.Solid, colour, colour, 1, 0, 0);

    /// <summary>A random texture for an object whose side is about <paramref name="side"/> pixels, painted over <paramref name="background"/>.</summary>
    public static ThingTexture Random(SceneRandom rng, double side, Rgb background)
    {
        var primary = Colours.BoldAgainst(rng, background);
        var kind = (TextureKind)rng.PickWeighted([0.4, 0.2, 0.2, 0.2]);
        // The second colour is either a darker shade or a clearly different hue, never a near copy.
        var secondary = rng.Chance(0.5) ? Colours.Scale(primary, 0.5) : Colours.Bold(rng);
        double period = Math.Max(3, rng.Uniform(0.08, 0.25) * side);
        return new ThingTexture(kind, primary, secondary, period, rng.Uniform(0, Math.PI), (uint)rng.NextUInt64());
    }

    public Rgb At(int x, int y)
    {
        switch (_kind)
        {
            case TextureKind.Stripes:
            {
                double t = (x * _cos + y * _sin) / _period;
                return t - Math.Floor(t) < 0.5 ? _primary : _secondary;
            }
            case TextureKind.Checker:
            {
                double u = (x * _cos + y * _sin) / _period, v = (-x * _sin + y * _cos) / _period;
                return (((long)Math.Floor(u) + (long)Math.Floor(v)) & 1) == 0 ? _primary : _secondary;
            }
            case TextureKind.Blotches:
                return Noise.Smooth(x, y, _period, _salt) < 0.5 ? _primary : _secondary;
            default:
                return _primary;
        }
    }
}
