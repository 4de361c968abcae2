using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Data.Coco;
using MLNetSeg.Data.Loading;

namespace MLNetSeg.Transforms;

/// <summary>
/// A COCO annotation file as an <see cref="IDataView"/>: one row per image, in the file's image
/// order (see <see cref="SegmentationDataCatalogExtensions.LoadFromCoco"/> for the columns). The
/// json is parsed and validated once, up front, by <see cref="CocoDataset"/> and
/// <see cref="DetectionDataset"/> (categories, keypoint schema, image filter); every column value is
/// built when a cursor reads it, masks included, and no image file is ever opened.
/// </summary>
internal sealed class CocoDataView : IDataView
{
    private enum Column { ImagePath, ImageId, Width, Height, Label, BoundingBoxes, Masks, Keypoints, IsCrowd, Area }

    private readonly string _source;
    private readonly string _imageFolder;
    private readonly CocoImage[] _images;
    private readonly int[] _objectStart; // row r's objects are _objects[_objectStart[r] .. _objectStart[r + 1])
    private readonly CocoAnnotation[] _objects;
    private readonly int _keypointCount;
    private readonly Column[] _columns;
    private long _masksRasterised;

    public CocoDataView(DetectionDataset dataset, string imageFolder)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(imageFolder);
        var coco = dataset.Coco;
        var options = dataset.Options;
        _source = coco.Source;
        _imageFolder = Path.GetFullPath(imageFolder);

        // The dataset decides which images stay (its RemoveImagesWithoutAnnotations rule); the rows
        // keep the file's order rather than the dataset's ascending-id order.
        HashSet<long>? kept = null;
        if (options.RemoveImagesWithoutAnnotations)
        {
            kept = new HashSet<long>(dataset.Count);
            for (int i = 0; i < dataset.Count; i++) kept.Add(dataset.ImageInfo(i).Id);
        }
        _images = coco.Images.Where(i => kept is null || kept.Contains(i.Id)).ToArray();

        // Objects per row in file order (pycocotools' imgToAnns order, as DetectionDataset).
        var rowOfImage = new Dictionary<long, int>(_images.Length);
        for (int r = 0; r < _images.Length; r++) rowOfImage[_images[r].Id] = r;
        var counts = new int[_images.Length + 1];
        foreach (var ann in coco.Annotations)
        {
            if (Keep(ann, options) && rowOfImage.TryGetValue(ann.ImageId, out int r)) counts[r + 1]++;
        }
        for (int r = 0; r < _images.Length; r++) counts[r + 1] += counts[r];
        _objectStart = counts;
        _objects = new CocoAnnotation[counts[^1]];
        var next = counts[..^1];
        foreach (var ann in coco.Annotations)
        {
            if (Keep(ann, options) && rowOfImage.TryGetValue(ann.ImageId, out int r)) _objects[next[r]++] = ann;
        }

        Categories = dataset.Categories;
        _keypointCount = dataset.KeypointsPerInstance ?? 0;
        HasMasks = options.LoadMasks && coco.Annotations.Any(a => a.Segmentation is not null);
        (Schema, _columns) = BuildSchema(Categories, HasMasks, dataset.KeypointSchema?.Names);
    }

    public DataViewSchema Schema { get; }

    /// <summary>Random-free: the rows come in the file's order.</summary>
    public bool CanShuffle => false;

    /// <summary>The label ↔ category mapping behind the <see cref="SegmentationColumns.Label"/> keys.</summary>
    public CategoryMapping Categories { get; }

    public bool HasMasks { get; }

    /// <summary>How many object masks cursors have rasterised so far (tests check the Masks column's laziness with it).</summary>
    internal long MasksRasterised => Interlocked.Read(ref _masksRasterised);

    public long? GetRowCount() => _images.Length;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded);

    /// <summary>One cursor whatever <paramref name="n"/> is (allowed by the <see cref="IDataView"/> contract).</summary>
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [new Cursor(this, columnsNeeded)];

    private static bool Keep(CocoAnnotation ann, DetectionDatasetOptions options) => options.KeepCrowd || !ann.IsCrowd;

    private static (DataViewSchema, Column[]) BuildSchema(CategoryMapping categories, bool masks, IReadOnlyList<string>? keypointNames)
    {
        var builder = new DataViewSchema.Builder();
        var columns = new List<Column>();
        void Add(Column c, string name, DataViewType type, DataViewSchema.Annotations? annotations = null)
        {
            builder.AddColumn(name, type, annotations);
            columns.Add(c);
        }

        Add(Column.ImagePath, SegmentationColumns.ImagePath, TextDataViewType.Instance);
        Add(Column.ImageId, SegmentationColumns.ImageId, NumberDataViewType.Int64);
        Add(Column.Width, SegmentationColumns.Width, NumberDataViewType.Int32);
        Add(Column.Height, SegmentationColumns.Height, NumberDataViewType.Int32);
        // A key type needs at least one value: a file without categories (e.g. COCO's image_info
        // test files, for inference) has no Label column.
        if (categories.Count > 0)
        {
            Add(Column.Label, SegmentationColumns.Label,
                new VectorDataViewType(new KeyDataViewType(typeof(uint), categories.Count)),
                TextVectorAnnotation("KeyValues", categories.Names));
        }
        Add(Column.BoundingBoxes, SegmentationColumns.BoundingBoxes, new VectorDataViewType(NumberDataViewType.Single));
        if (masks) Add(Column.Masks, SegmentationColumns.Masks, new VectorDataViewType(TextDataViewType.Instance));
        if (keypointNames is not null)
        {
            Add(Column.Keypoints, SegmentationColumns.Keypoints, new VectorDataViewType(NumberDataViewType.Single),
                TextVectorAnnotation(SegmentationColumns.KeypointNamesAnnotation, keypointNames));
        }
        Add(Column.IsCrowd, SegmentationColumns.IsCrowd, new VectorDataViewType(BooleanDataViewType.Instance));
        Add(Column.Area, SegmentationColumns.Area, new VectorDataViewType(NumberDataViewType.Double));
        return (builder.ToSchema(), columns.ToArray());
    }

    /// <summary>A <c>Vector&lt;Text&gt;</c> annotation of fixed length.</summary>
    internal static DataViewSchema.Annotations TextVectorAnnotation(string kind, IReadOnlyList<string> values)
    {
        var memories = values.Select(v => v.AsMemory()).ToArray();
        var annotations = new DataViewSchema.Annotations.Builder();
        annotations.Add(kind, new VectorDataViewType(TextDataViewType.Instance, memories.Length),
            (ref VBuffer<ReadOnlyMemory<char>> value) =>
            {
                var editor = VBufferEditor.Create(ref value, memories.Length);
                memories.CopyTo(editor.Values);
                value = editor.Commit();
            });
        return annotations.ToAnnotations();
    }

    private string ImagePathOf(CocoImage image) =>
        image.FileName is { } name ? Path.GetFullPath(Path.Combine(_imageFolder, name)) : $"<image {image.Id} has no file_name>";

    private BadSampleException AnnotationError(int row, CocoAnnotation ann, string problem, Exception? inner = null)
    {
        var image = _images[row];
        string path = ImagePathOf(image);
        return new BadSampleException($"{_source}: annotation {ann.Id} (image {image.Id}, {path}): {problem}", row, image.Id, path, ann.Id, inner);
    }

    private string MaskOf(int row, CocoAnnotation ann)
    {
        var image = _images[row];
        if (ann.Segmentation is not { } segmentation)
            throw AnnotationError(row, ann, "has no 'segmentation', so the Masks column has no value for it (LoadMasks = false drops the column)");
        Interlocked.Increment(ref _masksRasterised);
        try
        {
            // CocoDataset has checked that RLE sizes match the image; polygons are rasterised at its size.
            return MaskEncoding.Encode(segmentation.ToRle(image.Height, image.Width));
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
        {
            throw AnnotationError(row, ann, $"'segmentation' cannot be rasterised: {e.Message}", e);
        }
    }

    private sealed class Cursor : IndexedRowCursor
    {
        private readonly CocoDataView _view;
        private int _maskRow = -1;
        private ReadOnlyMemory<char>[] _masks = [];

        public Cursor(CocoDataView view, IEnumerable<DataViewSchema.Column> columnsNeeded)
            : base(view.Schema, columnsNeeded, view._images.Length, $"COCO data view of {view._source}") => _view = view;

        private CocoImage Image => _view._images[Row];

        private ReadOnlySpan<CocoAnnotation> Objects
        {
            get
            {
                int row = Row;
                return _view._objects.AsSpan(_view._objectStart[row], _view._objectStart[row + 1] - _view._objectStart[row]);
            }
        }

        protected override Delegate MakeGetter(int columnIndex) => _view._columns[columnIndex] switch
        {
            Column.ImagePath => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> value) =>
                value = (Image.FileName is null
                    ? throw new CocoFormatException($"{_view._source}: image {Image.Id} has no 'file_name', so the ImagePath column has no value for it")
                    : _view.ImagePathOf(Image)).AsMemory()),
            Column.ImageId => (ValueGetter<long>)((ref long value) => value = Image.Id),
            Column.Width => (ValueGetter<int>)((ref int value) => value = Image.Width),
            Column.Height => (ValueGetter<int>)((ref int value) => value = Image.Height),
            Column.Label => (ValueGetter<VBuffer<uint>>)((ref VBuffer<uint> value) =>
            {
                var objects = Objects;
                var editor = VBufferEditor.Create(ref value, objects.Length);
                // Key k (1-based) is label k of the CategoryMapping; CocoDataset has checked every category id exists.
                for (int i = 0; i < objects.Length; i++) editor.Values[i] = (uint)_view.Categories.LabelOf(objects[i].CategoryId);
                value = editor.Commit();
            }),
            Column.BoundingBoxes => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
            {
                var objects = Objects;
                var editor = VBufferEditor.Create(ref value, 4 * objects.Length);
                for (int i = 0; i < objects.Length; i++)
                {
                    if (objects[i].Bbox is not { } b) throw _view.AnnotationError(Row, objects[i], "has no 'bbox', so the BoundingBoxes column has no value for it");
                    // float32 as DetectionDataset: x1 = (float)x + (float)w (no clipping, no dropping here).
                    float x = (float)b[0], y = (float)b[1];
                    editor.Values[4 * i] = x;
                    editor.Values[4 * i + 1] = y;
                    editor.Values[4 * i + 2] = x + (float)b[2];
                    editor.Values[4 * i + 3] = y + (float)b[3];
                }
                value = editor.Commit();
            }),
            Column.Masks => (ValueGetter<VBuffer<ReadOnlyMemory<char>>>)((ref VBuffer<ReadOnlyMemory<char>> value) =>
            {
                var masks = MasksOfRow();
                var editor = VBufferEditor.Create(ref value, masks.Length);
                masks.CopyTo(editor.Values);
                value = editor.Commit();
            }),
            Column.Keypoints => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
            {
                var objects = Objects;
                int k3 = 3 * _view._keypointCount;
                var editor = VBufferEditor.Create(ref value, k3 * objects.Length);
                for (int i = 0; i < objects.Length; i++)
                {
                    var target = editor.Values.Slice(k3 * i, k3);
                    // Objects without keypoints get K unlabelled (0, 0, 0), as DetectionDataset gives them.
                    if (objects[i].Keypoints is { } kp) for (int j = 0; j < k3; j++) target[j] = (float)kp[j];
                    else target.Clear();
                }
                value = editor.Commit();
            }),
            Column.IsCrowd => (ValueGetter<VBuffer<bool>>)((ref VBuffer<bool> value) =>
            {
                var objects = Objects;
                var editor = VBufferEditor.Create(ref value, objects.Length);
                for (int i = 0; i < objects.Length; i++) editor.Values[i] = objects[i].IsCrowd;
                value = editor.Commit();
            }),
            Column.Area => (ValueGetter<VBuffer<double>>)((ref VBuffer<double> value) =>
            {
                var objects = Objects;
                var editor = VBufferEditor.Create(ref value, objects.Length);
                for (int i = 0; i < objects.Length; i++) editor.Values[i] = objects[i].Area ?? double.NaN;
                value = editor.Commit();
            }),
            var c => throw new InvalidOperationException($"no getter for {c}"),
        };

        // Several reads of one row (ML.NET may call a getter more than once) rasterise once.
        private ReadOnlyMemory<char>[] MasksOfRow()
        {
            int row = Row;
            if (_maskRow != row)
            {
                var objects = Objects;
                var masks = new ReadOnlyMemory<char>[objects.Length];
                for (int i = 0; i < objects.Length; i++) masks[i] = _view.MaskOf(row, objects[i]).AsMemory();
                _masks = masks;
                _maskRow = row;
            }
            return _masks;
        }
    }
}
