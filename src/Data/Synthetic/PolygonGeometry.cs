namespace MLNetSeg.Data.Synthetic;

/// <summary>
/// Flat polygons <c>[x1, y1, x2, y2, …]</c> in pixel coordinates (pixel column i spans [i, i + 1)),
/// the form COCO stores. Every polygon that reaches a file is first rounded to 0.01 px, and the
/// rounded polygon is the one rasterised, so the mask drawn is exactly what COCO tools decode.
/// </summary>
internal static class PolygonGeometry
{
    /// <summary>Points on an ellipse with radii (rx, ry) around the origin, starting on the +x axis.</summary>
    public static double[] Ellipse(double rx, double ry, int points)
    {
        var xy = new double[2 * points];
        for (int i = 0; i < points; i++)
        {
            double a = 2 * Math.PI * i / points;
            xy[2 * i] = rx * Math.Cos(a);
            xy[2 * i + 1] = ry * Math.Sin(a);
        }
        return xy;
    }

    /// <summary>A star with <paramref name="tips"/> points of radius 1 and inner radius <paramref name="inner"/>, first tip up.</summary>
    public static double[] Star(int tips, double inner)
    {
        var xy = new double[4 * tips];
        for (int i = 0; i < 2 * tips; i++)
        {
            double a = -Math.PI / 2 + Math.PI * i / tips;
            double r = i % 2 == 0 ? 1 : inner;
            xy[2 * i] = r * Math.Cos(a);
            xy[2 * i + 1] = r * Math.Sin(a);
        }
        return xy;
    }

    /// <summary>Area by the shoelace formula (absolute value).</summary>
    public static double Area(double[] xy)
    {
        double twice = 0;
        int n = xy.Length / 2;
        for (int i = 0, j = n - 1; i < n; j = i++)
            twice += xy[2 * j] * xy[2 * i + 1] - xy[2 * i] * xy[2 * j + 1];
        return Math.Abs(twice) / 2;
    }

    /// <summary>Scales by <paramref name="scale"/>, rotates by <paramref name="angle"/> radians and moves to (cx, cy); rounded to 0.01 px.</summary>
    public static double[] Place(double[] unit, double scale, double angle, double cx, double cy)
    {
        double c = Math.Cos(angle) * scale, s = Math.Sin(angle) * scale;
        var xy = new double[unit.Length];
        for (int i = 0; i < unit.Length; i += 2)
        {
            xy[i] = Round(cx + c * unit[i] - s * unit[i + 1]);
            xy[i + 1] = Round(cy + s * unit[i] + c * unit[i + 1]);
        }
        return xy;
    }

    /// <summary>
    /// A thick line from (x0, y0) to (x1, y1) with round ends: a rectangle of width 2·radius capped by
    /// half-circles, so limbs join smoothly at the joints. Rounded to 0.01 px.
    /// </summary>
    public static double[] Capsule(double x0, double y0, double x1, double y1, double radius, int capPoints)
    {
        double dx = x1 - x0, dy = y1 - y0, length = Math.Sqrt(dx * dx + dy * dy);
        double angle = length > 1e-9 ? Math.Atan2(dy, dx) : 0;
        var xy = new double[4 * (capPoints + 1)];
        int k = 0;
        // Cap around the end point, from the left side of the direction to its right, then around the start.
        for (int i = 0; i <= capPoints; i++)
        {
            double a = angle - Math.PI / 2 + Math.PI * i / capPoints;
            xy[k++] = Round(x1 + radius * Math.Cos(a));
            xy[k++] = Round(y1 + radius * Math.Sin(a));
        }
        for (int i = 0; i <= capPoints; i++)
        {
            double a = angle + Math.PI / 2 + Math.PI * i / capPoints;
            xy[k++] = Round(x0 + radius * Math.Cos(a));
            xy[k++] = Round(y0 + radius * Math.Sin(a));
        }
        return xy;
    }

    /// <summary>True when every vertex lies inside [0, width] × [0, height].</summary>
    public static bool InsideImage(double[] xy, int width, int height)
    {
        for (int i = 0; i < xy.Length; i += 2)
        {
            if (xy[i] < 0 || xy[i] > width || xy[i + 1] < 0 || xy[i + 1] > height) return false;
        }
        return true;
    }

    /// <summary>Enough vertices on a curve of this radius that edges stay near 2 px long (12…72).</summary>
    public static int CurvePoints(double radiusPixels) => Math.Clamp((int)Math.Ceiling(Math.PI * radiusPixels), 12, 72);

    public static double Round(double v) => Math.Round(v, 2, MidpointRounding.AwayFromZero);
}
