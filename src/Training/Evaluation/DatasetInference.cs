using MLNetSeg.Data.Loading;
using MLNetSeg.Models;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Training;

/// <summary>Runs a model over a whole dataset: predictions for evaluation, and torchvision-style validation losses.</summary>
public static class DatasetInference
{
    /// <summary>
    /// Predictions (the model must be in eval mode) for every image of <paramref name="dataset"/>, in
    /// dataset order, with the image ids; images are decoded on <paramref name="workers"/> threads and
    /// predicted <paramref name="batchSize"/> at a time.
    /// </summary>
    public static (IReadOnlyList<SegmentationResult> Results, IReadOnlyList<long> ImageIds) Predict(ISegmentationModel model, DetectionDataset dataset,
        int batchSize = 2, int workers = 2, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(dataset);
        var loader = new DataLoader(dataset, transform: null, new DataLoaderOptions
        {
            BatchSize = batchSize, Workers = workers, Shuffle = false, GroupByAspectRatio = false, DropLast = false,
        });
        var results = new List<SegmentationResult>(dataset.Count);
        var ids = new List<long>(dataset.Count);
        foreach (var batch in loader.GetEpoch(0, cancellationToken))
        {
            using (batch)
            using (var scope = DisposeScope.Enter())
            {
                results.AddRange(model.Predict(ImagesOf(batch)));
                ids.AddRange(batch.ImageIds);
            }
        }
        return (results, ids);
    }

    /// <summary>
    /// torchvision-style validation loss: the training forward pass under no-grad, with BatchNorm layers
    /// on their running statistics so validation images do not leak into them. Mean over the batches,
    /// the total under "loss". Leaves the model in training mode.
    /// </summary>
    public static Dictionary<string, double> ValidationLosses(ISegmentationModel model, DetectionDataset dataset, Device device, int batchSize = 2,
        int workers = 2, bool skipBadSamples = false, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(dataset);
        model.Module.Train();
        foreach (var bn in model.Module.Modules().OfType<BatchNorm2d>()) bn.Eval();
        var loader = new DataLoader(dataset, transform: null, new DataLoaderOptions
        {
            BatchSize = batchSize, Workers = workers, Shuffle = false, GroupByAspectRatio = false, DropLast = false,
            SkipBadSamples = skipBadSamples, Log = log,
        });
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        int batches = 0;
        using var noGrad = NoGradScope.Enter();
        foreach (var batch in loader.GetEpoch(0, cancellationToken))
        {
            using (batch)
            using (var scope = DisposeScope.Enter())
            {
                var (images, targets) = Inputs(model, batch, device);
                var losses = model.ComputeLosses(images, targets);
                foreach (var (k, v) in losses) sums[k] = sums.GetValueOrDefault(k) + v.ItemDouble();
                sums[TrainingStep.TotalKey] = sums.GetValueOrDefault(TrainingStep.TotalKey) + TrainingStep.Total(losses).ItemDouble();
                batches++;
            }
        }
        return sums.ToDictionary(kv => kv.Key, kv => batches > 0 ? kv.Value / batches : double.NaN);
    }

    /// <summary>The images of a batch as [3, h, w] views of the padded batch tensor (padding cut off: the
    /// model resizes and pads again, as torchvision does), on <paramref name="device"/>.</summary>
    internal static Tensor[] ImagesOf(DetectionBatch batch, Device? device = null)
    {
        var all = device is { } d && d != batch.Images.Device ? batch.Images.To(device: d) : batch.Images;
        var images = new Tensor[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            var size = batch.ImageSizes[i];
            images[i] = all.Select(0, i).Narrow(1, 0, size.Height).Narrow(2, 0, size.Width);
        }
        return images;
    }

    /// <summary>A batch as the model's inputs: images and the family's targets.</summary>
    internal static (Tensor[] Images, ITrainingTarget[] Targets) Inputs(ISegmentationModel model, DetectionBatch batch, Device device)
    {
        var images = ImagesOf(batch, device);
        var targets = new ITrainingTarget[batch.Count];
        for (int i = 0; i < batch.Count; i++)
            targets[i] = model.CreateTarget(batch.Targets[i], batch.ImageSizes[i], device, batch.ImagePaths[i]);
        return (images, targets);
    }
}
