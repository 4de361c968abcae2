using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using MLNetSeg.Data.Loading;
using MLNetSeg.Data.Synthetic;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Training;

namespace MLNetSeg.Training.Tests.Training;

/// <summary>Trainer options small enough for a test: ResNet-18 with BatchNorm, 64-pixel short side,
/// few RPN/RoI samples, two threads.</summary>
internal static class TrainingFixtures
{
    /// <summary>Options for a fast, fully deterministic test run; no evaluation unless asked.</summary>
    public static TrainingOptions FastOptions(string? checkpointDirectory, int iterations, IProgress<TrainingProgress>? progress = null) => new()
    {
        Model = FastModel,
        Optimizer = new OptimizerOptions { LearningRate = 0.01, GradientClipNorm = 10 },
        Schedule = new ScheduleOptions { Iterations = iterations, WarmupIterations = 2, Steps = new long[] { 3 } },
        Data = new DataOptions { BatchSize = 2, LoaderWorkers = 1 },
        Checkpoints = new CheckpointOptions { Directory = checkpointDirectory, Period = 1000, Keep = 0 },
        Evaluation = new EvaluationOptions { AtEnd = false, ValidationLoss = false },
        Runtime = new RuntimeOptions
        {
            Threads = 2,
            LogPeriod = 1,
            Progress = progress ?? ConsoleTrainingProgress.Silent,
            Log = progress is ProgressLog log ? log.Warn : _ => { },
        },
        Seed = 7,
    };

    /// <summary>A small Mask R-CNN: ResNet-18 with BatchNorm, 64-pixel short side, few RPN/RoI samples.</summary>
    public static MaskRcnnOptions FastModel { get; } = new()
    {
        Backbone = ResNetDepth.ResNet18,
        Norm = BackboneNorm.BatchNorm,
        Settings = new RcnnOptions
        {
            MinSize = 64, MaxSize = 128, TrainableBackboneLayers = 3,
            RpnPreNmsTopNTrain = 200, RpnPostNmsTopNTrain = 100, RpnPreNmsTopNTest = 100, RpnPostNmsTopNTest = 50,
            RpnBatchSizePerImage = 64, BoxBatchSizePerImage = 32, BoxDetectionsPerImage = 20,
        },
    };

    /// <summary>The same small model as a Keypoint R-CNN.</summary>
    public static KeypointRcnnOptions FastKeypointModel { get; } = new()
    {
        Backbone = FastModel.Backbone, Norm = FastModel.Norm, Settings = FastModel.Settings,
    };

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }
}

/// <summary>Collects progress reports and warnings; can cancel a token at a given iteration.</summary>
internal sealed class ProgressLog : IProgress<TrainingProgress>
{
    private readonly ConcurrentQueue<TrainingProgress> _reports = new();
    private readonly ConcurrentQueue<string> _warnings = new();
    private readonly ConcurrentDictionary<long, long> _liveTensors = new();

    public CancellationTokenSource? CancelAt { get; init; }
    public long CancelIteration { get; init; } = -1;

    public void Report(TrainingProgress value)
    {
        _reports.Enqueue(value);
        if (value.Event == TrainingEvent.Iteration) _liveTensors[value.Iteration] = MLNetSeg.Torch.TorchRuntime.LiveTensors + MLNetSeg.Torch.TorchRuntime.FinalizedTensors;
        if (value.Event == TrainingEvent.Iteration && value.Iteration == CancelIteration) CancelAt?.Cancel();
    }

    public void Warn(string message) => _warnings.Enqueue(message);

    public IReadOnlyList<TrainingProgress> Reports => _reports.ToArray();

    public IReadOnlyList<string> Warnings => _warnings.ToArray();

    /// <summary>Native tensors not freed by a Dispose when each iteration was reported: alive plus
    /// those the finalizer freed. A finalizer collecting an earlier test's garbage mid-run moves
    /// tensors from one count to the other, so only tensors this run kept (or left to the GC) add.</summary>
    public IReadOnlyDictionary<long, long> LiveTensors => _liveTensors;

    /// <summary>Losses per iteration (LogPeriod 1: one report per iteration).</summary>
    public IReadOnlyDictionary<long, IReadOnlyDictionary<string, double>> Losses =>
        _reports.Where(r => r.Event == TrainingEvent.Iteration).ToDictionary(r => r.Iteration, r => r.Losses);
}
