using MLNetSeg.Torch;

namespace MLNetSeg.Data.Loading;

/// <summary>
/// B transformed samples ready for a detection model: one zero-padded float32
/// [B, 3, H', W'] tensor (H', W' = largest height and width rounded up to the loader's
/// <see cref="DataLoaderOptions.SizeDivisible"/>, each image in the top-left corner, as
/// torchvision's <c>batch_images</c>) plus, per image, its size before padding, its original size
/// and its target.
/// </summary>
/// <remarks>
/// Ownership: the batch owns <see cref="Images"/>, which belongs to no <c>DisposeScope</c> (it was
/// made on a worker thread). The consumer disposes the batch — <c>using var batch = …</c> in the
/// training loop — as soon as the step is done; everything else in a batch is managed memory.
/// Batches the consumer never received (the epoch was abandoned, cancelled or failed) are disposed
/// by the loader.
/// </remarks>
public sealed class DetectionBatch : IDisposable
{
    internal DetectionBatch(int epoch, int index, Tensor images, IReadOnlyList<DetectionSample> samples)
    {
        Epoch = epoch;
        Index = index;
        Images = images;
        DatasetIndices = samples.Select(s => s.DatasetIndex).ToArray();
        ImageIds = samples.Select(s => s.ImageId).ToArray();
        ImagePaths = samples.Select(s => s.ImagePath).ToArray();
        OriginalSizes = samples.Select(s => s.OriginalSize).ToArray();
        ImageSizes = samples.Select(s => s.Size).ToArray();
        Targets = samples.Select(s => s.Target).ToArray();
    }

    /// <summary>The epoch the batch was planned for (the argument of <see cref="DataLoader.GetEpoch"/>).</summary>
    public int Epoch { get; }

    /// <summary>Position of the batch in its epoch's plan (<see cref="DataLoader.PlanEpoch"/>).</summary>
    public int Index { get; }

    /// <summary>Number of images.</summary>
    public int Count => Targets.Count;

    /// <summary>float32 [B, 3, H', W'], padded with the loader's pad value. Owned by this batch.</summary>
    public Tensor Images { get; }

    /// <summary>Position of each image in the <see cref="DetectionDataset"/>.</summary>
    public IReadOnlyList<int> DatasetIndices { get; }

    /// <summary>COCO image id of each image.</summary>
    public IReadOnlyList<long> ImageIds { get; }

    /// <summary>The file each image was read from.</summary>
    public IReadOnlyList<string> ImagePaths { get; }

    /// <summary>Size of each image as stored (what predictions are mapped back to).</summary>
    public IReadOnlyList<ImageSize> OriginalSizes { get; }

    /// <summary>Size of each image after the transforms, before padding (torchvision's <c>ImageList.image_sizes</c>).</summary>
    public IReadOnlyList<ImageSize> ImageSizes { get; }

    /// <summary>Targets in the coordinates of <see cref="ImageSizes"/>.</summary>
    public IReadOnlyList<DetectionTarget> Targets { get; }

    /// <summary>Disposes <see cref="Images"/>.</summary>
    public void Dispose() => Images.Dispose();

    /// <inheritdoc/>
    public override string ToString() =>
        $"DetectionBatch epoch {Epoch} #{Index}: {Count} images, {(Images.IsDisposed ? "disposed" : $"[{string.Join(", ", Images.Shape)}]")}";
}
