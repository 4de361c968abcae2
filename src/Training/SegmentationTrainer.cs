using MLNetSeg.Data.Loading;

namespace MLNetSeg.Training;

/// <summary>
/// The estimator of every model family: <see cref="Fit"/> trains the model that
/// <see cref="TrainingOptions.Model"/> describes (Mask R-CNN, Keypoint R-CNN, or any registered family)
/// on a COCO dataset and returns it as a <see cref="TrainedModel"/> (the transformer), as ML.NET
/// estimators do. Training is torchvision's: SGD with momentum and weight decay, linear warmup, step or
/// cosine decay (over iterations or a time budget), optional gradient clipping and accumulation,
/// horizontal flips and colour jitter.
/// </summary>
/// <remarks>
/// <para><b>Determinism.</b> The seed fixes the weights' initialisation, libtorch's generator and the data
/// loader: the same options on the same data and thread count give the same losses (a
/// <see cref="ScheduleOptions.TimeBudget"/> run excepted: its length follows the clock). A checkpoint
/// stores everything a run depends on, so stopping and resuming gives bit-identical losses.</para>
/// <para><b>Checkpoints.</b> With a <see cref="CheckpointOptions.Directory"/>, every
/// <see cref="CheckpointOptions.Period"/> iterations, at the end and on cancellation a checkpoint is
/// written atomically (see <see cref="TrainingCheckpoint"/>), with metrics.jsonl beside it; the best
/// validation model goes to best.mlseg and the final one to model_final.mlseg. A later Fit with the
/// same directory resumes from the newest checkpoint (or from <see cref="CheckpointOptions.ResumeFrom"/>).</para>
/// <para><b>Failures.</b> A non-finite loss, gradient norm or parameter stops training with a
/// <see cref="TrainingDivergedException"/> naming the iteration and the loss components; nothing is
/// written after it, so the newest checkpoint is the last good state. Bad samples stop training with the
/// data loader's <see cref="BadSampleException"/> naming the file, unless
/// <see cref="DataOptions.SkipBadSamples"/> is set.</para>
/// <para><b>Cancellation.</b> The token is checked between iterations and while waiting for data; the
/// iteration in progress finishes first, then a checkpoint of that state is written and a
/// <see cref="TrainingCanceledException"/> (an <see cref="OperationCanceledException"/>) is thrown,
/// naming the checkpoint. Throwing, rather than returning a half-trained model, keeps "Fit returned"
/// meaning "the schedule completed".</para>
/// </remarks>
public class SegmentationTrainer
{
    /// <summary>Validates and keeps the options; no data is read until <see cref="Fit"/>.</summary>
    /// <param name="options">The training options, <see cref="TrainingOptions.Model"/> naming the family.</param>
    /// <exception cref="ArgumentException">An option is out of range (the message names it), or the model family is not registered.</exception>
    public SegmentationTrainer(TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Models.ModelRegistry.For(options.Model);  // an unregistered family fails here, not after loading data
        Options = options;
    }

    /// <summary>The validated options every <see cref="Fit"/> call uses.</summary>
    public TrainingOptions Options { get; }

    /// <summary>Trains on <paramref name="train"/> (validating on <paramref name="validation"/> when given)
    /// and returns the trained model. See the class remarks for checkpoints, failures and cancellation.</summary>
    public TrainedModel Fit(DetectionDataset train, DetectionDataset? validation = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        return new TrainingLoop(Options, train, validation, cancellationToken).Execute();
    }
}
