using MLNetSeg.Data.Loading;
using MLNetSeg.Models;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Training;

/// <summary>
/// A trained model of any family, ready for inference (the transformer of <see cref="SegmentationTrainer"/>):
/// the model prepared for inference (e.g. FrozenBatchNorm folded), with its classes. Predict returns one
/// <see cref="SegmentationResult"/> per image (instances with contiguous labels indexing
/// <see cref="ClassNames"/>, masks as RLE, keypoints; semantic and panoptic maps where the family makes
/// them) in the image's pixels.
/// </summary>
public sealed class TrainedModel : IDisposable
{
    /// <summary>Wraps a model and prepares it for inference; the <see cref="TrainedModel"/> then owns it.</summary>
    /// <param name="model">The model; its weights are not changed after this call.</param>
    /// <param name="info">Its classes, category ids and keypoint schema; must describe as many classes as the model has.</param>
    /// <param name="summary">The training run that produced it, or null.</param>
    /// <exception cref="ArgumentException">The class counts of <paramref name="info"/> and <paramref name="model"/> differ.</exception>
    public TrainedModel(ISegmentationModel model, ModelFileInfo info, TrainingSummary? summary = null)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Info = info ?? throw new ArgumentNullException(nameof(info));
        if (info.NumClasses != model.NumClasses)
            throw new ArgumentException($"{info.NumClasses} class names for a model of {model.NumClasses} classes", nameof(info));
        Summary = summary;
        // A snapshot of the current weights: they are not changed after this point.
        Model.PrepareForInference();
    }

    /// <summary>The underlying model, prepared for inference; owned and disposed by this object.</summary>
    public ISegmentationModel Model { get; }

    /// <summary>The family of the model (Mask R-CNN, Keypoint R-CNN, ...).</summary>
    public ModelFamily Family => Model.Family;

    /// <summary>Classes (label 0 = background), category ids, keypoint schema.</summary>
    public ModelFileInfo Info { get; }

    /// <summary>Name of each contiguous label (the labels of <see cref="Instances.Labels"/>); index 0 is the background (<see cref="ModelFileInfo.ClassNames"/>).</summary>
    public IReadOnlyList<string> ClassNames => Info.ClassNames;

    /// <summary>The run that produced the model (null for a loaded model).</summary>
    public TrainingSummary? Summary { get; }

    /// <summary>Results for a batch of images (run as one batch).</summary>
    public IReadOnlyList<SegmentationResult> Predict(IReadOnlyList<Image> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        using var scope = DisposeScope.Enter();
        var tensors = images.Select((image, i) => ModelInput.FromImage(image ?? throw new ArgumentNullException(nameof(images), $"image {i} is null"))).ToArray();
        return Model.Predict(tensors);
    }

    /// <summary>Results for one image, in its pixels.</summary>
    public SegmentationResult Predict(Image image) => Predict(new[] { image })[0];

    /// <summary>Results for images read from files, <paramref name="batchSize"/> at a time; a file that cannot be read is named.</summary>
    public IReadOnlyList<SegmentationResult> Predict(IReadOnlyList<string> imagePaths, int batchSize = 1)
    {
        ArgumentNullException.ThrowIfNull(imagePaths);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be at least 1");
        var results = new List<SegmentationResult>(imagePaths.Count);
        for (int start = 0; start < imagePaths.Count; start += batchSize)
            results.AddRange(Predict(imagePaths.Skip(start).Take(batchSize).Select(ImageIO.Read).ToArray()));
        return results;
    }

    /// <summary>The image with the results drawn (masks, boxes, class names and scores, keypoints).</summary>
    public Image Draw(Image image, SegmentationResult result, VisualizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        var instances = result.Instances ?? Instances.Empty(result.ImageHeight, result.ImageWidth);
        return Visualizer.Draw(image, instances, ClassNames, options ?? new VisualizerOptions { KeypointSchema = Info.Keypoints });
    }

    /// <summary>
    /// Evaluation on a dataset with ground truth: predicts every image (<paramref name="batchSize"/> at a
    /// time, images decoded on <paramref name="workers"/> threads) and runs every evaluation the model's
    /// tasks allow.
    /// </summary>
    public MLNetSeg.Evaluation.SegmentationEvaluation Evaluate(DetectionDataset dataset, int batchSize = 2, int workers = 2, EvaluationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var (results, ids) = DatasetInference.Predict(Model, dataset, batchSize, workers, cancellationToken);
        return ModelEvaluation.Score(dataset, results, ids, Info, Model, options);
    }

    /// <summary>Writes the model file (.mlseg): weights, family, architecture, classes, preprocessing; atomically.</summary>
    public void Save(string path) => ModelFile.Save(Model, Info, path);

    /// <summary>Loads a model file of any registered family.</summary>
    public static TrainedModel Load(string path, Device? device = null)
    {
        var (model, info) = ModelFile.Load(path, device);
        return new TrainedModel(model, info);
    }

    /// <summary>Disposes <see cref="Model"/> and the native memory of its weights.</summary>
    public void Dispose() => Model.Dispose();

    /// <summary>Model file info for a model trained on <paramref name="dataset"/>'s categories and keypoint schema.</summary>
    public static ModelFileInfo InfoFor(DetectionDataset dataset, IReadOnlyDictionary<string, string>? properties = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var categories = dataset.Categories;
        var info = ModelFileInfo.ForCategories(categories.CategoryIds.Select((id, i) => (checked((int)id), categories.Names[i])), dataset.KeypointSchema);
        return properties is null ? info : info with { Properties = properties };
    }
}
