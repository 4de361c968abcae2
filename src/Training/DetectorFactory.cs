using MLNetSeg.Models;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;

namespace MLNetSeg.Training;

/// <summary>Builds the detector a <see cref="TrainerOptions"/> describes, as a model file can rebuild it.</summary>
public static class DetectorFactory
{
    /// <summary>The model file architecture of the options' detector with <paramref name="numClasses"/>
    /// classes (background included) and, for Keypoint R-CNN, <paramref name="numKeypoints"/> keypoints.</summary>
    public static ModelArchitecture Architecture(TrainerOptions options, int numClasses, int? numKeypoints) => new()
    {
        ModelType = options.Model == DetectorKind.MaskRcnn ? ModelArchitecture.MaskRcnnType : ModelArchitecture.KeypointRcnnType,
        Version = options.HeadVersion,
        Backbone = options.Backbone,
        FpnVersion = options.Norm == BackboneNorm.BatchNorm ? 2 : 1,
        NumClasses = numClasses,
        NumKeypoints = options.Model == DetectorKind.KeypointRcnn ? numKeypoints : null,
        Widths = options.Widths,
    };

    /// <summary>The model settings: <see cref="TrainerOptions.ModelOptions"/> with the sizes, trainable
    /// layers and class/keypoint counts of the options and dataset.</summary>
    public static RcnnOptions RcnnOptions(TrainerOptions options, int numClasses, int? numKeypoints)
    {
        var rcnn = (options.ModelOptions ?? new RcnnOptions()) with
        {
            NumClasses = numClasses,
            MinSize = options.MinSize,
            MaxSize = options.MaxSize,
            TrainableBackboneLayers = options.TrainableBackboneLayers,
        };
        if (numKeypoints is { } k) rcnn = rcnn with { NumKeypoints = k };
        return rcnn;
    }

    /// <summary>
    /// A freshly initialised detector (weights drawn from libtorch's generator: seed it first), in
    /// eval mode, with the training sizes set. Pretrained weights are not loaded here
    /// (<see cref="LoadPretrained"/>).
    /// </summary>
    public static GeneralizedRcnn Create(TrainerOptions options, int numClasses, int? numKeypoints)
    {
        var model = Architecture(options, numClasses, numKeypoints).Build(RcnnOptions(options, numClasses, numKeypoints));
        if (options.TrainMinSizes is { } sizes) model.Transform.TrainMinSizes = sizes;
        return model;
    }

    /// <summary>
    /// Loads <paramref name="path"/> into <paramref name="model"/>: a detector checkpoint (keys
    /// "backbone.…", torchvision names) with mismatched heads skipped, or an ImageNet classification
    /// ResNet (keys "conv1.weight", "layer1.…") into the backbone body, its "fc" ignored. Returns a
    /// one-line summary of what was loaded and skipped.
    /// </summary>
    public static string LoadPretrained(GeneralizedRcnn model, string path)
    {
        using var scope = DisposeScope.Enter();
        var tensors = ModelWeights.Read(path);
        bool detector = tensors.Keys.Any(k => k.StartsWith("backbone.", StringComparison.Ordinal));
        bool classifier = tensors.ContainsKey("conv1.weight") && tensors.Keys.Any(k => k.StartsWith("layer1.", StringComparison.Ordinal));
        if (detector)
        {
            var report = ModelWeights.Load(model, tensors, new WeightLoadOptions { SkipMismatched = true, AllowMissing = true, AllowUnexpected = true }, path);
            return $"{path}: loaded {report.Loaded.Count} detector tensors" +
                   (report.SkippedMismatched.Count > 0 ? $", kept {report.SkippedMismatched.Count} of another shape initialised ({string.Join(", ", report.SkippedMismatched.Take(4))}{(report.SkippedMismatched.Count > 4 ? ", ..." : "")})" : "") +
                   (report.Missing.Count > 0 ? $", {report.Missing.Count} model entries not in the file" : "") +
                   (report.Unexpected.Count > 0 ? $", {report.Unexpected.Count} file entries unused" : "");
        }
        if (classifier)
        {
            // The body keeps the ResNet's children under their names (conv1, bn1, layer1..4); fc is not among them.
            var report = ModelWeights.Load(model.Backbone.Body, tensors, new WeightLoadOptions { AllowUnexpected = true }, path);
            return $"{path}: loaded {report.Loaded.Count} ImageNet ResNet tensors into the backbone ({report.Unexpected.Count} unused: {string.Join(", ", report.Unexpected.Take(4))})";
        }
        throw new ArgumentException($"{path}: neither a detector state dict (keys 'backbone.…') nor a classification ResNet (keys 'conv1.weight', 'layer1.…'); " +
                                    $"first keys: {string.Join(", ", tensors.Keys.Take(5))}");
    }
}
