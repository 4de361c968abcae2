using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Training;
using MLNetSeg.Transforms.Scoring;

namespace MLNetSeg.Transforms;

/// <summary>
/// <c>mlContext.Transforms.ApplySegmentationModel(...)</c>: an estimator that learns nothing and
/// whose <see cref="Fit"/> returns a <see cref="SegmentationTransformer"/> over a trained model
/// (as ML.NET's <c>ApplyOnnxModel</c> does for ONNX files).
/// </summary>
public sealed class SegmentationScoringEstimator : IEstimator<SegmentationTransformer>
{
    private readonly Func<TrainedModel> _model;
    private readonly bool _ownsModel;

    internal SegmentationScoringEstimator(Func<TrainedModel> model, bool ownsModel, string imageColumnName, SegmentationScoringSettings settings)
    {
        _model = model;
        _ownsModel = ownsModel;
        ImageColumnName = imageColumnName;
        Settings = settings;
        settings.Validate();
    }

    /// <summary>The image column read: an <c>MLImage</c> or a text path (default <see cref="SegmentationColumns.Image"/>).</summary>
    public string ImageColumnName { get; }

    /// <summary>Output names, score threshold and batch size.</summary>
    public SegmentationScoringSettings Settings { get; }

    /// <summary>Loads (or takes) the model and binds it to <paramref name="input"/>'s schema.</summary>
    public SegmentationTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ImageInputs.Check(input.Schema, ImageColumnName);
        var model = _model();
        try
        {
            return new SegmentationTransformer(model, ImageColumnName, Settings, _ownsModel, input.Schema);
        }
        catch
        {
            if (_ownsModel) model.Dispose();
            throw;
        }
    }

    /// <summary>The input's columns plus the outputs; throws naming the image column when it is missing or not an image/path. (Needs the model's tasks, so a model file is loaded for it.)</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SchemaShapes.CheckImage(inputSchema, ImageColumnName);
        var model = _model();
        try
        {
            return SchemaShapes.Extend(inputSchema, Settings.Columns.For(model.Model.Tasks), model.Info.Keypoints?.Names.Count ?? 0);
        }
        finally
        {
            if (_ownsModel) model.Dispose();
        }
    }
}

/// <summary><c>mlContext.Transforms.ApplySegmentationModel</c>.</summary>
public static class SegmentationTransformsCatalogExtensions
{
    /// <summary>
    /// Applies the model in <paramref name="modelFile"/> (a <c>.mlseg</c> file written by a trainer,
    /// <c>TrainedModel.Save</c> or <c>mlnetseg train</c>) to <paramref name="imageColumnName"/>
    /// (an <c>MLImage</c> or an image path). The file is read when the estimator is fitted.
    /// </summary>
    public static SegmentationScoringEstimator ApplySegmentationModel(this TransformsCatalog catalog, string modelFile,
        string imageColumnName = SegmentationColumns.Image, SegmentationScoringSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrEmpty(modelFile);
        if (!File.Exists(modelFile)) throw new FileNotFoundException($"segmentation model file not found: {modelFile}", modelFile);
        return new SegmentationScoringEstimator(() => TrainedModel.Load(modelFile), ownsModel: true, imageColumnName, settings ?? new());
    }

    /// <summary>
    /// Applies an in-memory <paramref name="model"/> (e.g. from <c>SegmentationTrainer.Fit</c>) to
    /// <paramref name="imageColumnName"/>. The caller keeps ownership of the model.
    /// </summary>
    public static SegmentationScoringEstimator ApplySegmentationModel(this TransformsCatalog catalog, TrainedModel model,
        string imageColumnName = SegmentationColumns.Image, SegmentationScoringSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(model);
        return new SegmentationScoringEstimator(() => model, ownsModel: false, imageColumnName, settings ?? new());
    }

}
