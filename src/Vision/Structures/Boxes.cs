namespace MLNetSeg.Vision.Structures;

/// <summary>
/// N axis-aligned boxes, stored as <c>float[N * 4]</c> rows of <c>(x1, y1, x2, y2)</c> in continuous
/// pixel coordinates (torchvision's <c>Tensor[N, 4]</c> "xyxy" layout).
/// </summary>
/// <remarks>
/// The arithmetic of conversions, areas, clipping and IoU follows torchvision.ops in float32
/// step by step, so results match torchvision bit for bit on the same inputs. Instances are
/// immutable: every operation returns a new <see cref="Boxes"/>. <c>boxes[i]</c> is a <see cref="Box"/>;
/// <see cref="Data"/> is the flat row-major view.
/// </remarks>
public sealed class Boxes : IReadOnlyList<Box>
{
    private readonly float[] _xyxy;

    /// <summary>Creates boxes from a copy of <c>(x1, y1, x2, y2)</c> rows.</summary>
    public Boxes(float[] xyxy)
    {
        ArgumentNullException.ThrowIfNull(xyxy);
        CheckRows(xyxy, "xyxy");
        _xyxy = (float[])xyxy.Clone();
    }

    private Boxes(float[] xyxy, bool owned) => _xyxy = xyxy;

    /// <summary>No boxes.</summary>
    public static Boxes Empty { get; } = new(Array.Empty<float>(), owned: true);

    /// <summary>Number of boxes.</summary>
    public int Count => _xyxy.Length / 4;

    /// <summary>All boxes, row-major <c>(x1, y1, x2, y2)</c>.</summary>
    public ReadOnlySpan<float> Data => _xyxy;

    /// <summary>Box <paramref name="index"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">There is no box <paramref name="index"/>.</exception>
    public Box this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(index), $"Box {index} does not exist; there are {Count}.");
            int o = index * 4;
            return new Box(_xyxy[o], _xyxy[o + 1], _xyxy[o + 2], _xyxy[o + 3]);
        }
    }

    /// <summary>The boxes in order.</summary>
    public IEnumerator<Box> GetEnumerator()
    {
        for (int i = 0; i < Count; i++) yield return this[i];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>From <c>(x1, y1, x2, y2)</c> rows (a copy); the same as the constructor.</summary>
    public static Boxes FromXyxy(float[] xyxy) => new(xyxy);

    /// <summary>From <see cref="Box"/> values.</summary>
    public static Boxes From(IEnumerable<Box> boxes)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        return new Boxes(boxes.SelectMany(b => new[] { b.X1, b.Y1, b.X2, b.Y2 }).ToArray(), owned: true);
    }

    /// <summary>From <c>(x, y, w, h)</c> rows (COCO's bbox layout): x2 = x + w, y2 = y + h.</summary>
    public static Boxes FromXywh(float[] xywh)
    {
        ArgumentNullException.ThrowIfNull(xywh);
        CheckRows(xywh, "xywh");
        var r = new float[xywh.Length];
        for (int i = 0; i < r.Length; i += 4)
        {
            float x = xywh[i], y = xywh[i + 1], w = xywh[i + 2], h = xywh[i + 3];
            r[i] = x;
            r[i + 1] = y;
            r[i + 2] = x + w;
            r[i + 3] = y + h;
        }
        return new Boxes(r, owned: true);
    }

    /// <summary>From <c>(cx, cy, w, h)</c> rows: x1 = cx − 0.5·w, x2 = cx + 0.5·w (torchvision's formula).</summary>
    public static Boxes FromCxcywh(float[] cxcywh)
    {
        ArgumentNullException.ThrowIfNull(cxcywh);
        CheckRows(cxcywh, "cxcywh");
        var r = new float[cxcywh.Length];
        for (int i = 0; i < r.Length; i += 4)
        {
            float cx = cxcywh[i], cy = cxcywh[i + 1], w = cxcywh[i + 2], h = cxcywh[i + 3];
            r[i] = cx - 0.5f * w;
            r[i + 1] = cy - 0.5f * h;
            r[i + 2] = cx + 0.5f * w;
            r[i + 3] = cy + 0.5f * h;
        }
        return new Boxes(r, owned: true);
    }

    /// <summary>A copy of the <c>(x1, y1, x2, y2)</c> rows.</summary>
    public float[] ToXyxy() => (float[])_xyxy.Clone();

    /// <summary>Rows of <c>(x1, y1, x2 − x1, y2 − y1)</c>.</summary>
    public float[] ToXywh()
    {
        var r = new float[_xyxy.Length];
        for (int i = 0; i < r.Length; i += 4)
        {
            float x1 = _xyxy[i], y1 = _xyxy[i + 1], x2 = _xyxy[i + 2], y2 = _xyxy[i + 3];
            r[i] = x1;
            r[i + 1] = y1;
            r[i + 2] = x2 - x1;
            r[i + 3] = y2 - y1;
        }
        return r;
    }

    /// <summary>Rows of <c>((x1 + x2) / 2, (y1 + y2) / 2, x2 − x1, y2 − y1)</c>.</summary>
    public float[] ToCxcywh()
    {
        var r = new float[_xyxy.Length];
        for (int i = 0; i < r.Length; i += 4)
        {
            float x1 = _xyxy[i], y1 = _xyxy[i + 1], x2 = _xyxy[i + 2], y2 = _xyxy[i + 3];
            r[i] = (x1 + x2) / 2;
            r[i + 1] = (y1 + y2) / 2;
            r[i + 2] = x2 - x1;
            r[i + 3] = y2 - y1;
        }
        return r;
    }

    /// <summary>(x2 − x1) · (y2 − y1) per box, like torchvision's <c>box_area</c> (negative for inverted boxes).</summary>
    public float[] Area()
    {
        var r = new float[Count];
        for (int i = 0; i < r.Length; i++)
            r[i] = (_xyxy[4 * i + 2] - _xyxy[4 * i]) * (_xyxy[4 * i + 3] - _xyxy[4 * i + 1]);
        return r;
    }

    /// <summary>Clamps x to [0, width] and y to [0, height], like torchvision's <c>clip_boxes_to_image</c>.</summary>
    public Boxes Clip(int height, int width)
    {
        if (height < 0 || width < 0)
            throw new ArgumentOutOfRangeException(nameof(height), $"Image size must be non-negative, got {height}x{width}.");
        var r = new float[_xyxy.Length];
        for (int i = 0; i < r.Length; i += 2)
        {
            r[i] = Math.Clamp(_xyxy[i], 0f, width);
            r[i + 1] = Math.Clamp(_xyxy[i + 1], 0f, height);
        }
        return new Boxes(r, owned: true);
    }

    /// <summary>
    /// Pairwise IoU, <c>[a.Count, b.Count]</c>, with torchvision's <c>box_iou</c> semantics: intersection
    /// width/height clamped at 0, union = area(a) + area(b) − intersection, all in float32. Two
    /// zero-area boxes give 0/0 = NaN, as in torchvision.
    /// </summary>
    public static float[,] Iou(Boxes a, Boxes b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var areaA = a.Area();
        var areaB = b.Area();
        var result = new float[a.Count, b.Count];
        for (int i = 0; i < a.Count; i++)
        {
            float ax1 = a._xyxy[4 * i], ay1 = a._xyxy[4 * i + 1], ax2 = a._xyxy[4 * i + 2], ay2 = a._xyxy[4 * i + 3];
            for (int j = 0; j < b.Count; j++)
            {
                float w = Math.Min(ax2, b._xyxy[4 * j + 2]) - Math.Max(ax1, b._xyxy[4 * j]);
                float h = Math.Min(ay2, b._xyxy[4 * j + 3]) - Math.Max(ay1, b._xyxy[4 * j + 1]);
                float inter = Math.Max(w, 0f) * Math.Max(h, 0f);
                float union = areaA[i] + areaB[j] - inter;
                result[i, j] = inter / union;
            }
        }
        return result;
    }

    /// <summary>The boxes at <paramref name="indices"/>, in that order (repeats allowed).</summary>
    public Boxes Select(int[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var r = new float[indices.Length * 4];
        for (int k = 0; k < indices.Length; k++)
        {
            int i = indices[k];
            if ((uint)i >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), $"indices[{k}] = {i} but there are {Count} boxes.");
            Array.Copy(_xyxy, i * 4, r, k * 4, 4);
        }
        return new Boxes(r, owned: true);
    }

    /// <summary>The boxes whose <paramref name="keep"/> flag is set.</summary>
    public Boxes Select(bool[] keep)
    {
        ArgumentNullException.ThrowIfNull(keep);
        if (keep.Length != Count)
            throw new ArgumentException($"keep has {keep.Length} flags but there are {Count} boxes.", nameof(keep));
        return Select(IndicesOf(keep));
    }

    /// <summary>Boxes of several sets, one after the other.</summary>
    public static Boxes Concat(IReadOnlyList<Boxes> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var r = new float[parts.Sum(p => p._xyxy.Length)];
        int offset = 0;
        foreach (var p in parts)
        {
            p._xyxy.CopyTo(r, offset);
            offset += p._xyxy.Length;
        }
        return new Boxes(r, owned: true);
    }

    /// <summary>A one-line summary with the box count.</summary>
    public override string ToString() => $"Boxes ({Count})";

    internal static int[] IndicesOf(bool[] keep)
    {
        var indices = new List<int>();
        for (int i = 0; i < keep.Length; i++)
            if (keep[i]) indices.Add(i);
        return indices.ToArray();
    }

    private static void CheckRows(float[] values, string layout)
    {
        if (values.Length % 4 != 0)
            throw new ArgumentException($"Boxes need 4 numbers per box ({layout}); got {values.Length} numbers.", layout);
    }
}
