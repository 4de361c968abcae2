using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Training;
using MLNetSeg.Transforms.Persistence;
using MLNetSeg.Transforms.Scoring;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Transforms;

/// <summary>
/// Applies a trained segmentation model (any registered family) to an image column: what the
/// trainers' <c>Fit</c> returns and what <c>mlContext.Transforms.ApplySegmentationModel</c> builds
/// from a <c>.mlseg</c> file. The input column holds an <c>MLImage</c> (from
/// <c>mlContext.Transforms.LoadImages</c>) or an image path; the outputs are the columns the
/// model's tasks give (<see cref="SegmentationColumns"/>: PredictedLabel, Score,
/// PredictedBoundingBoxes, PredictedMasks, PredictedKeypoints, PredictedSemanticLabels).
/// </summary>
/// <remarks>
/// <see cref="Transform"/> is lazy: the model runs when a cursor reads an output column, a batch of
/// <see cref="SegmentationScoringSettings.BatchSize"/> rows at a time. <c>CreatePredictionEngine</c>
/// works through <see cref="GetRowToRowMapper"/>. <c>mlContext.Model.Save</c> stores the model inside
/// the zip (see <see cref="PersistedScoring"/> for the form and why); <c>mlContext.Model.Load</c>
/// gives back an equivalent pipeline with identical outputs. Dispose the transformer to free the
/// model's native memory when it owns the model.
/// </remarks>
public sealed class SegmentationTransformer : ITransformer, IDisposable
{
    private readonly bool _ownsModel;
    private readonly SegmentationScorer _scorer;

    internal SegmentationTransformer(TrainedModel model, string imageColumnName, SegmentationScoringSettings settings, bool ownsModel,
                                     DataViewSchema? inputSchema = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(imageColumnName);
        settings.Validate();
        _ownsModel = ownsModel;
        _scorer = new SegmentationScorer(model, settings);
        ImageColumnName = imageColumnName;
        if (inputSchema is not null) GetOutputSchema(inputSchema);
    }

    /// <summary>The model this transformer applies (its classes, family, info, typed <c>Predict</c>).</summary>
    public TrainedModel Model => _scorer.Model;

    /// <summary>The image column read: an <c>MLImage</c> or a text path (default <see cref="SegmentationColumns.Image"/>).</summary>
    public string ImageColumnName { get; }

    /// <summary>Output names, score threshold and batch size.</summary>
    public SegmentationScoringSettings Settings => _scorer.Settings;

    /// <summary>What the model outputs (and so which output columns exist).</summary>
    public SegmentationTasks Tasks => _scorer.Tasks;

    /// <summary>Always true: each row's outputs depend on that row alone.</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>The input's columns followed by the output columns; throws naming the image column when it is missing or not an image/path.</summary>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        ImageInputs.Check(inputSchema, ImageColumnName);
        _lastInputSchema = inputSchema;
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        _scorer.AddOutputColumns(builder);
        return builder.ToSchema();
    }

    /// <summary>A lazy view of <paramref name="input"/> with the output columns added.</summary>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new SegmentationDataView(input, _scorer, ImageColumnName, GetOutputSchema(input.Schema));
    }

    /// <summary>The row mapper PredictionEngine uses.</summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        GetOutputSchema(inputSchema);  // checks the image column and remembers the schema for Save
        return new AddedColumnsRowMapper(inputSchema, new ScorerColumns(_scorer, inputSchema, ImageColumnName));
    }

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        // ML.NET does not pass the input schema to Save; the saved chain needs the image column's
        // type (MLImage or path), so it is taken from the schema this transformer was fitted on or
        // last applied to.
        var schema = _lastInputSchema ?? throw new InvalidOperationException(
            "this transformer has not seen its input yet: call Transform or GetOutputSchema once before saving " +
            "(MLNetSeg needs the image column's type, MLImage or path, to write the model)");
        ((ICanSaveModel)PersistedScoring.BuildChain(_scorer, schema, ImageColumnName)).Save(ctx);
    }

    private DataViewSchema? _lastInputSchema;

    /// <summary>Frees the model's native memory if this transformer owns the model.</summary>
    public void Dispose()
    {
        if (_ownsModel) _scorer.Model.Dispose();
    }
}
