using System.CommandLine;
using System.Globalization;
using MLNetSeg.Data.Coco;
using MLNetSeg.Data.Loading;
using MLNetSeg.Data.Semantic;
using MLNetSeg.Models;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Distributed;
using MLNetSeg.Training;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Cli;

/// <summary>
/// <c>mlnetseg train --train-json J --train-images D [--val-json J --val-images D] --out DIR
/// (--iterations N | --epochs N | --time-budget 8m30s) [--family maskrcnn] [--set Name=Value ...]</c>:
/// trains a model of any registered family with <see cref="SegmentationTrainer"/>. The family's own
/// settings come from <c>--model-options F.json</c> and <c>--set</c> (see <c>mlnetseg families</c>);
/// everything else is the training options', with the library's defaults. DIR receives the checkpoints
/// (a rerun with the same DIR resumes from the newest), metrics.jsonl, best.mlseg and model_final.mlseg;
/// the last validation's table is printed at the end. Ctrl+C stops at the next iteration boundary after
/// saving a checkpoint.
/// Exit codes: 0 done, 2 bad input (files, arguments, a corrupt image) or a file that cannot be written
/// (e.g. a full disk: the message names the file; earlier checkpoints are intact), 3 training diverged,
/// 4 a distributed run lost one of its processes (died, or no answer within the timeout), 130 cancelled.
/// </summary>
internal static class TrainCommand
{
    public const int Diverged = 3;
    public const int Cancelled = 130;

    /// <summary>Exit code when the processes of a distributed run lost each other (a peer died or timed out).</summary>
    public const int Distributed = 4;

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        // Every default is the library's: the option records as constructed.
        var optimizer = new OptimizerOptions();
        var scheduleDefaults = new ScheduleOptions();
        var data = new DataOptions();
        var checkpoints = new CheckpointOptions();
        var evaluation = new EvaluationOptions();
        var runtime = new RuntimeOptions();
        var trainJson = new Option<string>("--train-json") { Description = "COCO annotation file of the training set", Required = true };
        var trainImages = new Option<string>("--train-images") { Description = "folder of the training images", Required = true };
        var valJson = new Option<string?>("--val-json") { Description = "COCO annotation file of the validation set (evaluated during and after training)" };
        var valImages = new Option<string?>("--val-images") { Description = "folder of the validation images" };
        var trainSemantic = new Option<string?>("--train-semantic") { Description = "folder of the training images' label maps (PNG per image, ignore 255) for families with a semantic head (panoptic); its parent's labels.json names the classes unless SemanticClasses is set" };
        var valSemantic = new Option<string?>("--val-semantic") { Description = "folder of the validation images' label maps (semantic and panoptic evaluation)" };
        var output = new Option<string>("--out") { Description = "folder for checkpoints, metrics.jsonl, best.mlseg and model_final.mlseg (a rerun resumes from it)", Required = true };
        var family = new Option<string>("--family")
        {
            Description = $"model family: {string.Join(", ", ModelRegistry.Families.Select(f => f.Name))} (see 'mlnetseg families')",
            DefaultValueFactory = _ => "maskrcnn",
        };
        var modelOptions = new Option<string?>("--model-options") { Description = "JSON file of the family's settings (as 'mlnetseg families --family F' prints them)" };
        var set = new Option<string[]>("--set")
        {
            Description = "a family setting, Name=Value, repeatable: e.g. --set Backbone=ResNet18 --set Norm=BatchNorm --set Widths=Compact --set Settings.MinSize=192",
            AllowMultipleArgumentsPerToken = false,
        };
        var weights = new Option<string?>("--weights") { Description = "pretrained weights (the family decides what it takes: for R-CNNs a detector state dict or an ImageNet ResNet)" };
        var iterations = new Option<int?>("--iterations") { Description = "optimizer steps" };
        var epochs = new Option<int?>("--epochs") { Description = "passes over the training set" };
        var budget = new Option<string?>("--time-budget") { Description = "train for this long, the schedule following the clock (e.g. 30m, 8m30s, 1h, 90s)" };
        var batchSize = new Option<int>("--batch-size") { Description = "images per step", DefaultValueFactory = _ => data.BatchSize };
        var accumulate = new Option<int>("--accumulate") { Description = "batches accumulated per optimizer step", DefaultValueFactory = _ => optimizer.GradientAccumulationSteps };
        var lr = new Option<double?>("--lr") { Description = "base learning rate (default: 0.02 × images per step / 16, the linear scaling rule)" };
        var warmup = new Option<int>("--warmup") { Description = "linear warmup iterations", DefaultValueFactory = _ => scheduleDefaults.WarmupIterations };
        var schedule = new Option<string>("--schedule") { Description = "multistep (×0.1 at 2/3 and 8/9) or cosine", DefaultValueFactory = _ => scheduleDefaults.Decay.ToString().ToLowerInvariant() };
        schedule.AcceptOnlyFromAmong("multistep", "cosine");
        var clip = new Option<double?>("--clip-grad-norm") { Description = "clip the gradients' joint L2 norm to this" };
        var seed = new Option<long?>("--seed") { Description = "seed of weights, sampling and data order (default: TrainingOptions.Seed's)" };
        var evalPeriod = new Option<int>("--eval-period") { Description = "validate every N iterations (0: at the end only)", DefaultValueFactory = _ => evaluation.Period };
        var checkpointPeriod = new Option<int>("--checkpoint-period") { Description = "checkpoint every N iterations", DefaultValueFactory = _ => checkpoints.Period };
        var logPeriod = new Option<int>("--log-period") { Description = "report the losses (console and metrics.jsonl) every N iterations", DefaultValueFactory = _ => runtime.LogPeriod };
        var threads = new Option<int?>("--threads") { Description = "libtorch threads (default: all cores, or MLNETSEG_THREADS)" };
        var workers = new Option<int>("--workers") { Description = "data loader threads", DefaultValueFactory = _ => data.LoaderWorkers };
        var skipBad = new Option<bool>("--skip-bad-samples") { Description = "skip corrupt images and unusable annotations with a warning instead of stopping" };
        var resume = new Option<string?>("--resume") { Description = "checkpoint to resume from (default: the newest in --out)" };
        var noResume = new Option<bool>("--no-resume") { Description = "start afresh even if --out holds checkpoints" };
        var mixed = new Option<string?>("--mixed-precision") { Description = "bf16 (autocast, CPU or CUDA) or fp16 (autocast with loss scaling, CUDA); default float32" };
        var nproc = new Option<int>("--nproc") { Description = "data-parallel training: processes on this machine (each takes --batch-size images of every step)", DefaultValueFactory = _ => 1 };
        var nnodes = new Option<int>("--nnodes") { Description = "machines taking part (start the command on each, with its --node-rank)", DefaultValueFactory = _ => 1 };
        var nodeRank = new Option<int>("--node-rank") { Description = "this machine's index, 0 to --nnodes − 1 (node 0 hosts the rendezvous)", DefaultValueFactory = _ => 0 };
        var masterAddr = new Option<string>("--master-addr") { Description = "address of node 0, where the processes meet", DefaultValueFactory = _ => "127.0.0.1" };
        var masterPort = new Option<int?>("--master-port") { Description = "port of the rendezvous on node 0 (default: a free one on one machine, 29500 across machines)" };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };

        var command = new Command("train", "train a model of any registered family on a COCO dataset (checkpoints, resume, validation)")
        {
            trainJson, trainImages, valJson, valImages, trainSemantic, valSemantic, output, family, modelOptions, set, weights, iterations, epochs, budget, batchSize, accumulate,
            lr, warmup, schedule, clip, seed, evalPeriod, checkpointPeriod, logPeriod, threads, workers, skipBad, resume, noResume, device,
            nproc, nnodes, nodeRank, masterAddr, masterPort, mixed,
        };
        command.SetAction(parse =>
        {
            int Fail(string message)
            {
                stderr.WriteLine($"mlnetseg train: error: {message}");
                return CliApp.InputError;
            }
            // A distributed process (started by --nproc or another torchrun-style launcher) reads its rank from the environment.
            DistributedOptions? distributed;
            try { distributed = DistributedOptions.FromEnvironment(); }
            catch (ArgumentException e) { return Fail(e.Message); }
            int processes = parse.GetValue(nproc), machines = parse.GetValue(nnodes), machine = parse.GetValue(nodeRank);
            if (processes < 1) return Fail($"--nproc must be at least 1, got {processes}");
            if (machines < 1) return Fail($"--nnodes must be at least 1, got {machines}");
            if (machine < 0 || machine >= machines) return Fail($"--node-rank must be in 0..{machines - 1}, got {machine}");
            if (distributed is null && processes * machines > 1)
                return DistributedLauncher.Launch(parse.Tokens.Select(t => t.Value).ToArray(), processes, machines, machine,
                    parse.GetValue(masterAddr) ?? "127.0.0.1", parse.GetValue(masterPort), parse.GetValue(threads), stderr);
            if ((parse.GetValue(valJson) is null) != (parse.GetValue(valImages) is null))
                return Fail("give both --val-json and --val-images, or neither");
            int lengths = (parse.GetValue(iterations) is null ? 0 : 1) + (parse.GetValue(epochs) is null ? 0 : 1) + (parse.GetValue(budget) is null ? 0 : 1);
            if (lengths != 1) return Fail("give one of --iterations, --epochs and --time-budget");
            TimeSpan? timeBudget = null;
            if (parse.GetValue(budget) is { } text)
            {
                try { timeBudget = ParseDuration(text); }
                catch (FormatException e) { return Fail($"--time-budget: {e.Message}"); }
            }
            Device dev;
            try { dev = Device.Parse(parse.GetValue(device) ?? "cpu"); }
            catch (FormatException e) { return Fail($"--device: {e.Message}"); }
            if (dev.Type == DeviceType.Cuda && !TorchRuntime.CudaAvailable) return Fail($"--device {dev}: no CUDA device is available");

            DType? precision = null;
            if (parse.GetValue(mixed) is { } mixedName)
            {
                if (mixedName is "bf16" or "bfloat16") precision = DType.BFloat16;
                else if (mixedName is "fp16" or "float16") precision = DType.Float16;
                else return Fail($"--mixed-precision must be bf16 or fp16, got '{mixedName}'");
            }
            if (precision == DType.Float16 && dev.Type != DeviceType.Cuda) return Fail("--mixed-precision fp16 needs --device cuda (on the CPU use bf16)");

            ModelOptions model;
            try
            {
                var familyOf = ModelRegistry.Get(parse.GetRequiredValue(family));
                var assignments = WithSemanticClasses(familyOf, parse.GetValue(modelOptions), parse.GetValue(set) ?? Array.Empty<string>(), parse.GetValue(trainSemantic));
                model = ModelOptionsParser.Parse(familyOf, parse.GetValue(modelOptions), assignments);
                if (parse.GetValue(weights) is { } w) model = model with { PretrainedWeights = w };
            }
            catch (Exception e) when (e is ArgumentException or KeyNotFoundException or FileNotFoundException or SemanticDatasetException) { return Fail(e.Message); }

            var options = new TrainingOptions
            {
                Model = model,
                Optimizer = optimizer with
                {
                    LearningRate = parse.GetValue(lr),
                    GradientAccumulationSteps = parse.GetValue(accumulate),
                    GradientClipNorm = parse.GetValue(clip),
                },
                Schedule = scheduleDefaults with
                {
                    Iterations = parse.GetValue(iterations),
                    Epochs = parse.GetValue(epochs),
                    TimeBudget = timeBudget,
                    WarmupIterations = parse.GetValue(warmup),
                    Decay = parse.GetValue(schedule) == "cosine" ? LrSchedule.Cosine : LrSchedule.MultiStep,
                },
                Data = data with
                {
                    BatchSize = parse.GetValue(batchSize),
                    LoaderWorkers = parse.GetValue(workers),
                    SkipBadSamples = parse.GetValue(skipBad),
                },
                Checkpoints = checkpoints with
                {
                    Directory = parse.GetRequiredValue(output),
                    Period = parse.GetValue(checkpointPeriod),
                    ResumeFrom = parse.GetValue(resume),
                    AutoResume = !parse.GetValue(noResume),
                },
                Evaluation = evaluation with { Period = parse.GetValue(evalPeriod) },
                Runtime = runtime with
                {
                    Threads = parse.GetValue(threads),
                    MixedPrecision = precision,
                    LogPeriod = parse.GetValue(logPeriod),
                    Device = dev,
                    Progress = ReferenceEquals(stdout, Console.Out) ? new ConsoleTrainingProgress() : new ConsoleTrainingProgress(stdout, inPlace: false),
                    Log = message => stderr.WriteLine($"mlnetseg train: {message}"),
                },
            };
            if (parse.GetValue(seed) is { } seedValue) options = options with { Seed = seedValue };
            if (distributed is { WorldSize: > 1 })
            {
                int rank = distributed.Rank;
                options = options with
                {
                    Distributed = distributed,
                    Runtime = options.Runtime with { Log = message => stderr.WriteLine($"mlnetseg train [rank {rank}]: {message}") },
                };
            }
            return Run(options, parse.GetRequiredValue(trainJson), parse.GetRequiredValue(trainImages), parse.GetValue(valJson), parse.GetValue(valImages),
                parse.GetValue(trainSemantic), parse.GetValue(valSemantic), stdout, stderr);
        });
        return command;
    }

    /// <summary>"90s", "8m30s", "1h", "1h30m", or a TimeSpan ("00:08:30").</summary>
    internal static TimeSpan ParseDuration(string text)
    {
        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && text.Contains(':')) return Check(span, text);
        var total = TimeSpan.Zero;
        int i = 0;
        bool any = false;
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.')) i++;
            if (start == i || i == text.Length) throw new FormatException($"'{text}' is not a duration (e.g. 30m, 8m30s, 1h, 90s, 00:08:30)");
            double value = double.Parse(text[start..i], CultureInfo.InvariantCulture);
            total += text[i++] switch
            {
                'h' => TimeSpan.FromHours(value),
                'm' => TimeSpan.FromMinutes(value),
                's' => TimeSpan.FromSeconds(value),
                var u => throw new FormatException($"'{text}': unknown unit '{u}' (h, m or s)"),
            };
            any = true;
        }
        return any ? Check(total, text) : throw new FormatException($"'{text}' is not a duration");

        static TimeSpan Check(TimeSpan t, string text) => t > TimeSpan.Zero ? t : throw new FormatException($"'{text}' is not a positive duration");
    }

    private static int Run(TrainingOptions options, string trainJson, string trainImages, string? valJson, string? valImages,
        string? trainSemantic, string? valSemantic, TextWriter stdout, TextWriter stderr)
    {
        string who = options.Distributed is { } d ? $"mlnetseg train [rank {d.Rank}]" : "mlnetseg train";
        int Fail(string message, int code = CliApp.InputError)
        {
            stderr.WriteLine($"{who}: error: {message}");
            return code;
        }
        // Distributed: rank 0 speaks for the run.
        if (options.Distributed is { IsMain: false }) stdout = TextWriter.Null;

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
            var trainer = new SegmentationTrainer(options);
            // As torchvision's references: training images without usable annotations are dropped.
            // Masks are decoded only for families that use them.
            bool masks = NeedsMasks(options.Model);
            var train = DetectionDataset.Load(trainJson, trainImages,
                new DetectionDatasetOptions { RemoveImagesWithoutAnnotations = true, LoadMasks = masks, SemanticDirectory = trainSemantic });
            var validation = valJson is null ? null
                : DetectionDataset.Load(valJson, valImages!, new DetectionDatasetOptions { LoadMasks = masks, SemanticDirectory = valSemantic });
            stdout.WriteLine($"train: {trainJson} ({train.Count} images, {train.Categories.Count} categories)" +
                             (validation is null ? "" : $"; validation: {valJson} ({validation.Count} images)"));
            using var trained = trainer.Fit(train, validation, cancel.Token);
            var summary = trained.Summary!;
            if (summary.Evaluation is { } evaluation)
            {
                stdout.WriteLine($"evaluation on {valJson} at iteration {summary.Iterations}:");
                stdout.Write(evaluation.ToTable());
            }
            var final = Path.Combine(options.Checkpoints.Directory!, "model_final.mlseg");
            stdout.WriteLine($"final model: {final}");
            if (summary.BestModelPath is { } best)
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"best model: {best} ({summary.Best!.Metric} {summary.Best.Value * 100:F1} at iteration {summary.Best.Iteration})"));
            return 0;
        }
        catch (TrainingDivergedException e) { return Fail(e.Message, Diverged); }
        catch (TrainingCanceledException e) { return Fail(e.Message, Cancelled); }
        catch (Exception e) when (e is ArgumentException or FileNotFoundException or DirectoryNotFoundException or CocoFormatException
                                      or BadSampleException or SemanticDatasetException or InvalidDataException or UnauthorizedAccessException or KeyNotFoundException)
        {
            return Fail(e.Message);
        }
        catch (IOException e) { return Fail(e.Message); }  // a checkpoint or model file that could not be written (disk full)
        catch (DistributedException e) { return Fail(e.Message, Distributed); }
        finally
        {
            Console.CancelKeyPress -= onCtrlC;
        }
    }

    /// <summary>The --set assignments, with SemanticClasses from labels.json beside the label-map folder (the synthetic set's
    /// semantic/labels.json) when neither --set nor --model-options gives them: required by the panoptic family, and for MaskLab
    /// given --train-semantic (its semantic head then learns the stuff classes too).</summary>
    internal static IReadOnlyList<string> WithSemanticClasses(ModelFamily family, string? modelOptionsFile, IReadOnlyList<string> assignments, string? semanticDirectory)
    {
        bool panoptic = family is Models.Panoptic.PanopticFamily;
        if (!(panoptic || family is Models.MaskLab.MaskLabFamily) || modelOptionsFile is not null
            || assignments.Any(a => a.StartsWith("SemanticClasses=", StringComparison.OrdinalIgnoreCase)))
            return assignments;
        if (semanticDirectory is null)
        {
            if (!panoptic) return assignments;  // MaskLab without label maps learns things and background only
            throw new ArgumentException("the panoptic family trains on label maps: give --train-semantic DIR (and SemanticClasses, or a labels.json beside DIR)");
        }
        string list = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(semanticDirectory.TrimEnd('/', '\\')))!, "labels.json");
        if (!File.Exists(list))
            throw new ArgumentException($"no SemanticClasses given and no class list at {list}: --set 'SemanticClasses=[\"a\",\"b\"]' or write that file");
        return assignments.Append("SemanticClasses=" + System.Text.Json.JsonSerializer.Serialize(SemanticClassList.Read(list))).ToArray();
    }

    /// <summary>Whether the family's models output masks or semantic maps (both train on instance masks).</summary>
    internal static bool NeedsMasks(ModelOptions options) =>
        (ModelRegistry.For(options).TasksFor(options) & (SegmentationTasks.Masks | SegmentationTasks.Semantic)) != 0;
}
