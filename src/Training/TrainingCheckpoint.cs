using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using MLNetSeg.Torch;
using MLNetSeg.Torch.IO;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Torch.Optim;
using MLNetSeg.Torch.Serialization;

namespace MLNetSeg.Training;

/// <summary>Where a run stands: optimizer steps done and the data loader's next batch.</summary>
/// <param name="Iteration">Optimizer steps completed.</param>
/// <param name="Epoch">The data loader epoch the next batch comes from.</param>
/// <param name="BatchInEpoch">Plan position (<c>DataLoader.PlanEpoch</c>) of the next batch in that epoch.</param>
/// <param name="TrainingSeconds">Training time spent so far (steps and data waits, not evaluation), which a
/// <see cref="ScheduleOptions.TimeBudget"/> run continues from.</param>
public sealed record TrainingPosition(long Iteration, int Epoch, int BatchInEpoch, double TrainingSeconds = 0);

/// <summary>The best validation result seen so far.</summary>
/// <param name="Metric">The <see cref="EvaluationOptions.BestMetric"/> key, e.g. "segm/AP", "keypoints/AP" or "bbox/AP".</param>
/// <param name="Value">Its value (COCO AP as a fraction in [0, 1]; higher is better).</param>
/// <param name="Iteration">The iteration whose model scored it (saved as best.mlseg when there is a checkpoint directory).</param>
public sealed record BestResult(string Metric, double Value, long Iteration);

/// <summary>What a checkpoint says besides its tensors.</summary>
public sealed record CheckpointInfo
{
    /// <summary>The checkpoint file.</summary>
    public required string Path { get; init; }
    /// <summary>Where the run stood when the checkpoint was written.</summary>
    public required TrainingPosition Position { get; init; }
    /// <summary>The options of the run that wrote it, as JSON (see <see cref="TrainingCheckpoint.OptionsToJson"/>).</summary>
    public required JsonObject Options { get; init; }
    /// <summary>COCO category id per label 1..K of the training set.</summary>
    public required IReadOnlyList<long> CategoryIds { get; init; }
    /// <summary>The best validation result up to the checkpoint; null when no validation has run.</summary>
    public BestResult? Best { get; init; }

    /// <summary>The float16 loss scaler's state (scale, finite steps in a row), when the run used one.</summary>
    public (double Scale, int GoodSteps)? LossScale { get; init; }
}

/// <summary>
/// Training checkpoints: one safetensors file per checkpoint holding the model's state dict
/// ("model.*"), the SGD state ("optimizer.*", momentum buffers and parameter groups), libtorch's
/// generator state ("rng.cpu", "rng.cuda" on a GPU, "rng.cpu.rankN" for the other processes of a
/// distributed run), and as JSON metadata the position
/// (iteration, data-loader epoch and batch), the options, the dataset's categories and the best
/// validation result. With the data loader's (seed, epoch, index)-keyed randomness this is all a
/// run depends on, so a resumed run repeats the uninterrupted one bit for bit.
/// </summary>
/// <remarks>
/// Files are named checkpoint_NNNNNNN.ckpt (the iteration, zero-padded, so names sort by
/// iteration) and written atomically by <see cref="SafeTensors.Save(string, IEnumerable{KeyValuePair{string, Tensor}}, IReadOnlyDictionary{string, string}?)"/>
/// through <see cref="AtomicFile"/>: the data go to a hidden temporary file in the same folder, are flushed to disk, and the file is
/// renamed over the final name only when complete; on failure (e.g. a full disk: an <see cref="IOException"/> naming the
/// checkpoint) the temporary file is deleted and earlier checkpoints are untouched.
/// A reader therefore sees either the previous complete file or the new complete file, never a part.
/// </remarks>
public static class TrainingCheckpoint
{
    /// <summary>The start of every checkpoint file name.</summary>
    public const string Prefix = "checkpoint_";
    /// <summary>The extension of checkpoint files (safetensors content).</summary>
    public const string Extension = ".ckpt";
    private const string MetadataKey = "mlnetseg.checkpoint";
    private const string Format = "mlnetseg.checkpoint/2";
    private const string EarlierFormat = "mlnetseg.checkpoint/1";
    private const string ModelPrefix = "model.", OptimizerPrefix = "optimizer.", RngCpu = "rng.cpu", RngCuda = "rng.cuda";

    /// <summary>The generator state of rank <paramref name="rank"/> &gt; 0 of a distributed run (rank 0's is <see cref="RngCpu"/>).</summary>
    private static string RankRng(int rank) => $"{RngCpu}.rank{rank}";

    internal static readonly JsonSerializerOptions Json = new()
    {
        Converters = { new JsonStringEnumConverter() },
        WriteIndented = false,
    };

    /// <summary>The file name of the checkpoint at <paramref name="iteration"/>, e.g. <c>checkpoint_0001000.ckpt</c>.</summary>
    public static string FileName(long iteration) => $"{Prefix}{iteration.ToString("D7", CultureInfo.InvariantCulture)}{Extension}";

    /// <summary>The checkpoints in <paramref name="directory"/>, oldest first (by iteration).</summary>
    public static IReadOnlyList<(long Iteration, string Path)> List(string directory)
    {
        if (!Directory.Exists(directory)) return Array.Empty<(long, string)>();
        var found = new List<(long, string)>();
        foreach (var path in Directory.EnumerateFiles(directory, Prefix + "*" + Extension))
        {
            var name = System.IO.Path.GetFileName(path);
            var digits = name[Prefix.Length..^Extension.Length];
            if (digits.Length > 0 && digits.All(char.IsAsciiDigit) && long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var it))
                found.Add((it, path));
        }
        return found.OrderBy(f => f.Item1).ToArray();
    }

    /// <summary>The newest checkpoint in <paramref name="directory"/>, or null.</summary>
    public static string? FindLatest(string directory) => List(directory).LastOrDefault().Path;

    /// <summary>
    /// Deletes temporary files that an interrupted write (a killed process) left in
    /// <paramref name="directory"/>: hidden <see cref="AtomicFile"/> temporaries (".checkpoint_*.ckpt.{pid}.{guid}.tmp",
    /// ".model_final.mlseg.…", ".metrics.jsonl.…") whose writer process no longer runs. Returns how many were removed.
    /// </summary>
    public static int CleanStaleTemporaryFiles(string directory)
    {
        if (!Directory.Exists(directory)) return 0;
        int removed = 0;
        foreach (var path in Directory.EnumerateFiles(directory, ".*.tmp"))
        {
            if (!AtomicFile.TryParseTemporaryName(System.IO.Path.GetFileName(path), out _, out var pid)) continue;
            if (pid == Environment.ProcessId || IsRunning(pid)) continue;
            try
            {
                File.Delete(path);
                removed++;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return removed;
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>Writes a checkpoint atomically (see the class remarks).</summary>
    public static void Save(string path, Module model, Optimizer optimizer, Device device, TrainingPosition position,
        TrainingOptions options, IReadOnlyList<long> categoryIds, BestResult? best, IReadOnlyList<Tensor>? rankRngStates = null,
        GradScaler? scaler = null)
    {
        using var scope = DisposeScope.Enter();
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var (name, t) in model.StateDict()) tensors.Add(new(ModelPrefix + name, t));
        var (optimizerTensors, optimizerMetadata) = optimizer.StateDict().ToTensors();
        foreach (var (name, t) in optimizerTensors) tensors.Add(new(OptimizerPrefix + name, t));
        tensors.Add(new(RngCpu, TorchRuntime.GetRngState()));
        // A distributed run's other ranks (rank 0's is rng.cpu).
        for (int rank = 1; rank < (rankRngStates?.Count ?? 0); rank++) tensors.Add(new(RankRng(rank), rankRngStates![rank]));
        if (device.Type != DeviceType.Cpu) tensors.Add(new(RngCuda, TorchRuntime.GetRngState(device)));

        var info = new JsonObject
        {
            ["format"] = Format,
            ["iteration"] = position.Iteration,
            ["epoch"] = position.Epoch,
            ["batch_in_epoch"] = position.BatchInEpoch,
            ["training_seconds"] = position.TrainingSeconds.ToString("R", CultureInfo.InvariantCulture),
            ["category_ids"] = new JsonArray(categoryIds.Select(id => (JsonNode)id).ToArray()),
            ["best"] = best is null ? null : new JsonObject
            {
                ["metric"] = best.Metric,
                ["value"] = best.Value.ToString("R", CultureInfo.InvariantCulture),
                ["iteration"] = best.Iteration,
            },
            ["options"] = OptionsToJson(options),
            ["loss_scale"] = scaler is null ? null : new JsonObject
            {
                ["scale"] = scaler.Scale.ToString("R", CultureInfo.InvariantCulture),
                ["good_steps"] = scaler.GoodSteps,
            },
            ["written_utc"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        };
        var metadata = new Dictionary<string, string> { [MetadataKey] = info.ToJsonString() };
        foreach (var (k, v) in optimizerMetadata) metadata[OptimizerPrefix + k] = v;
        SafeTensors.Save(path, tensors, metadata);
    }

    /// <summary>Reads a checkpoint's metadata (not its tensors).</summary>
    public static CheckpointInfo ReadInfo(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint not found: {path}", path);
        IReadOnlyDictionary<string, string> metadata;
        try { metadata = SafeTensors.ReadHeader(path).Metadata; }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: not a readable checkpoint: {e.Message}", e); }
        return ParseInfo(path, metadata);
    }

    private static CheckpointInfo ParseInfo(string path, IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue(MetadataKey, out var text))
            throw new InvalidDataException($"{path}: a safetensors file without '{MetadataKey}' metadata is not a training checkpoint");
        try
        {
            var o = JsonNode.Parse(text)!.AsObject();
            if ((string?)o["format"] == EarlierFormat)
                throw new InvalidDataException($"{path}: a checkpoint of an earlier MLNetSeg ({EarlierFormat}, before training options were grouped by concern) " +
                                               "cannot be resumed; its model_final.mlseg/best.mlseg still load. Start afresh in another directory");
            if ((string?)o["format"] != Format) throw new InvalidDataException($"{path}: unsupported checkpoint format '{o["format"]}' (expected {Format})");
            BestResult? best = null;
            if (o["best"] is JsonObject b)
                best = new BestResult((string)b["metric"]!, double.Parse((string)b["value"]!, NumberStyles.Float, CultureInfo.InvariantCulture), (long)b["iteration"]!);
            return new CheckpointInfo
            {
                Path = path,
                Position = new TrainingPosition((long)o["iteration"]!, (int)o["epoch"]!, (int)o["batch_in_epoch"]!,
                    double.Parse((string)o["training_seconds"]!, NumberStyles.Float, CultureInfo.InvariantCulture)),
                Options = o["options"]!.AsObject(),
                CategoryIds = o["category_ids"]!.AsArray().Select(n => (long)n!).ToArray(),
                Best = best,
                LossScale = o["loss_scale"] is JsonObject ls
                    ? (double.Parse((string)ls["scale"]!, NumberStyles.Float, CultureInfo.InvariantCulture), (int)ls["good_steps"]!)
                    : null,
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException or InvalidCastException)
        {
            throw new InvalidDataException($"{path}: the checkpoint metadata is malformed ({e.Message})", e);
        }
    }

    /// <summary>
    /// Restores a checkpoint into a model and optimizer built from the same options: weights and
    /// buffers (exact copies), optimizer state and hyper-parameters, and libtorch's generator.
    /// Returns the checkpoint's metadata. Nothing is changed when the file does not fit.
    /// </summary>
    public static CheckpointInfo Restore(string path, Module model, Optimizer optimizer, Device device, int rank = 0)
    {
        var info = ReadInfo(path);
        using var scope = DisposeScope.Enter();
        var content = SafeTensors.Read(path);
        var modelState = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var optimizerState = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        Tensor? rngCpu = null, rngCuda = null;
        var rankRng = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, t) in content.Tensors)
        {
            if (name.StartsWith(ModelPrefix, StringComparison.Ordinal)) modelState[name[ModelPrefix.Length..]] = t;
            else if (name.StartsWith(OptimizerPrefix, StringComparison.Ordinal)) optimizerState[name[OptimizerPrefix.Length..]] = t;
            else if (name == RngCpu) rngCpu = t;
            else if (name == RngCuda) rngCuda = t;
            else if (name.StartsWith(RngCpu + ".rank", StringComparison.Ordinal)) rankRng[name] = t;
            else throw new InvalidDataException($"{path}: unexpected tensor '{name}' in a training checkpoint");
        }
        if (rngCpu is null) throw new InvalidDataException($"{path}: the checkpoint has no '{RngCpu}' generator state");
        if (rank > 0 && !rankRng.TryGetValue(RankRng(rank), out rngCpu))
            throw new InvalidDataException($"{path}: the checkpoint has no generator state for rank {rank} (was it written by a run of fewer processes?)");
        var optimizerMetadata = content.Metadata.Where(kv => kv.Key.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[OptimizerPrefix.Length..], kv => kv.Value);
        var optimizerDict = OptimizerStateDict.FromTensors(optimizerState, optimizerMetadata, path);
        try
        {
            model.LoadStateDict(modelState, strict: true);
        }
        catch (StateDictException e)
        {
            throw new InvalidDataException($"{path}: the checkpoint's model does not fit the model these options build: {e.Message}", e);
        }
        try
        {
            optimizer.LoadStateDict(optimizerDict);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        TorchRuntime.SetRngState(rngCpu);
        if (device.Type != DeviceType.Cpu && rngCuda is not null) TorchRuntime.SetRngState(rngCuda, device);
        return info;
    }

    // ---- options

    /// <summary>Options that may differ between the run that wrote a checkpoint and the run resuming it.</summary>
    /// <summary>Options (as "Group.Name" paths) that may differ between a checkpoint's run and the resumed run:
    /// the run length, checkpoint, evaluation and run-time settings, loader workers, bad-sample skipping and
    /// the initial weights (a resumed run does not load them).</summary>
    internal static readonly IReadOnlySet<string> ResumableChanges = new HashSet<string>(StringComparer.Ordinal)
    {
        "Schedule.Iterations", "Schedule.Epochs", "Schedule.TimeBudget", "Schedule.MaxTrainingTime",
        "Data.LoaderWorkers", "Data.SkipBadSamples", "Model.PretrainedWeights",
        // Where and how the processes meet; the world size (the global batch) must stay.
        "Distributed.Rank", "Distributed.MasterAddress", "Distributed.MasterPort", "Distributed.Timeout",
        "Distributed.NetworkInterface", "Distributed.BucketCapMiB", "Distributed.FindUnusedParameters",
    };

    private static readonly string[] ResumableGroups = { "Checkpoints.", "Evaluation.", "Runtime." };

    /// <summary>The options as stored in a checkpoint: every group, the model options of their own type with the family's name.</summary>
    public static JsonObject OptionsToJson(TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var json = JsonSerializer.SerializeToNode(options, Json)!.AsObject();
        var model = ModelOptionsToJson(options.Model);
        model["Family"] = options.Model.Family;
        json["Model"] = model;
        return json;
    }

    /// <summary>A family's options as JSON, with the properties of their own type.</summary>
    internal static JsonObject ModelOptionsToJson(MLNetSeg.Models.ModelOptions options) =>
        JsonSerializer.SerializeToNode(options, options.GetType(), Json)!.AsObject();

    internal static IReadOnlyList<string> IncompatibleChanges(JsonObject saved, TrainingOptions now)
    {
        var before = Flatten(saved);
        var current = Flatten(OptionsToJson(now));
        var problems = new List<string>();
        foreach (var name in before.Keys.Union(current.Keys).OrderBy(n => n, StringComparer.Ordinal))
        {
            if (ResumableChanges.Contains(name) || ResumableGroups.Any(g => name.StartsWith(g, StringComparison.Ordinal))) continue;
            var a = before.GetValueOrDefault(name);
            var b = current.GetValueOrDefault(name);
            if (!JsonNode.DeepEquals(a, b))
                problems.Add($"{name}: checkpoint {a?.ToJsonString() ?? "null"}, now {b?.ToJsonString() ?? "null"}");
        }
        return problems;
    }

    /// <summary>Leaves of nested option objects by dotted path ("Model.Settings.MinSize"); arrays are leaves.</summary>
    internal static Dictionary<string, JsonNode?> Flatten(JsonObject json)
    {
        var leaves = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        void Walk(JsonNode? node, string path)
        {
            if (node is JsonObject o)
                foreach (var (k, v) in o) Walk(v, path.Length == 0 ? k : $"{path}.{k}");
            else
                leaves[path] = node;
        }
        Walk(json, "");
        return leaves;
    }
}
