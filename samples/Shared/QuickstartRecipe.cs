using System.Diagnostics;
using MLNetSeg.Data.Synthetic;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Training;

namespace MLNetSeg.Samples;

/// <summary>
/// The quickstart's training recipe, shared by samples/Quickstart (ML.NET) and samples/TypedQuickstart.
/// </summary>
/// <remarks>
/// Sized for a 2-core CPU: the images' own resolution (short side 192); a ResNet-18 trained from
/// scratch (BatchNorm, so no pretrained statistics are needed) at half width, with a 64-channel FPN
/// and heads a quarter of torchvision's (DetectorWidths.Compact: ~5× the images/s of torchvision's
/// widths here, where the 256-channel FPN, RPN and mask head cost more than the ResNet); 256 RoIs
/// per image for the box branch but at most 8 positives per image for the mask head (its cost per
/// RoI is ~30× the box head's; for 1,400 iterations: 32 RoIs without a cap, mask AP 20.4; 128 with
/// the cap, 27.9; 256, 30.8 — docs/benchmarks.md); fewer RPN proposals and at most 30 detections
/// per image (images hold up to ~10 objects); a high learning rate with a short warmup and cosine
/// decay.
///
/// How long to train is a time budget (ScheduleOptions.TimeBudget): the cosine decay follows the
/// fraction of the budget spent, re-read before every step, and training ends when it is spent. So
/// the schedule completes whatever this machine's speed is, and whatever else runs on it meanwhile;
/// the number of iterations is what the machine manages.
/// </remarks>
internal static class QuickstartRecipe
{
    /// <summary>The training budget, so that the whole quickstart stays under 10 minutes on 2 cores.</summary>
    public static readonly TimeSpan TrainingBudget = TimeSpan.FromMinutes(8.5);

    /// <summary>
    /// Step 1 of both quickstarts: the Small synthetic dataset in <paramref name="dataDir"/>, generated on
    /// the first run and reused after. Returns the train and val instances json.
    /// </summary>
    public static (string TrainJson, string ValJson) EnsureDataset(string dataDir)
    {
        var trainJson = SyntheticDatasetGenerator.InstancesJsonPath(dataDir, "train");
        var valJson = SyntheticDatasetGenerator.InstancesJsonPath(dataDir, "val");
        if (!File.Exists(trainJson) || !File.Exists(valJson))
        {
            var clock = Stopwatch.StartNew();
            Console.Write(SyntheticDatasetGenerator.Generate(SyntheticOptions.Small, dataDir).ToText());
            Console.WriteLine($"[1/5] generated the synthetic dataset in {clock.Elapsed.TotalSeconds:F1} s");
        }
        else
        {
            Console.WriteLine($"[1/5] reusing the synthetic dataset in {dataDir}");
        }
        return (trainJson, valJson);
    }

    /// <summary>Detections drawn on the overlays score at least this.</summary>
    public const float OverlayScore = 0.3f;

    /// <summary>The recipe, with checkpoints and metrics.jsonl in <paramref name="checkpointDirectory"/>.</summary>
    public static TrainingOptions Training(string checkpointDirectory, bool evaluateAtEnd) => new()
    {
        Model = new MaskRcnnOptions
        {
            Backbone = ResNetDepth.ResNet18,
            Norm = BackboneNorm.BatchNorm,
            Widths = DetectorWidths.Compact,
            Settings = new RcnnOptions
            {
                MinSize = 192,
                MaxSize = 256,
                TrainableBackboneLayers = 5,
                BoxBatchSizePerImage = 256,
                HeadPositivesPerImage = 8,
                RpnPreNmsTopNTrain = 1000, RpnPostNmsTopNTrain = 500,
                RpnPreNmsTopNTest = 500, RpnPostNmsTopNTest = 300,
                BoxDetectionsPerImage = 30,
            },
        },
        Optimizer = new OptimizerOptions { LearningRate = 0.06, GradientClipNorm = 10 },
        Schedule = new ScheduleOptions { TimeBudget = TrainingBudget, WarmupIterations = 100, Decay = LrSchedule.Cosine },
        Data = new DataOptions { BatchSize = 4, LoaderWorkers = 1 },
        Checkpoints = new CheckpointOptions { Directory = checkpointDirectory, Period = 250 },
        Evaluation = new EvaluationOptions { AtEnd = evaluateAtEnd, ValidationLoss = false },
        Runtime = new RuntimeOptions { LogPeriod = 20 },
        Seed = 1,
    };
}
