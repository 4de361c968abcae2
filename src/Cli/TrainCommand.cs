using System.CommandLine;
using System.Globalization;
using MLNetSeg.Data.Coco;
using MLNetSeg.Data.Loading;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Torch;
using MLNetSeg.Training;

namespace MLNetSeg.Cli;

/// <summary>
/// <c>mlnetseg train --train-json J --train-images D [--val-json J --val-images D] --out DIR
/// [--iterations N | --epochs N] [--model maskrcnn|keypointrcnn] [--backbone resnet18|resnet34|resnet50|...] ...</c>:
/// trains a Mask / Keypoint R-CNN with <see cref="MaskRcnnTrainer"/>. DIR receives the checkpoints
/// (a rerun with the same DIR resumes from the newest), best.mlseg (best validation AP) and
/// model_final.mlseg; the last validation's COCO table is printed at the end. Ctrl+C stops at the
/// next iteration boundary after saving a checkpoint.
/// Exit codes: 0 done, 2 bad input (files, arguments, a corrupt image), 3 training diverged, 130 cancelled.
/// </summary>
internal static class TrainCommand
{
    public const int Diverged = 3;
    public const int Cancelled = 130;

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var trainJson = new Option<string>("--train-json") { Description = "COCO annotation file of the training set", Required = true };
        var trainImages = new Option<string>("--train-images") { Description = "folder of the training images", Required = true };
        var valJson = new Option<string?>("--val-json") { Description = "COCO annotation file of the validation set (evaluated during and after training)" };
        var valImages = new Option<string?>("--val-images") { Description = "folder of the validation images" };
        var output = new Option<string>("--out") { Description = "folder for checkpoints, best.mlseg and model_final.mlseg (a rerun resumes from it)", Required = true };
        var iterations = new Option<int?>("--iterations") { Description = "optimizer steps (default 1000 unless --epochs is given)" };
        var epochs = new Option<int?>("--epochs") { Description = "passes over the training set, instead of --iterations" };
        var model = new Option<string>("--model") { Description = "maskrcnn or keypointrcnn", DefaultValueFactory = _ => "maskrcnn" };
        model.AcceptOnlyFromAmong("maskrcnn", "keypointrcnn");
        var backbone = new Option<string>("--backbone") { Description = "resnet18, resnet34, resnet50, resnet101, resnext50_32x4d, ...", DefaultValueFactory = _ => "resnet50" };
        var norm = new Option<string?>("--norm")
        {
            Description = "frozen (FrozenBatchNorm, for pretrained weights) or batchnorm (from scratch); default: frozen with --weights, batchnorm without",
        };
        norm.AcceptOnlyFromAmong("frozen", "batchnorm");
        var weights = new Option<string?>("--weights") { Description = "pretrained weights: a detector (torchvision names) or an ImageNet ResNet (.pth or .safetensors)" };
        var trainable = new Option<int?>("--trainable-layers") { Description = "backbone stages trained, 0-5 (default 3 with --weights, 5 without)" };
        var batchSize = new Option<int>("--batch-size") { Description = "images per step", DefaultValueFactory = _ => 2 };
        var accumulate = new Option<int>("--accumulate") { Description = "batches accumulated per optimizer step", DefaultValueFactory = _ => 1 };
        var lr = new Option<double?>("--lr") { Description = "base learning rate (default: 0.02 × images per step / 16, the linear scaling rule)" };
        var warmup = new Option<int?>("--warmup") { Description = "linear warmup iterations (default min(1000, iterations / 10))" };
        var schedule = new Option<string>("--schedule") { Description = "multistep (×0.1 at 2/3 and 8/9) or cosine", DefaultValueFactory = _ => "multistep" };
        schedule.AcceptOnlyFromAmong("multistep", "cosine");
        var clip = new Option<double?>("--clip-grad-norm") { Description = "clip the gradients' joint L2 norm to this" };
        var minSize = new Option<int>("--min-size") { Description = "short side of the network input", DefaultValueFactory = _ => 800 };
        var maxSize = new Option<int>("--max-size") { Description = "cap on the long side", DefaultValueFactory = _ => 1333 };
        var widths = new Option<string>("--widths")
        {
            Description = "channel widths: torchvision (fits its checkpoints) or compact (backbone 32, FPN 64, heads 256/64/128: ~5x faster on a CPU, from scratch)",
            DefaultValueFactory = _ => "torchvision",
        };
        widths.AcceptOnlyFromAmong("torchvision", "compact");
        var anchorSizes = new Option<double[]?>("--anchor-sizes")
        {
            Description = "anchor side per FPN level P2..P6 (default torchvision's 32 64 128 256 512)",
            AllowMultipleArgumentsPerToken = true,
        };
        var rois = new Option<int>("--rois-per-image") { Description = "RoIs sampled per image for the box/mask heads (torchvision: 512; fewer trains faster on a CPU)", DefaultValueFactory = _ => 512 };
        var headPositives = new Option<int?>("--head-positives-per-image")
        {
            Description = "most positive RoIs per image the mask/keypoint head trains on (default: all, as torchvision; a cap makes many --rois-per-image cheap on a CPU)",
        };
        var detections = new Option<int>("--detections-per-image") { Description = "most detections kept per image at evaluation and prediction", DefaultValueFactory = _ => 100 };
        var seed = new Option<long>("--seed") { Description = "seed of weights, sampling and data order", DefaultValueFactory = _ => 1 };
        var evalPeriod = new Option<int>("--eval-period") { Description = "validate every N iterations (0: at the end only)", DefaultValueFactory = _ => 0 };
        var checkpointPeriod = new Option<int>("--checkpoint-period") { Description = "checkpoint every N iterations", DefaultValueFactory = _ => 500 };
        var threads = new Option<int?>("--threads") { Description = "libtorch threads (default: all cores)" };
        var workers = new Option<int>("--workers") { Description = "data loader threads", DefaultValueFactory = _ => 2 };
        var skipBad = new Option<bool>("--skip-bad-samples") { Description = "skip corrupt images and unusable annotations with a warning instead of stopping" };
        var resume = new Option<string?>("--resume") { Description = "checkpoint to resume from (default: the newest in --out)" };
        var noResume = new Option<bool>("--no-resume") { Description = "start afresh even if --out holds checkpoints" };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };

        var command = new Command("train", "train a Mask R-CNN or Keypoint R-CNN on a COCO dataset (checkpoints, resume, validation)")
        {
            trainJson, trainImages, valJson, valImages, output, iterations, epochs, model, backbone, norm, weights, trainable, widths, anchorSizes, batchSize,
            accumulate, lr, warmup, schedule, clip, minSize, maxSize, rois, headPositives, detections, seed, evalPeriod, checkpointPeriod, threads, workers, skipBad,
            resume, noResume, device,
        };
        command.SetAction(parse =>
        {
            int Fail(string message)
            {
                stderr.WriteLine($"mlnetseg train: error: {message}");
                return CliApp.InputError;
            }
            if ((parse.GetValue(valJson) is null) != (parse.GetValue(valImages) is null))
                return Fail("give both --val-json and --val-images, or neither");
            if (parse.GetValue(iterations) is not null && parse.GetValue(epochs) is not null)
                return Fail("give --iterations or --epochs, not both");
            ResNetDepth depth;
            try { depth = ResNetSpec.ParseDepth(parse.GetRequiredValue(backbone)); }
            catch (ArgumentException e) { return Fail($"--backbone: {e.Message}"); }
            Device dev;
            try { dev = Device.Parse(parse.GetValue(device) ?? "cpu"); }
            catch (FormatException e) { return Fail($"--device: {e.Message}"); }
            if (dev.Type == DeviceType.Cuda && !TorchRuntime.CudaAvailable) return Fail($"--device {dev}: no CUDA device is available");

            bool pretrained = parse.GetValue(weights) is not null;
            int? iterationCount = parse.GetValue(epochs) is null ? parse.GetValue(iterations) ?? 1000 : null;
            var modelOptions = new MLNetSeg.Models.Rcnn.RcnnOptions
            {
                BoxBatchSizePerImage = parse.GetValue(rois),
                HeadPositivesPerImage = parse.GetValue(headPositives),
                BoxDetectionsPerImage = parse.GetValue(detections),
            };
            if (parse.GetValue(anchorSizes) is { Length: > 0 } sizes) modelOptions = modelOptions with { AnchorSizes = sizes };
            var options = new TrainerOptions
            {
                Model = parse.GetValue(model) == "keypointrcnn" ? DetectorKind.KeypointRcnn : DetectorKind.MaskRcnn,
                Backbone = depth,
                Norm = (parse.GetValue(norm) ?? (pretrained ? "frozen" : "batchnorm")) == "frozen" ? BackboneNorm.FrozenBatchNorm : BackboneNorm.BatchNorm,
                PretrainedWeights = parse.GetValue(weights),
                TrainableBackboneLayers = parse.GetValue(trainable) ?? (pretrained ? 3 : 5),
                Widths = parse.GetValue(widths) == "compact" ? MLNetSeg.Models.Rcnn.DetectorWidths.Compact : MLNetSeg.Models.Rcnn.DetectorWidths.Torchvision,
                Iterations = iterationCount,
                Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(batchSize),
                GradientAccumulationSteps = parse.GetValue(accumulate),
                LearningRate = parse.GetValue(lr),
                WarmupIterations = parse.GetValue(warmup) ?? (iterationCount is { } n ? Math.Min(1000, n / 10) : 1000),
                Schedule = parse.GetValue(schedule) == "cosine" ? LrSchedule.Cosine : LrSchedule.MultiStep,
                GradientClipNorm = parse.GetValue(clip),
                MinSize = parse.GetValue(minSize),
                MaxSize = parse.GetValue(maxSize),
                ModelOptions = modelOptions,
                Seed = parse.GetValue(seed),
                EvalPeriod = parse.GetValue(evalPeriod),
                CheckpointPeriod = parse.GetValue(checkpointPeriod),
                Threads = parse.GetValue(threads),
                LoaderWorkers = parse.GetValue(workers),
                SkipBadSamples = parse.GetValue(skipBad),
                CheckpointDirectory = parse.GetRequiredValue(output),
                ResumeFrom = parse.GetValue(resume),
                AutoResume = !parse.GetValue(noResume),
                Device = dev,
                Progress = ReferenceEquals(stdout, Console.Out) ? new ConsoleTrainingProgress() : new ConsoleTrainingProgress(stdout, inPlace: false),
                Log = message => stderr.WriteLine($"mlnetseg train: {message}"),
            };
            return Run(options, parse.GetRequiredValue(trainJson), parse.GetRequiredValue(trainImages), parse.GetValue(valJson), parse.GetValue(valImages),
                stdout, stderr);
        });
        return command;
    }

    private static int Run(TrainerOptions options, string trainJson, string trainImages, string? valJson, string? valImages,
        TextWriter stdout, TextWriter stderr)
    {
        int Fail(string message, int code = CliApp.InputError)
        {
            stderr.WriteLine($"mlnetseg train: error: {message}");
            return code;
        }

        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCtrlC = (_, e) =>
        {
            e.Cancel = true;  // let the trainer save a checkpoint and stop
            stderr.WriteLine("mlnetseg train: stopping after the current iteration (Ctrl+C again to abort)...");
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCtrlC;
        try
        {
            bool keypoints = options.Model == DetectorKind.KeypointRcnn;
            // As torchvision's references: training images without usable annotations are dropped;
            // keypoint models need no masks.
            var trainOptions = new DetectionDatasetOptions { RemoveImagesWithoutAnnotations = true, LoadMasks = !keypoints };
            var train = DetectionDataset.Load(trainJson, trainImages, trainOptions);
            var validation = valJson is null ? null : DetectionDataset.Load(valJson, valImages!, new DetectionDatasetOptions { LoadMasks = !keypoints });
            stdout.WriteLine($"train: {trainJson} ({train.Count} images, {train.Categories.Count} categories)" +
                             (validation is null ? "" : $"; validation: {valJson} ({validation.Count} images)"));
            var trainer = new MaskRcnnTrainer(options);
            using var detector = trainer.Fit(train, validation, cancel.Token);
            var summary = detector.Summary!;
            if (summary.Evaluation is { } evaluation)
            {
                stdout.WriteLine($"COCO evaluation on {valJson} at iteration {summary.Iterations}:");
                stdout.Write(evaluation.ToTable());
            }
            var final = Path.Combine(options.CheckpointDirectory!, "model_final.mlseg");
            stdout.WriteLine($"final model: {final}");
            if (summary.BestModelPath is { } best)
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"best model: {best} ({summary.Best!.Metric} {summary.Best.Value * 100:F1} at iteration {summary.Best.Iteration})"));
            return 0;
        }
        catch (TrainingDivergedException e) { return Fail(e.Message, Diverged); }
        catch (TrainingCanceledException e) { return Fail(e.Message, Cancelled); }
        catch (Exception e) when (e is ArgumentException or FileNotFoundException or DirectoryNotFoundException or CocoFormatException
                                      or BadSampleException or InvalidDataException or UnauthorizedAccessException)
        {
            return Fail(e.Message);
        }
        finally
        {
            Console.CancelKeyPress -= onCtrlC;
        }
    }
}
