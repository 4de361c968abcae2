using System.Text.Json.Serialization;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;

namespace MLNetSeg.Training;

/// <summary>Which R-CNN a <see cref="MaskRcnnTrainer"/> trains.</summary>
public enum DetectorKind
{
    /// <summary>Boxes, classes and instance masks (the dataset needs segmentations).</summary>
    MaskRcnn,

    /// <summary>Boxes, classes and keypoints (the dataset needs keypoints).</summary>
    KeypointRcnn,
}

/// <summary>The normalisation of the ResNet body (and FPN).</summary>
public enum BackboneNorm
{
    /// <summary>FrozenBatchNorm2d body, FPN without norm (torchvision's recipe for fine-tuning
    /// ImageNet/COCO weights; the statistics never change, so it cannot learn from scratch).</summary>
    FrozenBatchNorm,

    /// <summary>BatchNorm2d in the body and in the FPN (torchvision's v2 backbone): use it to train from scratch.</summary>
    BatchNorm,
}

/// <summary>The learning-rate schedule after warmup.</summary>
public enum LrSchedule
{
    /// <summary>×<see cref="TrainerOptions.Gamma"/> at each of <see cref="TrainerOptions.Steps"/> (the Mask R-CNN schedule).</summary>
    MultiStep,

    /// <summary>Cosine annealing from the base rate to 0 over the whole run.</summary>
    Cosine,
}

/// <summary>
/// Everything a <see cref="MaskRcnnTrainer"/> needs to know. Defaults follow the torchvision /
/// detectron2 COCO recipe (SGD, momentum 0.9, weight decay 1e-4, base rate 0.02 for 16 images per
/// step with linear warmup from 0.001 over 1000 iterations, ×0.1 at 2/3 and 8/9 of the run).
/// </summary>
/// <remarks>
/// <para><b>Learning rate.</b> Leave <see cref="LearningRate"/> null to apply the linear scaling rule
/// (Goyal et al. 2017, as detectron2 and torchvision's references do): 0.02 × images per optimizer
/// step ÷ 16, where images per step = <see cref="BatchSize"/> × <see cref="GradientAccumulationSteps"/>.
/// Give a value to set it outright.</para>
/// <para><b>Resuming.</b> A checkpoint stores these options; resuming with options that change the
/// training trajectory (model, data, optimisation, seed) fails with an error listing the differences.
/// <see cref="Iterations"/>/<see cref="Epochs"/> (to train longer), the checkpoint/evaluation periods,
/// threads, workers, <see cref="SkipBadSamples"/> and the progress sink may change.</para>
/// </remarks>
public sealed record TrainerOptions
{
    // ---- model

    public DetectorKind Model { get; init; } = DetectorKind.MaskRcnn;

    /// <summary>The ResNet of the backbone (resnet18, resnet34, resnet50, ...).</summary>
    public ResNetDepth Backbone { get; init; } = ResNetDepth.ResNet50;

    public BackboneNorm Norm { get; init; } = BackboneNorm.FrozenBatchNorm;

    /// <summary>torchvision recipe of the RPN and RoI heads: 1 (maskrcnn_resnet50_fpn: one-conv RPN head,
    /// two-FC box head) or 2 (the _v2 recipe: two-conv RPN head, 4-conv + FC box head, BatchNorm mask head).</summary>
    public int HeadVersion { get; init; } = 1;

    /// <summary>Channel widths of the backbone, FPN and heads. torchvision's (the default) fit its
    /// checkpoints; <see cref="DetectorWidths.Compact"/> trains about 5× faster on a CPU, for models
    /// trained from scratch.</summary>
    public DetectorWidths Widths { get; init; } = DetectorWidths.Torchvision;

    /// <summary>How many of layer4, layer3, layer2, layer1, conv1 are trained (0–5); torchvision uses 3
    /// with pretrained weights. Train all 5 from scratch.</summary>
    public int TrainableBackboneLayers { get; init; } = 3;

    /// <summary>
    /// Weights to start from (safetensors or PyTorch .pth): a detector's state dict (torchvision names;
    /// heads whose shape differs, e.g. another class count, keep their initialisation) or an ImageNet
    /// classification ResNet's (loaded into the backbone body). Null trains from scratch.
    /// </summary>
    public string? PretrainedWeights { get; init; }

    /// <summary>Short side of the network input (test size; also the training size unless
    /// <see cref="TrainMinSizes"/> is given).</summary>
    public int MinSize { get; init; } = 800;

    /// <summary>Cap on the long side of the network input.</summary>
    public int MaxSize { get; init; } = 1333;

    /// <summary>Multi-scale training: a short side drawn per image (torchvision's min_size tuple). Null: <see cref="MinSize"/>.</summary>
    public IReadOnlyList<int>? TrainMinSizes { get; init; }

    /// <summary>
    /// Further model settings (RPN/RoI sampling and thresholds, detections per image...). The trainer
    /// sets the class and keypoint counts from the dataset and <see cref="MinSize"/>,
    /// <see cref="MaxSize"/> and <see cref="TrainableBackboneLayers"/> from these options.
    /// </summary>
    public RcnnOptions? ModelOptions { get; init; }

    // ---- schedule

    /// <summary>Optimizer steps to train. Give this or <see cref="Epochs"/>.</summary>
    public int? Iterations { get; init; }

    /// <summary>Passes over the training set (each ⌊batches per epoch ÷ accumulation⌋ optimizer steps).</summary>
    public int? Epochs { get; init; }

    /// <summary>Images per forward/backward pass.</summary>
    public int BatchSize { get; init; } = 2;

    /// <summary>Forward/backward passes whose gradients are summed (each loss ÷ this) before one optimizer step.</summary>
    public int GradientAccumulationSteps { get; init; } = 1;

    /// <summary>Base learning rate; null applies the linear scaling rule (see the class remarks).</summary>
    public double? LearningRate { get; init; }

    public double Momentum { get; init; } = 0.9;

    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>Iterations of linear warmup from <see cref="WarmupFactor"/> × the base rate.</summary>
    public int WarmupIterations { get; init; } = 1000;

    public double WarmupFactor { get; init; } = 0.001;

    public LrSchedule Schedule { get; init; } = LrSchedule.MultiStep;

    /// <summary>Iterations at which <see cref="LrSchedule.MultiStep"/> multiplies the rate by
    /// <see cref="Gamma"/>; null: at 2/3 and 8/9 of the run (60k and 80k of the 90k-iteration 1x schedule).</summary>
    public IReadOnlyList<long>? Steps { get; init; }

    public double Gamma { get; init; } = 0.1;

    /// <summary>
    /// A safety net on wall time: when training (evaluation not counted) has run this long, it stops
    /// at the next iteration boundary and finishes as if the last iteration had been reached
    /// (checkpoint, evaluation, model files); <see cref="TrainingSummary.StoppedByTimeLimit"/> says so.
    /// The schedule is not compressed, so a run cut short ends at a higher learning rate. Runs that
    /// stay within the limit are unaffected and stay deterministic. Null: no limit.
    /// </summary>
    public TimeSpan? MaxTrainingTime { get; init; }

    /// <summary>Clip the joint L2 norm of all gradients to this (null: no clipping).</summary>
    public double? GradientClipNorm { get; init; }

    // ---- data

    /// <summary>Seeds the weights' initialisation, libtorch's generator (RPN/RoI sampling) and the
    /// data loader (shuffles and augmentation): the same seed gives the same run.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Random horizontal flips (p = 0.5), keypoints flipped with the COCO person flip map.</summary>
    public bool HorizontalFlip { get; init; } = true;

    /// <summary>Colour jitter strength: brightness, contrast and saturation factors drawn from
    /// [1 − s, 1 + s] (0 disables it).</summary>
    public double ColorJitter { get; init; }

    /// <summary>Leave corrupt or missing images and unusable annotations out of their batch with a
    /// warning instead of stopping.</summary>
    public bool SkipBadSamples { get; init; }

    /// <summary>Data loader threads decoding and augmenting images.</summary>
    public int LoaderWorkers { get; init; } = 2;

    /// <summary>Batch only images of one aspect-ratio group (torchvision's GroupedBatchSampler).</summary>
    public bool GroupByAspectRatio { get; init; } = true;

    // ---- checkpoints and evaluation

    /// <summary>Where checkpoints (checkpoint_NNNNNNN.ckpt), best.mlseg and final.mlseg go; null keeps nothing on disk.</summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Write a checkpoint every this many iterations (and at the end, and when cancelled).</summary>
    public int CheckpointPeriod { get; init; } = 1000;

    /// <summary>Checkpoints kept in <see cref="CheckpointDirectory"/> (older ones are deleted); 0 keeps all.</summary>
    public int KeepCheckpoints { get; init; } = 2;

    /// <summary>A checkpoint file to resume from. Null: resume from the newest checkpoint in
    /// <see cref="CheckpointDirectory"/> when there is one and <see cref="AutoResume"/> is on.</summary>
    public string? ResumeFrom { get; init; }

    public bool AutoResume { get; init; } = true;

    /// <summary>Run validation (loss and COCO evaluation) every this many iterations; 0: only at the end.
    /// Needs a validation set.</summary>
    public int EvalPeriod { get; init; }

    /// <summary>Evaluate on the validation set when training ends.</summary>
    public bool EvaluateAtEnd { get; init; } = true;

    /// <summary>Compute the validation loss (torchvision style: training-mode forward under no-grad,
    /// with BatchNorm layers using their running statistics) at each evaluation.</summary>
    public bool ValidationLoss { get; init; } = true;

    // ---- run time

    /// <summary>libtorch intra-op threads; null leaves the engine's setting (all cores).</summary>
    public int? Threads { get; init; }

    /// <summary>Where the model runs (CPU by default).</summary>
    [JsonIgnore]
    public Device? Device { get; init; }

    /// <summary>Report progress every this many iterations.</summary>
    public int LogPeriod { get; init; } = 20;

    /// <summary>Progress reports (iterations, validation, evaluation, checkpoints); null: a console
    /// line (<see cref="ConsoleTrainingProgress"/>). Use <see cref="ConsoleTrainingProgress.Silent"/> for none.</summary>
    [JsonIgnore]
    public IProgress<TrainingProgress>? Progress { get; init; }

    /// <summary>Warnings (skipped samples, weight-loading notes); null: standard error.</summary>
    [JsonIgnore]
    public Action<string>? Log { get; init; }

    /// <summary>Test seam: sees (iteration, total loss) before backward and may replace the loss, e.g. to
    /// inject a NaN. Not part of the public surface.</summary>
    [JsonIgnore]
    internal Func<long, Tensor, Tensor>? LossHook { get; init; }

    /// <summary>The base learning rate after the linear scaling rule.</summary>
    [JsonIgnore]
    public double EffectiveLearningRate => LearningRate ?? 0.02 * BatchSize * GradientAccumulationSteps / 16.0;

    /// <summary>Throws naming the first option out of range.</summary>
    public void Validate()
    {
        static void Require(bool ok, string option, string message)
        {
            if (!ok) throw new ArgumentException($"TrainerOptions.{option} {message}", option);
        }
        Require(Enum.IsDefined(Model), nameof(Model), $"is not a detector kind ({Model})");
        Require(Enum.IsDefined(Backbone), nameof(Backbone), $"is not a ResNet ({Backbone})");
        Require(HeadVersion is 1 or 2, nameof(HeadVersion), $"must be 1 or 2, got {HeadVersion}");
        Require(Model == DetectorKind.MaskRcnn || HeadVersion == 1, nameof(HeadVersion), "2 exists for Mask R-CNN only (torchvision has no keypointrcnn v2)");
        Require(Widths is not null, nameof(Widths), "must be set (DetectorWidths.Torchvision or another)");
        try { Widths!.Validate(); }
        catch (ArgumentOutOfRangeException e) { Require(false, nameof(Widths), e.Message); }
        Require(TrainableBackboneLayers is >= 0 and <= 5, nameof(TrainableBackboneLayers), $"must be in 0…5, got {TrainableBackboneLayers}");
        Require(MinSize >= 1 && MaxSize >= MinSize, nameof(MinSize), $"and MaxSize must satisfy 1 ≤ MinSize ≤ MaxSize, got {MinSize} and {MaxSize}");
        Require(TrainMinSizes is null || (TrainMinSizes.Count > 0 && TrainMinSizes.All(s => s >= 1)), nameof(TrainMinSizes), "must list positive sizes");
        Require((Iterations is null) != (Epochs is null), nameof(Iterations), "or Epochs: give exactly one of them");
        Require(Iterations is null or >= 1, nameof(Iterations), $"must be at least 1, got {Iterations}");
        Require(Epochs is null or >= 1, nameof(Epochs), $"must be at least 1, got {Epochs}");
        Require(BatchSize >= 1, nameof(BatchSize), $"must be at least 1, got {BatchSize}");
        Require(GradientAccumulationSteps >= 1, nameof(GradientAccumulationSteps), $"must be at least 1, got {GradientAccumulationSteps}");
        Require(LearningRate is null || (LearningRate > 0 && double.IsFinite(LearningRate.Value)), nameof(LearningRate), $"must be a positive number, got {LearningRate}");
        Require(Momentum >= 0 && double.IsFinite(Momentum), nameof(Momentum), $"must be non-negative, got {Momentum}");
        Require(WeightDecay >= 0 && double.IsFinite(WeightDecay), nameof(WeightDecay), $"must be non-negative, got {WeightDecay}");
        Require(WarmupIterations >= 0, nameof(WarmupIterations), $"must be non-negative, got {WarmupIterations}");
        Require(WarmupFactor is > 0 and <= 1, nameof(WarmupFactor), $"must be in (0, 1], got {WarmupFactor}");
        Require(Enum.IsDefined(Schedule), nameof(Schedule), $"is not a schedule ({Schedule})");
        Require(Steps is null || Steps.Zip(Steps.Skip(1)).All(p => p.First <= p.Second) && Steps.All(s => s >= 0), nameof(Steps), "must be non-negative and non-decreasing");
        Require(Gamma > 0 && double.IsFinite(Gamma), nameof(Gamma), $"must be positive, got {Gamma}");
        Require(MaxTrainingTime is null || MaxTrainingTime > TimeSpan.Zero, nameof(MaxTrainingTime), $"must be positive, got {MaxTrainingTime}");
        Require(GradientClipNorm is null or > 0, nameof(GradientClipNorm), $"must be positive, got {GradientClipNorm}");
        Require(ColorJitter is >= 0 and < 1, nameof(ColorJitter), $"must be in [0, 1), got {ColorJitter}");
        Require(LoaderWorkers >= 1, nameof(LoaderWorkers), $"must be at least 1, got {LoaderWorkers}");
        Require(CheckpointPeriod >= 1, nameof(CheckpointPeriod), $"must be at least 1, got {CheckpointPeriod}");
        Require(KeepCheckpoints >= 0, nameof(KeepCheckpoints), $"must be non-negative, got {KeepCheckpoints}");
        Require(EvalPeriod >= 0, nameof(EvalPeriod), $"must be non-negative, got {EvalPeriod}");
        Require(Threads is null or >= 1, nameof(Threads), $"must be at least 1, got {Threads}");
        Require(LogPeriod >= 1, nameof(LogPeriod), $"must be at least 1, got {LogPeriod}");
    }
}
