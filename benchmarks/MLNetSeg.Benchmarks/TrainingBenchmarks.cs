using System.Diagnostics;
using System.Globalization;
using MLNetSeg.Data.Loading;
using MLNetSeg.Data.Synthetic;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Training;

namespace MLNetSeg.Benchmarks;

/// <summary>
/// Training throughput of the quickstart's Mask R-CNN through <see cref="MaskRcnnTrainer"/>;
/// Python counterpart: benchmarks/reference/training.py (torchvision's reference loop, same model,
/// data, schedule, threads and loader workers). Conditions are listed in docs/benchmarks.md.
/// </summary>
internal static class TrainingBenchmarks
{
    /// <summary>Where both sides read the synthetic "small" train split unless a directory is given.</summary>
    public static string DefaultDataDirectory => Path.Combine(Path.GetTempPath(), "mlnetseg-bench-synthetic-small");

    /// <summary>
    /// Images per second of Mask R-CNN training (ResNet-18 + FPN with BatchNorm, torchvision v1 heads,
    /// from scratch, batch 4 at 256×192) over <c>iterations</c> timed iterations after <c>warmup</c>
    /// untimed ones. The clock runs from the end of the last warm-up iteration to the end of the last
    /// timed one, so data waits, the loss read-outs and the schedule step are included, as in the
    /// reference loop. Args: [widths=torchvision|compact] [iterations=20] [threads=2] [warmup=5]
    /// [workers=1] [dataDir]. Generates the synthetic dataset there when it is missing.
    /// Data-parallel when started with torchrun's environment (WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT;
    /// benchmarks/distributed_scaling.sh): every process trains on its own batch of 4, the images/s
    /// count all processes' images, and only rank 0 prints the result.
    /// </summary>
    public static string Training(string[] args)
    {
        string widthsName = args.Length > 0 ? args[0] : "torchvision";
        int iterations = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
        int threads = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2;
        int warmup = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 5;
        int workers = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 1;
        string dataDir = args.Length > 5 ? args[5] : DefaultDataDirectory;
        var widths = widthsName switch
        {
            "torchvision" => DetectorWidths.Torchvision,
            "compact" => DetectorWidths.Compact,
            _ => throw new ArgumentException($"widths must be 'torchvision' or 'compact', got '{widthsName}'"),
        };
        if (iterations < 1 || warmup < 1)
            throw new ArgumentException($"iterations and warmup must be at least 1 (the clock starts at the end of a warm-up iteration), got {iterations} and {warmup}");

        var trainJson = SyntheticDatasetGenerator.InstancesJsonPath(dataDir, "train");
        if (!File.Exists(trainJson))
        {
            Console.Error.WriteLine($"generating the synthetic 'small' dataset in {dataDir}");
            SyntheticDatasetGenerator.Generate(SyntheticOptions.Small, dataDir);
        }
        // The training split as torchvision's reference prepares it (_coco_remove_images_without_annotations).
        var train = DetectionDataset.Load(trainJson, SyntheticDatasetGenerator.ImageDirectory(dataDir, "train"),
            new DetectionDatasetOptions { RemoveImagesWithoutAnnotations = true });

        const int batchSize = 4;
        var clock = new IterationClock();
        var options = new TrainingOptions
        {
            Model = new MaskRcnnOptions
            {
                Backbone = ResNetDepth.ResNet18,
                Norm = BackboneNorm.BatchNorm,
                HeadVersion = 1,
                Widths = widths,
                Settings = new RcnnOptions
                {
                    MinSize = 192, MaxSize = 256, TrainableBackboneLayers = 5,
                    BoxBatchSizePerImage = 32, RpnPreNmsTopNTrain = 1000, RpnPostNmsTopNTrain = 500,
                },
            },
            // torchvision's recipe (lr 0.02 per 16 images, linearly scaled: 0.005) with train_one_epoch's
            // first-epoch warmup: linear from 0.001 over min(1000, batches per epoch − 1) iterations; no decay.
            Optimizer = new OptimizerOptions { LearningRate = 0.02 * batchSize / 16, Momentum = 0.9, WeightDecay = 1e-4, GradientClipNorm = null },
            Schedule = new ScheduleOptions
            {
                Iterations = warmup + iterations,
                WarmupIterations = Math.Min(1000, train.Count / batchSize - 1),
                WarmupFactor = 0.001,
                Decay = LrSchedule.MultiStep,
                Steps = Array.Empty<long>(),
            },
            // Every image is 256×192, so aspect-ratio grouping would batch exactly as the plain
            // shuffled batches of the reference script do; off to keep both samplers trivially alike.
            Data = new DataOptions { BatchSize = batchSize, HorizontalFlip = true, ColorJitter = 0, GroupByAspectRatio = false, LoaderWorkers = workers },
            Evaluation = new EvaluationOptions { AtEnd = false, ValidationLoss = false },
            Runtime = new RuntimeOptions { Threads = threads, LogPeriod = 1, Progress = clock },
            Distributed = DistributedOptions.FromEnvironment(),
            Seed = 1,
        };
        int world = options.Distributed?.WorldSize ?? 1;

        using var detector = new MaskRcnnTrainer(options).Fit(train);
        if (options.Distributed is { IsMain: false }) return "";
        var times = clock.IterationEnds;
        if (times.Count != warmup + iterations)
            throw new InvalidOperationException($"expected {warmup + iterations} iteration reports, got {times.Count}");
        double seconds = Stopwatch.GetElapsedTime(times[warmup - 1], times[^1]).TotalSeconds;
        var perIteration = Enumerable.Range(warmup, iterations).Select(i => Stopwatch.GetElapsedTime(times[i - 1], times[i]).TotalSeconds).Order().ToArray();
        long parameters = detector.Model.Module.Parameters().Where(p => p.RequiresGrad).Sum(p => p.Shape.Aggregate(1L, (a, b) => a * b));
        using var process = Process.GetCurrentProcess();
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"benchmark\":\"training\",\"impl\":\"csharp\",\"widths\":\"{widthsName}\",\"threads\":{threads},\"workers\":{workers}," +
            $"\"batch\":{batchSize},\"processes\":{world},\"warmup\":{warmup},\"iterations\":{iterations},\"images_per_s\":{iterations * batchSize * world / seconds:F3}," +
            $"\"median_s_per_iter\":{perIteration[perIteration.Length / 2]:F4},\"trainable_parameters\":{parameters}," +
            $"\"final_loss\":{clock.LastLoss:F4},\"peak_rss_mb\":{process.PeakWorkingSet64 / (1024 * 1024)}}}");
    }

    /// <summary>Records when each iteration ends: the trainer reports an iteration (LogPeriod 1) right
    /// after its optimizer and schedule steps, on the training thread.</summary>
    private sealed class IterationClock : IProgress<TrainingProgress>
    {
        public List<long> IterationEnds { get; } = new();

        public double LastLoss { get; private set; } = double.NaN;

        public void Report(TrainingProgress value)
        {
            if (value.Event != TrainingEvent.Iteration) return;
            IterationEnds.Add(Stopwatch.GetTimestamp());
            LastLoss = value.Losses.GetValueOrDefault("loss", double.NaN);
        }
    }
}
