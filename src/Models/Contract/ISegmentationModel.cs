using System.Text.Json;
using MLNetSeg.Data.Loading;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models;

/// <summary>
/// The one contract every model family implements (Mask R-CNN, Keypoint R-CNN, and the families
/// that follow). The trainer, model files, predictors, evaluation and the command line work
/// through it alone; what is particular to a family stays in its folder and its
/// <see cref="ModelFamily"/> registration.
/// </summary>
/// <remarks>
/// Inputs are images as [3, H, W] floating-point tensors with values in [0, 1] (RGB), each its own
/// size: the model does its own resizing and normalisation, as torchvision's detectors do, so one
/// calling convention serves every family. Results are in the input image's pixels.
/// </remarks>
public interface ISegmentationModel : IDisposable
{
    /// <summary>The registered family this model belongs to (its name is stored in model files).</summary>
    ModelFamily Family { get; }

    /// <summary>The network: parameters and state dict (its names are the model file's), train/eval mode, device.</summary>
    Module Module { get; }

    /// <summary>Classes including the background (label 0).</summary>
    int NumClasses { get; }

    /// <summary>What the model outputs, and so which evaluations apply.</summary>
    SegmentationTasks Tasks { get; }

    /// <summary>Inference (eval mode) on a batch of images; one result per image, in order.</summary>
    IReadOnlyList<SegmentationResult> Predict(IReadOnlyList<Tensor> images);

    /// <summary>
    /// The family's training target for one loaded sample: <paramref name="target"/> in the
    /// sample's (augmented) pixels, <paramref name="size"/> the image size. Tensors go on
    /// <paramref name="device"/>, in the caller's dispose scope. Errors name <paramref name="describe"/>
    /// (the image) when the sample lacks what the family trains on.
    /// </summary>
    ITrainingTarget CreateTarget(DetectionTarget target, ImageSize size, Device device, string describe);

    /// <summary>
    /// The training losses for a batch (training mode), by name ("loss_classifier", "loss_mask", ...
    /// as torchvision and detectron2 name them); the training objective is their sum. Targets come
    /// from <see cref="CreateTarget"/>.
    /// </summary>
    IReadOnlyDictionary<string, Tensor> ComputeLosses(IReadOnlyList<Tensor> images, IReadOnlyList<ITrainingTarget> targets);

    /// <summary>
    /// Writes the family's section of a model file: everything <see cref="ModelFamily.Build"/> needs to
    /// rebuild this model before its weights go in (architecture, sizes, thresholds, preprocessing).
    /// The writer is inside the section's JSON object.
    /// </summary>
    void WriteConfig(Utf8JsonWriter writer);

    /// <summary>
    /// Loads weights that are not a model file into a freshly built model (e.g. a torchvision detector
    /// or an ImageNet classifier); returns a one-line summary of what was loaded and skipped.
    /// </summary>
    string LoadPretrainedWeights(string path);

    /// <summary>
    /// Called once when training is over and the weights are final: a family may fold or cache what
    /// only inference needs (e.g. frozen BatchNorm into convolutions). The model stays in eval mode
    /// and must not be trained afterwards.
    /// </summary>
    void PrepareForInference();
}

/// <summary>A family's training target for one image (Mask R-CNN's boxes, labels and masks, a semantic map...).</summary>
public interface ITrainingTarget
{
}
