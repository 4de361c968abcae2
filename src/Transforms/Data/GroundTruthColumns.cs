using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Data.Coco;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Transforms.Data;

/// <summary>One annotated object of a row, checked: its key, its box as COCO's <c>[x, y, w, h]</c>
/// (from the box column, else the mask's bounding box), area, crowd flag, mask and keypoints.</summary>
internal sealed record GroundTruthObject(int Key, double[]? Bbox, double? Area, bool IsCrowd, Rle? Mask, double[]? Keypoints, int NumKeypoints)
{
    /// <summary>The COCO annotation of this object: category id = key; the area is the given one, else
    /// the mask's (COCO's definition; pycocotools needs one), else the box's.</summary>
    public CocoAnnotation ToCoco(long id, long imageId, bool withKeypoints) => new()
    {
        Id = id,
        ImageId = imageId,
        CategoryId = Key,
        Bbox = Bbox,
        Area = Area ?? (Mask is { } mask ? mask.Area : Bbox is { } b ? b[2] * b[3] : null),
        IsCrowd = IsCrowd,
        Segmentation = Mask is { } m ? new CocoUncompressedRle(m.Height, m.Width, m.Counts.ToArray()) : null,
        Keypoints = withKeypoints ? Keypoints : null,
        NumKeypoints = withKeypoints ? NumKeypoints : null,
    };
}

/// <summary>
/// K, the keypoints per object of a data view: from the KeypointNames annotation when there is one,
/// else from the first row with objects. Ground-truth and predicted keypoint columns share it.
/// </summary>
internal sealed class KeypointLayout
{
    /// <summary>K; 0 until known.</summary>
    public int Count { get; set; }

    /// <summary>Checks that <paramref name="length"/> values hold 3·K per object, learning K from the first row with objects.</summary>
    public void CheckLength(DataViewSchema.Column column, string where, int length, int objects, string what, DataViewSchema.Column countedBy, string noun)
    {
        if (objects == 0)
        {
            if (length != 0) throw ColumnChecks.Bad(column, where, $"{length} values but no {noun}s");
            return;
        }
        if (Count == 0)
        {
            if (length % (3 * objects) != 0 || length == 0)
                throw ColumnChecks.Bad(column, where, $"{length} values for {objects} {noun}s; it needs 3·K per one ({what}) for a keypoint count K");
            Count = length / (3 * objects);
            return;
        }
        ColumnChecks.CheckLength(column, where, length, objects, 3 * Count, $"{what} for {Count} keypoints", countedBy, noun);
    }
}

/// <summary>The checks every reader of annotated or scored columns applies, with messages that name the column and the row.</summary>
internal static class ColumnChecks
{
    public static ArgumentException Bad(DataViewSchema.Column column, string where, string problem) =>
        new($"column '{column.Name}', {where}: {problem}", "data");

    /// <summary><paramref name="length"/> must be <paramref name="per"/> values per object counted by <paramref name="countedBy"/>.</summary>
    public static void CheckLength(DataViewSchema.Column column, string where, int length, int objects, int per, string what,
        DataViewSchema.Column countedBy, string noun)
    {
        if (length != (long)objects * per)
            throw Bad(column, where, $"{length} values but column '{countedBy.Name}' has {objects} {noun}s; it needs {per} per {noun} ({what}), {(long)objects * per} in all");
    }

    public static void CheckBox(DataViewSchema.Column column, string where, string what, int j, ReadOnlySpan<float> box)
    {
        if (!float.IsFinite(box[0]) || !float.IsFinite(box[1]) || !float.IsFinite(box[2]) || !float.IsFinite(box[3]))
            throw Bad(column, where, $"{what} {j} has box [{box[0]}, {box[1]}, {box[2]}, {box[3]}]; boxes must be finite");
        if (box[2] < box[0] || box[3] < box[1])
            throw Bad(column, where, $"{what} {j} has box [{box[0]}, {box[1]}, {box[2]}, {box[3]}]; it must be x0, y0, x1, y1 with x1 >= x0 and y1 >= y0");
    }

    public static Rle DecodeMask(DataViewSchema.Column column, string where, string what, int j, string counts, int h, int w)
    {
        try
        {
            return MaskEncoding.Decode(counts, h, w);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            throw new ArgumentException($"column '{column.Name}', {where}: {what} {j}'s mask is not a {h}x{w} (HxW) COCO compressed RLE: {e.Message}", "data", e);
        }
    }

    /// <summary>Checks that every key is one of 1..<paramref name="classCount"/> and returns them.</summary>
    public static uint[] Keys(in VBuffer<uint> buffer, DataViewSchema.Column column, string where, string what, int classCount)
    {
        var keys = Dense(buffer);
        for (int j = 0; j < keys.Length; j++)
            if (keys[j] == 0 || keys[j] > classCount)
                throw Bad(column, where, $"{what} {j} has key {keys[j]}, {(keys[j] == 0 ? "the missing key" : "beyond the key count")}; keys are 1..{classCount}");
        return keys;
    }

    public static T[] Dense<T>(in VBuffer<T> buffer)
    {
        var values = new T[buffer.Length];
        buffer.CopyTo(values);
        return values;
    }
}

/// <summary>
/// The ground-truth columns of an annotated <see cref="IDataView"/> (<see cref="SegmentationColumns"/>:
/// Label keys, and optionally BoundingBoxes, Masks, Keypoints, IsCrowd, Area), read row by row into
/// checked <see cref="GroundTruthObject"/>s. The trainer (annotated data → training set) and the
/// evaluation catalog (scored data → COCO ground truth) both read them here, so they accept and
/// refuse the same rows with the same messages.
/// </summary>
internal sealed class GroundTruthColumns
{
    private readonly DataViewSchema.Column _label;
    private readonly DataViewSchema.Column? _boxes, _masks, _keypoints, _crowd, _area;
    private readonly int _classCount;
    private readonly KeypointLayout _layout;
    private readonly bool _emptyMaskIsNone;

    /// <param name="label">Vector of UInt32 keys, one per object (type-checked by the caller).</param>
    /// <param name="classCount">N: valid keys are 1..N.</param>
    /// <param name="boxes">x0, y0, x1, y1 per object, or null (then a mask gives the box).</param>
    /// <param name="masks">One COCO RLE string per object, or null.</param>
    /// <param name="keypoints">x, y, v per keypoint of each object, or null.</param>
    /// <param name="crowd">One flag per object, or null (no crowds).</param>
    /// <param name="area">One area per object, or null (derived, see <see cref="GroundTruthObject.ToCoco"/>).</param>
    /// <param name="layout">The keypoint count, shared with predicted keypoints.</param>
    /// <param name="emptyMaskIsNone">An empty mask string is an object without a mask (a training set may
    /// mix box-only objects in); otherwise it is refused (the mask evaluation needs every mask).</param>
    public GroundTruthColumns(DataViewSchema.Column label, int classCount, DataViewSchema.Column? boxes, DataViewSchema.Column? masks,
        DataViewSchema.Column? keypoints, DataViewSchema.Column? crowd, DataViewSchema.Column? area, KeypointLayout layout,
        bool emptyMaskIsNone = false)
    {
        (_label, _classCount, _boxes, _masks, _keypoints, _crowd, _area, _layout) = (label, classCount, boxes, masks, keypoints, crowd, area, layout);
        _emptyMaskIsNone = emptyMaskIsNone;
    }

    /// <summary>The columns a cursor must activate.</summary>
    public IEnumerable<DataViewSchema.Column> Columns =>
        new[] { _label, _boxes, _masks, _keypoints, _crowd, _area }.Where(c => c is not null).Select(c => c!.Value);

    /// <summary>A reader of the current row of <paramref name="cursor"/>.</summary>
    public RowReader Bind(DataViewRowCursor cursor) => new(this, cursor);

    /// <summary>Reads the ground truth of a cursor's current row.</summary>
    public sealed class RowReader
    {
        private readonly GroundTruthColumns _c;
        private readonly ValueGetter<VBuffer<uint>> _label;
        private readonly ValueGetter<VBuffer<float>>? _boxes, _keypoints;
        private readonly ValueGetter<VBuffer<ReadOnlyMemory<char>>>? _masks;
        private readonly ValueGetter<VBuffer<bool>>? _crowd;
        private readonly ValueGetter<VBuffer<double>>? _area;
        private VBuffer<uint> _keyBuffer;
        private VBuffer<float> _floatBuffer;
        private VBuffer<ReadOnlyMemory<char>> _textBuffer;
        private VBuffer<bool> _boolBuffer;
        private VBuffer<double> _doubleBuffer;

        internal RowReader(GroundTruthColumns columns, DataViewRowCursor cursor)
        {
            _c = columns;
            _label = cursor.GetGetter<VBuffer<uint>>(columns._label);
            _boxes = columns._boxes is { } b ? cursor.GetGetter<VBuffer<float>>(b) : null;
            _masks = columns._masks is { } m ? cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(m) : null;
            _keypoints = columns._keypoints is { } k ? cursor.GetGetter<VBuffer<float>>(k) : null;
            _crowd = columns._crowd is { } c ? cursor.GetGetter<VBuffer<bool>>(c) : null;
            _area = columns._area is { } a ? cursor.GetGetter<VBuffer<double>>(a) : null;
        }

        /// <summary>The objects of the current row, for an image of <paramref name="height"/> × <paramref name="width"/>
        /// (the size masks are decoded at); <paramref name="where"/> names the row in messages.</summary>
        public GroundTruthObject[] Read(string where, int height, int width)
        {
            var c = _c;
            _label(ref _keyBuffer);
            var keys = ColumnChecks.Keys(_keyBuffer, c._label, where, "object", c._classCount);
            int n = keys.Length;
            float[]? b = null, kp = null; string[]? m = null; bool[]? cr = null; double[]? ar = null;
            if (_boxes is not null)
            {
                _boxes(ref _floatBuffer);
                b = ColumnChecks.Dense(_floatBuffer);
                ColumnChecks.CheckLength(c._boxes!.Value, where, b.Length, n, 4, "x0, y0, x1, y1", c._label, "object");
            }
            if (_masks is not null)
            {
                _masks(ref _textBuffer);
                m = ColumnChecks.Dense(_textBuffer).Select(t => t.ToString()).ToArray();
                ColumnChecks.CheckLength(c._masks!.Value, where, m.Length, n, 1, "mask", c._label, "object");
            }
            if (_keypoints is not null)
            {
                _keypoints(ref _floatBuffer);
                kp = ColumnChecks.Dense(_floatBuffer);
                c._layout.CheckLength(c._keypoints!.Value, where, kp.Length, n, "x, y, v", c._label, "object");
            }
            if (_crowd is not null)
            {
                _crowd(ref _boolBuffer);
                cr = ColumnChecks.Dense(_boolBuffer);
                ColumnChecks.CheckLength(c._crowd!.Value, where, cr.Length, n, 1, "flag", c._label, "object");
            }
            if (_area is not null)
            {
                _area(ref _doubleBuffer);
                ar = ColumnChecks.Dense(_doubleBuffer);
                ColumnChecks.CheckLength(c._area!.Value, where, ar.Length, n, 1, "area", c._label, "object");
            }
            var objects = new GroundTruthObject[n];
            for (int j = 0; j < n; j++) objects[j] = c.ReadObject(where, j, (int)keys[j], b, m, kp, cr, ar, height, width);
            return objects;
        }
    }

    private GroundTruthObject ReadObject(string where, int j, int key, float[]? b, string[]? m, float[]? kp, bool[]? cr, double[]? ar, int h, int w)
    {
        double[]? bbox = null;
        if (b is not null)
        {
            var box = b.AsSpan(4 * j, 4);
            ColumnChecks.CheckBox(_boxes!.Value, where, "object", j, box);
            // float corners widened exactly; the width is exact too (the difference of two floats fits a double).
            bbox = [box[0], box[1], (double)box[2] - box[0], (double)box[3] - box[1]];
        }
        Rle? mask = m is null || (_emptyMaskIsNone && m[j].Length == 0) ? null : ColumnChecks.DecodeMask(_masks!.Value, where, "object", j, m[j], h, w);
        bbox ??= mask?.ToBbox();
        double? area = null;
        if (ar is not null)
        {
            area = ar[j];
            if (!(area >= 0) || !double.IsFinite(area.Value))
                throw ColumnChecks.Bad(_area!.Value, where, $"object {j} has area {ar[j]}; areas must be finite and non-negative");
        }
        double[]? keypoints = null;
        int labelled = 0;
        if (kp is not null)
        {
            int k = _layout.Count;
            keypoints = new double[3 * k];
            for (int q = 0; q < k; q++)
            {
                int o = 3 * (j * k + q);
                float x = kp[o], y = kp[o + 1], v = kp[o + 2];
                if (!float.IsFinite(x) || !float.IsFinite(y))
                    throw ColumnChecks.Bad(_keypoints!.Value, where, $"object {j} keypoint {q} is ({x}, {y}); keypoints must be finite");
                if (v is not (0 or 1 or 2))
                    throw ColumnChecks.Bad(_keypoints!.Value, where, $"object {j} keypoint {q} has visibility {v}; it must be 0 (not labelled), 1 (labelled, hidden) or 2 (visible)");
                keypoints[3 * q] = x;
                keypoints[3 * q + 1] = y;
                keypoints[3 * q + 2] = v;
                if (v > 0) labelled++;
            }
        }
        return new GroundTruthObject(key, bbox, area, cr?[j] ?? false, mask, keypoints, labelled);
    }
}
