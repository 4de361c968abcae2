using MLNetSeg.Data.Loading;

namespace MLNetSeg.Training;

/// <summary>
/// The Mask R-CNN / Keypoint R-CNN estimator: <see cref="Fit"/> trains a detector on a COCO
/// dataset and returns it as a <see cref="TrainedDetector"/> (the transformer), as ML.NET
/// estimators do. Training is torchvision's: SGD with momentum and weight decay, linear warmup,
/// step or cosine decay, optional gradient clipping and accumulation, multi-scale resizing and
/// horizontal flips; see <see cref="TrainerOptions"/>.
/// </summary>
/// <remarks>
/// <para><b>Determinism.</b> The seed fixes the weights' initialisation, libtorch's generator (the
/// RPN and RoI samplers, the training size draw) and the data loader (shuffles, augmentation): the
/// same options on the same data and thread count give the same losses. A checkpoint stores
/// everything a run depends on, so stopping and resuming gives bit-identical losses.</para>
/// <para><b>Checkpoints.</b> With a <see cref="TrainerOptions.CheckpointDirectory"/>, every
/// <see cref="TrainerOptions.CheckpointPeriod"/> iterations, at the end and on cancellation a
/// checkpoint is written atomically (see <see cref="TrainingCheckpoint"/>); the best validation
/// model goes to best.mlseg and the final one to model_final.mlseg. A later Fit with the same
/// directory resumes from the newest checkpoint (or from <see cref="TrainerOptions.ResumeFrom"/>).</para>
/// <para><b>Failures.</b> A non-finite loss, gradient norm or parameter stops training with a
/// <see cref="TrainingDivergedException"/> naming the iteration and the loss components; nothing
/// is written after it, so the newest checkpoint is the last good state. Bad samples stop training
/// with the data loader's <see cref="BadSampleException"/> naming the file, unless
/// <see cref="TrainerOptions.SkipBadSamples"/> is set.</para>
/// <para><b>Cancellation.</b> The token is checked between iterations and while waiting for data;
/// the iteration in progress finishes first (its forward and backward cannot be interrupted), then
/// a checkpoint of that state is written and a <see cref="TrainingCanceledException"/> (an
/// <see cref="OperationCanceledException"/>) is thrown, naming the checkpoint. Throwing, rather than
/// returning a half-trained model, keeps "Fit returned" meaning "the schedule completed".</para>
/// </remarks>
public sealed class MaskRcnnTrainer
{
    public MaskRcnnTrainer(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
    }

    public TrainerOptions Options { get; }

    /// <summary>Trains on <paramref name="train"/> (evaluating on <paramref name="validation"/> when
    /// given) and returns the trained detector. See the class remarks for checkpoints, failures and
    /// cancellation.</summary>
    public TrainedDetector Fit(DetectionDataset train, DetectionDataset? validation = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        return new TrainingRun(Options, train, validation, cancellationToken).Execute();
    }
}
