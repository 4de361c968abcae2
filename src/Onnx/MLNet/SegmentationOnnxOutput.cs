using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Onnx;
using MLNetSeg.Onnx.Runtime;
using MLNetSeg.Transforms.Scoring;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Transforms;

/// <summary>
/// Turns the output columns ML.NET's ApplyOnnxModel writes for an exported graph (<see cref="OnnxContract"/>:
/// boxes, scores, labels, masks or heatmaps, one image per row) into the columns MLNetSeg's own
/// transformer writes (PredictedLabel with the class names, Score, PredictedBoundingBoxes,
/// PredictedMasks as COCO RLE, PredictedKeypoints), with the same values: masks are pasted and
/// binarised and keypoints decoded in C#, as the ONNX Runtime predictor does.
/// </summary>
public sealed class SegmentationOnnxOutputTransformer : ITransformer
{
    private readonly IReadOnlyList<(string Name, OutputKind Kind)> _outputs;
    private readonly int _maskSize, _numKeypoints, _heatmapSize, _semanticChannels;

    internal SegmentationOnnxOutputTransformer(OnnxModelInfo info, string modelInfoJson, int maskSize, int numKeypoints, int heatmapSize,
        SegmentationScoringSettings settings, int semanticChannels = 0)
    {
        _semanticChannels = semanticChannels;
        Info = info;
        ModelInfoJson = modelInfoJson;
        Settings = settings;
        _outputs = settings.Columns.For(info.Tasks);
        (_maskSize, _numKeypoints, _heatmapSize) = (maskSize, numKeypoints, heatmapSize);
    }

    /// <summary>The exported model's family, classes and outputs.</summary>
    public OnnxModelInfo Info { get; }

    /// <summary>Column names and the score threshold (BatchSize does not apply: ApplyOnnxModel runs row by row).</summary>
    public SegmentationScoringSettings Settings { get; }

    /// <summary>The export's model-file header (its <see cref="OnnxContract.ModelInfoKey"/> metadata), kept for saving.</summary>
    internal string ModelInfoJson { get; }

    internal int MaskSize => _maskSize;
    internal int NumKeypoints => _numKeypoints;
    internal int HeatmapSize => _heatmapSize;

    /// <summary>One image's ONNX outputs (ApplyOnnxModel's columns for one row) as MLNetSeg's prediction values.</summary>
    internal ScoredRow Decode(float[] boxes, float[] scores, long[] labels, long[] resizedSizes, long[] imageSizes,
        float[]? masks, float[]? heatmaps, float[]? networkBoxes, float[]? semanticScores = null, float[]? maskBoxes = null, long[]? maskSides = null)
    {
        if (imageSizes.Length != 2) throw new InvalidDataException($"'{OnnxContract.ImageSizes}' holds {imageSizes.Length} values, expected (height, width)");
        if (resizedSizes.Length != 2) throw new InvalidDataException($"'{OnnxContract.ResizedSizes}' holds {resizedSizes.Length} values, expected (height, width)");
        // One image per row: the scores are [1, S, h, w] at a quarter of the resized size padded to the size divisor.
        int Quarter(long size) => checked((int)((size + Info.SizeDivisible - 1) / Info.SizeDivisible * Info.SizeDivisible / 4));
        var (h, w) = semanticScores is null ? (0, 0) : (Quarter(resizedSizes[0]), Quarter(resizedSizes[1]));
        var detections = new OnnxDetections(boxes, scores, labels, new long[scores.Length], resizedSizes,
            masks, _maskSize, heatmaps, networkBoxes, _numKeypoints, _heatmapSize, semanticScores, _semanticChannels, h, w, maskBoxes, maskSides);
        var result = detections.ToResult(0, checked((int)imageSizes[0]), checked((int)imageSizes[1]), Info.MaskThreshold, Info.Panoptic);
        return ScoredRow.From(result, Settings.ScoreThreshold);
    }

    /// <inheritdoc />
    public bool IsRowToRowMapper => true;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Columns(inputSchema).Extend(inputSchema);

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new AddedColumnsDataView(input, Columns(input.Schema));
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => new AddedColumnsRowMapper(inputSchema, Columns(inputSchema));

    /// <summary>Saves an equivalent chain of ML.NET's own transformers (as the libtorch transformer does); it loads in any
    /// process that references MLNetSeg.Onnx.MLNet.</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) =>
        ((ICanSaveModel)OnnxRoutePersistence.DecodingChain(this, _lastInputSchema ?? throw new InvalidOperationException(OnnxRoute.NotSeen))).Save(ctx);

    private DataViewSchema? _lastInputSchema;

    /// <summary>The ONNX columns this transformer reads, with their item types.</summary>
    internal IEnumerable<(string Name, PrimitiveDataViewType Type)> InputColumns()
    {
        yield return (OnnxContract.Boxes, NumberDataViewType.Single);
        yield return (OnnxContract.Scores, NumberDataViewType.Single);
        yield return (OnnxContract.Labels, NumberDataViewType.Int64);
        yield return (OnnxContract.ResizedSizes, NumberDataViewType.Int64);
        yield return (OnnxContract.ImageSizes, NumberDataViewType.Int64);
        if (Info.Tasks.HasFlag(SegmentationTasks.Masks)) yield return (OnnxContract.Masks, NumberDataViewType.Single);
        if (Info.WindowMasks)
        {
            yield return (OnnxContract.MaskBoxes, NumberDataViewType.Single);
            yield return (OnnxContract.MaskSides, NumberDataViewType.Int64);
        }
        if (Info.Tasks.HasFlag(SegmentationTasks.Keypoints))
        {
            yield return (OnnxContract.KeypointHeatmaps, NumberDataViewType.Single);
            yield return (OnnxContract.NetworkBoxes, NumberDataViewType.Single);
        }
        if (Info.Tasks.HasFlag(SegmentationTasks.Semantic)) yield return (OnnxContract.SemanticScores, NumberDataViewType.Single);
    }

    private DecodedColumns Columns(DataViewSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        foreach (var (name, type) in InputColumns())
        {
            if (schema.GetColumnOrNull(name) is not { } column)
                throw new ArgumentOutOfRangeException(nameof(schema),
                    $"the ONNX output column '{name}' is not in the input (columns: {string.Join(", ", schema.Select(c => c.Name))}); " +
                    "apply the exported model with mlContext.Transforms.ApplyOnnxModel(onnxFile) first");
            if (column.Type is not VectorDataViewType vector || vector.ItemType != type)
                throw new ArgumentOutOfRangeException(nameof(schema), $"the ONNX output column '{name}' has type {column.Type}; expected a vector of {type}");
        }
        _lastInputSchema = schema;
        return new DecodedColumns(this, schema);
    }

    private sealed class DecodedColumns : AddedColumns
    {
        private readonly SegmentationOnnxOutputTransformer _parent;
        private readonly DataViewSchema.Column[] _inputs;

        public DecodedColumns(SegmentationOnnxOutputTransformer parent, DataViewSchema schema)
        {
            _parent = parent;
            _inputs = parent.InputColumns().Select(c => schema[c.Name]).ToArray();
        }

        public override void AddTo(DataViewSchema.Builder builder) =>
            SegmentationScorer.AddOutputColumns(builder, _parent._outputs, _parent.Info.Labels.ClassNames.Skip(1).ToArray(),
                _parent.Info.Labels.Keypoints?.Names ?? Array.Empty<string>());

        public override IEnumerable<DataViewSchema.Column> Dependencies(DataViewSchema input) => _inputs;

        public override Delegate[] CreateGetters(DataViewRow input)
        {
            var floats = new Dictionary<string, ValueGetter<VBuffer<float>>>();
            var longs = new Dictionary<string, ValueGetter<VBuffer<long>>>();
            foreach (var column in _inputs)
            {
                if (((VectorDataViewType)column.Type).ItemType == NumberDataViewType.Single) floats[column.Name] = input.GetGetter<VBuffer<float>>(column);
                else longs[column.Name] = input.GetGetter<VBuffer<long>>(column);
            }
            T[] Read<T>(ValueGetter<VBuffer<T>> getter)
            {
                VBuffer<T> buffer = default;
                getter(ref buffer);
                return buffer.DenseValues().ToArray();
            }
            float[]? Floats(string name) => floats.TryGetValue(name, out var g) ? Read(g) : null;
            long[] Longs(string name) => Read(longs[name]);
            long[]? LongsOrNull(string name) => longs.TryGetValue(name, out var g) ? Read(g) : null;

            long position = -1;
            ScoredRow? row = null;
            ScoredRow Current()
            {
                if (row is not null && position == input.Position) return row;
                try
                {
                    row = _parent.Decode(Floats(OnnxContract.Boxes)!, Floats(OnnxContract.Scores)!, Longs(OnnxContract.Labels), Longs(OnnxContract.ResizedSizes),
                        Longs(OnnxContract.ImageSizes), Floats(OnnxContract.Masks), Floats(OnnxContract.KeypointHeatmaps), Floats(OnnxContract.NetworkBoxes),
                        Floats(OnnxContract.SemanticScores), Floats(OnnxContract.MaskBoxes), LongsOrNull(OnnxContract.MaskSides));
                }
                catch (Exception e) when (e is not RowScoringException)
                {
                    throw new RowScoringException(input.Position, OnnxContract.Boxes, e);
                }
                position = input.Position;
                return row;
            }
            return _parent._outputs.Select(o => SegmentationScorer.Getter(o.Kind, Current)).ToArray();
        }
    }
}

/// <summary>The estimator of <see cref="SegmentationOnnxOutputTransformer"/> (nothing to fit: the ONNX file says everything).</summary>
public sealed class SegmentationOnnxOutputEstimator : IEstimator<SegmentationOnnxOutputTransformer>
{
    private readonly SegmentationOnnxOutputTransformer _transformer;

    internal SegmentationOnnxOutputEstimator(string onnxFile, SegmentationScoringSettings settings)
    {
        settings.Validate();
        if (!File.Exists(onnxFile)) throw new FileNotFoundException($"ONNX model not found: {onnxFile}", onnxFile);
        global::Onnx.ModelProto model;
        try
        {
            using var stream = File.OpenRead(onnxFile);
            model = global::Onnx.ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e) { throw new OnnxModelException(onnxFile, $"not a readable ONNX file ({e.Message})", e); }
        var metadata = model.MetadataProps.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);
        var outputs = model.Graph?.Output ?? throw new OnnxModelException(onnxFile, "the ONNX file has no graph");
        var info = OnnxModelInfo.FromMetadata(metadata, outputs.Select(o => o.Name), onnxFile);
        var modelInfoJson = metadata[OnnxContract.ModelInfoKey];
        int Dim(string output, int axis) =>
            outputs.FirstOrDefault(o => o.Name == output)?.Type?.TensorType?.Shape?.Dim is { } dims && dims.Count > axis ? (int)dims[axis].DimValue : 0;
        _transformer = new SegmentationOnnxOutputTransformer(info, modelInfoJson, Dim(OnnxContract.Masks, 3), Dim(OnnxContract.KeypointHeatmaps, 1),
            Dim(OnnxContract.KeypointHeatmaps, 3), settings, Dim(OnnxContract.SemanticScores, 1));
        OnnxFile = onnxFile;
    }

    /// <summary>The exported model the columns come from.</summary>
    public string OnnxFile { get; }

    /// <inheritdoc />
    public SegmentationOnnxOutputTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _transformer.GetOutputSchema(input.Schema);  // checks the ONNX columns by name
        return _transformer;
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        foreach (var (name, _) in _transformer.InputColumns())
            if (inputSchema.All(c => c.Name != name))
                throw new ArgumentOutOfRangeException(nameof(inputSchema), $"the ONNX output column '{name}' is not in the input; apply the exported model with ApplyOnnxModel first");
        return SchemaShapes.Extend(inputSchema, _transformer.Settings.Columns.For(_transformer.Info.Tasks), _transformer.Info.Labels.Keypoints?.Names.Count ?? 0);
    }
}

/// <summary>The ONNX route on <c>mlContext.Transforms</c>.</summary>
public static class SegmentationOnnxCatalogExtensions
{
    /// <summary>
    /// The input columns of an exported graph from an image column (MLImage from LoadImages, or a path):
    /// <c>images</c> and <c>image_sizes</c>, what <c>ApplyOnnxModel</c> feeds the graph.
    /// </summary>
    public static SegmentationOnnxInputEstimator ExtractSegmentationOnnxInput(this TransformsCatalog catalog, string imageColumnName = SegmentationColumns.Image)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrEmpty(imageColumnName);
        return new SegmentationOnnxInputEstimator(imageColumnName);
    }

    /// <summary>
    /// After <c>ApplyOnnxModel(onnxFile)</c>: the graph's outputs as MLNetSeg's prediction columns (class names,
    /// masks and keypoint names from <paramref name="onnxFile"/>'s metadata).
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="OnnxModelException">The file is not an MLNetSeg export.</exception>
    public static SegmentationOnnxOutputEstimator DecodeSegmentationOnnxOutput(this TransformsCatalog catalog, string onnxFile,
        SegmentationScoringSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrEmpty(onnxFile);
        return new SegmentationOnnxOutputEstimator(onnxFile, settings ?? new());
    }
}
