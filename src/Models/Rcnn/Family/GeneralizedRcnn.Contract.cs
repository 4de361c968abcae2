using System.Text.Json;
using MLNetSeg.Data.Loading;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models.Rcnn;

// The R-CNNs as model families: the segmentation-model contract over torchvision's GeneralizedRCNN.
public abstract partial class GeneralizedRcnn : ISegmentationModel
{
    /// <summary><see cref="MaskRcnnFamily"/> or <see cref="KeypointRcnnFamily"/>; a family built on this detector names its own.</summary>
    public virtual ModelFamily Family => this is KeypointRcnn ? KeypointRcnnFamily.Instance : MaskRcnnFamily.Instance;

    Module ISegmentationModel.Module => this;

    /// <summary>Boxes, and masks or keypoints as the heads have them; a family built on this detector may add a semantic map.</summary>
    public virtual SegmentationTasks Tasks =>
        SegmentationTasks.Boxes | (PredictsMasks ? SegmentationTasks.Masks : 0) | (RoiHeads.HasKeypoint ? SegmentationTasks.Keypoints : 0);

    /// <summary>Whether the model predicts instance masks (and so trains on them): the RoI heads' mask branch, or a
    /// derived family's own.</summary>
    protected virtual bool PredictsMasks => RoiHeads.HasMask;

    /// <summary>Whether the model has a semantic head (and so trains on semantic maps): false for the R-CNNs.</summary>
    protected virtual bool PredictsSemantic => false;

    IReadOnlyList<SegmentationResult> ISegmentationModel.Predict(IReadOnlyList<Tensor> images) => PredictResults(images);

    /// <summary>The contract's inference (<see cref="ISegmentationModel.Predict"/>): the instances of <see cref="Predict(IReadOnlyList{Tensor})"/>;
    /// a family that also makes a semantic or panoptic map returns them here.</summary>
    protected virtual IReadOnlyList<SegmentationResult> PredictResults(IReadOnlyList<Tensor> images) =>
        Predict(images).Select(instances => new SegmentationResult(instances)).ToArray();

    /// <summary>The image's <see cref="RcnnTarget"/>: boxes, labels, and masks, keypoints or a semantic map as the heads need them.</summary>
    public ITrainingTarget CreateTarget(DetectionTarget target, ImageSize size, Device device, string describe) =>
        RcnnTargets.From(target, size, PredictsMasks, RoiHeads.HasKeypoint, device, describe, PredictsSemantic);

    IReadOnlyDictionary<string, Tensor> ISegmentationModel.ComputeLosses(IReadOnlyList<Tensor> images, IReadOnlyList<ITrainingTarget> targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var typed = new RcnnTarget[targets.Count];
        for (int i = 0; i < targets.Count; i++)
            typed[i] = targets[i] as RcnnTarget ?? throw new ArgumentException(
                $"{GetType().Name}: target {i} is {targets[i]?.GetType().Name ?? "null"}, not an RcnnTarget (make targets with CreateTarget)", nameof(targets));
        return LossDictionary(images, typed);
    }

    /// <summary>The contract's losses by name (<see cref="ISegmentationModel.ComputeLosses"/>): <see cref="ComputeLosses"/>'s; a family
    /// that trains without the detector (a semantic-only model) computes its own here.</summary>
    protected virtual IReadOnlyDictionary<string, Tensor> LossDictionary(IReadOnlyList<Tensor> images, RcnnTarget[] targets) =>
        ComputeLosses(images, targets).ToDictionary();

    void ISegmentationModel.WriteConfig(Utf8JsonWriter writer) => WriteConfig(writer);

    /// <summary>The family's model-file section (<see cref="ISegmentationModel.WriteConfig"/>): the R-CNN section;
    /// a derived family adds its own fields after it.</summary>
    protected virtual void WriteConfig(Utf8JsonWriter writer) => RcnnConfig.Write(writer, ModelArchitecture.Of(this), Options);

    /// <summary>
    /// Loads <paramref name="path"/> into this model: a detector checkpoint (keys "backbone.…",
    /// torchvision names) with mismatched heads skipped, or an ImageNet classification ResNet (keys
    /// "conv1.weight", "layer1.…") into the backbone body, its "fc" ignored. Returns a one-line summary.
    /// </summary>
    public string LoadPretrainedWeights(string path) => ModelWeights.LoadPretrained(this, Backbone.Body, path);

    /// <summary>Eval mode, FrozenBatchNorm layers folded into their convolutions (a snapshot of the current weights).</summary>
    public void PrepareForInference()
    {
        Eval();
        Backbone.FuseFrozenBatchNorm();
    }
}
