using System.Collections.Concurrent;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Torch.Serialization;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models;

/// <summary>
/// One file per trained model (".mlseg"): a standard safetensors file holding the state dict
/// under torchvision's names, with the rest — architecture, classes and their COCO category ids,
/// keypoint schema, preprocessing, thresholds, format version — as JSON under the "mlnetseg" key
/// of the safetensors metadata (see <see cref="ModelFileInfo"/>). Other tools read the weights
/// as any safetensors file; MLNetSeg rebuilds the model from the file alone.
/// </summary>
public static class ModelFile
{
    /// <summary>The conventional extension.</summary>
    public const string Extension = ".mlseg";

    /// <summary>The safetensors metadata key holding the JSON config.</summary>
    public const string MetadataKey = ModelFileConfig.MetadataKey;

    // State-dict layouts (name → shape) of freshly built models, one per architecture.
    private static readonly ConcurrentDictionary<(ModelArchitecture Arch, int Ratios), IReadOnlyDictionary<string, long[]>> Layouts = new();

    /// <summary>
    /// Writes <paramref name="model"/> and <paramref name="info"/> to <paramref name="path"/>
    /// atomically (a temporary file replaces the target only when complete). The architecture and
    /// options are read off the model; the model's state dict must have exactly the layout
    /// <see cref="ModelArchitecture.Build"/> gives that architecture, so that every file that saves
    /// also loads (the reference layout is built once per architecture and process: for a
    /// ResNet-50 model, about a second and a transient 170 MB on the first save). Returns the info as written (architecture, options, category ids and keypoint
    /// schema filled in).
    /// </summary>
    /// <exception cref="ArgumentException">The info disagrees with the model (class count, keypoints,
    /// a given architecture or options), or the model is laid out differently.</exception>
    public static ModelFileInfo Save(GeneralizedRcnn model, ModelFileInfo info, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(info);
        ArgumentException.ThrowIfNullOrEmpty(path);
        string what = $"ModelFile.Save({path})";
        var arch = ModelArchitecture.Of(model);
        if (info.Architecture is { } givenArch && givenArch.WithoutUnusedWidths() != arch)
            throw new ArgumentException($"{what}: info.Architecture ({givenArch}) is not the model's ({arch}); leave it null to take the model's");
        var options = Normalize(model.Options, arch);
        if (info.Options is { } givenOptions &&
            ModelFileConfig.OptionsFingerprint(Normalize(givenOptions, arch)) != ModelFileConfig.OptionsFingerprint(options))
            throw new ArgumentException($"{what}: info.Options differ from the model's Options; leave them null to take the model's");
        if (info.ClassProblem(arch.NumClasses) is { } classProblem) throw new ArgumentException($"{what}: {classProblem}");
        var complete = info with
        {
            Architecture = arch,
            Options = options,
            CategoryIds = info.LabelToCategoryId.ToArray(),
            Keypoints = KeypointsFor(arch, info.Keypoints, what),
            Properties = new Dictionary<string, string>(info.Properties ?? new Dictionary<string, string>(), StringComparer.Ordinal),
            FormatVersion = ModelFileInfo.CurrentFormatVersion,
        };

        using var scope = DisposeScope.Enter();
        var stateDict = model.StateDict();
        CheckLayout(arch, options, stateDict, what);
        var dtype = model.Parameters().First().DType;
        var config = ModelFileConfig.Write(complete, dtype);
        SafeTensors.Save(path, stateDict, new Dictionary<string, string> { [MetadataKey] = config });
        return complete;
    }

    /// <summary>Rebuilds the model stored in <paramref name="path"/> (in eval mode, on
    /// <paramref name="device"/>, CPU by default) and returns it with the file's info.</summary>
    public static (GeneralizedRcnn Model, ModelFileInfo Info) Load(string path, Device? device = null) => Load<GeneralizedRcnn>(path, device);

    /// <summary>
    /// Like <see cref="Load(string, Device?)"/>, and the file must hold a <typeparamref name="TModel"/>
    /// (<see cref="MaskRcnn"/> or <see cref="KeypointRcnn"/>).
    /// </summary>
    /// <exception cref="ModelFileException">Another model type, a newer format version, a plain
    /// safetensors file, a missing or malformed config, a truncated file, or weights that do not fit.</exception>
    public static (TModel Model, ModelFileInfo Info) Load<TModel>(string path, Device? device = null) where TModel : GeneralizedRcnn
    {
        var (info, dtype) = ReadConfig(path);
        var arch = info.Architecture!;
        string? wanted = ModelArchitecture.TypeNameOf(typeof(TModel));
        if (wanted is not null && wanted != arch.ModelType)
            throw new ModelFileException(path, $"holds a {arch.ModelType} model, not the {wanted} model ({typeof(TModel).Name}) asked for");

        GeneralizedRcnn model;
        try { model = arch.Build(info.Options); }
        catch (ArgumentException e) { throw new ModelFileException(path, $"its settings do not make a {arch.ModelType} model: {e.Message}", e); }
        try
        {
            if (dtype != DType.Float32) model.To(dtype);
            using (var scope = DisposeScope.Enter())
            {
                var tensors = ReadTensors(path);
                ModelWeights.Load(model, tensors, WeightLoadOptions.Strict, path);
            }
            if (device is { } d && d != Device.Cpu) model.To(d);
            return ((TModel)model, info);
        }
        catch (StateDictException e)
        {
            model.Dispose();
            throw new ModelFileException(path, $"the weights do not fit the model its config describes ({arch}): {e.Message}", e);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The info of a model file, from its header alone (no weights are read).</summary>
    public static ModelFileInfo ReadInfo(string path) => ReadConfig(path).Info;

    private static (ModelFileInfo Info, DType DType) ReadConfig(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"model file not found: {path}", path);
        IReadOnlyDictionary<string, string> metadata;
        try { metadata = SafeTensors.ReadHeader(path).Metadata; }
        catch (InvalidDataException e) { throw new ModelFileException(path, $"not a readable model file: {WithoutPath(e.Message, path)}", e); }
        if (!metadata.TryGetValue(MetadataKey, out var json))
            throw new ModelFileException(path, $"a safetensors file without MLNetSeg model metadata (no \"{MetadataKey}\" entry in its __metadata__): " +
                                               "it holds weights only; build the model and call LoadWeights, or write model files with ModelFile.Save");
        return ModelFileConfig.Read(json, path);
    }

    private static OrderedDictionary<string, Tensor> ReadTensors(string path)
    {
        try { return SafeTensors.Load(path); }
        catch (InvalidDataException e) { throw new ModelFileException(path, $"cannot read the weights: {WithoutPath(e.Message, path)}", e); }
    }

    /// <summary>The options as a file stores them: the class and keypoint counts are the architecture's.</summary>
    private static RcnnOptions Normalize(RcnnOptions options, ModelArchitecture arch) =>
        options with { NumClasses = arch.NumClasses, NumKeypoints = arch.NumKeypoints ?? new RcnnOptions().NumKeypoints };

    private static KeypointSchema? KeypointsFor(ModelArchitecture arch, KeypointSchema? given, string what)
    {
        if (arch.NumKeypoints is not { } k)
            return given is null ? null : throw new ArgumentException($"{what}: info.Keypoints is set but a {arch.ModelType} model has no keypoints");
        if (given is null)
            return k == KeypointSchema.CocoPerson.Count ? KeypointSchema.CocoPerson
                : throw new ArgumentException($"{what}: the model has {k} keypoints; give their names, skeleton and flip map as info.Keypoints");
        return given.Count == k ? given
            : throw new ArgumentException($"{what}: info.Keypoints names {given.Count} keypoints but the model has {k}");
    }

    private static void CheckLayout(ModelArchitecture arch, RcnnOptions options, IReadOnlyDictionary<string, Tensor> stateDict, string what)
    {
        // The RPN head's output channels depend on the anchors per location (one size per level × the ratios).
        int ratios = options.AnchorAspectRatios.Count;
        var expected = Layouts.GetOrAdd((arch, ratios), key =>
        {
            using var reference = key.Arch.Build(new RcnnOptions { AnchorAspectRatios = Enumerable.Repeat(1.0, key.Ratios).ToArray() });
            using var scope = DisposeScope.Enter();
            return reference.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Shape, StringComparer.Ordinal);
        });
        var problems = new List<string>();
        problems.AddRange(expected.Keys.Where(k => !stateDict.ContainsKey(k)).Select(k => $"missing {k}"));
        problems.AddRange(stateDict.Keys.Where(k => !expected.ContainsKey(k)).Select(k => $"unexpected {k}"));
        problems.AddRange(stateDict.Where(kv => expected.TryGetValue(kv.Key, out var shape) && !shape.SequenceEqual(kv.Value.Shape))
            .Select(kv => $"{kv.Key} is [{string.Join(", ", kv.Value.Shape)}], expected [{string.Join(", ", expected[kv.Key])}]"));
        if (problems.Count > 0)
            throw new ArgumentException($"{what}: the model's state dict is not laid out as a {arch.ModelType} " +
                                        $"(recipe {arch.Version}, {arch.BackboneName}, FPN {arch.FpnVersion}) built by ModelArchitecture.Build: " +
                                        string.Join("; ", problems.Take(8)) + (problems.Count > 8 ? $"; and {problems.Count - 8} more" : ""));
    }

    private static string WithoutPath(string message, string path) =>
        message.StartsWith(path + ": ", StringComparison.Ordinal) ? message[(path.Length + 2)..] : message;
}
