using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.MaskLab;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Training;
using MLNetSeg.Training.Comparison;

namespace MLNetSeg.Reporting.Tests;

/// <summary>One real comparison of two families on the tiny set (a 20 s budget), shared by the report tests.</summary>
internal static class ComparisonFixture
{
    private static readonly Lazy<ComparisonResult> Shared = new(Run, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string Directory { get; } = Path.Combine(Path.GetTempPath(), $"mlnetseg-report-tests-{Environment.ProcessId}");

    public static ComparisonResult Result => Shared.Value;

    private static readonly RcnnOptions Small = new()
    {
        MinSize = 64, MaxSize = 128, TrainableBackboneLayers = 3,
        RpnPreNmsTopNTrain = 200, RpnPostNmsTopNTrain = 100, RpnPreNmsTopNTest = 100, RpnPostNmsTopNTest = 50,
        RpnBatchSizePerImage = 64, BoxBatchSizePerImage = 32, BoxDetectionsPerImage = 20,
    };

    private static ComparisonResult Run() => new ModelComparison(new ComparisonOptions
    {
        Candidates =
        [
            new ComparisonCandidate("maskrcnn-r18", new MaskRcnnOptions { Backbone = ResNetDepth.ResNet18, Norm = BackboneNorm.BatchNorm, Settings = Small }),
            new ComparisonCandidate("masklab-r18", new MaskLabOptions { Backbone = ResNetDepth.ResNet18, Norm = BackboneNorm.BatchNorm, CropSize = 21, Settings = Small }),
        ],
        Budget = TimeSpan.FromSeconds(20),
        Directory = Directory,
        Optimizer = new OptimizerOptions { LearningRate = 0.01, GradientClipNorm = 10 },
        Data = new DataOptions { BatchSize = 2, LoaderWorkers = 1 },
        Runtime = new RuntimeOptions { Threads = 2, Progress = ConsoleTrainingProgress.Silent, Log = _ => { } },
        WarmupIterations = 5,
        TimingImages = 2,
        Seed = 7,
    }).Run(TinyDataset.Shared.Train(), TinyDataset.Shared.Validation());

    public static void Cleanup()
    {
        try { if (System.IO.Directory.Exists(Directory)) System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
