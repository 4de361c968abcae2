using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Data.Coco;
using MLNetSeg.Data.Semantic;
using MLNetSeg.Evaluation;
using MLNetSeg.Transforms.Data;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Transforms;

/// <summary>The column names the evaluation reads; null means "do not use this column".</summary>
internal sealed record ScoredColumnNames(
    string? Label, string? BoundingBoxes, string? Masks, string? Keypoints, string? IsCrowd, string? Area,
    string? Width, string? Height, string? ImageId, string? SemanticLabels,
    string? PredictedLabel, string? Score, string? PredictedBoundingBoxes, string? PredictedMasks,
    string? PredictedKeypoints, string? PredictedSemanticLabels);

/// <summary>
/// Turns a scored <see cref="IDataView"/> into what <see cref="SegmentationEvaluator"/> takes: an
/// in-memory COCO ground truth (images = rows, categories = the Label keys), one
/// <see cref="SegmentationResult"/> per row, and the semantic ground truth; then runs the engine.
/// One cursor pass over the columns the tasks need; every problem names the column and the row.
/// </summary>
internal sealed class ScoredDataReader
{
    private const SegmentationTasks InstanceTasks = SegmentationTasks.Boxes | SegmentationTasks.Masks | SegmentationTasks.Keypoints;
    private const string Source = "the scored data";

    private readonly IDataView _data;
    private readonly ScoredColumnNames _names;
    private readonly SegmentationEvaluationOptions _options;
    private readonly List<string> _warnings = [];

    // Resolved columns (null: absent or not read).
    private DataViewSchema.Column? _label, _boxes, _masks, _keypoints, _crowd, _area, _width, _height, _imageId, _semanticLabels;
    private DataViewSchema.Column? _predLabel, _score, _predBoxes, _predMasks, _predKeypoints, _predSemantic;

    private SegmentationTasks _tasks;
    private bool _derivedSemantic;
    private int _classCount;               // N: keys 1..N of the Label column
    private string[] _classNames = [];     // N names, entry k − 1 for key k
    private readonly KeypointLayout _layout = new();   // K, shared by the ground-truth and predicted keypoints
    private string[]? _keypointNames;

    private ScoredDataReader(IDataView data, ScoredColumnNames names, SegmentationEvaluationOptions options)
    {
        _data = data;
        _names = names;
        _options = options;
    }

    public static SegmentationMetrics Evaluate(IDataView data, ScoredColumnNames names, SegmentationTasks? tasks, SegmentationEvaluationOptions? options)
    {
        ArgumentNullException.ThrowIfNull(data);
        var reader = new ScoredDataReader(data, names, options ?? new SegmentationEvaluationOptions());
        reader.Plan(tasks);
        var rows = reader.ReadRows();
        return reader.Run(rows);
    }

    // ---- planning: which tasks, which columns, of which types ---------------------------------

    private DataViewSchema.Column? Find(string? name) => name is null ? null : _data.Schema.GetColumnOrNull(name);

    private string ColumnList => string.Join(", ", _data.Schema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}'"));

    private DataViewSchema.Column Need(string? name, string parameter, string role, string purpose)
    {
        if (name is null)
            throw new ArgumentException($"{purpose} needs the {role} column, but {parameter} is null", parameter);
        return Find(name) ?? throw new ArgumentException(
            $"{purpose} needs the {role} column '{name}', which the data does not have (its columns: {ColumnList}); " +
            $"name it with {parameter}, or choose the tasks to evaluate", "data");
    }

    private static void CheckType(DataViewSchema.Column column, bool ok, string expected)
    {
        if (!ok) throw new ArgumentException($"column '{column.Name}' is {column.Type}, but it must be {expected}", "data");
    }

    private static bool IsVectorOf(DataViewType t, DataViewType item) => t is VectorDataViewType v && v.ItemType.Equals(item);

    private static bool IsKeyVector(DataViewType t) => t is VectorDataViewType { ItemType: KeyDataViewType k } && k.RawType == typeof(uint);

    private void Plan(SegmentationTasks? requested)
    {
        _predBoxes = Find(_names.PredictedBoundingBoxes);
        _predMasks = Find(_names.PredictedMasks);
        _predKeypoints = Find(_names.PredictedKeypoints);
        _predSemantic = Find(_names.PredictedSemanticLabels);
        if (requested is { } t)
        {
            const SegmentationTasks known = InstanceTasks | SegmentationTasks.Semantic | SegmentationTasks.Panoptic;
            if (t == SegmentationTasks.None) throw new ArgumentException("no task to evaluate (tasks is None)", "tasks");
            if ((t & ~known) != 0) throw new ArgumentException($"unknown task flags {(int)(t & ~known)}", "tasks");
            if ((t & SegmentationTasks.Panoptic) != 0)
                throw new ArgumentException("Panoptic cannot be evaluated from columns: the column contract (SegmentationColumns) has no panoptic prediction column", "tasks");
            _tasks = t;
        }
        else
        {
            _tasks = (_predBoxes is null ? 0 : SegmentationTasks.Boxes) | (_predMasks is null ? 0 : SegmentationTasks.Masks)
                   | (_predKeypoints is null ? 0 : SegmentationTasks.Keypoints) | (_predSemantic is null ? 0 : SegmentationTasks.Semantic);
            if (_tasks == SegmentationTasks.None)
                throw new ArgumentException(
                    $"the data has none of the prediction columns {string.Join(", ", new[] { _names.PredictedBoundingBoxes, _names.PredictedMasks, _names.PredictedKeypoints, _names.PredictedSemanticLabels }.Where(n => n is not null).Select(n => $"'{n}'"))}, " +
                    $"so there is nothing to evaluate (its columns: {ColumnList})", "data");
        }

        // Only the tasks' prediction columns are read (set again below).
        _predBoxes = _predMasks = _predKeypoints = _predSemantic = null;
        bool boxes = (_tasks & SegmentationTasks.Boxes) != 0, masks = (_tasks & SegmentationTasks.Masks) != 0;
        bool keypoints = (_tasks & SegmentationTasks.Keypoints) != 0, semantic = (_tasks & SegmentationTasks.Semantic) != 0;
        bool instances = (_tasks & InstanceTasks) != 0;
        _width = Find(_names.Width);
        _height = Find(_names.Height);
        _imageId = Find(_names.ImageId);
        if (_width is { } w) CheckType(w, w.Type.Equals(NumberDataViewType.Int32), "Int32 (the image width in pixels)");
        if (_height is { } h) CheckType(h, h.Type.Equals(NumberDataViewType.Int32), "Int32 (the image height in pixels)");
        if (_imageId is { } id) CheckType(id, id.Type.Equals(NumberDataViewType.Int64), "Int64 (the COCO image id)");

        if (semantic)
        {
            _predSemantic = Need(_names.PredictedSemanticLabels, "predictedSemanticLabelsColumnName", "predicted label map", "the Semantic evaluation");
            CheckType(_predSemantic.Value, IsVectorOf(_predSemantic.Value.Type, NumberDataViewType.UInt16), "Vector<UInt16> (the predicted class per pixel, Height·Width, row-major)");
            _semanticLabels = Find(_names.SemanticLabels);
            if (_semanticLabels is { } s) CheckType(s, s.Type is TextDataViewType, "Text (the path of a PNG label map)");
            _derivedSemantic = _semanticLabels is null;
            if (_derivedSemantic)
            {
                // Without label maps the semantic ground truth is painted from the instance masks, as SegmentationEvaluator does from COCO.
                const string purpose = "the Semantic evaluation without a label-map column (ground truth painted from the instance masks)";
                if (_names.SemanticLabels is not null && (Find(_names.Masks) is null || Find(_names.Label) is null))
                    Need(_names.SemanticLabels, "semanticLabelsColumnName", "ground-truth label map", "the Semantic evaluation");
                _label = Need(_names.Label, "labelColumnName", "ground-truth label", purpose);
                _masks = Need(_names.Masks, "maskColumnName", "ground-truth mask", purpose);
                _width = Need(_names.Width, "widthColumnName", "image width", purpose);
                _height = Need(_names.Height, "heightColumnName", "image height", purpose);
            }
        }

        if (instances)
        {
            string purpose = $"the {_tasks & InstanceTasks} evaluation";
            _label = Need(_names.Label, "labelColumnName", "ground-truth label", purpose);
            _predLabel = Need(_names.PredictedLabel, "predictedLabelColumnName", "predicted label", purpose);
            _score = Need(_names.Score, "scoreColumnName", "score", purpose);
            CheckType(_predLabel.Value, IsKeyVector(_predLabel.Value.Type), "Vector<Key<UInt32>> (one key per detection, as the Label column)");
            CheckType(_score.Value, IsVectorOf(_score.Value.Type, NumberDataViewType.Single), "Vector<Single> (one score per detection)");
            if (boxes)
            {
                _boxes = Need(_names.BoundingBoxes, "boundingBoxColumnName", "ground-truth box", "the Boxes evaluation");
                _predBoxes = Need(_names.PredictedBoundingBoxes, "predictedBoundingBoxColumnName", "predicted box", "the Boxes evaluation");
            }
            if (masks)
            {
                _masks = Need(_names.Masks, "maskColumnName", "ground-truth mask", "the Masks evaluation");
                _predMasks = Need(_names.PredictedMasks, "predictedMaskColumnName", "predicted mask", "the Masks evaluation");
            }
            if (keypoints)
            {
                _keypoints = Need(_names.Keypoints, "keypointColumnName", "ground-truth keypoint", "the Keypoints evaluation");
                _predKeypoints = Need(_names.PredictedKeypoints, "predictedKeypointColumnName", "predicted keypoint", "the Keypoints evaluation");
                // OKS needs each ground-truth object's box (its region when no keypoint is labelled): the box column, or the mask's box.
                _boxes ??= Find(_names.BoundingBoxes);
                if (_boxes is null)
                    _masks ??= Find(_names.Masks) ?? throw new ArgumentException(
                        $"the Keypoints evaluation needs the ground-truth boxes: column '{_names.BoundingBoxes}' or, to take the boxes of the masks, '{_names.Masks}'; the data has neither (its columns: {ColumnList})", "data");
            }
            _crowd = Find(_names.IsCrowd);
            _area = Find(_names.Area);
            // Without an Area column the area is the mask's (COCO's definition) when masks can be read.
            if (_area is null && _masks is null && Find(_names.Masks) is { } m && _width is not null && _height is not null) _masks = m;
        }
        if ((_masks ?? _predMasks) is { } maskColumn && (_width is null || _height is null))
        {
            string purpose = $"decoding the masks of column '{maskColumn.Name}' (RLE strings at Height × Width)";
            _width = Need(_names.Width, "widthColumnName", "image width", purpose);
            _height = Need(_names.Height, "heightColumnName", "image height", purpose);
        }
        if (_derivedSemantic) _crowd ??= Find(_names.IsCrowd);

        if (_label is { } label) CheckType(label, IsKeyVector(label.Type), "Vector<Key<UInt32>> (one key per object, with the class names as KeyValues)");
        if (_boxes is { } b) CheckType(b, IsVectorOf(b.Type, NumberDataViewType.Single), "Vector<Single> (x0, y0, x1, y1 per object)");
        if (_predBoxes is { } pb) CheckType(pb, IsVectorOf(pb.Type, NumberDataViewType.Single), "Vector<Single> (x0, y0, x1, y1 per detection)");
        if (_masks is { } mk) CheckType(mk, IsVectorOf(mk.Type, TextDataViewType.Instance), "Vector<Text> (a COCO compressed RLE string per object)");
        if (_predMasks is { } pm) CheckType(pm, IsVectorOf(pm.Type, TextDataViewType.Instance), "Vector<Text> (a COCO compressed RLE string per detection)");
        if (_keypoints is { } k) CheckType(k, IsVectorOf(k.Type, NumberDataViewType.Single), "Vector<Single> (x, y, v per keypoint, 3·K per object)");
        if (_predKeypoints is { } pk) CheckType(pk, IsVectorOf(pk.Type, NumberDataViewType.Single), "Vector<Single> (x, y, score per keypoint, 3·K per detection)");
        if (_crowd is { } c) CheckType(c, IsVectorOf(c.Type, BooleanDataViewType.Instance), "Vector<Boolean> (COCO's iscrowd per object)");
        if (_area is { } a) CheckType(a, IsVectorOf(a.Type, NumberDataViewType.Double), "Vector<Double> (COCO's area per object)");

        if (_label is { } l) ResolveClasses(l);
        else if (semantic && !_derivedSemantic && _options.ClassNames is null && Find(_names.Label) is { } namesOnly && IsKeyVector(namesOnly.Type))
            _classNames = KeyNames(namesOnly) ?? []; // label maps from paths: only the Label column's class names are used, not its values
        if (_keypoints is { } kc) ResolveKeypointNames(kc);
    }

    private void ResolveClasses(DataViewSchema.Column label)
    {
        var key = (KeyDataViewType)((VectorDataViewType)label.Type).ItemType;
        if (key.Count > int.MaxValue) throw new ArgumentException($"column '{label.Name}' has {key.Count} keys; at most {int.MaxValue} classes are supported", "data");
        _classCount = (int)key.Count;
        var names = KeyNames(label);
        _classNames = names ?? Enumerable.Range(1, _classCount).Select(k => k.ToString(CultureInfo.InvariantCulture)).ToArray();
        if (_predLabel is not { } pred) return;
        var predKey = (KeyDataViewType)((VectorDataViewType)pred.Type).ItemType;
        if (predKey.Count != key.Count)
            throw new ArgumentException(
                $"column '{pred.Name}' has {predKey.Count} keys but column '{label.Name}' has {key.Count}; predicted and ground-truth keys must name the same classes", "data");
        if (names is not null && KeyNames(pred) is { } predNames)
        {
            for (int i = 0; i < names.Length; i++)
            {
                if (!string.Equals(names[i], predNames[i], StringComparison.Ordinal))
                    throw new ArgumentException(
                        $"key {i + 1} is '{predNames[i]}' in column '{pred.Name}' but '{names[i]}' in column '{label.Name}'; predicted and ground-truth keys must name the same classes in the same order", "data");
            }
        }
    }

    /// <summary>The KeyValues annotation as strings, or null when the column has none.</summary>
    private static string[]? KeyNames(DataViewSchema.Column column)
    {
        if (!column.HasKeyValues(TextDataViewType.Instance)) return null;
        VBuffer<ReadOnlyMemory<char>> values = default;
        column.GetKeyValues(ref values);
        var names = values.DenseValues().Select(v => v.ToString()).ToArray();
        ulong count = ((KeyDataViewType)((VectorDataViewType)column.Type).ItemType).Count;
        if ((ulong)names.Length != count)
            throw new ArgumentException($"column '{column.Name}': its KeyValues annotation has {names.Length} names for {count} keys", "data");
        return names;
    }

    private void ResolveKeypointNames(DataViewSchema.Column column)
    {
        var annotation = column.Annotations.Schema.GetColumnOrNull(SegmentationColumns.KeypointNamesAnnotation);
        if (annotation is not { } a) return;
        if (!IsVectorOf(a.Type, TextDataViewType.Instance))
            throw new ArgumentException($"column '{column.Name}': its {SegmentationColumns.KeypointNamesAnnotation} annotation is {a.Type}, but it must be Vector<Text>", "data");
        VBuffer<ReadOnlyMemory<char>> values = default;
        column.Annotations.GetValue(SegmentationColumns.KeypointNamesAnnotation, ref values);
        _keypointNames = values.DenseValues().Select(v => v.ToString()).ToArray();
        if (_keypointNames.Length == 0)
            throw new ArgumentException($"column '{column.Name}': its {SegmentationColumns.KeypointNamesAnnotation} annotation is empty", "data");
        _layout.Count = _keypointNames.Length;
    }

    // ---- the cursor pass -----------------------------------------------------------------------

    private sealed class Rows
    {
        public List<CocoImage> Images { get; } = [];
        public List<long> ImageIds { get; } = [];
        public List<(long ImageId, GroundTruthObject Object)> Objects { get; } = [];
        public List<Instances> Predictions { get; } = [];
        public List<SemanticLabelMap> SemanticPredictions { get; } = [];
        public List<string> SemanticPaths { get; } = [];
    }

    private string Where(int row, long imageId) =>
        _imageId is null ? $"row {row}" : $"row {row} (ImageId {imageId.ToString(CultureInfo.InvariantCulture)})";

    private Rows ReadRows()
    {
        var columns = new[] { _label, _boxes, _masks, _keypoints, _crowd, _area, _width, _height, _imageId, _semanticLabels,
                              _predLabel, _score, _predBoxes, _predMasks, _predKeypoints, _predSemantic }
            .Where(c => c is not null).Select(c => c!.Value).DistinctBy(c => c.Index).ToArray();
        var rows = new Rows();
        var rowById = new Dictionary<long, int>();
        bool instances = (_tasks & InstanceTasks) != 0;
        using var cursor = _data.GetRowCursor(columns);
        var groundTruth = _label is { } labelColumn
            ? new GroundTruthColumns(labelColumn, _classCount, _boxes, _masks, _keypoints, _crowd, _area, _layout).Bind(cursor)
            : null;
        var width = Getter<int>(cursor, _width);
        var height = Getter<int>(cursor, _height);
        var imageId = Getter<long>(cursor, _imageId);
        var semanticPath = Getter<ReadOnlyMemory<char>>(cursor, _semanticLabels);
        var predLabel = Getter<VBuffer<uint>>(cursor, _predLabel);
        var score = Getter<VBuffer<float>>(cursor, _score);
        var predBoxes = Getter<VBuffer<float>>(cursor, _predBoxes);
        var predMasks = Getter<VBuffer<ReadOnlyMemory<char>>>(cursor, _predMasks);
        var predKeypoints = Getter<VBuffer<float>>(cursor, _predKeypoints);
        var predSemantic = Getter<VBuffer<ushort>>(cursor, _predSemantic);
        VBuffer<uint> keyBuffer = default;
        VBuffer<float> floatBuffer = default;
        VBuffer<ReadOnlyMemory<char>> textBuffer = default;
        VBuffer<ushort> ushortBuffer = default;

        int row = -1;
        while (cursor.MoveNext())
        {
            row++;
            long id = row + 1L;
            if (imageId is not null) imageId(ref id);
            string where = Where(row, id);
            if (!rowById.TryAdd(id, row))
                throw new ArgumentException($"column '{_imageId!.Value.Name}': rows {rowById[id]} and {row} have the same ImageId {id}; give each image one row", "data");
            int w = 0, h = 0;
            if (width is not null) { width(ref w); if (w <= 0) throw ColumnChecks.Bad(_width!.Value, where, $"the image width is {w}; it must be positive"); }
            if (height is not null) { height(ref h); if (h <= 0) throw ColumnChecks.Bad(_height!.Value, where, $"the image height is {h}; it must be positive"); }
            bool sized = width is not null && height is not null;
            rows.ImageIds.Add(id);

            // Ground truth.
            if (groundTruth is not null)
                foreach (var o in groundTruth.Read(where, h, w)) rows.Objects.Add((id, o));

            // Predictions.
            if (instances)
            {
                predLabel!(ref keyBuffer);
                var labels = ColumnChecks.Keys(keyBuffer, _predLabel!.Value, where, "detection", _classCount).Select(k => (int)k).ToArray();
                int n = labels.Length;
                score!(ref floatBuffer);
                var scores = ColumnChecks.Dense(floatBuffer);
                ColumnChecks.CheckLength(_score!.Value, where, scores.Length, n, 1, "score", _predLabel.Value, "detection");
                for (int j = 0; j < n; j++)
                    if (!float.IsFinite(scores[j])) throw ColumnChecks.Bad(_score.Value, where, $"detection {j} has score {scores[j]}; scores must be finite");
                // Segm and keypoint matching never read the boxes, so without the Boxes task they stay zero.
                var xyxy = new float[4 * n];
                if (predBoxes is not null)
                {
                    predBoxes(ref floatBuffer);
                    var pb = ColumnChecks.Dense(floatBuffer);
                    ColumnChecks.CheckLength(_predBoxes!.Value, where, pb.Length, n, 4, "x0, y0, x1, y1", _predLabel.Value, "detection");
                    for (int j = 0; j < n; j++) ColumnChecks.CheckBox(_predBoxes.Value, where, "detection", j, pb.AsSpan(4 * j, 4));
                    xyxy = pb;
                }
                IReadOnlyList<Rle>? rles = null;
                if (predMasks is not null)
                {
                    predMasks(ref textBuffer);
                    var pm = ColumnChecks.Dense(textBuffer);
                    ColumnChecks.CheckLength(_predMasks!.Value, where, pm.Length, n, 1, "mask", _predLabel.Value, "detection");
                    rles = pm.Select((t, j) => ColumnChecks.DecodeMask(_predMasks.Value, where, "detection", j, t.ToString(), h, w)).ToArray();
                }
                Keypoints? kps = null;
                float[]? kpScores = null;
                if (predKeypoints is not null)
                {
                    predKeypoints(ref floatBuffer);
                    var pk = ColumnChecks.Dense(floatBuffer);
                    _layout.CheckLength(_predKeypoints!.Value, where, pk.Length, n, "x, y, score", _predLabel.Value, "detection");
                    int k = _layout.Count;
                    var data = new float[3 * k * n];
                    kpScores = new float[k * n];
                    for (int j = 0; j < n; j++)
                        for (int q = 0; q < k; q++)
                        {
                            int o = 3 * (j * k + q);
                            if (!float.IsFinite(pk[o]) || !float.IsFinite(pk[o + 1]))
                                throw ColumnChecks.Bad(_predKeypoints.Value, where, $"detection {j} keypoint {q} is ({pk[o]}, {pk[o + 1]}); keypoints must be finite");
                            data[o] = pk[o];
                            data[o + 1] = pk[o + 1];
                            data[o + 2] = 1; // a prediction's keypoints are all "labelled"; the third value is its score
                            kpScores[j * k + q] = pk[o + 2];
                        }
                    kps = n == 0 ? null : new Keypoints(n, Math.Max(k, 1), data);
                }
                int ih = sized ? h : 1, iw = sized ? w : 1; // the image size matters only to masks, which need the columns
                rows.Predictions.Add(n == 0
                    ? Instances.Empty(ih, iw)
                    : new Instances(ih, iw, Boxes.FromXyxy(xyxy), labels, scores, rles, kps, kps is null ? null : kpScores));
            }
            rows.Images.Add(new CocoImage { Id = id, Width = sized ? w : 1, Height = sized ? h : 1 });

            if (predSemantic is not null)
            {
                string? path = null;
                if (semanticPath is not null)
                {
                    ReadOnlyMemory<char> text = default;
                    semanticPath(ref text);
                    path = text.ToString();
                    if (string.IsNullOrWhiteSpace(path)) throw ColumnChecks.Bad(_semanticLabels!.Value, where, "the label-map path is empty");
                    rows.SemanticPaths.Add(path);
                }
                predSemantic(ref ushortBuffer);
                int sh = h, sw = w;
                if (!sized)
                {
                    // No size columns: the prediction has the size of its ground-truth map.
                    var truth = ReadLabelMap(path!, row, id);
                    (sh, sw) = (truth.Height, truth.Width);
                }
                if (ushortBuffer.Length != (long)sh * sw)
                    throw ColumnChecks.Bad(_predSemantic!.Value, where, $"{ushortBuffer.Length} labels for a {sh}x{sw} (HxW) image, which needs {(long)sh * sw}");
                var labels = new int[ushortBuffer.Length];
                if (ushortBuffer.IsDense)
                {
                    var values = ushortBuffer.GetValues();
                    for (int i = 0; i < labels.Length; i++) labels[i] = values[i];
                }
                else
                {
                    var values = ColumnChecks.Dense(ushortBuffer);
                    for (int i = 0; i < labels.Length; i++) labels[i] = values[i];
                }
                rows.SemanticPredictions.Add(new SemanticLabelMap(sh, sw, labels));
            }
        }
        if (row < 0) throw new ArgumentException("the data has no rows; there is nothing to evaluate", "data");
        return rows;
    }

    private static ValueGetter<T>? Getter<T>(DataViewRowCursor cursor, DataViewSchema.Column? column) =>
        column is { } c ? cursor.GetGetter<T>(c) : null;

    private SemanticLabelMap ReadLabelMap(string path, int row, long id)
    {
        try
        {
            return SemanticLabelMapPng.Read(path);
        }
        catch (Exception e) when (e is SemanticDatasetException or IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"column '{_semanticLabels!.Value.Name}', {Where(row, id)}: cannot read the label map '{path}': {e.Message}", "data", e);
        }
    }

    // ---- evaluation ---------------------------------------------------------------------------

    private SegmentationMetrics Run(Rows rows)
    {
        var instanceTasks = _tasks & InstanceTasks;
        CocoDataset? coco = _label is null ? null : BuildGroundTruth(rows);
        // Label k is key k and COCO category k (label 0, the background, has no category).
        var labelToCategoryId = Enumerable.Range(0, _classCount + 1).ToArray();

        SegmentationEvaluation? instances = null;
        if (instanceTasks != 0)
        {
            var results = rows.Predictions.Select(p => new SegmentationResult(p)).ToArray();
            instances = SegmentationEvaluator.Evaluate(coco!, results, rows.ImageIds, labelToCategoryId, instanceTasks, _options);
        }

        SegmentationEvaluation? semantic = null;
        if ((_tasks & SegmentationTasks.Semantic) != 0)
        {
            var results = rows.SemanticPredictions.Select(p => new SegmentationResult(null, p)).ToArray();
            if (_derivedSemantic)
            {
                semantic = SegmentationEvaluator.Evaluate(SegmentationGroundTruth.FromCoco(coco!), results, rows.ImageIds, labelToCategoryId,
                    SegmentationTasks.Semantic, _options with { ClassNames = _options.ClassNames ?? ["__background__", .. _classNames] });
            }
            else
            {
                var names = _options.ClassNames ?? (_classNames.Length > 0
                    ? ["__background__", .. _classNames]
                    : throw new ArgumentException(
                        $"the Semantic evaluation needs the class names (how many classes the label maps hold): give SegmentationEvaluationOptions.ClassNames " +
                        $"(the background, label 0, included), or a key-typed '{_names.Label}' column whose KeyValues name labels 1..N", "options"));
                var rowById = new Dictionary<long, int>();
                for (int i = 0; i < rows.ImageIds.Count; i++) rowById[rows.ImageIds[i]] = i;
                var truth = new SegmentationGroundTruth { SemanticMaps = id => ReadLabelMap(rows.SemanticPaths[rowById[id]], rowById[id], id) };
                semantic = SegmentationEvaluator.Evaluate(truth, results, rows.ImageIds, Enumerable.Range(0, names.Count).ToArray(),
                    SegmentationTasks.Semantic, _options with { ClassNames = names });
            }
        }

        var warnings = _warnings.Concat(instances?.Warnings ?? []).Concat(semantic?.Warnings ?? []).ToList();
        var evaluation = new SegmentationEvaluation(instances?.Bbox, instances?.Segm, instances?.Keypoints, semantic?.Semantic, null,
            warnings, instances?.ImageCount ?? semantic?.ImageCount ?? 0);
        return new SegmentationMetrics(evaluation, _classNames);
    }

    /// <summary>The ground truth as a COCO dataset: images = rows, category k = key k, annotations in row then object order (ids 1, 2, …).</summary>
    private CocoDataset BuildGroundTruth(Rows rows)
    {
        // Keypoint categories: those chosen, else those with a labelled keypoint, else all (SegmentationEvaluator's rule).
        HashSet<long> keypointCategories = [];
        if (_keypoints is not null)
        {
            keypointCategories = _options.Coco?.CategoryIds?.ToHashSet()
                ?? rows.Objects.Where(o => o.Object.NumKeypoints > 0).Select(o => (long)o.Object.Key).ToHashSet();
            if (keypointCategories.Count == 0) keypointCategories = Enumerable.Range(1, _classCount).Select(k => (long)k).ToHashSet();
        }
        var keypointNames = _keypoints is null ? null
            : _keypointNames ?? Enumerable.Range(0, Math.Max(_layout.Count, 1)).Select(q => q.ToString(CultureInfo.InvariantCulture)).ToArray();
        var categories = Enumerable.Range(1, _classCount).Select(k => new CocoCategory
        {
            Id = k,
            Name = _classNames[k - 1],
            Keypoints = keypointCategories.Contains(k) ? keypointNames : null,
        }).ToArray();

        if (_area is null && (_tasks & InstanceTasks) != 0)
        {
            _warnings.Add(_masks is not null
                ? $"no '{_names.Area}' column: ground-truth areas (the small / medium / large ranges) are the mask areas, COCO's definition of 'area'"
                : $"no '{_names.Area}' column: ground-truth areas (the small / medium / large ranges) are the box areas (x1 − x0)·(y1 − y0); COCO's are mask areas");
        }
        var annotations = new List<CocoAnnotation>(rows.Objects.Count);
        long nextId = 1;
        foreach (var (imageId, o) in rows.Objects)
            annotations.Add(o.ToCoco(nextId++, imageId, withKeypoints: o.Keypoints is not null && keypointCategories.Contains(o.Key)));
        return new CocoDataset(rows.Images, categories, annotations, Source);
    }
}
