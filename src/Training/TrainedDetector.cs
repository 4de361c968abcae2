using MLNetSeg.Data.Loading;
using MLNetSeg.Evaluation.Coco;
using MLNetSeg.Models;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Training;

/// <summary>What a training run did.</summary>
public sealed record TrainingSummary
{
    /// <summary>Optimizer steps completed (including those before a resume).</summary>
    public required long Iterations { get; init; }

    /// <summary>The schedule's length (the run stopped earlier when <see cref="StoppedByTimeLimit"/>).</summary>
    public long PlannedIterations { get; init; }

    /// <summary>Training stopped at <see cref="TrainerOptions.MaxTrainingTime"/> before the planned iterations.</summary>
    public bool StoppedByTimeLimit { get; init; }

    /// <summary>The iteration the run started from (0, or the checkpoint's).</summary>
    public long ResumedFrom { get; init; }

    /// <summary>The checkpoint resumed from, if any.</summary>
    public string? ResumedCheckpoint { get; init; }

    /// <summary>Mean losses over the last reporting window.</summary>
    public IReadOnlyDictionary<string, double> FinalLosses { get; init; } = new Dictionary<string, double>();

    /// <summary>The last COCO evaluation on the validation set (null without one).</summary>
    public DetectionEvaluation? Evaluation { get; init; }

    /// <summary>The last validation losses (null without them).</summary>
    public IReadOnlyDictionary<string, double>? ValidationLosses { get; init; }

    /// <summary>The best validation result and where its model was saved.</summary>
    public BestResult? Best { get; init; }

    public string? BestModelPath { get; init; }

    /// <summary>The checkpoint written at the end.</summary>
    public string? FinalCheckpoint { get; init; }

    /// <summary>Wall time of this Fit call.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Training images per second over the whole call (evaluation excluded).</summary>
    public double ImagesPerSecond { get; init; }
}

/// <summary>
/// A trained detector (the transformer of <see cref="MaskRcnnTrainer"/>): the model in eval mode,
/// FrozenBatchNorm layers folded into their convolutions for speed, with its classes. Predict
/// returns one <see cref="Instances"/> per image (boxes, contiguous labels indexing
/// <see cref="ClassNames"/>, scores, masks as RLE, keypoints) in the image's pixels.
/// </summary>
public sealed class TrainedDetector : IDisposable
{
    public TrainedDetector(GeneralizedRcnn model, ModelFileInfo info, TrainingSummary? summary = null)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Info = info ?? throw new ArgumentNullException(nameof(info));
        if (info.NumClasses != model.NumClasses)
            throw new ArgumentException($"{info.NumClasses} class names for a model of {model.NumClasses} classes", nameof(info));
        Summary = summary;
        Model.Eval();
        // A snapshot of the current weights; weights are not changed after this point.
        Model.Backbone.FuseFrozenBatchNorm();
    }

    public GeneralizedRcnn Model { get; }

    /// <summary>Classes (label 0 = background), category ids, keypoint schema.</summary>
    public ModelFileInfo Info { get; }

    public IReadOnlyList<string> ClassNames => Info.ClassNames;

    /// <summary>The run that produced the model (null for a loaded model).</summary>
    public TrainingSummary? Summary { get; }

    /// <summary>Detections for a batch of images (run as one padded batch).</summary>
    public IReadOnlyList<Instances> Predict(IReadOnlyList<Image> images) => Model.Predict(images);

    public Instances Predict(Image image) => Model.Predict(image);

    /// <summary>Detections for images read from files, <paramref name="batchSize"/> at a time.</summary>
    public IReadOnlyList<Instances> Predict(IReadOnlyList<string> imagePaths, int batchSize = 1)
    {
        ArgumentNullException.ThrowIfNull(imagePaths);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be at least 1");
        var results = new List<Instances>(imagePaths.Count);
        for (int start = 0; start < imagePaths.Count; start += batchSize)
        {
            var images = imagePaths.Skip(start).Take(batchSize).Select(ImageIO.Read).ToArray();
            results.AddRange(Model.Predict(images));
        }
        return results;
    }

    /// <summary>ML.NET's name for <see cref="Predict(IReadOnlyList{Image})"/>.</summary>
    public IReadOnlyList<Instances> Transform(IReadOnlyList<Image> images) => Predict(images);

    /// <summary>The image with the detections drawn (masks, boxes, class names and scores, keypoints).</summary>
    public Image Draw(Image image, Instances detections, VisualizerOptions? options = null) =>
        Visualizer.Draw(image, detections, ClassNames, options ?? new VisualizerOptions { KeypointSchema = Info.Keypoints });

    /// <summary>
    /// COCO evaluation on a dataset with ground truth: predicts every image (<paramref name="batchSize"/>
    /// at a time, images decoded on <paramref name="workers"/> threads) and scores boxes, and masks or
    /// keypoints when the model has them.
    /// </summary>
    public DetectionEvaluation Evaluate(DetectionDataset dataset, int batchSize = 2, int workers = 2, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var predictions = PredictDataset(Model, dataset, batchSize, workers, cancellationToken);
        return Score(dataset, predictions, Info, Model);
    }

    /// <summary>Writes the model file (.mlseg): weights, architecture, classes, preprocessing; atomically.</summary>
    public void Save(string path) => ModelFile.Save(Model, Info, path);

    /// <summary>Loads a model file written by <see cref="Save"/> (or <see cref="ModelFile.Save"/>).</summary>
    public static TrainedDetector Load(string path, Device? device = null)
    {
        var (model, info) = ModelFile.Load(path, device);
        return new TrainedDetector(model, info);
    }

    public void Dispose() => Model.Dispose();

    // ---- shared with the trainer's periodic evaluation

    /// <summary>Predictions (in eval mode; the caller sets the mode) for every image of
    /// <paramref name="dataset"/>, in dataset order, with the image ids.</summary>
    internal static (List<Instances> Predictions, List<long> ImageIds) PredictDataset(GeneralizedRcnn model, DetectionDataset dataset,
        int batchSize, int workers, CancellationToken cancellationToken)
    {
        var loader = new DataLoader(dataset, transform: null, new DataLoaderOptions
        {
            BatchSize = batchSize, Workers = workers, Shuffle = false, GroupByAspectRatio = false, DropLast = false,
        });
        var predictions = new List<Instances>(dataset.Count);
        var ids = new List<long>(dataset.Count);
        foreach (var batch in loader.GetEpoch(0, cancellationToken))
        {
            using (batch)
            using (var scope = DisposeScope.Enter())
            {
                var images = new Tensor[batch.Count];
                for (int i = 0; i < batch.Count; i++)
                {
                    var size = batch.ImageSizes[i];
                    images[i] = batch.Images.Select(0, i).Narrow(1, 0, size.Height).Narrow(2, 0, size.Width);
                }
                predictions.AddRange(model.Predict(images));
                ids.AddRange(batch.ImageIds);
            }
        }
        return (predictions, ids);
    }

    internal static DetectionEvaluation Score(DetectionDataset dataset, (List<Instances> Predictions, List<long> ImageIds) run, ModelFileInfo info,
        GeneralizedRcnn model)
    {
        var results = DetectionResults.ToCocoResults(run.Predictions, run.ImageIds, info.LabelToCategoryId);
        // Only the images predicted: a dataset that filters images (RemoveImagesWithoutAnnotations) is scored on what it holds.
        var options = new CocoEvalOptions { ImageIds = run.ImageIds.ToArray() };
        return DetectionEvaluator.Evaluate(dataset.Coco, results, masks: model.RoiHeads.HasMask, keypoints: model.RoiHeads.HasKeypoint, options);
    }

    /// <summary>Model file info for a model trained on <paramref name="dataset"/>'s categories.</summary>
    internal static ModelFileInfo InfoFor(DetectionDataset dataset, IReadOnlyDictionary<string, string>? properties = null)
    {
        var categories = dataset.Categories;
        var info = ModelFileInfo.ForCategories(categories.CategoryIds.Select((id, i) => (checked((int)id), categories.Names[i])));
        return properties is null ? info : info with { Properties = properties };
    }
}
