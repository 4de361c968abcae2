using System.Diagnostics;
using MLNetSeg.Data.Loading;
using MLNetSeg.Models;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Optim;

namespace MLNetSeg.Training;

/// <summary>
/// The state of one training run that the loop and its hooks share (detectron2's trainer storage):
/// what is trained, where the run is, and what it has produced so far.
/// </summary>
internal sealed class TrainingContext
{
    private readonly Stopwatch _trainingClock = new();
    private TimeSpan _trainingTimeBefore;
    private (TimeSpan Total, TimeSpan ThisCall)? _agreedTime;

    public TrainingContext(TrainingOptions options, DetectionDataset train, DetectionDataset? validation, ModelFileInfo info,
        CancellationToken cancellation)
    {
        Options = options;
        Train = train;
        Validation = validation;
        Info = info;
        Cancellation = cancellation;
        Log = options.Runtime.Log ?? (message => Console.Error.WriteLine(message));
        Progress = options.Runtime.Progress ?? new ConsoleTrainingProgress();
        Device = options.Runtime.Device ?? Device.Cpu;
    }

    public TrainingOptions Options { get; }
    public DetectionDataset Train { get; }
    public DetectionDataset? Validation { get; }

    /// <summary>Classes, category ids and keypoint schema of the model, and provenance for its files.</summary>
    public ModelFileInfo Info { get; }

    public CancellationToken Cancellation { get; }
    public Action<string> Log { get; }

    /// <summary>Where progress goes (the console line, metrics.jsonl when checkpointing, the user's sink).</summary>
    public IProgress<TrainingProgress> Progress { get; set; }

    public Device Device { get; }
    public string? CheckpointDirectory => Options.Checkpoints.Directory;

    public ISegmentationModel Model { get; set; } = null!;
    public Tensor[] Parameters { get; set; } = null!;
    public Optimizer Optimizer { get; set; } = null!;

    /// <summary>The loss scaler of float16 mixed precision; null otherwise.</summary>
    public GradScaler? Scaler { get; set; }
    public LrScheduler Scheduler { get; set; } = null!;
    public TrainingSchedule Schedule { get; set; } = null!;
    public DataLoader Loader { get; set; } = null!;
    public BatchStream? Stream { get; set; }

    /// <summary>Optimizer steps done.</summary>
    public long Iteration { get; set; }

    /// <summary>The iteration this Fit call started from (0, or the resumed checkpoint's).</summary>
    public long StartIteration { get; set; }

    /// <summary>Wall time of this Fit call.</summary>
    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    /// <summary>Training time of the whole run (steps and data waits, all Fit calls; evaluation and checkpoints not counted).</summary>
    public TimeSpan TrainingTime => _agreedTime?.Total ?? _trainingTimeBefore + _trainingClock.Elapsed;

    /// <summary>Training time of this Fit call.</summary>
    public TimeSpan TrainingTimeThisCall => _agreedTime?.ThisCall ?? _trainingClock.Elapsed;

    /// <summary>The processes of a distributed run; null for one process.</summary>
    public DataParallel? DataParallel { get; set; }

    /// <summary>Whether this process writes (checkpoints, metrics, evaluations): always, unless it is a rank other than 0.</summary>
    public bool IsMain => DataParallel?.IsMain ?? true;

    /// <summary>Distributed runs: from now on the clock reads rank 0's readings (taken after each step), so
    /// that time-based schedules and limits decide the same on every rank.</summary>
    public void AgreeOnTrainingTime()
    {
        if (DataParallel is not { } dp) return;
        _agreedTime = dp.AgreeOnTime(_trainingTimeBefore + _trainingClock.Elapsed, _trainingClock.Elapsed);
    }

    public void ResumeTrainingTime(TimeSpan before) => _trainingTimeBefore = before;

    public void StartTrainingClock() => _trainingClock.Start();

    public void StopTrainingClock() => _trainingClock.Stop();

    /// <summary>Images trained on in this Fit call.</summary>
    public long ImagesThisCall { get; set; }

    public IReadOnlyDictionary<string, double> LastLosses { get; set; } = new Dictionary<string, double>();
    public double LastLearningRate { get; set; }

    /// <summary>Set by a hook to end training after this iteration (finishing as at the planned end).</summary>
    public bool StopRequested { get; set; }
    public bool StoppedByTimeLimit { get; set; }

    /// <summary>Whether this iteration is the run's last (planned end or a stop).</summary>
    public bool IsLastIteration => StopRequested || Schedule.IsComplete(Iteration, TrainingTime);

    /// <summary>The planned iterations, or the current estimate of a time-budget run.</summary>
    public long TotalIterations => Schedule.EstimatedTotal(Iteration, TrainingTime);

    public string? LastCheckpoint { get; set; }
    public long LastCheckpointIteration { get; set; } = -1;
    public BestResult? Best { get; set; }
    public string? BestModelPath { get; set; }

    public ValidationResult? LastValidation { get; set; }
    public long LastValidationIteration { get; set; } = -1;

    public int Epoch => Stream?.Epoch ?? 0;

    /// <summary>Reports an event with the run's position.</summary>
    public void Report(TrainingEvent kind, string message, string? path = null) => Progress.Report(new TrainingProgress
    {
        Event = kind,
        Iteration = Iteration,
        TotalIterations = TotalIterations,
        Epoch = Epoch,
        Elapsed = Clock.Elapsed,
        Message = message,
        Path = path,
        Losses = LastLosses,
    });
}
