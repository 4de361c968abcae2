using System.Globalization;
using MLNetSeg.Data.Loading;
using MLNetSeg.Models;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Optim;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Training;

/// <summary>
/// One <see cref="SegmentationTrainer.Fit"/> call: setup (data, model, optimizer, resume), the
/// iteration loop, and the hooks around it (progress, time limit, evaluation, checkpoints). The loop
/// knows nothing of any model family: it speaks <see cref="ISegmentationModel"/>.
/// </summary>
internal sealed class TrainingLoop
{
    private readonly TrainingContext _context;
    private readonly List<TrainingHook> _hooks = new();
    private readonly ModelFamily _family;

    public TrainingLoop(TrainingOptions options, DetectionDataset train, DetectionDataset? validation, CancellationToken cancellation)
    {
        var family = _family = ModelRegistry.For(options.Model);
        var categoryIds = train.Categories.CategoryIds;
        if (validation is not null && !validation.Categories.CategoryIds.SequenceEqual(categoryIds))
            throw new ArgumentException($"the validation set's categories ({string.Join(", ", validation.Categories.CategoryIds)}) are not the training set's " +
                                        $"({string.Join(", ", categoryIds)}); the model predicts the training set's", nameof(validation));
        var info = TrainedModel.InfoFor(train, new Dictionary<string, string>
        {
            ["trained_on"] = train.Coco.Source,
            ["trainer"] = nameof(SegmentationTrainer),
            ["family"] = family.Name,
        });
        // The keypoint schema goes into the model (and its files) only for families that predict keypoints.
        if (!family.TasksFor(options.Model).HasFlag(SegmentationTasks.Keypoints)) info = info with { Keypoints = null };
        _context = new TrainingContext(options, train, validation, info, cancellation);

        _hooks.Add(new ProgressHook());
        if (options.Schedule.MaxTrainingTime is { } limit) _hooks.Add(new TimeLimitHook(limit));
        // Distributed: rank 0 alone evaluates (the others wait at their next step).
        if (validation is not null && options.Distributed is not { Rank: > 0 }) _hooks.Add(new EvaluationHook());
        if (options.Checkpoints.Directory is not null) _hooks.Add(new CheckpointHook());
    }

    public TrainedModel Execute()
    {
        var c = _context;
        var options = c.Options;
        if (options.Runtime.Threads is { } threads) TorchRuntime.Threads = threads;
        if (options.Distributed is { WorldSize: > 1 } distributed)
        {
            c.DataParallel = DataParallel.Join(distributed, c.Log);
            if (!c.IsMain) c.Progress = ConsoleTrainingProgress.Silent;
        }
        try
        {
            return Setup();
        }
        finally
        {
            c.DataParallel?.Dispose();
        }
    }

    private TrainedModel Setup()
    {
        var c = _context;
        var options = c.Options;
        c.Loader = new DataLoader(c.Train, TrainingTransform(options.Data, c.Train), new DataLoaderOptions
        {
            BatchSize = options.Data.BatchSize,
            Workers = options.Data.LoaderWorkers,
            Shuffle = true,
            Seed = options.Seed,
            GroupByAspectRatio = options.Data.GroupByAspectRatio,
            DropLast = true,
            SkipBadSamples = options.Data.SkipBadSamples,
            Log = c.Log,
            Shard = c.DataParallel is { } dp ? new DataShard(dp.Rank, dp.WorldSize) : null,
        });
        if (c.Loader.BatchesPerEpoch == 0)
            throw new ArgumentException($"the training set has {c.Train.Count} images, fewer than one batch of {options.Data.BatchSize}" +
                                        (options.Data.GroupByAspectRatio ? " (per aspect-ratio group the batches fill up over the epoch)" : ""));
        c.Schedule = TrainingSchedule.For(options.Schedule, c.Loader.BatchesPerEpoch / options.Optimizer.GradientAccumulationSteps, c.Loader.BatchesPerEpoch);

        if (c.CheckpointDirectory is { } dir && c.IsMain)
        {
            Directory.CreateDirectory(dir);
            TrainingCheckpoint.CleanStaleTemporaryFiles(dir);
        }
        string? resumePath = options.Checkpoints.ResumeFrom ?? (options.Checkpoints.AutoResume && c.CheckpointDirectory is { } d ? TrainingCheckpoint.FindLatest(d) : null);
        CheckpointInfo? resume = resumePath is null ? null : CheckResumable(resumePath);
        // metrics.jsonl beside the checkpoints, cut back to the iteration this run starts from.
        if (c.CheckpointDirectory is { } logDir && c.IsMain)
            c.Progress = MetricsLog.Open(Path.Combine(logDir, MetricsLog.FileName), resume?.Position.Iteration ?? 0, c.Progress, c.Log);

        // Seeded before the model is built: the initial weights come from this generator.
        TorchRuntime.ManualSeed(unchecked((ulong)options.Seed));
        CheckTrainingData(_family, _family.TasksFor(options.Model), c.Train);
        c.Model = _family.Create(options.Model, c.Info);
        try
        {
            return Train(resume);
        }
        catch
        {
            c.Optimizer?.Dispose();
            c.Model.Dispose();
            throw;
        }
        finally
        {
            c.Stream?.Dispose();
        }
    }

    /// <summary>The data must carry what the model trains on: masks for mask and semantic outputs, keypoints for keypoints.</summary>
    private static void CheckTrainingData(ModelFamily family, SegmentationTasks tasks, DetectionDataset train)
    {
        string name = family.DisplayName;
        if ((tasks & (SegmentationTasks.Masks | SegmentationTasks.Semantic)) != 0 && !train.Options.LoadMasks)
            throw new ArgumentException($"{name} trains on instance masks, but the training set is loaded with LoadMasks = false", nameof(train));
        if (tasks.HasFlag(SegmentationTasks.Keypoints) && train.KeypointsPerInstance is null)
            throw new ArgumentException($"{name} trains on keypoints, but the training set ({train.Coco.Source}) has none (or is loaded with LoadKeypoints = false)", nameof(train));
    }

    private CheckpointInfo CheckResumable(string path)
    {
        var c = _context;
        var info = TrainingCheckpoint.ReadInfo(path);
        var problems = TrainingCheckpoint.IncompatibleChanges(info.Options, c.Options);
        if (problems.Count > 0)
            throw new ArgumentException($"cannot resume from {path}: these options differ from the run that wrote it, which would change the training " +
                                        $"(use another checkpoint directory to start afresh, or set Checkpoints.AutoResume = false): {string.Join("; ", problems)}");
        if (!info.CategoryIds.SequenceEqual(c.Train.Categories.CategoryIds))
            throw new ArgumentException($"cannot resume from {path}: it was trained on categories {string.Join(", ", info.CategoryIds)}, " +
                                        $"the training set has {string.Join(", ", c.Train.Categories.CategoryIds)}");
        if (c.Schedule.TotalIterations is { } total && info.Position.Iteration > total)
            throw new ArgumentException($"cannot resume from {path}: it is at iteration {info.Position.Iteration}, beyond the {total} iterations asked for");
        return info;
    }

    private static IDetectionTransform? TrainingTransform(DataOptions data, DetectionDataset train)
    {
        var steps = new List<IDetectionTransform>();
        if (data.HorizontalFlip) steps.Add(new RandomHorizontalFlip(0.5, train.KeypointSchema));
        if (data.ColorJitter > 0) steps.Add(new ColorJitter(data.ColorJitter, data.ColorJitter, data.ColorJitter));
        return steps.Count switch { 0 => null, 1 => steps[0], _ => new Compose(steps.ToArray()) };
    }

    private TrainedModel Train(CheckpointInfo? resume)
    {
        var c = _context;
        var options = c.Options;
        if (resume is null && options.Model.PretrainedWeights is { } weights) c.Log(c.Model.LoadPretrainedWeights(weights));
        if (c.Device != Device.Cpu) c.Model.Module.To(c.Device);
        c.Parameters = c.Model.Module.Parameters().Where(p => p.RequiresGrad).ToArray();
        if (c.Parameters.Length == 0) throw new ArgumentException("the model has no trainable parameter (are the backbone layers and the heads all frozen?)");
        c.Optimizer = new Sgd(c.Parameters, options.EffectiveLearningRate, options.Optimizer.Momentum, weightDecay: options.Optimizer.WeightDecay);
        c.Scheduler = c.Schedule.CreateScheduler(c.Optimizer, () => c.TrainingTime);
        if (options.Runtime.MixedPrecision == DType.Float16) c.Scaler = new GradScaler();
        var position = new TrainingPosition(0, 0, 0);
        if (resume is not null)
        {
            TrainingCheckpoint.Restore(resume.Path, c.Model.Module, c.Optimizer, c.Device, c.DataParallel?.Rank ?? 0);
            position = resume.Position;
            c.ResumeTrainingTime(TimeSpan.FromSeconds(position.TrainingSeconds));
            c.Scheduler.LoadState(position.Iteration);
            if (c.Scaler is not null && resume.LossScale is { } ls) c.Scaler.LoadState(ls.Scale, ls.GoodSteps);
            c.Best = resume.Best;
            c.LastCheckpoint = resume.Path;
            c.LastCheckpointIteration = position.Iteration;
            if (c.Best is not null && c.CheckpointDirectory is { } dir && File.Exists(Path.Combine(dir, EvaluationHook.BestModelName)))
                c.BestModelPath = Path.Combine(dir, EvaluationHook.BestModelName);
        }
        if (c.DataParallel is { } dp)
        {
            dp.Attach(c.Model.Module, c.Parameters);
            // Each rank samples its own proposals from its own stream (rank 0 keeps the single-process
            // one); a resume restored every rank's stream above.
            if (resume is null && dp.Rank > 0) TorchRuntime.ManualSeed(unchecked((ulong)(options.Seed + dp.Rank)));
        }
        c.Iteration = c.StartIteration = position.Iteration;
        c.Model.Module.Train();
        c.Stream = new BatchStream(c.Loader, position.Epoch, position.BatchInEpoch);
        c.Report(TrainingEvent.Started, StartMessage(resume));
        foreach (var hook in _hooks) hook.BeforeTrain(c);

        RunIterations();

        foreach (var hook in _hooks) RunHook(() => hook.AfterTrain(c));
        c.Optimizer.Dispose();
        var summary = new TrainingSummary
        {
            Iterations = c.Iteration,
            PlannedIterations = c.Schedule.TotalIterations ?? c.Iteration,
            StoppedByTimeLimit = c.StoppedByTimeLimit,
            ResumedFrom = c.StartIteration,
            ResumedCheckpoint = resume?.Path,
            FinalLosses = c.LastLosses,
            Evaluation = c.LastValidation?.Evaluation,
            ValidationLosses = c.LastValidation?.Losses,
            Best = c.Best,
            BestModelPath = c.BestModelPath,
            FinalCheckpoint = c.LastCheckpoint,
            Elapsed = c.Clock.Elapsed,
            TrainingTime = c.TrainingTime,
            ImagesPerSecond = c.TrainingTimeThisCall.TotalSeconds > 0 ? c.ImagesThisCall / c.TrainingTimeThisCall.TotalSeconds : 0,
        };
        c.Report(TrainingEvent.Finished, $"training finished: {c.Iteration} iterations in {ConsoleTrainingProgress.FormatDuration(c.Clock.Elapsed)}" +
                                         (c.StoppedByTimeLimit ? $" (stopped by MaxTrainingTime {options.Schedule.MaxTrainingTime} before the planned {c.Schedule.TotalIterations})" : "") +
                                         (c.Best is null ? "" : $"; best {c.Best.Metric} {c.Best.Value * 100:F1} at iteration {c.Best.Iteration}"));
        return new TrainedModel(c.Model, c.Info, summary);
    }

    private string StartMessage(CheckpointInfo? resume)
    {
        var c = _context;
        var options = c.Options;
        var from = resume is null
            ? options.Model.PretrainedWeights is null ? "from scratch" : $"from {options.Model.PretrainedWeights}"
            : $"resuming from {resume.Path} (iteration {resume.Position.Iteration}, epoch {resume.Position.Epoch}, batch {resume.Position.BatchInEpoch})";
        string length = c.Schedule.Budget is { } budget
            ? $"a training budget of {ConsoleTrainingProgress.FormatDuration(budget)}"
            : $"{c.Schedule.TotalIterations} iterations";
        return string.Create(CultureInfo.InvariantCulture,
            $"training {c.Model.Family.DisplayName} ({DescribeModel(options.Model)}; {c.Model.NumClasses - 1} classes) {from}: " +
            $"{length} of {options.Data.BatchSize}×{options.Optimizer.GradientAccumulationSteps} images{ProcessesSuffix()}, " +
            $"{c.Loader.BatchesPerEpoch} batches per epoch of {c.Train.Count} images, lr {options.EffectiveLearningRate:G4}, " +
            $"{TorchRuntime.Threads} threads on {c.Device}");
    }

    private string ProcessesSuffix() => _context.DataParallel is { } dp ? $" × {dp.WorldSize} processes" : "";

    /// <summary>The model settings that differ from the family's defaults, as "Name value" ("Settings.MinSize 64").</summary>
    private static string DescribeModel(ModelOptions options)
    {
        var now = TrainingCheckpoint.Flatten(TrainingCheckpoint.ModelOptionsToJson(options));
        var before = TrainingCheckpoint.Flatten(TrainingCheckpoint.ModelOptionsToJson(ModelRegistry.For(options).CreateDefaultOptions()));
        var changed = now.Where(kv => !System.Text.Json.Nodes.JsonNode.DeepEquals(kv.Value, before.GetValueOrDefault(kv.Key)))
            .Select(kv => $"{kv.Key} {(kv.Value is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<string>(out var text) ? text : kv.Value?.ToJsonString() ?? "null")}")
            .ToArray();
        return changed.Length == 0 ? "default settings" : string.Join(", ", changed);
    }

    private void RunIterations()
    {
        var c = _context;
        int accumulation = c.Options.Optimizer.GradientAccumulationSteps;
        while (!c.Schedule.IsComplete(c.Iteration, c.TrainingTime) && !c.StopRequested)
        {
            if (c.Cancellation.IsCancellationRequested) throw Cancelled();
            c.StartTrainingClock();
            var batches = new List<DetectionBatch>(accumulation);
            StepResult step;
            try
            {
                // All batches of the iteration are fetched before any forward pass, so a cancellation
                // while waiting for data leaves the model exactly at the iteration boundary.
                try
                {
                    for (int k = 0; k < accumulation; k++) batches.Add(c.Stream!.Next(c.Cancellation));
                }
                catch (OperationCanceledException) when (c.Cancellation.IsCancellationRequested)
                {
                    c.StopTrainingClock();
                    throw Cancelled();
                }
                step = TrainingStep.Run(c, batches);
                c.StopTrainingClock();
                c.ImagesThisCall += step.Images;
            }
            finally
            {
                c.StopTrainingClock();
                foreach (var b in batches) b.Dispose();
            }
            foreach (var hook in _hooks) RunHook(() => hook.AfterStep(c, step));
        }
    }

    /// <summary>Evaluation inside a hook is cancellable; its cancellation ends the run like one between iterations.</summary>
    private void RunHook(Action hook)
    {
        try
        {
            hook();
        }
        catch (OperationCanceledException e) when (e is not TrainingCanceledException && _context.Cancellation.IsCancellationRequested)
        {
            throw Cancelled();
        }
    }

    private TrainingCanceledException Cancelled()
    {
        foreach (var hook in _hooks) hook.OnCancelled(_context);
        return new TrainingCanceledException(_context.Iteration, _context.LastCheckpoint, _context.Cancellation);
    }
}
