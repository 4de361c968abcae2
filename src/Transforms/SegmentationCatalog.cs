using Microsoft.ML;

namespace MLNetSeg.Transforms;

/// <summary>
/// <c>mlContext.Segmentation()</c>: MLNetSeg's trainers (<see cref="Trainers"/>, one extension method
/// per model family from MLNetSeg.Trainers) and evaluation. Data loading and model application hang
/// where ML.NET users look for them (<c>mlContext.Data.LoadFromCoco</c>,
/// <c>mlContext.Transforms.ApplySegmentationModel</c>); trainers and evaluation get a catalog of their
/// own because no existing one fits: ML.NET put its object detection under
/// <c>MulticlassClassification</c>, where masks, keypoints and label maps would be lost.
/// </summary>
public sealed class SegmentationCatalog
{
    internal SegmentationCatalog(MLContext context)
    {
        Context = context;
        Trainers = new SegmentationTrainers(context);
    }

    /// <summary>The context the components log to.</summary>
    public MLContext Context { get; }

    /// <summary>The trainers, one per registered model family (extension methods from MLNetSeg.Trainers).</summary>
    public SegmentationTrainers Trainers { get; }
}

/// <summary>Where the trainers' catalog extension methods hang (<c>mlContext.Segmentation().Trainers.MaskRcnn(...)</c>).</summary>
public sealed class SegmentationTrainers
{
    internal SegmentationTrainers(MLContext context) => Context = context;

    /// <summary>The context the trainers log to and observe for cancellation.</summary>
    public MLContext Context { get; }
}

/// <summary>The entry point: <c>mlContext.Segmentation()</c>.</summary>
public static class SegmentationCatalogExtensions
{
    /// <summary>MLNetSeg's trainers and evaluation for this context.</summary>
    public static SegmentationCatalog Segmentation(this MLContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new SegmentationCatalog(context);
    }
}
