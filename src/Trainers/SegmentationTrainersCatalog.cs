using MLNetSeg.Models.MaskLab;
using MLNetSeg.Models.TensorMask;
using MLNetSeg.Models.Panoptic;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Training;
using MLNetSeg.Transforms;

namespace MLNetSeg.Trainers;

/// <summary>
/// The trainers of <c>mlContext.Segmentation().Trainers</c>: one method per registered family with
/// the common settings as parameters (as ML.NET's trainers), and <see cref="Segmentation(SegmentationTrainers, SegmentationTrainerOptions)"/>
/// for any family and every setting.
/// </summary>
public static class SegmentationTrainersCatalog
{
    /// <summary>A trainer for any registered family, every setting in <paramref name="options"/>.</summary>
    public static SegmentationEstimator Segmentation(this SegmentationTrainers catalog, SegmentationTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new SegmentationEstimator(catalog.Context, options);
    }

    /// <summary>
    /// Mask R-CNN (torchvision's architecture; boxes and masks). Without <paramref name="model"/>,
    /// a ResNet-50 FPN at torchvision's widths; give <c>PretrainedWeights</c> there to start from a
    /// checkpoint. Exactly one of <paramref name="iterations"/>, <paramref name="epochs"/> and
    /// <paramref name="timeBudget"/> sets the length.
    /// </summary>
    public static SegmentationEstimator MaskRcnn(this SegmentationTrainers catalog,
        string labelColumnName = SegmentationColumns.Label,
        string boundingBoxColumnName = SegmentationColumns.BoundingBoxes,
        string maskColumnName = SegmentationColumns.Masks,
        string imageColumnName = SegmentationColumns.Image,
        int? iterations = null, int? epochs = null, TimeSpan? timeBudget = null,
        int batchSize = 2, double? learningRate = null,
        string? checkpointDirectory = null,
        MaskRcnnOptions? model = null) =>
        InstanceSegmentation(catalog, model ?? new MaskRcnnOptions(), labelColumnName, boundingBoxColumnName, maskColumnName, imageColumnName,
            iterations, epochs, timeBudget, batchSize, learningRate, checkpointDirectory);

    /// <summary>
    /// MaskLab (box detection, semantic segmentation and direction prediction; boxes and masks), as
    /// <see cref="MaskRcnn"/>. Without <paramref name="model"/>, the paper's full model on a ResNet-50 FPN
    /// at torchvision's widths; <see cref="MaskLabOptions"/> switch each piece off.
    /// </summary>
    public static SegmentationEstimator MaskLab(this SegmentationTrainers catalog,
        string labelColumnName = SegmentationColumns.Label,
        string boundingBoxColumnName = SegmentationColumns.BoundingBoxes,
        string maskColumnName = SegmentationColumns.Masks,
        string imageColumnName = SegmentationColumns.Image,
        int? iterations = null, int? epochs = null, TimeSpan? timeBudget = null,
        int batchSize = 2, double? learningRate = null,
        string? checkpointDirectory = null,
        MaskLabOptions? model = null) =>
        InstanceSegmentation(catalog, model ?? new MaskLabOptions(), labelColumnName, boundingBoxColumnName, maskColumnName, imageColumnName,
            iterations, epochs, timeBudget, batchSize, learningRate, checkpointDirectory);

    /// <summary>
    /// TensorMask (dense sliding-window instance segmentation; boxes and masks), as <see cref="MaskRcnn"/>. Without
    /// <paramref name="model"/>, detectron2's TensorMask R-50-FPN (tensor bipyramid, P2–P7, windows 44 and 60);
    /// <see cref="TensorMaskOptions"/> choose the head and the sizes.
    /// </summary>
    public static SegmentationEstimator TensorMask(this SegmentationTrainers catalog,
        string labelColumnName = SegmentationColumns.Label,
        string boundingBoxColumnName = SegmentationColumns.BoundingBoxes,
        string maskColumnName = SegmentationColumns.Masks,
        string imageColumnName = SegmentationColumns.Image,
        int? iterations = null, int? epochs = null, TimeSpan? timeBudget = null,
        int batchSize = 2, double? learningRate = null,
        string? checkpointDirectory = null,
        TensorMaskOptions? model = null) =>
        InstanceSegmentation(catalog, model ?? new TensorMaskOptions(), labelColumnName, boundingBoxColumnName, maskColumnName, imageColumnName,
            iterations, epochs, timeBudget, batchSize, learningRate, checkpointDirectory);

    /// <summary>
    /// Panoptic FPN and the IMP models (<see cref="PanopticOptions"/>: semantic head, Instance Mask Projection, instance branches):
    /// trains on boxes, masks and each image's label map (a PNG path in <paramref name="semanticLabelsColumnName"/>); the transformer
    /// adds PredictedSemanticLabels (Vector&lt;UInt16&gt;, the class per pixel, row-major) to the instance columns. The options must name
    /// the label maps' classes (<see cref="PanopticOptions.SemanticClasses"/>); the default model is Panoptic-FPN-IMP on a ResNet-50 FPN.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    public static SegmentationEstimator Panoptic(this SegmentationTrainers catalog,
        PanopticOptions model,
        string labelColumnName = SegmentationColumns.Label,
        string boundingBoxColumnName = SegmentationColumns.BoundingBoxes,
        string maskColumnName = SegmentationColumns.Masks,
        string semanticLabelsColumnName = SegmentationColumns.SemanticLabels,
        string imageColumnName = SegmentationColumns.Image,
        int? iterations = null, int? epochs = null, TimeSpan? timeBudget = null,
        int batchSize = 2, double? learningRate = null,
        string? checkpointDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Segmentation(catalog, new SegmentationTrainerOptions
        {
            Training = Simple(model, iterations, epochs, timeBudget, batchSize, learningRate, checkpointDirectory),
            LabelColumnName = labelColumnName,
            BoundingBoxColumnName = boundingBoxColumnName,
            MaskColumnName = maskColumnName,
            SemanticLabelsColumnName = semanticLabelsColumnName,
            ImageColumnName = imageColumnName,
        });
    }

    /// <summary>A trainer of a family that trains on boxes and masks (Mask R-CNN, MaskLab).</summary>
    private static SegmentationEstimator InstanceSegmentation(SegmentationTrainers catalog, MLNetSeg.Models.ModelOptions model,
        string labelColumnName, string boundingBoxColumnName, string maskColumnName, string imageColumnName,
        int? iterations, int? epochs, TimeSpan? timeBudget, int batchSize, double? learningRate, string? checkpointDirectory) =>
        Segmentation(catalog, new SegmentationTrainerOptions
        {
            Training = Simple(model, iterations, epochs, timeBudget, batchSize, learningRate, checkpointDirectory),
            LabelColumnName = labelColumnName,
            BoundingBoxColumnName = boundingBoxColumnName,
            MaskColumnName = maskColumnName,
            ImageColumnName = imageColumnName,
        });

    /// <summary>Keypoint R-CNN (torchvision's architecture; boxes and keypoints), as <see cref="MaskRcnn"/>.</summary>
    public static SegmentationEstimator KeypointRcnn(this SegmentationTrainers catalog,
        string labelColumnName = SegmentationColumns.Label,
        string boundingBoxColumnName = SegmentationColumns.BoundingBoxes,
        string keypointColumnName = SegmentationColumns.Keypoints,
        string imageColumnName = SegmentationColumns.Image,
        int? iterations = null, int? epochs = null, TimeSpan? timeBudget = null,
        int batchSize = 2, double? learningRate = null,
        string? checkpointDirectory = null,
        KeypointRcnnOptions? model = null) =>
        Segmentation(catalog, new SegmentationTrainerOptions
        {
            Training = Simple(model ?? new KeypointRcnnOptions(), iterations, epochs, timeBudget, batchSize, learningRate, checkpointDirectory),
            LabelColumnName = labelColumnName,
            BoundingBoxColumnName = boundingBoxColumnName,
            KeypointColumnName = keypointColumnName,
            ImageColumnName = imageColumnName,
        });

    private static TrainingOptions Simple(MLNetSeg.Models.ModelOptions model, int? iterations, int? epochs, TimeSpan? timeBudget,
        int batchSize, double? learningRate, string? checkpointDirectory) => new()
    {
        Model = model,
        Schedule = new ScheduleOptions { Iterations = iterations, Epochs = epochs, TimeBudget = timeBudget },
        Data = new DataOptions { BatchSize = batchSize },
        Optimizer = new OptimizerOptions { LearningRate = learningRate },
        Checkpoints = new CheckpointOptions { Directory = checkpointDirectory },
    };
}
