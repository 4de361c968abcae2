using MLNetSeg.Data.Loading;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Training;

namespace MLNetSeg.Transforms.Tests;

/// <summary>
/// Small models for the ML.NET tests: untrained but seeded, with the box score threshold at 0 so
/// that every image gets detections (with masks) to compare — an untrained R-CNN scores everything
/// near 1/(classes + 1), under the default 0.05 cut only for large class counts.
/// </summary>
internal static class ModelFixtures
{
    public static MaskRcnnOptions TinyMaskRcnn { get; } = new()
    {
        Backbone = ResNetDepth.ResNet18,
        Norm = BackboneNorm.BatchNorm,
        Widths = DetectorWidths.Compact,
        Settings = new RcnnOptions
        {
            MinSize = 64, MaxSize = 128, RpnPreNmsTopNTest = 100, RpnPostNmsTopNTest = 50,
            BoxScoreThresh = 0, BoxDetectionsPerImage = 6,
        },
    };

    /// <summary>A seeded untrained Mask R-CNN with the Tiny dataset's classes.</summary>
    public static TrainedModel MaskRcnn(DetectionDataset dataset, int seed = 3)
    {
        TorchRuntime.ManualSeed((ulong)seed);
        var info = TrainedModel.InfoFor(dataset);
        var model = MLNetSeg.Models.ModelRegistry.Get(TinyMaskRcnn.Family).Create(TinyMaskRcnn, info);
        model.PrepareForInference();
        return new TrainedModel(model, info);
    }
}
