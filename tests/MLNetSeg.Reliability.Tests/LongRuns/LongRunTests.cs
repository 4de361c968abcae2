using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Reliability.Tests.Concurrency;
using MLNetSeg.Reliability.Tests.Load;
using MLNetSeg.Training;
using MLNetSeg.Transforms;

namespace MLNetSeg.Reliability.Tests.LongRuns;

/// <summary>
/// Flat memory over long runs (docs/reliability.md): thousands of predictions through each predictor
/// and through an ML.NET pipeline, and a training loop with periodic evaluation; resident memory and
/// live native tensors sampled throughout and judged by <see cref="MemorySampler.Judge"/>.
/// Sizes: <see cref="ReliabilityScale"/>.
/// </summary>
[TestClass]
public sealed class LongRunTests
{
    private const int SamplesPerRun = 50;

    [TestMethod]
    [DynamicData(nameof(ConcurrencyTests.Predictors), typeof(ConcurrencyTests))]
    public void PredictorMemoryStaysFlat(string kind)
    {
        int n = ReliabilityScale.LongRunPredictions;
        using var predictor = ConcurrencyTests.Create(kind);
        int images = PredictorFixture.Shared.ImagePaths.Length;
        var sampler = new MemorySampler();
        for (int k = 0; k < n; k++)
        {
            predictor.Predict(k % images);
            if ((k + 1) % (n / SamplesPerRun) == 0) sampler.Sample(k + 1);
        }
        Report(sampler, $"predict_{kind}", predictor.Name, "predictions", predictor.TracksTensors);
    }

    [TestMethod]
    public void AnMLNetPipelineOverManyRowsKeepsMemoryFlat()
    {
        int n = ReliabilityScale.LongRunPredictions;
        var paths = PredictorFixture.Shared.ImagePaths;
        var ml = new MLContext(seed: 1);
        var rows = ml.Data.LoadFromEnumerable(Enumerable.Range(0, n).Select(i => new SegmentationPathInput { Image = paths[i % paths.Length] }));
        using var transformer = ml.Transforms.ApplySegmentationModel(PredictorFixture.Shared.ModelPath, SegmentationColumns.Image).Fit(rows);
        var scored = transformer.Transform(rows);
        var sampler = new MemorySampler();
        var masks = scored.Schema["PredictedMasks"];
        using (var cursor = scored.GetRowCursor(new[] { masks }))
        {
            var get = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(masks);
            VBuffer<ReadOnlyMemory<char>> value = default;
            long read = 0, detections = 0;
            while (cursor.MoveNext())
            {
                get(ref value);
                detections += value.Length;
                if (++read % (n / SamplesPerRun) == 0) sampler.Sample(read);
            }
            Assert.AreEqual(n, read, "every row was scored");
            Assert.AreEqual(6L * n, detections, "six detections with masks per row (score threshold 0)");
        }
        Report(sampler, "mlnet_pipeline", "ML.NET pipeline (IDataView cursor)", "rows", tensors: true);
    }

    [TestMethod]
    public void TrainingWithPeriodicEvaluationKeepsMemoryFlat()
    {
        int iterations = ReliabilityScale.TrainingIterations;
        var sampler = new MemorySampler();
        var progress = new Progress(sampler);
        var options = new TrainingOptions
        {
            Model = new MaskRcnnOptions
            {
                Backbone = ResNetDepth.ResNet18,
                Norm = BackboneNorm.BatchNorm,
                Widths = DetectorWidths.Compact,
                Settings = new RcnnOptions
                {
                    MinSize = 64, MaxSize = 128, TrainableBackboneLayers = 3,
                    RpnPreNmsTopNTrain = 200, RpnPostNmsTopNTrain = 100, RpnPreNmsTopNTest = 100, RpnPostNmsTopNTest = 50,
                    RpnBatchSizePerImage = 64, BoxBatchSizePerImage = 32, BoxDetectionsPerImage = 20,
                },
            },
            Optimizer = new OptimizerOptions { LearningRate = 0.01, GradientClipNorm = 10 },
            Schedule = new ScheduleOptions { Iterations = iterations, WarmupIterations = 10 },
            Data = new DataOptions { BatchSize = 1, LoaderWorkers = 1 },
            Evaluation = new EvaluationOptions { Period = iterations / 10, AtEnd = false, ValidationLoss = true },
            Runtime = new RuntimeOptions { Threads = 2, LogPeriod = Math.Max(1, iterations / 100), Progress = progress },
            Seed = 5,
        };
        using var model = new MaskRcnnTrainer(options).Fit(TinyDataset.Shared.Train(), TinyDataset.Shared.Validation());
        Assert.AreEqual(iterations, model.Summary!.Iterations);
        Assert.AreEqual(10, progress.Validations, "an evaluation every tenth of the run");
        // The allocator's warm-up outlasts the suite's 300 iterations (resident memory climbs ~50 MiB and
        // levels off within the first couple of thousand iterations of the full run): at the suite's size the
        // resident trend gets a looser allowance; the full run (MLNETSEG_RELIABILITY=full) judges it strictly.
        long allowance = ReliabilityScale.Full ? MemorySampler.ResidentAllowance : 48L << 20;
        Report(sampler, "training", "training loop with periodic evaluation", "iterations", tensors: true, warmUp: 0.5, allowance);
    }

    private static void Report(MemorySampler sampler, string run, string name, string steps, bool tensors, double warmUp = 0.2,
        long allowance = MemorySampler.ResidentAllowance)
    {
        ReliabilityScale.WriteCsv($"memory_{run}.csv", sampler.Csv(run));
        if (ReliabilityScale.OutputDirectory is { } dir) sampler.Plot(Path.Combine(dir, $"memory_{run}.png"), name, steps, tensors);
        Console.WriteLine($"{name}: {sampler.Summary(warmUp)}");
        var verdict = sampler.Judge(tensors, warmUp, allowance);
        Assert.IsNull(verdict, $"{name}: {verdict}\n{sampler.Summary(warmUp)}");
    }

    /// <summary>Samples memory at every iteration report; counts the validations.</summary>
    private sealed class Progress(MemorySampler sampler) : IProgress<TrainingProgress>
    {
        public int Validations { get; private set; }

        public void Report(TrainingProgress value)
        {
            if (value.Event == TrainingEvent.Iteration) sampler.Sample(value.Iteration);
            else if (value.Event == TrainingEvent.Validation) Validations++;
        }
    }
}
