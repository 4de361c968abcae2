using System.Diagnostics;
using System.Globalization;
using MLNetSeg.Data.Loading;
using MLNetSeg.Models;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Torch.Optim;

namespace MLNetSeg.Training;

/// <summary>One <see cref="MaskRcnnTrainer.Fit"/> call: setup, the iteration loop, evaluation and checkpoints.</summary>
internal sealed class TrainingRun
{
    private const string TotalKey = "loss";
    private readonly TrainerOptions _options;
    private readonly DetectionDataset _train;
    private readonly DetectionDataset? _validation;
    private readonly CancellationToken _cancellation;
    private readonly Action<string> _log;
    private IProgress<TrainingProgress> _progress;
    private readonly Device _device;
    private readonly bool _masks;
    private readonly int? _numKeypoints;
    private readonly ModelFileInfo _info;
    private readonly IReadOnlyList<long> _categoryIds;

    private GeneralizedRcnn _model = null!;
    private Sgd _optimizer = null!;
    private LrScheduler _scheduler = null!;
    private Tensor[] _parameters = null!;
    private DataLoader _loader = null!;
    private BatchStream _stream = null!;
    private long _totalIterations;
    private long _iteration;
    private long _startIteration;
    private string? _lastCheckpoint;
    private long _lastCheckpointIteration = -1;
    private BestResult? _best;
    private string? _bestPath;
    private DetectionEvaluation? _lastEvaluation;
    private IReadOnlyDictionary<string, double>? _lastValidationLosses;
    private long _lastEvaluationIteration = -1;
    private IReadOnlyDictionary<string, double> _lastLosses = new Dictionary<string, double>();
    private readonly Stopwatch _clock = new();
    private readonly Stopwatch _trainingClock = new();
    private long _imagesThisCall;
    private bool _stoppedByTimeLimit;

    public TrainingRun(TrainerOptions options, DetectionDataset train, DetectionDataset? validation, CancellationToken cancellation)
    {
        _options = options;
        _train = train;
        _validation = validation;
        _cancellation = cancellation;
        _log = options.Log ?? (message => Console.Error.WriteLine(message));
        _progress = options.Progress ?? new ConsoleTrainingProgress();
        _device = options.Device ?? Device.Cpu;
        _masks = options.Model == DetectorKind.MaskRcnn;
        if (_masks && !train.Options.LoadMasks)
            throw new ArgumentException("Mask R-CNN trains on instance masks, but the training set is loaded with LoadMasks = false", nameof(train));
        if (options.Model == DetectorKind.KeypointRcnn)
        {
            _numKeypoints = train.KeypointsPerInstance ?? throw new ArgumentException(
                $"Keypoint R-CNN trains on keypoints, but the training set ({train.Coco.Source}) has none (or is loaded with LoadKeypoints = false)", nameof(train));
        }
        _categoryIds = train.Categories.CategoryIds;
        if (validation is not null && !validation.Categories.CategoryIds.SequenceEqual(_categoryIds))
            throw new ArgumentException($"the validation set's categories ({string.Join(", ", validation.Categories.CategoryIds)}) are not the training set's " +
                                        $"({string.Join(", ", _categoryIds)}); the model predicts the training set's", nameof(validation));
        _info = TrainedDetector.InfoFor(train, new Dictionary<string, string>
        {
            ["trained_on"] = train.Coco.Source,
            ["trainer"] = nameof(MaskRcnnTrainer),
        });
    }

    private int NumClasses => _train.Categories.CountWithBackground;
    private string? CheckpointDir => _options.CheckpointDirectory;

    public TrainedDetector Execute()
    {
        _clock.Start();
        if (_options.Threads is { } threads) TorchRuntime.Threads = threads;
        _loader = new DataLoader(_train, TrainingTransform(), new DataLoaderOptions
        {
            BatchSize = _options.BatchSize,
            Workers = _options.LoaderWorkers,
            Shuffle = true,
            Seed = _options.Seed,
            GroupByAspectRatio = _options.GroupByAspectRatio,
            DropLast = true,
            SkipBadSamples = _options.SkipBadSamples,
            Log = _log,
        });
        if (_loader.BatchesPerEpoch == 0)
            throw new ArgumentException($"the training set has {_train.Count} images, fewer than one batch of {_options.BatchSize}" +
                                        (_options.GroupByAspectRatio ? " (per aspect-ratio group the batches fill up over the epoch)" : ""));
        long iterationsPerEpoch = _loader.BatchesPerEpoch / _options.GradientAccumulationSteps;
        if (_options.Epochs is { } epochs)
        {
            if (iterationsPerEpoch == 0)
                throw new ArgumentException($"an epoch has {_loader.BatchesPerEpoch} batches, fewer than GradientAccumulationSteps ({_options.GradientAccumulationSteps}); give Iterations instead");
            _totalIterations = epochs * iterationsPerEpoch;
        }
        else
        {
            _totalIterations = _options.Iterations!.Value;
        }

        if (CheckpointDir is { } dir)
        {
            Directory.CreateDirectory(dir);
            TrainingCheckpoint.CleanStaleTemporaryFiles(dir);
        }
        string? resumePath = _options.ResumeFrom ?? (_options.AutoResume && CheckpointDir is { } d ? TrainingCheckpoint.FindLatest(d) : null);
        CheckpointInfo? resume = resumePath is null ? null : CheckResumable(resumePath);
        // metrics.jsonl beside the checkpoints, cut back to the iteration this run starts from.
        if (CheckpointDir is { } logDir) _progress = MetricsLog.Open(Path.Combine(logDir, MetricsLog.FileName), resume?.Position.Iteration ?? 0, _progress, _log);

        // Seeded before the model is built: the initial weights come from this generator.
        TorchRuntime.ManualSeed(unchecked((ulong)_options.Seed));
        _model = DetectorFactory.Create(_options, NumClasses, _numKeypoints);
        try
        {
            return Train(resume);
        }
        catch
        {
            _optimizer?.Dispose();
            _model.Dispose();
            throw;
        }
        finally
        {
            _stream?.Dispose();
        }
    }

    private CheckpointInfo CheckResumable(string path)
    {
        var info = TrainingCheckpoint.ReadInfo(path);
        var problems = TrainingCheckpoint.IncompatibleChanges(info.Options, _options);
        if (problems.Count > 0)
            throw new ArgumentException($"cannot resume from {path}: these options differ from the run that wrote it, which would change the training " +
                                        $"(use another CheckpointDirectory to start afresh, or set AutoResume = false): {string.Join("; ", problems)}");
        if (!info.CategoryIds.SequenceEqual(_categoryIds))
            throw new ArgumentException($"cannot resume from {path}: it was trained on categories {string.Join(", ", info.CategoryIds)}, " +
                                        $"the training set has {string.Join(", ", _categoryIds)}");
        if (info.Position.Iteration > _totalIterations)
            throw new ArgumentException($"cannot resume from {path}: it is at iteration {info.Position.Iteration}, beyond the {_totalIterations} iterations asked for");
        return info;
    }

    private IDetectionTransform? TrainingTransform()
    {
        var steps = new List<IDetectionTransform>();
        if (_options.HorizontalFlip) steps.Add(new RandomHorizontalFlip(0.5));
        if (_options.ColorJitter > 0) steps.Add(new ColorJitter(_options.ColorJitter, _options.ColorJitter, _options.ColorJitter));
        return steps.Count switch { 0 => null, 1 => steps[0], _ => new Compose(steps.ToArray()) };
    }

    private TrainedDetector Train(CheckpointInfo? resume)
    {
        if (resume is null && _options.PretrainedWeights is { } weights) _log(DetectorFactory.LoadPretrained(_model, weights));
        if (_device != Device.Cpu) _model.To(_device);
        _parameters = _model.Parameters().Where(p => p.RequiresGrad).ToArray();
        if (_parameters.Length == 0) throw new ArgumentException("the model has no trainable parameter (TrainableBackboneLayers and the heads are all frozen?)");
        _optimizer = new Sgd(_parameters, _options.EffectiveLearningRate, _options.Momentum, weightDecay: _options.WeightDecay);
        _scheduler = CreateScheduler();
        var position = new TrainingPosition(0, 0, 0);
        if (resume is not null)
        {
            TrainingCheckpoint.Restore(resume.Path, _model, _optimizer, _device);
            _scheduler.LoadState(resume.Position.Iteration);
            position = resume.Position;
            _best = resume.Best;
            _lastCheckpoint = resume.Path;
            _lastCheckpointIteration = position.Iteration;
            if (_best is not null && CheckpointDir is { } dir && File.Exists(Path.Combine(dir, "best.mlseg"))) _bestPath = Path.Combine(dir, "best.mlseg");
        }
        _iteration = _startIteration = position.Iteration;
        _model.Train();
        _stream = new BatchStream(_loader, position.Epoch, position.BatchInEpoch);
        Report(TrainingEvent.Started, StartMessage(resume));

        TrainLoop();

        if (_validation is not null && _options.EvaluateAtEnd && _lastEvaluationIteration != _iteration) EvaluateOrStop();
        if (CheckpointDir is { } directory)
        {
            if (_lastCheckpointIteration != _iteration) SaveCheckpoint();
            var finalPath = Path.Combine(directory, "model_final.mlseg");
            ModelFile.Save(_model, _info, finalPath);
            Report(TrainingEvent.Saved, $"saved the final model to {finalPath}", finalPath);
        }
        _optimizer.Dispose();
        var summary = new TrainingSummary
        {
            Iterations = _iteration,
            PlannedIterations = _totalIterations,
            StoppedByTimeLimit = _stoppedByTimeLimit,
            ResumedFrom = _startIteration,
            ResumedCheckpoint = resume?.Path,
            FinalLosses = _lastLosses,
            Evaluation = _lastEvaluation,
            ValidationLosses = _lastValidationLosses,
            Best = _best,
            BestModelPath = _bestPath,
            FinalCheckpoint = _lastCheckpoint,
            Elapsed = _clock.Elapsed,
            ImagesPerSecond = _trainingClock.Elapsed.TotalSeconds > 0 ? _imagesThisCall / _trainingClock.Elapsed.TotalSeconds : 0,
        };
        Report(TrainingEvent.Finished, $"training finished: {_iteration} iterations in {ConsoleTrainingProgress.FormatDuration(_clock.Elapsed)}" +
                                       (_stoppedByTimeLimit ? $" (stopped by MaxTrainingTime {_options.MaxTrainingTime} before the planned {_totalIterations})" : "") +
                                       (_best is null ? "" : $"; best {_best.Metric} {_best.Value * 100:F1} at iteration {_best.Iteration}"));
        return new TrainedDetector(_model, _info, summary);
    }

    private string StartMessage(CheckpointInfo? resume)
    {
        var arch = DetectorFactory.Architecture(_options, NumClasses, _numKeypoints);
        var from = resume is null
            ? _options.PretrainedWeights is null ? "from scratch" : $"from {_options.PretrainedWeights}"
            : $"resuming from {resume.Path} (iteration {resume.Position.Iteration}, epoch {resume.Position.Epoch}, batch {resume.Position.BatchInEpoch})";
        var widths = arch.Widths.IsTorchvision ? "" : $", widths: {arch.Widths}";
        return string.Create(CultureInfo.InvariantCulture,
            $"training {arch.ModelType} {arch.BackboneName} (FPN {arch.FpnVersion}, heads v{arch.Version}, {NumClasses - 1} classes{widths}) {from}: " +
            $"{_totalIterations} iterations of {_options.BatchSize}×{_options.GradientAccumulationSteps} images, " +
            $"{_loader.BatchesPerEpoch} batches per epoch of {_train.Count} images, lr {_options.EffectiveLearningRate:G4}, " +
            $"{TorchRuntime.Threads} threads on {_device}");
    }

    private LrScheduler CreateScheduler()
    {
        long warmup = _options.WarmupIterations;
        if (_options.Schedule == LrSchedule.Cosine)
            return new WarmupCosineLr(_optimizer, _totalIterations, warmupFactor: _options.WarmupFactor, warmupIters: warmup);
        var steps = _options.Steps ?? new[] { _totalIterations * 2 / 3, _totalIterations * 8 / 9 };
        return new WarmupMultiStepLr(_optimizer, steps, _options.Gamma, _options.WarmupFactor, warmup);
    }

    // ---- the loop

    private void TrainLoop()
    {
        int accumulation = _options.GradientAccumulationSteps;
        var windowSums = new Dictionary<string, double>(StringComparer.Ordinal);
        int windowIterations = 0;
        long windowImages = 0;
        var windowClock = Stopwatch.StartNew();
        while (_iteration < _totalIterations && !_stoppedByTimeLimit)
        {
            if (_cancellation.IsCancellationRequested) throw Cancelled();
            _trainingClock.Start();
            var batches = new List<DetectionBatch>(accumulation);
            try
            {
                // All batches of the iteration are fetched before any forward pass, so a cancellation
                // while waiting for data leaves the model exactly at the iteration boundary.
                try
                {
                    for (int k = 0; k < accumulation; k++) batches.Add(_stream.Next(_cancellation));
                }
                catch (OperationCanceledException) when (_cancellation.IsCancellationRequested)
                {
                    throw Cancelled();
                }
                var losses = Step(batches);
                _trainingClock.Stop();
                foreach (var (k, v) in losses) windowSums[k] = windowSums.GetValueOrDefault(k) + v;
                windowIterations++;
                int images = batches.Sum(b => b.Count);
                windowImages += images;
                _imagesThisCall += images;
            }
            finally
            {
                foreach (var b in batches) b.Dispose();
            }

            if (_options.MaxTrainingTime is { } limit && _iteration < _totalIterations && _trainingClock.Elapsed >= limit)
            {
                _stoppedByTimeLimit = true;
                _log($"training time limit {limit} reached at iteration {_iteration} of {_totalIterations}: finishing now");
            }
            if (_iteration % _options.LogPeriod == 0 || _iteration == _totalIterations || _stoppedByTimeLimit)
            {
                double seconds = windowClock.Elapsed.TotalSeconds;
                _lastLosses = windowSums.ToDictionary(kv => kv.Key, kv => kv.Value / windowIterations);
                double perIteration = AverageSecondsPerIteration();
                _progress.Report(new TrainingProgress
                {
                    Event = TrainingEvent.Iteration,
                    Iteration = _iteration,
                    TotalIterations = _totalIterations,
                    Epoch = _stream.Epoch,
                    Losses = _lastLosses,
                    LearningRate = _lastLearningRate,
                    ImagesPerSecond = seconds > 0 ? windowImages / seconds : 0,
                    SecondsPerIteration = seconds / windowIterations,
                    Elapsed = _clock.Elapsed,
                    Eta = perIteration > 0 ? TimeSpan.FromSeconds(perIteration * (_totalIterations - _iteration)) : null,
                });
                windowSums.Clear();
                windowIterations = 0;
                windowImages = 0;
                windowClock.Restart();
            }
            bool last = _iteration == _totalIterations || _stoppedByTimeLimit;
            if (_validation is not null && _options.EvalPeriod > 0 && _iteration % _options.EvalPeriod == 0 && !(last && _options.EvaluateAtEnd))
                EvaluateOrStop();
            if (CheckpointDir is not null && _iteration % _options.CheckpointPeriod == 0 && !last) SaveCheckpoint();
        }
    }

    private double _lastLearningRate;

    /// <summary>Seconds per iteration over this call's training time (data waits included; evaluation and checkpoints not).</summary>
    private double AverageSecondsPerIteration()
    {
        long done = _iteration - _startIteration;
        return done > 0 ? _trainingClock.Elapsed.TotalSeconds / done : 0;
    }

    /// <summary>
    /// One optimizer step over the iteration's batches: forward, loss check, backward (each loss ÷
    /// accumulation steps), optional clipping, SGD update, schedule step. Every tensor made here is
    /// freed before returning. Returns the iteration's losses (mean over its batches).
    /// </summary>
    private Dictionary<string, double> Step(IReadOnlyList<DetectionBatch> batches)
    {
        long iteration = _iteration + 1;
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        using (var scope = DisposeScope.Enter())
        {
            _optimizer.ZeroGrad();
            foreach (var batch in batches)
            {
                using var inner = DisposeScope.Enter();
                var (images, targets) = RcnnTargets.From(batch, _masks, _numKeypoints is not null, _device);
                var losses = _model.ComputeLosses(images, targets);
                var total = losses.Total();
                if (_options.LossHook is { } hook) total = hook(iteration, total);
                var values = losses.ToDictionary().ToDictionary(kv => kv.Key, kv => kv.Value.ItemDouble(), StringComparer.Ordinal);
                values[TotalKey] = total.ItemDouble();
                if (values.Values.Any(v => !double.IsFinite(v)))
                    throw new TrainingDivergedException(iteration, $"the loss is not finite (batch {batch.Index} of epoch {batch.Epoch}: " +
                                                                   $"{string.Join(", ", batch.ImagePaths.Select(Path.GetFileName))})", values, _lastCheckpoint);
                (batches.Count == 1 ? total : total / batches.Count).Backward();
                foreach (var (k, v) in values) sums[k] = sums.GetValueOrDefault(k) + v / batches.Count;
            }
            if (_options.GradientClipNorm is { } maxNorm)
            {
                double norm = GradientClipping.ClipGradNorm(_parameters, maxNorm);
                if (!double.IsFinite(norm))
                    throw new TrainingDivergedException(iteration, $"the gradient norm is {norm.ToString(CultureInfo.InvariantCulture)}", sums, _lastCheckpoint);
            }
            _optimizer.Step();
            _optimizer.ZeroGrad();
        }
        _lastLearningRate = _optimizer.ParamGroups[0].LearningRate;
        _scheduler.Step();
        _iteration = iteration;
        return sums;
    }

    // ---- cancellation and checkpoints

    private TrainingCanceledException Cancelled()
    {
        string? path = _lastCheckpoint;
        if (CheckpointDir is not null && _lastCheckpointIteration != _iteration) path = SaveCheckpoint();
        return new TrainingCanceledException(_iteration, path, _cancellation);
    }

    private string SaveCheckpoint()
    {
        var dir = CheckpointDir!;
        CheckParametersFinite();
        var path = Path.Combine(dir, TrainingCheckpoint.FileName(_iteration));
        var position = new TrainingPosition(_iteration, _stream.Epoch, _stream.NextBatch);
        TrainingCheckpoint.Save(path, _model, _optimizer, _device, position, _totalIterations, _options, _categoryIds, _best);
        _lastCheckpoint = path;
        _lastCheckpointIteration = _iteration;
        if (_options.KeepCheckpoints > 0)
        {
            var all = TrainingCheckpoint.List(dir);
            foreach (var (_, old) in all.Take(Math.Max(0, all.Count - _options.KeepCheckpoints)))
            {
                try { File.Delete(old); }
                catch (IOException e) { _log($"warning: could not delete old checkpoint {old}: {e.Message}"); }
            }
        }
        Report(TrainingEvent.Saved, $"saved checkpoint {path}", path);
        return path;
    }

    /// <summary>A checkpoint must never hold a diverged model: checked before every write.</summary>
    private void CheckParametersFinite()
    {
        using var scope = DisposeScope.Enter();
        foreach (var (name, p) in _model.NamedParameters())
        {
            if (p.IsFinite().All().ItemLong() == 0)
                throw new TrainingDivergedException(_iteration, $"parameter {name} became non-finite in the update", _lastLosses, _lastCheckpoint);
        }
    }

    // ---- validation

    /// <summary>Evaluation runs at an iteration boundary and leaves the training state untouched, so a
    /// cancellation during it is handled like one between iterations.</summary>
    private void EvaluateOrStop()
    {
        try
        {
            Evaluate();
        }
        catch (OperationCanceledException e) when (e is not TrainingCanceledException && _cancellation.IsCancellationRequested)
        {
            throw Cancelled();
        }
    }

    private void Evaluate()
    {
        var validation = _validation!;
        _trainingClock.Stop();
        // Evaluation must not disturb training: libtorch's generator is restored afterwards, so the
        // losses of a run do not depend on how often it is evaluated.
        using var rngScope = DisposeScope.Enter();
        var cpuRng = TorchRuntime.GetRngState();
        var cudaRng = _device.Type == DeviceType.Cpu ? null : TorchRuntime.GetRngState(_device);
        try
        {
            if (_options.ValidationLoss) _lastValidationLosses = ValidationLosses(validation);
            _model.Eval();
            var predictions = TrainedDetector.PredictDataset(_model, validation, _options.BatchSize, _options.LoaderWorkers, _cancellation);
            _lastEvaluation = TrainedDetector.Score(validation, predictions, _info, _model);
        }
        finally
        {
            _model.Train();
            TorchRuntime.SetRngState(cpuRng);
            if (cudaRng is not null) TorchRuntime.SetRngState(cudaRng, _device);
        }
        _lastEvaluationIteration = _iteration;
        foreach (var warning in _lastEvaluation.Warnings) _log($"warning: evaluation: {warning}");

        var metrics = Metrics(_lastEvaluation);
        string metric = _masks ? "segm/AP" : _numKeypoints is not null ? "keypoints/AP" : "bbox/AP";
        double value = metrics[metric];
        string? note = null;
        if (_best is null || value > _best.Value)
        {
            _best = new BestResult(metric, value, _iteration);
            if (CheckpointDir is { } dir)
            {
                _bestPath = Path.Combine(dir, "best.mlseg");
                ModelFile.Save(_model, _info with { Properties = WithProperty(_info.Properties, "best", $"{metric} {value:R} at iteration {_iteration}") }, _bestPath);
                note = $"new best {metric} {value * 100:F1}: saved {_bestPath}";
            }
            else
            {
                note = $"new best {metric} {value * 100:F1}";
            }
        }
        _progress.Report(new TrainingProgress
        {
            Event = TrainingEvent.Validation,
            Iteration = _iteration,
            TotalIterations = _totalIterations,
            Epoch = _stream.Epoch,
            ValidationLosses = _lastValidationLosses,
            Metrics = metrics,
            Elapsed = _clock.Elapsed,
            Message = note,
        });
    }

    private static IReadOnlyDictionary<string, string> WithProperty(IReadOnlyDictionary<string, string>? properties, string key, string value)
    {
        var copy = new Dictionary<string, string>(properties ?? new Dictionary<string, string>(), StringComparer.Ordinal) { [key] = value };
        return copy;
    }

    /// <summary>"bbox/AP", "segm/AP50", ... for every stat of every evaluation.</summary>
    internal static Dictionary<string, double> Metrics(DetectionEvaluation evaluation)
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var r in evaluation.Results)
        {
            string type = r.IouType.ToString().ToLowerInvariant();
            for (int i = 0; i < r.Stats.Count; i++) metrics[$"{type}/{r.StatNames[i]}"] = r.Stats[i];
        }
        return metrics;
    }

    /// <summary>
    /// torchvision-style validation loss: the training forward pass (RPN and RoI sampling, all
    /// losses) under no-grad, with BatchNorm layers on their running statistics so validation
    /// images do not leak into them. Mean over the validation batches.
    /// </summary>
    private Dictionary<string, double> ValidationLosses(DetectionDataset validation)
    {
        _model.Train();
        foreach (var bn in _model.Modules().OfType<BatchNorm2d>()) bn.Eval();
        var loader = new DataLoader(validation, transform: null, new DataLoaderOptions
        {
            BatchSize = _options.BatchSize, Workers = _options.LoaderWorkers, Shuffle = false, GroupByAspectRatio = false, DropLast = false,
            SkipBadSamples = _options.SkipBadSamples, Log = _log,
        });
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        int batches = 0;
        using var noGrad = NoGradScope.Enter();
        foreach (var batch in loader.GetEpoch(0, _cancellation))
        {
            using (batch)
            using (var scope = DisposeScope.Enter())
            {
                var (images, targets) = RcnnTargets.From(batch, _masks, _numKeypoints is not null, _device);
                var losses = _model.ComputeLosses(images, targets);
                foreach (var (k, v) in losses.ToDictionary()) sums[k] = sums.GetValueOrDefault(k) + v.ItemDouble();
                sums[TotalKey] = sums.GetValueOrDefault(TotalKey) + losses.Total().ItemDouble();
                batches++;
            }
        }
        return sums.ToDictionary(kv => kv.Key, kv => batches > 0 ? kv.Value / batches : double.NaN);
    }

    private void Report(TrainingEvent kind, string message, string? path = null) => _progress.Report(new TrainingProgress
    {
        Event = kind,
        Iteration = _iteration,
        TotalIterations = _totalIterations,
        Epoch = _stream?.Epoch ?? 0,
        Elapsed = _clock.Elapsed,
        Message = message,
        Path = path,
        Losses = _lastLosses,
    });
}
