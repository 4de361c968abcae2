using Microsoft.ML;
using MLNetSeg.Models;
using MLNetSeg.Trainers.Data;
using MLNetSeg.Trainers.Host;
using MLNetSeg.Training;
using MLNetSeg.Transforms;
using MLNetSeg.Transforms.Scoring;

namespace MLNetSeg.Trainers;

/// <summary>
/// An ML.NET trainer for any registered segmentation family (what
/// <c>mlContext.Segmentation().Trainers.MaskRcnn(...)</c> and its siblings return). <see cref="Fit(IDataView)"/>
/// trains on an annotated IDataView (e.g. <c>mlContext.Data.LoadFromCoco</c>) with the one training
/// loop (checkpoints, exact resume, time budgets, validation) and returns a
/// <see cref="SegmentationTransformer"/> over the trained model.
/// </summary>
/// <remarks>
/// Progress goes to <c>MLContext.Log</c> and, unless turned off, the console. Cancel with the token
/// of <see cref="Fit(IDataView, IDataView?, CancellationToken)"/> (ML.NET 6's own
/// <c>MLContext.CancelExecution()</c> is internal to ML.NET; when its AutoML sets that flag, training
/// stops too): a <see cref="TrainingCanceledException"/> names the checkpoint written.
/// </remarks>
public sealed class SegmentationEstimator : IEstimator<SegmentationTransformer>
{
    private readonly MLContext _context;

    internal SegmentationEstimator(MLContext context, SegmentationTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Training);
        _context = context ?? throw new ArgumentNullException(nameof(context));
        options.Training.Validate();
        options.Scoring.Validate();
        Family = ModelRegistry.For(options.Training.Model);
        Options = options;
    }

    /// <summary>The options (columns, training, outputs).</summary>
    public SegmentationTrainerOptions Options { get; }

    /// <summary>The model family trained, from <see cref="TrainingOptions.Model"/>; its tasks decide the output columns.</summary>
    public ModelFamily Family { get; }

    /// <summary>Trains on <paramref name="input"/> without a validation set (what a pipeline's <c>Fit</c> calls); see
    /// <see cref="Fit(IDataView, IDataView?, CancellationToken)"/>.</summary>
    public SegmentationTransformer Fit(IDataView input) => Fit(input, null);

    /// <summary>Trains on <paramref name="trainData"/>, validating on <paramref name="validationData"/> (losses and COCO metrics, as the training options ask).</summary>
    public SegmentationTransformer Fit(IDataView trainData, IDataView? validationData, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(trainData);
        using var host = new MLContextHost(_context, $"MLNetSeg.{Family.Name}", cancellationToken);
        var cache = Path.Combine(Options.Training.Checkpoints.Directory ?? Path.GetTempPath(), $"mlnetseg-images-{Guid.NewGuid():N}");
        try
        {
            var train = DataViewDataset.Create(trainData, Options, "training", Path.Combine(cache, "train"));
            var validation = validationData is null ? null : DataViewDataset.Create(validationData, Options, "validation", Path.Combine(cache, "val"));
            host.Info($"training a {Family.DisplayName} on {train.Count} images ({train.Categories.Count} classes)" +
                      (validation is null ? "" : $", validating on {validation.Count}"));
            var training = Options.Training with
            {
                Runtime = Options.Training.Runtime with
                {
                    Progress = host.Progress(Options.Training.Runtime.Progress ?? (Options.ConsoleProgress ? new ConsoleTrainingProgress() : null)),
                    Log = Options.Training.Runtime.Log ?? host.Warning,
                },
            };
            var model = new SegmentationTrainer(training).Fit(train, validation, host.Token);
            try
            {
                return new SegmentationTransformer(model, Options.ImageColumnName, Options.Scoring, ownsModel: true, trainData.Schema);
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        finally
        {
            if (Directory.Exists(cache)) Directory.Delete(cache, recursive: true);
        }
    }

    /// <summary>The input's columns plus the outputs the family's tasks give; throws naming a missing or mistyped image column.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SchemaShapes.CheckImage(inputSchema, Options.ImageColumnName);
        if (!inputSchema.Any(c => c.Name == Options.LabelColumnName))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"the label column '{Options.LabelColumnName}' is not in the input");
        var tasks = Family.TasksFor(Options.Training.Model);
        return SchemaShapes.Extend(inputSchema, Options.Scoring.Columns.For(tasks), 0);
    }
}
