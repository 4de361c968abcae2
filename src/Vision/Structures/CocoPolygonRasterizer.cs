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
    // C int arithmetic free of overflow (the walk's cost is bounded by the image's width, see Edge).
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

        // Get points along the y-boundary and downsample. maskApi stores every point of the walk and
        // then looks at each pair of neighbours; here the points are visited as they are made, and on
        // long edges only the pairs that can give a boundary point are visited (see Edge), so an edge
        // far outside the image costs neither memory nor time (pycocotools walks it all: seconds and
        // gigabytes for coordinates in the millions).
        var boundary = new List<uint>();
        var walk = new BoundaryWalk(height, width, boundary);
        for (int j = 0; j < k; j++) new Edge(x[j], y[j], x[j + 1], y[j + 1]).Visit(ref walk);

        // Compute the RLE given the y-boundary points: sorted column-major positions, differenced.
        int n = boundary.Count;
        var a = new uint[n + 1];
        boundary.CopyTo(a);
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
    /// One edge of the upsampled polygon as maskApi walks it: <see cref="Length"/> + 1 points, one per
    /// integer step along the longer axis, from (xs, ys) to (xe, ye).
    /// </summary>
    private readonly struct Edge
    {
        // Edges up to this many steps are walked point by point, exactly as in C.
        private const int ShortEdge = 64;

        private readonly int _xs, _ys, _dx, _dy;
        private readonly bool _flip, _alongX;
        private readonly double _s;

        public Edge(int xs, int ys, int xe, int ye)
        {
            int dx = Math.Abs(xe - xs), dy = Math.Abs(ys - ye);
            _flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
            if (_flip)
            {
                (xs, xe) = (xe, xs);
                (ys, ye) = (ye, ys);
            }
            _xs = xs;
            _ys = ys;
            _dx = dx;
            _dy = dy;
            _alongX = dx >= dy;
            // A zero-length edge gives 0/0 = NaN here, exactly as in C; its single point never
            // sits next to a column change, so it cannot affect the result.
            _s = _alongX ? (double)(ye - ys) / dx : (double)(xe - xs) / dy;
        }

        public int Length => _alongX ? _dx : _dy;

        /// <summary>Point <paramref name="d"/> of the walk (0 = the edge's first vertex), as maskApi computes it.</summary>
        public (int U, int V) Point(int d)
        {
            int t = _flip ? Length - d : d;
            return _alongX ? (t + _xs, TruncateLikeC(_ys + _s * t + .5)) : (TruncateLikeC(_xs + _s * t + .5), t + _ys);
        }

        /// <summary>
        /// Feeds the walk's points to <paramref name="walk"/>: all of them on a short edge; on a long one the
        /// two ends and, around each change of column u inside the window [0, 5·width + 1], the two points
        /// before and after it. u is monotonic along an edge and moves by at most 1 per step (|slope| &lt; 1
        /// on the shorter axis), so the pairs left out are ones whose column is unchanged or outside the
        /// image, which give no boundary point in C either; the pairs the skipping makes up span only such
        /// columns too, so the boundary points are exactly maskApi's.
        /// </summary>
        public void Visit(ref BoundaryWalk walk)
        {
            int length = Length;
            if (length <= ShortEdge)
            {
                for (int d = 0; d <= length; d++) walk.Add(Point(d));
                return;
            }
            int u0 = Point(0).U, uEnd = Point(length).U;
            walk.Add(Point(0));
            int last = 0;
            if (u0 != uEnd)
            {
                bool rising = uEnd > u0;
                long window = walk.ColumnWindow;
                // A change to column c (from c - 1 when rising, c + 1 when falling) with both columns in the window.
                long first = rising ? Math.Max(u0 + 1L, 1) : Math.Max(uEnd, 0);
                long end = rising ? Math.Min(uEnd, window) : Math.Min(u0 - 1L, window - 1);
                for (long i = 0; i <= end - first; i++)
                {
                    int c = (int)(rising ? first + i : end - i);
                    int d = FirstReaching(c, rising, length, Math.Max(last, 1));
                    for (int e = Math.Max(d - 1, last + 1); e <= d; e++) walk.Add(Point(e));
                    last = Math.Max(last, d);
                }
            }
            if (last < length) walk.Add(Point(length));
        }

        /// <summary>The first step d in [<paramref name="from"/>, <paramref name="length"/>] whose column has reached
        /// <paramref name="c"/> (binary search: u is monotonic along the edge).</summary>
        private int FirstReaching(int c, bool rising, int length, int from)
        {
            int lo = from, hi = length;
            while (lo < hi)
            {
                int mid = lo + (hi - lo) / 2;
                int u = Point(mid).U;
                if (rising ? u >= c : u <= c) hi = mid;
                else lo = mid + 1;
            }
            return lo;
        }
    }

    /// <summary>maskApi's pass over neighbouring walk points: where the column changes at a pixel centre
    /// inside the image, a y-boundary point (as a column-major position) is kept.</summary>
    private struct BoundaryWalk(int height, int width, List<uint> boundary)
    {
        private bool _started;
        private int _u, _v;

        /// <summary>Upsampled columns that can take part in a boundary point: 0 ..= this.</summary>
        public readonly long ColumnWindow => (long)Scale * width + 1;

        public void Add((int U, int V) point)
        {
            var (u, v) = point;
            if (_started && u != _u)
            {
                double xd = u < _u ? u : u - 1;
                xd = (xd + .5) / Scale - .5;
                if (Math.Floor(xd) == xd && xd >= 0 && xd <= width - 1)
                {
                    double yd = v < _v ? v : _v;
                    yd = (yd + .5) / Scale - .5;
                    if (yd < 0) yd = 0;
                    else if (yd > height) yd = height;
                    yd = Math.Ceiling(yd);
                    boundary.Add(unchecked((uint)((int)xd * height + (int)yd)));
                }
            }
            _started = true;
            _u = u;
            _v = v;
        }
    }

    /// <summary>
    /// C's <c>(int)double</c> as x86-64 executes it (cvttsd2si): truncation toward zero, and the
    /// "integer indefinite" value <see cref="int.MinValue"/> for NaN or out-of-range input
    /// (.NET would saturate instead).
    /// </summary>
    private static int TruncateLikeC(double value) =>
        double.IsNaN(value) || value >= 2147483648.0 || value <= -2147483649.0 ? int.MinValue : (int)value;
}
