using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Training;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Transforms.Scoring;

/// <summary>
/// A trained model bound to output settings: images in, <see cref="ScoredRow"/>s out, and the
/// output schema those rows fill. Thread-safe for concurrent callers (each call builds its own
/// tensors; the model is only read), which the pooled predictor relies on.
/// </summary>
internal sealed class SegmentationScorer
{
    public SegmentationScorer(TrainedModel model, SegmentationScoringSettings settings)
    {
        Model = model;
        Settings = settings;
        Tasks = model.Model.Tasks;
        Outputs = settings.Columns.For(Tasks);
        if (Outputs.Count == 0) throw new ArgumentException($"model family '{model.Family.Name}' declares no outputs (tasks: {Tasks})");
        model.Model.PrepareForInference();
    }

    /// <summary>ML.NET's annotation naming the values of a key type (<c>AnnotationUtils.Kinds.KeyValues</c>, internal there).</summary>
    public const string KeyValuesAnnotation = "KeyValues";

    public TrainedModel Model { get; }
    public SegmentationScoringSettings Settings { get; }
    public SegmentationTasks Tasks { get; }
    public IReadOnlyList<(string Name, OutputKind Kind)> Outputs { get; }

    /// <summary>Class names without the background: the key values of the predicted-label column.</summary>
    public IReadOnlyList<string> LabelNames => Model.ClassNames.Skip(1).ToArray();

    public ScoredRow[] Score(IReadOnlyList<Image> images)
    {
        var results = Model.Predict(images);
        var rows = new ScoredRow[results.Count];
        for (int i = 0; i < rows.Length; i++) rows[i] = ScoredRow.From(results[i], Settings.ScoreThreshold);
        return rows;
    }

    /// <summary>Adds the output columns to <paramref name="builder"/> (after the input's columns).</summary>
    public void AddOutputColumns(DataViewSchema.Builder builder) =>
        AddOutputColumns(builder, Outputs, LabelNames, Model.Info.Keypoints?.Names ?? Array.Empty<string>());

    /// <summary>The output columns for <paramref name="outputs"/>: the label column a key vector whose key values are
    /// <paramref name="labelNames"/> (the classes without the background), the keypoint column annotated with <paramref name="keypointNames"/>.
    /// Every scorer of MLNetSeg (the libtorch model, the ONNX route) declares its columns here, so their schemas agree.</summary>
    public static void AddOutputColumns(DataViewSchema.Builder builder, IReadOnlyList<(string Name, OutputKind Kind)> outputs,
        IReadOnlyList<string> labelNames, IReadOnlyList<string> keypointNames)
    {
        foreach (var (name, kind) in outputs)
        {
            switch (kind)
            {
                case OutputKind.Label:
                    var names = labelNames.Select(n => n.AsMemory()).ToArray();
                    var annotations = new DataViewSchema.Annotations.Builder();
                    annotations.Add(KeyValuesAnnotation, new VectorDataViewType(TextDataViewType.Instance, names.Length),
                        (ref VBuffer<ReadOnlyMemory<char>> value) => value = new VBuffer<ReadOnlyMemory<char>>(names.Length, names));
                    builder.AddColumn(name, new VectorDataViewType(new KeyDataViewType(typeof(uint), names.Length)), annotations.ToAnnotations());
                    break;
                case OutputKind.Masks:
                    builder.AddColumn(name, new VectorDataViewType(TextDataViewType.Instance));
                    break;
                case OutputKind.Keypoints:
                    var keypointValues = keypointNames.Select(n => n.AsMemory()).ToArray();
                    var keypointAnnotations = new DataViewSchema.Annotations.Builder();
                    keypointAnnotations.Add(SegmentationColumns.KeypointNamesAnnotation, new VectorDataViewType(TextDataViewType.Instance, keypointValues.Length),
                        (ref VBuffer<ReadOnlyMemory<char>> value) => value = new VBuffer<ReadOnlyMemory<char>>(keypointValues.Length, keypointValues));
                    builder.AddColumn(name, new VectorDataViewType(NumberDataViewType.Single), keypointAnnotations.ToAnnotations());
                    break;
                case OutputKind.Semantic:
                    builder.AddColumn(name, new VectorDataViewType(NumberDataViewType.UInt16));
                    break;
                default:
                    builder.AddColumn(name, new VectorDataViewType(NumberDataViewType.Single));
                    break;
            }
        }
    }

    /// <summary>A getter for output <paramref name="kind"/> reading the row that <paramref name="current"/> returns.</summary>
    public static Delegate Getter(OutputKind kind, Func<ScoredRow> current) => kind switch
    {
        OutputKind.Label => (ValueGetter<VBuffer<uint>>)((ref VBuffer<uint> v) => CopyTo(current().Labels, ref v)),
        OutputKind.Score => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) => CopyTo(current().Scores, ref v)),
        OutputKind.Boxes => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) => CopyTo(current().Boxes, ref v)),
        OutputKind.Masks => (ValueGetter<VBuffer<ReadOnlyMemory<char>>>)((ref VBuffer<ReadOnlyMemory<char>> v) =>
            CopyTo(Array.ConvertAll(current().Masks, m => m.AsMemory()), ref v)),
        OutputKind.Keypoints => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) => CopyTo(current().Keypoints, ref v)),
        OutputKind.Semantic => (ValueGetter<VBuffer<ushort>>)((ref VBuffer<ushort> v) => CopyTo(current().Semantic, ref v)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    // ML.NET's getter contract: the caller owns the buffer and may edit it in place, so the row's
    // arrays are copied into it (reusing its capacity), never handed out.
    private static void CopyTo<T>(T[] values, ref VBuffer<T> destination)
    {
        var editor = VBufferEditor.Create(ref destination, values.Length);
        values.AsSpan().CopyTo(editor.Values);
        destination = editor.Commit();
    }
}

