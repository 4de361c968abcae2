using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Torch.Serialization;

namespace MLNetSeg.Models.Rcnn;

/// <summary>How strictly <see cref="ModelWeights.Load(Module, string, WeightLoadOptions?)"/> matches a checkpoint to a model.</summary>
public sealed record WeightLoadOptions
{
    /// <summary>The default: every model entry present, none extra, every shape equal.</summary>
    public static WeightLoadOptions Strict { get; } = new();

    /// <summary>
    /// Fine-tuning from a checkpoint with other heads (e.g. COCO's 91 classes into a 5-class model):
    /// entries whose shape differs are skipped (left as initialised) and reported; everything else
    /// must still match by name.
    /// </summary>
    public static WeightLoadOptions SkipMismatchedShapes { get; } = new() { SkipMismatched = true };

    /// <summary>Skip (and report) entries whose shape differs from the model's instead of failing.</summary>
    public bool SkipMismatched { get; init; }

    /// <summary>Accept model entries the checkpoint lacks (they keep their current values).</summary>
    public bool AllowMissing { get; init; }

    /// <summary>Accept checkpoint entries the model has no place for (they are ignored).</summary>
    public bool AllowUnexpected { get; init; }

    /// <summary>For checkpoints that wrap the state dict (e.g. {"model": ..., "epoch": 3}): the key
    /// of the state dict in a PyTorch file; null reads the top level.</summary>
    public string? StateDictKey { get; init; }

    /// <summary>
    /// Load a file of a known torchvision weight set (<see cref="TorchvisionWeights"/>, recognised by
    /// its file name) even when the model's FrozenBatchNorm2d eps is not the one the set needs.
    /// Off by default: such a model predicts badly without any other sign.
    /// </summary>
    public bool IgnoreTorchvisionSettings { get; init; }
}

/// <summary>What a load did. Keys are the model's state-dict names.</summary>
/// <param name="Loaded">Entries copied into the model.</param>
/// <param name="SkippedMismatched">Entries skipped for their shape, each as "name: checkpoint [..], model [..]".</param>
/// <param name="Missing">Model entries the checkpoint did not have (besides the skipped ones).</param>
/// <param name="Unexpected">Checkpoint entries the model has no place for.</param>
public sealed record WeightLoadReport(
    IReadOnlyList<string> Loaded,
    IReadOnlyList<string> SkippedMismatched,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected);

/// <summary>
/// Reads model weights from safetensors, PyTorch (torch.save, zip or legacy) or TorchSharp
/// (<c>module.save</c>) files and loads them into a module by PyTorch state-dict name. Every
/// failure names the file and every offending key: missing, unexpected and mis-shaped entries are
/// listed together.
/// </summary>
public static class ModelWeights
{
    /// <summary>
    /// Loads <paramref name="path"/> into <paramref name="model"/>: a detector checkpoint of the model's own names (keys
    /// "backbone.…") with tensors of another shape skipped, or an ImageNet classification ResNet (keys "conv1.weight",
    /// "layer1.…") into <paramref name="backboneBody"/>, its "fc" ignored. Returns a one-line summary.
    /// </summary>
    /// <exception cref="ArgumentException">The file is neither.</exception>
    public static string LoadPretrained(Module model, Module backboneBody, string path)
    {
        using var scope = DisposeScope.Enter();
        var tensors = Read(path);
        bool detector = tensors.Keys.Any(k => k.StartsWith("backbone.", StringComparison.Ordinal));
        bool classifier = tensors.ContainsKey("conv1.weight") && tensors.Keys.Any(k => k.StartsWith("layer1.", StringComparison.Ordinal));
        if (detector)
        {
            var report = Load(model, tensors, new WeightLoadOptions { SkipMismatched = true, AllowMissing = true, AllowUnexpected = true }, path);
            return $"{path}: loaded {report.Loaded.Count} detector tensors" +
                   (report.SkippedMismatched.Count > 0 ? $", kept {report.SkippedMismatched.Count} of another shape initialised ({string.Join(", ", report.SkippedMismatched.Take(4))}{(report.SkippedMismatched.Count > 4 ? ", ..." : "")})" : "") +
                   (report.Missing.Count > 0 ? $", {report.Missing.Count} model entries not in the file" : "") +
                   (report.Unexpected.Count > 0 ? $", {report.Unexpected.Count} file entries unused" : "");
        }
        if (classifier)
        {
            // The body keeps the ResNet's children under their names (conv1, bn1, layer1..4); fc is not among them.
            var report = Load(backboneBody, tensors, new WeightLoadOptions { AllowUnexpected = true }, path);
            return $"{path}: loaded {report.Loaded.Count} ImageNet ResNet tensors into the backbone ({report.Unexpected.Count} unused: {string.Join(", ", report.Unexpected.Take(4))})";
        }
        throw new ArgumentException($"{path}: neither a detector state dict (keys 'backbone.…') nor a classification ResNet (keys 'conv1.weight', 'layer1.…'); " +
                                    $"first keys: {string.Join(", ", tensors.Keys.Take(5))}");
    }

    /// <summary>
    /// The file's tensors by name (PyTorch files: the state dict at <paramref name="stateDictKey"/>,
    /// or the top level; safetensors and TorchSharp files hold one flat state dict and ignore it).
    /// The format is recognised from the content, not the extension: a zip archive is a torch.save
    /// checkpoint, a file that starts like TorchSharp's <c>module.save</c> layout
    /// (<see cref="TorchSharpFormat.IsTorchSharpFile"/>) is read as one (its errors are
    /// <see cref="TorchSharpFormatException"/>s), then safetensors, then legacy torch.save.
    /// </summary>
    public static OrderedDictionary<string, Tensor> Read(string path, Device? device = null, string? stateDictKey = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"weights file not found: {path}", path);
        Span<byte> head = stackalloc byte[9];
        int read;
        using (var stream = File.OpenRead(path)) read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        bool zip = read >= 2 && head[0] == (byte)'P' && head[1] == (byte)'K';
        // TorchSharp before safetensors and legacy pickles: a TorchSharp file of 256 entries starts
        // with 0x80 0x02 like a protocol-2 pickle; the probe's name check rejects pickles and safetensors.
        if (!zip && TorchSharpFormat.IsTorchSharpFile(path)) return TorchSharpFormat.Read(path, device);
        if (read == 9 && head[8] == (byte)'{') return SafeTensors.Load(path, device);
        try
        {
            return PyTorchCheckpoint.LoadStateDict(path, device, stateDictKey);
        }
        catch (CheckpointFormatException e) when (!zip && !(read > 0 && head[0] == 0x80))
        {
            throw new CheckpointFormatException(path, $"{e.Message}; nor is it a safetensors file or a TorchSharp state dict (module.save)", e.ForbiddenGlobal, e);
        }
    }

    /// <summary>Loads the weights in <paramref name="path"/> into <paramref name="model"/>; see <see cref="Load(Module, IReadOnlyDictionary{string, Tensor}, WeightLoadOptions?, string?)"/>.</summary>
    public static WeightLoadReport Load(Module model, string path, WeightLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= WeightLoadOptions.Strict;
        using var scope = DisposeScope.Enter();
        var stateDict = Read(path, null, options.StateDictKey);
        return Load(model, stateDict, options, path);
    }

    /// <summary>
    /// Copies <paramref name="stateDict"/> into <paramref name="model"/> (values cast to each entry's
    /// dtype and device). The modules' legacy-upgrade hooks run first, as in PyTorch's
    /// <c>load_state_dict</c>: old torchvision names such as "rpn.head.conv.weight" are renamed and
    /// entries a module ignores are dropped (a BatchNorm2d checkpoint's <c>num_batches_tracked</c>
    /// loads into torchvision's FrozenBatchNorm2d backbone). Then every name and shape is checked
    /// before anything is copied, so a refused checkpoint leaves the model unchanged: a
    /// <see cref="StateDictException"/> names every missing, unexpected or mis-shaped key that
    /// <paramref name="options"/> does not allow; with <see cref="WeightLoadOptions.SkipMismatched"/>
    /// mis-shaped entries are skipped and reported instead. When <paramref name="source"/> is the file
    /// of a known torchvision weight set, the model's FrozenBatchNorm2d eps must be the set's
    /// (<see cref="TorchvisionWeights"/>; an <see cref="ArgumentException"/> says how to build it).
    /// </summary>
    /// <param name="model">The module to fill.</param>
    /// <param name="stateDict">Checkpoint entries by PyTorch state-dict name.</param>
    /// <param name="options">How strict the match is; <see cref="WeightLoadOptions.Strict"/> when null.</param>
    /// <param name="source">Where the entries came from (a file name), for error messages.</param>
    public static WeightLoadReport Load(Module model, IReadOnlyDictionary<string, Tensor> stateDict, WeightLoadOptions? options = null,
        string? source = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stateDict);
        options ??= WeightLoadOptions.Strict;
        string what = source is null ? model.GetType().Name : $"{model.GetType().Name} from {source}";
        if (source is not null && !options.IgnoreTorchvisionSettings) TorchvisionWeights.CheckSettings(model, source);
        using var scope = DisposeScope.Enter();
        var expected = model.StateDict();
        var working = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var skipped = new List<string>();
        var mismatched = new List<string>();
        foreach (var (key, value) in model.UpgradeLegacyKeys(stateDict))
        {
            if (expected.TryGetValue(key, out var target) && !SameShape(target.Shape, value.Shape))
            {
                string line = $"{key}: checkpoint [{string.Join(", ", value.Shape)}], model [{string.Join(", ", target.Shape)}]";
                (options.SkipMismatched ? skipped : mismatched).Add(line);
                if (options.SkipMismatched) continue;
            }
            working[key] = value;
        }
        var skippedKeys = skipped.Select(s => s[..s.IndexOf(':')]).ToHashSet(StringComparer.Ordinal);
        var missing = expected.Keys.Where(k => !working.ContainsKey(k) && !skippedKeys.Contains(k)).ToList();
        var unexpected = working.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        if (mismatched.Count > 0 || (!options.AllowMissing && missing.Count > 0) || (!options.AllowUnexpected && unexpected.Count > 0))
            throw new StateDictException(what, options.AllowMissing ? Array.Empty<string>() : missing,
                options.AllowUnexpected ? Array.Empty<string>() : unexpected, mismatched.Select(m => "size mismatch for " + m).ToList());

        foreach (var key in unexpected) working.Remove(key);
        model.LoadStateDict(working, strict: false);  // names checked above; its hooks change nothing more
        var loaded = expected.Keys.Where(working.ContainsKey).ToList();
        return new WeightLoadReport(loaded, skipped, missing, unexpected);
    }

    private static bool SameShape(long[] a, long[] b) =>
        a.SequenceEqual(b) || (a.Length == 0 && b is [1]);  // a 1-element vector loads into a scalar, as in PyTorch
}
