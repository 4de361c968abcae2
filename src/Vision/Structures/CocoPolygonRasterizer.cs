namespace MLNetSeg.Vision.Structures;

/// <summary>
/// Port of maskApi's <c>rleFrPoly</c>: polygon → RLE counts, pixel for pixel identical to pycocotools.
/// </summary>
/// <remarks>
/// The algorithm upsamples the vertices by 5, walks every edge densely with integer steps, keeps
/// the points where the walk changes column, maps them back to pixel columns that fall exactly on
/// a pixel centre, and turns the resulting column/row "y-boundary" points into run lengths.
/// The casts, roundings and the <c>(int)(v + .5)</c> truncations are reproduced as written in C.
/// </remarks>
internal static class CocoPolygonRasterizer
{
    private const double Scale = 5;

    // Coordinates are scaled by 5 and walked one integer step at a time; bounding them keeps the
    // walk's memory sane and the C int arithmetic free of overflow.
    private const double MaxAbsCoordinate = 1 << 20;

    public static uint[] Rasterize(double[] xy, int height, int width, string what)
    {
        int k = xy.Length / 2;
        for (int i = 0; i < xy.Length; i++)
        {
            if (!double.IsFinite(xy[i]) || Math.Abs(xy[i]) > MaxAbsCoordinate)
                throw new ArgumentException(
                    $"{what}: coordinate {i} is {xy[i]}; polygon coordinates must be finite and within ±{MaxAbsCoordinate}.");
        }

        // Upsample and get discrete points densely along the entire boundary.
        var x = new int[k + 1];
        var y = new int[k + 1];
        for (int j = 0; j < k; j++) x[j] = TruncateLikeC(Scale * xy[j * 2 + 0] + .5);
        x[k] = x[0];
        for (int j = 0; j < k; j++) y[j] = TruncateLikeC(Scale * xy[j * 2 + 1] + .5);
        y[k] = y[0];
        long total = 0;
        for (int j = 0; j < k; j++) total += Math.Max(Math.Abs(x[j] - x[j + 1]), Math.Abs(y[j] - y[j + 1])) + 1;
        var u = new int[total];
        var v = new int[total];
        int m = 0;
        for (int j = 0; j < k; j++)
        {
            int xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
            int dx = Math.Abs(xe - xs), dy = Math.Abs(ys - ye);
            bool flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
            if (flip)
            {
                (xs, xe) = (xe, xs);
                (ys, ye) = (ye, ys);
            }
            // A zero-length edge gives 0/0 = NaN here, exactly as in C; its single point never
            // sits next to a column change, so it cannot affect the result.
            double s = dx >= dy ? (double)(ye - ys) / dx : (double)(xe - xs) / dy;
            if (dx >= dy)
            {
                for (int d = 0; d <= dx; d++)
                {
                    int t = flip ? dx - d : d;
                    u[m] = t + xs;
                    v[m] = TruncateLikeC(ys + s * t + .5);
                    m++;
                }
            }
            else
            {
                for (int d = 0; d <= dy; d++)
                {
                    int t = flip ? dy - d : d;
                    v[m] = t + ys;
                    u[m] = TruncateLikeC(xs + s * t + .5);
                    m++;
                }
            }
        }

        // Get points along the y-boundary and downsample.
        int points = m;
        var bx = new int[points];
        var by = new int[points];
        m = 0;
        for (int j = 1; j < points; j++)
        {
            if (u[j] == u[j - 1]) continue;
            double xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
            xd = (xd + .5) / Scale - .5;
            if (Math.Floor(xd) != xd || xd < 0 || xd > width - 1) continue;
            double yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
            yd = (yd + .5) / Scale - .5;
            if (yd < 0) yd = 0;
            else if (yd > height) yd = height;
            yd = Math.Ceiling(yd);
            bx[m] = (int)xd;
            by[m] = (int)yd;
            m++;
        }

        // Compute the RLE given the y-boundary points: sorted column-major positions, differenced.
        int n = m;
        var a = new uint[n + 1];
        for (int j = 0; j < n; j++) a[j] = unchecked((uint)(bx[j] * height + by[j]));
        a[n++] = (uint)(height * width);
        Array.Sort(a, 0, n);
        uint previous = 0;
        for (int j = 0; j < n; j++)
        {
            uint t = a[j];
            a[j] -= previous;
            previous = t;
        }
        // Two boundary points at the same position cancel: fold the zero-length run into its neighbour.
        var b = new List<uint>(n);
        int i2 = 0;
        b.Add(a[i2++]);
        while (i2 < n)
        {
            if (a[i2] > 0)
            {
                b.Add(a[i2++]);
            }
            else
            {
                i2++;
                if (i2 < n) b[^1] += a[i2++];
            }
        }
        return b.ToArray();
    }

    /// <summary>
    /// C's <c>(int)double</c> as x86-64 executes it (cvttsd2si): truncation toward zero, and the
    /// "integer indefinite" value <see cref="int.MinValue"/> for NaN or out-of-range input
    /// (.NET would saturate instead).
    /// </summary>
    private static int TruncateLikeC(double value) =>
        double.IsNaN(value) || value >= 2147483648.0 || value <= -2147483649.0 ? int.MinValue : (int)value;
}
