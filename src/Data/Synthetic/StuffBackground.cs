using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Data.Synthetic;

/// <summary>
/// The "stuff" under the objects: horizontal bands (sky above, then water, sand or grass) with
/// wavy boundaries, each with its own texture, and optional "clutter" patches that belong to no
/// class (label 255). Colours are kept natural and muted so that the bold things stand out.
/// </summary>
internal static class StuffBackground
{
    private static readonly int[][] Layouts =
    [
        [SyntheticClasses.Sky, SyntheticClasses.Grass],
        [SyntheticClasses.Sky, SyntheticClasses.Sand],
        [SyntheticClasses.Sky, SyntheticClasses.Water, SyntheticClasses.Sand],
        [SyntheticClasses.Sky, SyntheticClasses.Water, SyntheticClasses.Grass],
        [SyntheticClasses.Sky, SyntheticClasses.Grass, SyntheticClasses.Water],
        [SyntheticClasses.Sky, SyntheticClasses.Sand, SyntheticClasses.Water],
        [SyntheticClasses.Water, SyntheticClasses.Sand],
        [SyntheticClasses.Grass, SyntheticClasses.Sand, SyntheticClasses.Grass],
    ];

    private sealed record Wave(double Base, double Amplitude1, double Period1, double Phase1, double Amplitude2, double Period2, double Phase2)
    {
        public double At(int x) =>
            Base + Amplitude1 * Math.Sin(2 * Math.PI * x / Period1 + Phase1) + Amplitude2 * Math.Sin(2 * Math.PI * x / Period2 + Phase2);
    }

    public static void Paint(SceneCanvas canvas, SceneRandom rng)
    {
        int w = canvas.Width, h = canvas.Height;
        var layout = rng.Pick(Layouts);
        var waves = new Wave[layout.Length - 1];
        for (int i = 0; i < waves.Length; i++)
        {
            double nominal = h * (i + 1.0) / layout.Length;
            waves[i] = new Wave(
                nominal + rng.Uniform(-0.1, 0.1) * h,
                rng.Uniform(0.01, 0.05) * h, rng.Uniform(0.4, 1.5) * w, rng.Uniform(0, 2 * Math.PI),
                rng.Uniform(0, 0.015) * h, rng.Uniform(0.08, 0.25) * w, rng.Uniform(0, 2 * Math.PI));
        }
        var painters = new Dictionary<int, Func<int, int, Rgb>>();
        foreach (var label in layout.Distinct())
            painters[label] = CreatePainter(label, rng, w, h);

        var boundaries = new double[waves.Length];
        for (int x = 0; x < w; x++)
        {
            for (int i = 0; i < waves.Length; i++) boundaries[i] = waves[i].At(x);
            for (int y = 0; y < h; y++)
            {
                int band = 0;
                // Bands are stacked top to bottom; a pixel belongs to the band below every boundary above it.
                for (int i = 0; i < boundaries.Length; i++) if (y + 0.5 >= boundaries[i]) band = i + 1;
                int label = layout[band];
                int p = y * w + x;
                canvas.StuffLabels[p] = (byte)label;
                canvas.SetColour(p, painters[label](x, y));
            }
        }
    }

    /// <summary>Paints a clutter patch (label 255): a lumpy grey-brown blob of no class.</summary>
    public static void PaintClutter(SceneCanvas canvas, SceneRandom rng)
    {
        int w = canvas.Width, h = canvas.Height;
        double radius = rng.Uniform(0.06, 0.14) * Math.Min(w, h);
        double cx = rng.Uniform(0, w), cy = rng.Uniform(0, h);
        int points = 11;
        var unit = new double[2 * points];
        for (int i = 0; i < points; i++)
        {
            double a = 2 * Math.PI * i / points, r = rng.Uniform(0.55, 1.15);
            unit[2 * i] = r * Math.Cos(a);
            unit[2 * i + 1] = r * Math.Sin(a);
        }
        var polygon = PolygonGeometry.Place(unit, radius, rng.Uniform(0, 2 * Math.PI), cx, cy);
        var pixels = SceneCanvas.PixelsOf(Rle.FromPolygons([polygon], h, w));
        uint salt = (uint)rng.NextUInt64();
        double tone = rng.Uniform(80, 150);
        foreach (var p in pixels)
        {
            int x = p % w, y = p / w;
            double g = tone + 70 * (Noise.Smooth(x, y, 3, salt) - 0.5) + 30 * (Noise.Hash(x, y, salt ^ 0x5bd1e995u) - 0.5);
            canvas.StuffLabels[p] = SemanticLabelMap.IgnoreLabel;
            canvas.SetColour(p, new Rgb(Colours.ToByte(g), Colours.ToByte(g * 0.93), Colours.ToByte(g * 0.85)));
        }
    }

    private static Func<int, int, Rgb> CreatePainter(int label, SceneRandom rng, int w, int h)
    {
        uint salt = (uint)rng.NextUInt64();
        double jitter = rng.Uniform(-15, 15);
        switch (label)
        {
            case SyntheticClasses.Sky:
            {
                var top = new Rgb(Colours.ToByte(60 + jitter), Colours.ToByte(120 + jitter), 225);
                var horizon = new Rgb(Colours.ToByte(185 + jitter), Colours.ToByte(215 + jitter / 2), 245);
                double cloudScale = rng.Uniform(0.12, 0.3) * w;
                return (x, y) =>
                {
                    var c = Colours.Mix(top, horizon, Math.Min(1.0, (double)y / (0.6 * h)));
                    double cloud = Noise.Smooth(x, y * 2.0, cloudScale, salt);
                    return cloud > 0.6 ? Colours.Mix(c, Rgb.White, Math.Min(0.85, (cloud - 0.6) * 3)) : c;
                };
            }
            case SyntheticClasses.Grass:
            {
                var baseColour = new Rgb(Colours.ToByte(70 + jitter), Colours.ToByte(140 + jitter), Colours.ToByte(55 + jitter / 2));
                return (x, y) =>
                {
                    double shade = 0.8 + 0.3 * Noise.Smooth(x, y, 10, salt) + 0.2 * (Noise.Hash(x, y / 3, salt ^ 0x27d4eb2du) - 0.5);
                    return Colours.Scale(baseColour, shade);
                };
            }
            case SyntheticClasses.Water:
            {
                var baseColour = new Rgb(Colours.ToByte(40 + jitter), Colours.ToByte(105 + jitter), Colours.ToByte(175 + jitter));
                double phase = rng.Uniform(0, 2 * Math.PI), freq = rng.Uniform(0.6, 1.1);
                return (x, y) =>
                {
                    double ripple = Math.Sin(y * freq + 2 * Math.Sin(x * 0.12 + phase));
                    double delta = 22 * ripple + 12 * (Noise.Smooth(x, y, 6, salt) - 0.5);
                    return Colours.Offset(baseColour, delta);
                };
            }
            default:  // sand
            {
                var baseColour = new Rgb(Colours.ToByte(205 + jitter), Colours.ToByte(185 + jitter), Colours.ToByte(140 + jitter));
                return (x, y) => Colours.Offset(baseColour, 26 * (Noise.Hash(x, y, salt) - 0.5) + 20 * (Noise.Smooth(x, y, 7, salt ^ 0x165667b1u) - 0.5));
            }
        }
    }
}
