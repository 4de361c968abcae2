using System.Text.Json.Serialization;
using MLNetSeg.Models;
using MLNetSeg.Torch;

namespace MLNetSeg.Training;

/// <summary>
/// Everything a <see cref="SegmentationTrainer"/> needs, one record per concern: the model family and
/// its settings (<see cref="Model"/>), optimisation, schedule, data, checkpoints, evaluation and run
/// time. Each setting exists once and its default lives on its record; the command line reads them
/// from here. Defaults follow the torchvision / detectron2 COCO recipe (SGD, momentum 0.9, weight
/// decay 1e-4, base rate 0.02 per 16 images with linear warmup from 0.001 over 1000 iterations,
/// ×0.1 at 2/3 and 8/9 of the run).
/// </summary>
/// <remarks>
/// <para><b>Resuming.</b> A checkpoint stores these options; resuming with options that change the
/// training trajectory (model, data, optimisation, schedule shape, seed) fails with an error listing
/// the differences. The run length (<see cref="ScheduleOptions.Iterations"/>, <see cref="ScheduleOptions.Epochs"/>,
/// <see cref="ScheduleOptions.TimeBudget"/>, <see cref="ScheduleOptions.MaxTrainingTime"/>), checkpoint
/// and evaluation settings, run-time settings, loader workers, <see cref="DataOptions.SkipBadSamples"/>
/// and the pretrained weights may change.</para>
/// </remarks>
public sealed record TrainingOptions
{
    /// <summary>The model family and its settings, e.g. <c>new MaskRcnnOptions { Backbone = ResNetDepth.ResNet18 }</c>;
    /// the classes and keypoints come from the training set.</summary>
    public required ModelOptions Model { get; init; }

    /// <summary>Learning rate, momentum, weight decay, gradient accumulation and clipping (SGD).</summary>
    public OptimizerOptions Optimizer { get; init; } = new();

    /// <summary>Run length (exactly one of iterations, epochs or a time budget; none is set by default, so one must be given), warmup and decay.</summary>
    public ScheduleOptions Schedule { get; init; } = new();

    /// <summary>Batch size, augmentation and data loading.</summary>
    public DataOptions Data { get; init; } = new();

    /// <summary>Checkpoint folder, period, retention and resuming; by default nothing is written to disk.</summary>
    public CheckpointOptions Checkpoints { get; init; } = new();

    /// <summary>Validation period, validation loss and the metric that picks the best model.</summary>
    public EvaluationOptions Evaluation { get; init; } = new();

    /// <summary>Threads, device, progress reporting and logging; these never change what is trained.</summary>
    public RuntimeOptions Runtime { get; init; } = new();

    /// <summary>Data-parallel training over several processes; null (default): this process alone.
    /// <see cref="DistributedOptions.FromEnvironment"/> reads torchrun's variables.</summary>
    public DistributedOptions? Distributed { get; init; }

    /// <summary>Seeds the weights' initialisation, libtorch's generator (sampling inside the model) and
    /// the data loader (shuffles and augmentation): the same seed gives the same run.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Images per optimizer step: <see cref="DataOptions.BatchSize"/> × <see cref="OptimizerOptions.GradientAccumulationSteps"/>
    /// × the processes of a distributed run.</summary>
    [JsonIgnore]
    public int ImagesPerStep => Data.BatchSize * Optimizer.GradientAccumulationSteps * (Distributed?.WorldSize ?? 1);

    /// <summary>The base learning rate: <see cref="OptimizerOptions.LearningRate"/>, or the linear scaling
    /// rule (Goyal et al. 2017, as detectron2 and torchvision's references): 0.02 × images per step ÷ 16.</summary>
    [JsonIgnore]
    public double EffectiveLearningRate => Optimizer.LearningRate ?? 0.02 * ImagesPerStep / 16.0;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first option out of range
    /// ("TrainingOptions.Schedule.Iterations must be at least 1, got 0").</summary>
    public void Validate()
    {
        if (Model is null) throw new ArgumentException("TrainingOptions.Model must be set: the model family's options, e.g. new MaskRcnnOptions()", nameof(Model));
        try { Model.Validate(); }
        catch (ArgumentException e) { throw new ArgumentException($"TrainingOptions.Model ({Model.GetType().Name}): {e.Message}", nameof(Model), e); }
        Optimizer.Validate();
        Schedule.Validate();
        Data.Validate();
        Checkpoints.Validate();
        Evaluation.Validate();
        Runtime.Validate();
        Distributed?.Validate();
    }

    internal static void Require(bool ok, string option, string message)
    {
        if (!ok) throw new ArgumentException($"TrainingOptions.{option} {message}", option);
    }
}

/// <summary>SGD with momentum, weight decay, optional gradient accumulation and clipping.</summary>
public sealed record OptimizerOptions
{
    /// <summary>Base learning rate; null applies the linear scaling rule (<see cref="TrainingOptions.EffectiveLearningRate"/>).</summary>
    public double? LearningRate { get; init; }

    /// <summary>SGD momentum, as in <c>torch.optim.SGD</c> (no dampening, no Nesterov); default 0.9.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>L2 weight decay added to the gradient of every trained parameter, as in <c>torch.optim.SGD</c>; default 1e-4.</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>Forward/backward passes whose gradients are summed (each loss ÷ this) before one optimizer step.</summary>
    public int GradientAccumulationSteps { get; init; } = 1;

    /// <summary>Clip the joint L2 norm of all gradients to this (null: no clipping).</summary>
    public double? GradientClipNorm { get; init; }

    internal void Validate()
    {
        const string at = "Optimizer.";
        TrainingOptions.Require(LearningRate is null || (LearningRate > 0 && double.IsFinite(LearningRate.Value)), at + nameof(LearningRate), $"must be a positive number, got {LearningRate}");
        TrainingOptions.Require(Momentum >= 0 && double.IsFinite(Momentum), at + nameof(Momentum), $"must be non-negative, got {Momentum}");
        TrainingOptions.Require(WeightDecay >= 0 && double.IsFinite(WeightDecay), at + nameof(WeightDecay), $"must be non-negative, got {WeightDecay}");
        TrainingOptions.Require(GradientAccumulationSteps >= 1, at + nameof(GradientAccumulationSteps), $"must be at least 1, got {GradientAccumulationSteps}");
        TrainingOptions.Require(GradientClipNorm is null or > 0, at + nameof(GradientClipNorm), $"must be positive, got {GradientClipNorm}");
    }
}

/// <summary>The learning-rate decay after warmup.</summary>
public enum LrSchedule
{
    /// <summary>×<see cref="ScheduleOptions.Gamma"/> at each of <see cref="ScheduleOptions.Steps"/> (the Mask R-CNN schedule).</summary>
    MultiStep,

    /// <summary>Cosine annealing from the base rate to 0 over the whole run.</summary>
    Cosine,
}

/// <summary>
/// How long training runs and how the learning rate moves. Give the length as exactly one of
/// <see cref="Iterations"/>, <see cref="Epochs"/> or <see cref="TimeBudget"/>.
/// </summary>
/// <remarks>
/// With <see cref="TimeBudget"/> the schedule follows the clock: the decay is a function of the
/// fraction of the budget spent (warmup stays in iterations), re-read before every step, and training
/// ends when the budget is spent, so the schedule completes whatever the speed does (a slow start,
/// a busy machine). The number of iterations then depends on the machine, so such runs are not
/// bit-reproducible; the budget counts training time (steps and data waits), not evaluation or
/// checkpoint writing, and a resumed run continues from the time its checkpoint had spent.
/// </remarks>
public sealed record ScheduleOptions
{
    /// <summary>Optimizer steps to train.</summary>
    public int? Iterations { get; init; }

    /// <summary>Passes over the training set (each ⌊batches per epoch ÷ accumulation⌋ optimizer steps).</summary>
    public int? Epochs { get; init; }

    /// <summary>Training time to fill: the schedule is driven by the elapsed fraction of it (see the remarks).</summary>
    public TimeSpan? TimeBudget { get; init; }

    /// <summary>Iterations of warmup from <see cref="WarmupFactor"/> × the base rate.</summary>
    public int WarmupIterations { get; init; } = 1000;

    /// <summary>The rate at iteration 0 as a fraction of the base rate, rising linearly to 1 over
    /// <see cref="WarmupIterations"/> (detectron2's linear warmup); in (0, 1], default 0.001.</summary>
    public double WarmupFactor { get; init; } = 0.001;

    /// <summary>How the rate decays after warmup; default <see cref="LrSchedule.MultiStep"/>.</summary>
    public LrSchedule Decay { get; init; } = LrSchedule.MultiStep;

    /// <summary>Iterations at which <see cref="LrSchedule.MultiStep"/> multiplies the rate by <see cref="Gamma"/>;
    /// null: at 2/3 and 8/9 of the run (60k and 80k of the 90k-iteration 1x schedule; of the budget with <see cref="TimeBudget"/>).</summary>
    public IReadOnlyList<long>? Steps { get; init; }

    /// <summary>The factor <see cref="LrSchedule.MultiStep"/> multiplies the rate by at each of <see cref="Steps"/>; default 0.1.</summary>
    public double Gamma { get; init; } = 0.1;

    /// <summary>
    /// A safety net on wall time for runs of fixed length: when training (evaluation not counted) has run
    /// this long, it stops at the next iteration boundary and finishes as if the last iteration had been
    /// reached (checkpoint, evaluation, model files); <see cref="TrainingSummary.StoppedByTimeLimit"/> says
    /// so. The schedule is not compressed (use <see cref="TimeBudget"/> for that). Null: no limit.
    /// </summary>
    public TimeSpan? MaxTrainingTime { get; init; }

    internal void Validate()
    {
        const string at = "Schedule.";
        int lengths = (Iterations is null ? 0 : 1) + (Epochs is null ? 0 : 1) + (TimeBudget is null ? 0 : 1);
        if (lengths != 1)
            throw new ArgumentException($"TrainingOptions.Schedule: give exactly one of Iterations, Epochs and TimeBudget (got {lengths})", "Schedule");
        TrainingOptions.Require(Iterations is null or >= 1, at + nameof(Iterations), $"must be at least 1, got {Iterations}");
        TrainingOptions.Require(Epochs is null or >= 1, at + nameof(Epochs), $"must be at least 1, got {Epochs}");
        TrainingOptions.Require(TimeBudget is null || TimeBudget > TimeSpan.Zero, at + nameof(TimeBudget), $"must be positive, got {TimeBudget}");
        TrainingOptions.Require(WarmupIterations >= 0, at + nameof(WarmupIterations), $"must be non-negative, got {WarmupIterations}");
        TrainingOptions.Require(WarmupFactor is > 0 and <= 1, at + nameof(WarmupFactor), $"must be in (0, 1], got {WarmupFactor}");
        TrainingOptions.Require(Enum.IsDefined(Decay), at + nameof(Decay), $"is not a schedule ({Decay})");
        TrainingOptions.Require(Steps is null || Steps.Zip(Steps.Skip(1)).All(p => p.First <= p.Second) && Steps.All(s => s >= 0), at + nameof(Steps), "must be non-negative and non-decreasing");
        TrainingOptions.Require(Steps is null || TimeBudget is null, at + nameof(Steps), "are iterations, which a TimeBudget run does not fix in advance: leave them null (the steps fall at 2/3 and 8/9 of the budget)");
        TrainingOptions.Require(Gamma > 0 && double.IsFinite(Gamma), at + nameof(Gamma), $"must be positive, got {Gamma}");
        TrainingOptions.Require(MaxTrainingTime is null || MaxTrainingTime > TimeSpan.Zero, at + nameof(MaxTrainingTime), $"must be positive, got {MaxTrainingTime}");
    }
}

/// <summary>Batching, augmentation and loading of the training data.</summary>
public sealed record DataOptions
{
    /// <summary>Images per forward/backward pass.</summary>
    public int BatchSize { get; init; } = 2;

    /// <summary>Random horizontal flips (p = 0.5); keypoints are flipped with the dataset's flip map.</summary>
    public bool HorizontalFlip { get; init; } = true;

    /// <summary>Colour jitter strength: brightness, contrast and saturation factors drawn from [1 − s, 1 + s] (0 disables it).</summary>
    public double ColorJitter { get; init; }

    /// <summary>Leave corrupt or missing images and unusable annotations out of their batch with a warning instead of stopping.</summary>
    public bool SkipBadSamples { get; init; }

    /// <summary>Data loader threads decoding and augmenting images.</summary>
    public int LoaderWorkers { get; init; } = 2;

    /// <summary>Batch only images of one aspect-ratio group (torchvision's GroupedBatchSampler).</summary>
    public bool GroupByAspectRatio { get; init; } = true;

    internal void Validate()
    {
        const string at = "Data.";
        TrainingOptions.Require(BatchSize >= 1, at + nameof(BatchSize), $"must be at least 1, got {BatchSize}");
        TrainingOptions.Require(ColorJitter is >= 0 and < 1, at + nameof(ColorJitter), $"must be in [0, 1), got {ColorJitter}");
        TrainingOptions.Require(LoaderWorkers >= 1, at + nameof(LoaderWorkers), $"must be at least 1, got {LoaderWorkers}");
    }
}

/// <summary>Where and how often training state is written.</summary>
public sealed record CheckpointOptions
{
    /// <summary>Where checkpoints (checkpoint_NNNNNNN.ckpt), metrics.jsonl, best.mlseg and model_final.mlseg go; null keeps nothing on disk.</summary>
    public string? Directory { get; init; }

    /// <summary>Write a checkpoint every this many iterations (and at the end, and when cancelled).</summary>
    public int Period { get; init; } = 1000;

    /// <summary>Checkpoints kept in <see cref="Directory"/> (older ones are deleted); 0 keeps all.</summary>
    public int Keep { get; init; } = 2;

    /// <summary>A checkpoint file to resume from. Null: the newest checkpoint in <see cref="Directory"/> when there is one and <see cref="AutoResume"/> is on.</summary>
    public string? ResumeFrom { get; init; }

    /// <summary>When <see cref="ResumeFrom"/> is null, continue from the newest checkpoint in <see cref="Directory"/>
    /// if there is one (default true); false starts afresh unless <see cref="ResumeFrom"/> is given.</summary>
    public bool AutoResume { get; init; } = true;

    internal void Validate()
    {
        TrainingOptions.Require(Period >= 1, "Checkpoints." + nameof(Period), $"must be at least 1, got {Period}");
        TrainingOptions.Require(Keep >= 0, "Checkpoints." + nameof(Keep), $"must be non-negative, got {Keep}");
    }
}

/// <summary>Validation during and after training (needs a validation set).</summary>
public sealed record EvaluationOptions
{
    /// <summary>Validate every this many iterations; 0: only at the end.</summary>
    public int Period { get; init; }

    /// <summary>Validate when training ends.</summary>
    public bool AtEnd { get; init; } = true;

    /// <summary>Compute the validation loss (torchvision style: training-mode forward under no-grad, with
    /// BatchNorm layers on their running statistics) at each validation.</summary>
    public bool ValidationLoss { get; init; } = true;

    /// <summary>The metric that picks best.mlseg ("segm/AP", "keypoints/AP", "sem_seg/mIoU", ...); null: the
    /// model's primary metric (segm/AP for masks, else keypoints/AP, else bbox/AP, else panoptic_seg/PQ, else sem_seg/mIoU; see <see cref="MLNetSeg.Evaluation.SegmentationEvaluation.PrimaryMetric"/>).</summary>
    public string? BestMetric { get; init; }

    /// <summary>Per-keypoint OKS sigmas for the keypoint evaluation; null: COCO's 17 (a model with another
    /// number of keypoints needs its own).</summary>
    public IReadOnlyList<double>? KeypointSigmas { get; init; }

    internal void Validate()
    {
        TrainingOptions.Require(Period >= 0, "Evaluation." + nameof(Period), $"must be non-negative, got {Period}");
        TrainingOptions.Require(KeypointSigmas is null || (KeypointSigmas.Count > 0 && KeypointSigmas.All(s => s > 0 && double.IsFinite(s))),
            "Evaluation." + nameof(KeypointSigmas), "must be positive numbers, one per keypoint");
    }
}

/// <summary>Threads, device and reporting; none of these change what is trained.</summary>
public sealed record RuntimeOptions
{
    /// <summary>libtorch intra-op threads; null leaves the engine's setting (all cores, or MLNETSEG_THREADS).</summary>
    public int? Threads { get; init; }

    /// <summary>Where the model runs (CPU by default).</summary>
    [JsonIgnore]
    public Device? Device { get; init; }

    /// <summary>Mixed precision: null (default) trains in float32; <see cref="DType.BFloat16"/> runs the forward pass under
    /// bfloat16 autocast (CPU or CUDA; no loss scaling needed); <see cref="DType.Float16"/> under float16 autocast with
    /// dynamic loss scaling (<see cref="MLNetSeg.Torch.Optim.GradScaler"/>), CUDA only. Weights and optimizer state stay float32.</summary>
    public DType? MixedPrecision { get; init; }

    /// <summary>Report progress every this many iterations.</summary>
    public int LogPeriod { get; init; } = 20;

    /// <summary>Progress reports (iterations, validation, checkpoints); null: a console line
    /// (<see cref="ConsoleTrainingProgress"/>). Use <see cref="ConsoleTrainingProgress.Silent"/> for none.</summary>
    [JsonIgnore]
    public IProgress<TrainingProgress>? Progress { get; init; }

    /// <summary>Warnings (skipped samples, weight-loading notes); null: standard error.</summary>
    [JsonIgnore]
    public Action<string>? Log { get; init; }

    /// <summary>Test seam: sees (iteration, total loss) before backward and may replace the loss, e.g. to inject a NaN.</summary>
    [JsonIgnore]
    internal Func<long, Tensor, Tensor>? LossHook { get; init; }

    internal void Validate()
    {
        TrainingOptions.Require(Threads is null or >= 1, "Runtime." + nameof(Threads), $"must be at least 1, got {Threads}");
        TrainingOptions.Require(LogPeriod >= 1, "Runtime." + nameof(LogPeriod), $"must be at least 1, got {LogPeriod}");
        TrainingOptions.Require(MixedPrecision is null or DType.BFloat16 or DType.Float16, "Runtime." + nameof(MixedPrecision),
            $"must be BFloat16, Float16 or null (float32), got {MixedPrecision}");
        TrainingOptions.Require(MixedPrecision != DType.Float16 || Device is { Type: DeviceType.Cuda }, "Runtime." + nameof(MixedPrecision),
            "Float16 needs a CUDA device (CPU autocast computes in bfloat16: use DType.BFloat16)");
    }
}
