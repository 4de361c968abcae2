using System.Buffers;
using System.Text;

namespace MLNetSeg.Vision.Structures;

/// <summary>
/// COCO run-length encoding of a binary mask, exactly as pycocotools' <c>maskApi.c</c> defines it.
/// </summary>
/// <remarks>
/// The pixels are walked column by column (Fortran order: index <c>x * Height + y</c>) and
/// <see cref="Counts"/> holds the lengths of alternating runs, starting with a run of zeros
/// (possibly of length 0). The counts always add up to <c>Height × Width</c>.
/// Every operation here is a line-by-line port of the matching maskApi function, including its
/// integer arithmetic, so compressed strings, areas, boxes and IoUs agree with pycocotools exactly.
/// </remarks>
public sealed class Rle : IEquatable<Rle>
{
    private readonly uint[] _counts;

    /// <summary>Creates an RLE; the counts must add up to <paramref name="height"/> × <paramref name="width"/>.</summary>
    /// <param name="height">Rows of the mask in pixels.</param>
    /// <param name="width">Columns of the mask in pixels.</param>
    /// <param name="counts">Alternating run lengths, zeros first, column-major; copied.</param>
    /// <exception cref="ArgumentException">The counts do not add up to the mask's pixel count.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A negative size, or more than <see cref="int.MaxValue"/> pixels.</exception>
    public Rle(int height, int width, uint[] counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        BitMask.ValidateSize(height, width);
        long sum = 0;
        foreach (var c in counts) sum += c;
        if (sum != (long)height * width)
            throw new ArgumentException(
                $"RLE counts add up to {sum} pixels but a {height}x{width} mask has {(long)height * width}.", nameof(counts));
        Height = height;
        Width = width;
        _counts = (uint[])counts.Clone();
    }

    private Rle(int height, int width, uint[] counts, bool trusted)
    {
        Height = height;
        Width = width;
        _counts = counts;
    }

    /// <summary>Number of rows of the mask (COCO's <c>size[0]</c>).</summary>
    public int Height { get; }

    /// <summary>Number of columns of the mask (COCO's <c>size[1]</c>).</summary>
    public int Width { get; }

    /// <summary>Alternating run lengths (zeros first), column-major.</summary>
    public IReadOnlyList<uint> Counts => _counts;

    /// <summary>Number of set pixels (maskApi <c>rleArea</c>).</summary>
    public long Area
    {
        get
        {
            long area = 0;
            for (int j = 1; j < _counts.Length; j += 2) area += _counts[j];
            return area;
        }
    }

    /// <summary>Encodes a mask (maskApi <c>rleEncode</c>). An empty (0-pixel) mask encodes as counts <c>[0]</c>.</summary>
    public static Rle Encode(BitMask mask)
    {
        ArgumentNullException.ThrowIfNull(mask);
        int h = mask.Height, w = mask.Width, n = h * w;
        // COCO runs are column-major: transpose once (cache-friendly blocks), then encode the runs.
        var columnMajor = ArrayPool<byte>.Shared.Rent(n);
        try
        {
            Transpose(mask.Pixels, h, w, columnMajor);
            return EncodeRuns(columnMajor.AsSpan(0, n), h, w, "Rle.Encode");
        }
        finally { ArrayPool<byte>.Shared.Return(columnMajor); }
    }

    /// <summary>
    /// Encodes a mask whose pixels are already in COCO's column-major order (index <c>x * height + y</c>),
    /// one byte per pixel, each 0 or 1: for example the bytes of a contiguous [W, H] (transposed) uint8
    /// tensor. Gives exactly what <see cref="Encode"/> gives for the same mask, without a transpose.
    /// </summary>
    /// <exception cref="ArgumentException">The span does not hold height × width bytes, or a byte is neither 0 nor 1.</exception>
    public static Rle FromColumnMajor(ReadOnlySpan<byte> columnMajor, int height, int width)
    {
        BitMask.ValidateSize(height, width);
        if (columnMajor.Length != (long)height * width)
            throw new ArgumentException($"Rle.FromColumnMajor: {columnMajor.Length} bytes for a {height}x{width} mask ({(long)height * width} pixels)",
                nameof(columnMajor));
        return EncodeRuns(columnMajor, height, width, "Rle.FromColumnMajor");
    }

    /// <summary>The runs of column-major 0/1 bytes (maskApi <c>rleEncode</c>'s loop): each run end is found
    /// with a vectorised search instead of testing pixel by pixel. The byte that ends a run must be the other
    /// value, which checks the 0/1 contract at no extra cost.</summary>
    private static Rle EncodeRuns(ReadOnlySpan<byte> data, int h, int w, string caller)
    {
        int n = data.Length;
        if (n == 0) return new Rle(h, w, new uint[] { 0 }, trusted: true);
        var counts = new List<uint>();
        byte value = 0;  // runs alternate 0s, 1s, ... starting with (possibly zero) 0s
        for (int position = 0; position < n; value ^= 1)
        {
            int next = data[position..].IndexOfAnyExcept(value);
            int run = next < 0 ? n - position : next;
            position += run;
            if (position < n && data[position] != (value ^ 1))
                throw new ArgumentException($"{caller}: pixel {position} (column-major) is {data[position]}; mask bytes must be 0 or 1");
            counts.Add((uint)run);
        }
        return new Rle(h, w, counts.ToArray(), trusted: true);
    }

    /// <summary>dst[x * h + y] = src[y * w + x], in square tiles so both sides stay in cache.</summary>
    private static unsafe void Transpose(ReadOnlySpan<byte> src, int h, int w, Span<byte> dst)
    {
        const int tile = 64;
        if (src.Length < h * w || dst.Length < h * w) throw new ArgumentException("transpose buffers are too small");
        fixed (byte* s = src)
        fixed (byte* d = dst)
        {
            for (int y0 = 0; y0 < h; y0 += tile)
            {
                int y1 = Math.Min(y0 + tile, h);
                for (int x0 = 0; x0 < w; x0 += tile)
                {
                    int x1 = Math.Min(x0 + tile, w);
                    for (int x = x0; x < x1; x++)
                    {
                        byte* from = s + (long)y0 * w + x;  // strided reads, sequential writes
                        byte* to = d + (long)x * h + y0;
                        for (int y = y0; y < y1; y++, from += w) *to++ = *from;
                    }
                }
            }
        }
    }

    /// <summary>Decodes to a row-major mask (maskApi <c>rleDecode</c>).</summary>
    public BitMask Decode()
    {
        int h = Height, w = Width, n = h * w;
        var pixels = new byte[n];
        var columnMajor = ArrayPool<byte>.Shared.Rent(Math.Max(n, 1));
        try
        {
            var data = columnMajor.AsSpan(0, n);
            long position = 0;
            byte value = 0;
            foreach (var run in _counts)
            {
                data.Slice((int)position, (int)run).Fill(value);
                position += run;
                value ^= 1;
            }
            // The column-major buffer is a w×h row-major image: transposing it gives h×w.
            Transpose(data, w, h, pixels);
        }
        finally { ArrayPool<byte>.Shared.Return(columnMajor); }
        return BitMask.WrapNormalized(h, w, pixels);
    }

    /// <summary>
    /// The bounding box as <c>[x, y, w, h]</c> (maskApi <c>rleToBbox</c>): width and height count
    /// pixels, so a single pixel at (3, 5) gives <c>[3, 5, 1, 1]</c>; an empty mask gives zeros.
    /// A run that crosses a column boundary widens the box to the full image height, as in maskApi.
    /// </summary>
    public double[] ToBbox()
    {
        uint h = (uint)Height, w = (uint)Width;
        int m = _counts.Length / 2 * 2;
        if (m == 0) return new double[4];
        uint xs = w, ys = h, xe = 0, ye = 0, cc = 0;
        for (int j = 0; j < m; j++)
        {
            uint start = cc;
            cc += _counts[j];
            if (j % 2 == 0) continue;          // background run
            if (_counts[j] == 0) continue;     // zero-length foreground run
            uint yStart = start % h, xStart = (start - yStart) / h;
            uint yEnd = (cc - 1) % h, xEnd = (cc - 1 - yEnd) / h;
            xs = Math.Min(xs, xStart);
            xe = Math.Max(xe, xEnd);
            if (xStart < xEnd)
            {
                ys = 0;
                ye = h - 1;
            }
            else
            {
                ys = Math.Min(ys, yStart);
                ye = Math.Max(ye, yEnd);
            }
        }
        // An all-background RLE with an even number of runs ends here with xs = w > xe; maskApi
        // still reports xe - xs + 1 in unsigned arithmetic, which cannot happen for counts that
        // contain a non-empty foreground run.
        return new double[] { xs, ys, unchecked(xe - xs + 1), unchecked(ye - ys + 1) };
    }

    /// <summary>
    /// Union (or intersection) of masks of one size (maskApi <c>rleMerge</c>). A single input is
    /// returned as a copy.
    /// </summary>
    public static Rle Merge(IReadOnlyList<Rle> rles, bool intersect = false)
    {
        ArgumentNullException.ThrowIfNull(rles);
        if (rles.Count == 0) throw new ArgumentException("Merge needs at least one RLE.", nameof(rles));
        var first = rles[0] ?? throw new ArgumentException("rles[0] is null.", nameof(rles));
        int h = first.Height, w = first.Width;
        for (int i = 1; i < rles.Count; i++)
        {
            var r = rles[i] ?? throw new ArgumentException($"rles[{i}] is null.", nameof(rles));
            if (r.Height != h || r.Width != w)
                throw new ArgumentException(
                    $"Merge needs masks of one size: rles[0] is {h}x{w} but rles[{i}] is {r.Height}x{r.Width}.", nameof(rles));
        }
        if (rles.Count == 1 || (long)h * w == 0) return new Rle(h, w, (uint[])first._counts.Clone(), trusted: true);

        var acc = first._counts;
        var output = new List<uint>(acc.Length);
        for (int i = 1; i < rles.Count; i++)
        {
            var a = acc;
            var b = rles[i]._counts;
            output.Clear();
            uint ca = a[0], cb = b[0], cc = 0, ct = 1;
            bool v = false, va = false, vb = false;
            int ia = 1, ib = 1;
            while (ct > 0)
            {
                uint c = Math.Min(ca, cb);
                cc += c;
                ct = 0;
                ca -= c;
                if (ca == 0 && ia < a.Length) { ca = a[ia++]; va = !va; }
                ct += ca;
                cb -= c;
                if (cb == 0 && ib < b.Length) { cb = b[ib++]; vb = !vb; }
                ct += cb;
                bool vp = v;
                v = intersect ? va && vb : va || vb;
                if (v != vp || ct == 0) { output.Add(cc); cc = 0; }
            }
            acc = output.ToArray();
        }
        return new Rle(h, w, acc, trusted: true);
    }

    /// <summary>
    /// IoU between every detection and every ground truth mask (maskApi <c>rleIou</c>), indexed
    /// <c>[detection, groundTruth]</c> like pycocotools' <c>mask.iou</c>. For a crowd ground truth the
    /// value is intersection ÷ detection area. A pair with no overlap gives 0.
    /// </summary>
    public static double[,] Iou(IReadOnlyList<Rle> dt, IReadOnlyList<Rle> gt, IReadOnlyList<bool> isCrowd)
    {
        ArgumentNullException.ThrowIfNull(dt);
        ArgumentNullException.ThrowIfNull(gt);
        ArgumentNullException.ThrowIfNull(isCrowd);
        if (isCrowd.Count != gt.Count)
            throw new ArgumentException($"isCrowd has {isCrowd.Count} entries but there are {gt.Count} ground truth masks.", nameof(isCrowd));
        var dtBoxes = new double[dt.Count][];
        var gtBoxes = new double[gt.Count][];
        for (int d = 0; d < dt.Count; d++) dtBoxes[d] = (dt[d] ?? throw new ArgumentException($"dt[{d}] is null.", nameof(dt))).ToBbox();
        for (int g = 0; g < gt.Count; g++) gtBoxes[g] = (gt[g] ?? throw new ArgumentException($"gt[{g}] is null.", nameof(gt))).ToBbox();

        // maskApi first computes box IoUs and only walks the runs of pairs whose boxes overlap.
        var o = BoxIou(dtBoxes, gtBoxes, isCrowd);
        for (int g = 0; g < gt.Count; g++)
        {
            for (int d = 0; d < dt.Count; d++)
            {
                if (!(o[d, g] > 0)) continue;
                var a = dt[d];
                var b = gt[g];
                if (a.Height != b.Height || a.Width != b.Width)
                    throw new ArgumentException(
                        $"IoU needs masks of one size: dt[{d}] is {a.Height}x{a.Width} but gt[{g}] is {b.Height}x{b.Width}.");
                o[d, g] = RunIou(a._counts, b._counts, isCrowd[g], a);
            }
        }
        return o;
    }

    private static double RunIou(uint[] da, uint[] gb, bool crowd, Rle dtRle)
    {
        uint ca = da[0], cb = gb[0], ct = 1;
        int ka = da.Length, kb = gb.Length, ia = 1, ib = 1;
        bool va = false, vb = false;
        long inter = 0, union = 0;
        while (ct > 0)
        {
            uint c = Math.Min(ca, cb);
            if (va || vb)
            {
                union += c;
                if (va && vb) inter += c;
            }
            ct = 0;
            ca -= c;
            if (ca == 0 && ia < ka) { ca = da[ia++]; va = !va; }
            ct += ca;
            cb -= c;
            if (cb == 0 && ib < kb) { cb = gb[ib++]; vb = !vb; }
            ct += cb;
        }
        if (inter == 0) union = 1;
        else if (crowd) union = dtRle.Area;
        return (double)inter / union;
    }

    /// <summary>
    /// IoU between <c>[x, y, w, h]</c> boxes (maskApi <c>bbIou</c>), indexed <c>[detection, groundTruth]</c>.
    /// For a crowd ground truth the value is intersection ÷ detection area. Boxes that only touch,
    /// or have zero width or height, give 0.
    /// </summary>
    public static double[,] BoxIou(IReadOnlyList<double[]> dtXywh, IReadOnlyList<double[]> gtXywh, IReadOnlyList<bool> isCrowd)
    {
        ArgumentNullException.ThrowIfNull(dtXywh);
        ArgumentNullException.ThrowIfNull(gtXywh);
        ArgumentNullException.ThrowIfNull(isCrowd);
        if (isCrowd.Count != gtXywh.Count)
            throw new ArgumentException($"isCrowd has {isCrowd.Count} entries but there are {gtXywh.Count} ground truth boxes.", nameof(isCrowd));
        CheckBoxes(dtXywh, nameof(dtXywh));
        CheckBoxes(gtXywh, nameof(gtXywh));
        var o = new double[dtXywh.Count, gtXywh.Count];
        for (int g = 0; g < gtXywh.Count; g++)
        {
            var gb = gtXywh[g];
            double ga = gb[2] * gb[3];
            bool crowd = isCrowd[g];
            for (int d = 0; d < dtXywh.Count; d++)
            {
                var db = dtXywh[d];
                double da = db[2] * db[3];
                double w = Math.Min(db[2] + db[0], gb[2] + gb[0]) - Math.Max(db[0], gb[0]);
                if (w <= 0) continue;
                double h = Math.Min(db[3] + db[1], gb[3] + gb[1]) - Math.Max(db[1], gb[1]);
                if (h <= 0) continue;
                double i = w * h;
                double u = crowd ? da : da + ga - i;
                o[d, g] = i / u;
            }
        }
        return o;
    }

    private static void CheckBoxes(IReadOnlyList<double[]> boxes, string name)
    {
        for (int i = 0; i < boxes.Count; i++)
        {
            if (boxes[i] is null || boxes[i].Length != 4)
                throw new ArgumentException($"{name}[{i}] must be an [x, y, w, h] array of 4 numbers.", name);
        }
    }

    /// <summary>
    /// Rasterises polygons the way COCO does (maskApi <c>rleFrPoly</c> on each polygon, then
    /// <c>rleMerge</c> union, as <c>COCO.annToRLE</c> does). Each polygon is
    /// <c>[x1, y1, x2, y2, …]</c>; points may lie outside the image. Degenerate polygons of one or
    /// two points (they occur in COCO train) are rasterised exactly as <c>rleFrPoly</c> does.
    /// Deciding that a 4-number list is a box is the COCO reader's job (<c>frPyObjects</c>), not this one's.
    /// </summary>
    public static Rle FromPolygons(IReadOnlyList<double[]> polygons, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(polygons);
        if (polygons.Count == 0) throw new ArgumentException("FromPolygons needs at least one polygon.", nameof(polygons));
        var parts = new Rle[polygons.Count];
        for (int i = 0; i < polygons.Count; i++)
        {
            var p = polygons[i] ?? throw new ArgumentException($"polygons[{i}] is null.", nameof(polygons));
            if (p.Length < 2 || p.Length % 2 != 0)
                throw new ArgumentException(
                    $"polygons[{i}] has {p.Length} coordinates; a polygon needs an even number of them, at least 2.", nameof(polygons));
            parts[i] = FromPolygon(p, height, width, $"polygons[{i}]");
        }
        return parts.Length == 1 ? parts[0] : Merge(parts);
    }

    /// <summary>Rasterises one <c>[x, y, w, h]</c> box as COCO does (maskApi <c>rleFrBbox</c>: a 4-point polygon).</summary>
    public static Rle FromBox(double[] xywh, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(xywh);
        if (xywh.Length != 4) throw new ArgumentException($"A box is [x, y, w, h]; got {xywh.Length} numbers.", nameof(xywh));
        double xs = xywh[0], xe = xs + xywh[2], ys = xywh[1], ye = ys + xywh[3];
        return FromPolygon(new[] { xs, ys, xs, ye, xe, ye, xe, ys }, height, width, "box");
    }

    private static Rle FromPolygon(double[] xy, int height, int width, string what)
    {
        BitMask.ValidateSize(height, width);
        if (height == 0 || width == 0)
            throw new ArgumentOutOfRangeException(nameof(height), $"Cannot rasterise {what} into an empty {height}x{width} image.");
        var counts = CocoPolygonRasterizer.Rasterize(xy, height, width, what);
        return new Rle(height, width, counts, trusted: true);
    }

    /// <summary>
    /// pycocotools' compressed <c>counts</c> string (maskApi <c>rleToString</c>): each count, minus
    /// the count two places earlier from the fourth on, written as 5-bit groups with a
    /// continuation bit, in ASCII 48–111.
    /// </summary>
    public string ToCompressedString()
    {
        var s = new StringBuilder(_counts.Length * 2);
        for (int i = 0; i < _counts.Length; i++)
        {
            long x = _counts[i];
            if (i > 2) x -= _counts[i - 2];
            bool more = true;
            while (more)
            {
                int c = (int)(x & 0x1f);
                x >>= 5;
                more = (c & 0x10) != 0 ? x != -1 : x != 0;
                if (more) c |= 0x20;
                s.Append((char)(c + 48));
            }
        }
        return s.ToString();
    }

    /// <summary>Parses pycocotools' compressed <c>counts</c> string (maskApi <c>rleFrString</c>).</summary>
    public static Rle FromCompressedString(string counts, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(counts);
        BitMask.ValidateSize(height, width);
        var result = new List<uint>();
        int p = 0;
        while (p < counts.Length)
        {
            long x = 0;
            int k = 0;
            bool more = true;
            while (more)
            {
                if (p >= counts.Length)
                    throw new FormatException($"RLE string ends inside a number at character {p}: \"{Shorten(counts)}\".");
                int c = counts[p] - 48;
                if (c < 0 || c > 63)
                    throw new FormatException(
                        $"RLE string has '{counts[p]}' at character {p}; only ASCII '0' to 'o' are allowed: \"{Shorten(counts)}\".");
                if (k >= 7)
                    throw new FormatException($"RLE string has a number longer than 7 characters at character {p}: \"{Shorten(counts)}\".");
                // maskApi shifts in 32-bit int here; 64-bit shifts give the same value for every
                // run-length delta below 2^29, i.e. for any mask under ~5e8 pixels.
                x |= (long)(c & 0x1f) << (5 * k);
                more = (c & 0x20) != 0;
                p++;
                k++;
                if (!more && (c & 0x10) != 0) x |= -1L << (5 * k);
            }
            if (result.Count > 2) x += result[^2];
            if (x < 0 || x > uint.MaxValue)
                throw new FormatException($"RLE string decodes to run length {x} (run {result.Count}), outside 0..{uint.MaxValue}.");
            result.Add((uint)x);
        }
        try
        {
            return new Rle(height, width, result.ToArray());
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"RLE string does not fit a {height}x{width} mask: {e.Message}", e);
        }
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";

    /// <summary>True when <paramref name="other"/> encodes the same mask: the same size and the same runs once
    /// zero-length runs inside the counts are merged away (the public constructor accepts them; the
    /// encoders never make them), so two encodings of one mask are equal.</summary>
    public bool Equals(Rle? other) =>
        other is not null && other.Height == Height && other.Width == Width && CanonicalCounts().AsSpan().SequenceEqual(other.CanonicalCounts());

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Rle);

    /// <summary>A hash of the size and the canonical runs, consistent with <see cref="Equals(Rle?)"/>.</summary>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Height);
        hash.Add(Width);
        foreach (var c in CanonicalCounts()) hash.Add(c);
        return hash.ToHashCode();
    }

    /// <summary>The counts with every zero-length run after the first merged into its neighbours (the
    /// leading run of zeros may stay empty): one form per mask. The counts themselves when already so.</summary>
    private uint[] CanonicalCounts()
    {
        bool canonical = true;
        for (int i = 1; i < _counts.Length && canonical; i++) canonical = _counts[i] != 0;
        if (canonical) return _counts;
        var runs = new List<uint>(_counts.Length) { _counts.Length > 0 ? _counts[0] : 0 };
        for (int i = 1; i < _counts.Length; i++)
        {
            if (_counts[i] != 0) runs.Add(_counts[i]);
            else if (i + 1 < _counts.Length) runs[^1] += _counts[++i];  // an empty run joins its two neighbours
        }
        return runs.ToArray();
    }

    /// <summary>Size, number of runs and area, e.g. "Rle 480x640, 12 runs, area 1234".</summary>
    public override string ToString() => $"Rle {Height}x{Width}, {_counts.Length} runs, area {Area}";
}
