using System.Collections.Concurrent;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Torch.Serialization;

namespace MLNetSeg.Models;

/// <summary>
/// One file per trained model (".mlseg"): a standard safetensors file holding the state dict
/// (for R-CNNs, under torchvision's names), with the rest — the family, its architecture and settings,
/// classes and their COCO category ids, keypoint schema, format version — as JSON under the "mlnetseg"
/// key of the safetensors metadata (see <see cref="ModelFileInfo"/>, ModelFileConfig). Other tools read
/// the weights as any safetensors file; MLNetSeg rebuilds the model from the file alone, through the
/// family the file names (<see cref="ModelRegistry"/>).
/// </summary>
public static class ModelFile
{
    /// <summary>The conventional extension.</summary>
    public const string Extension = ".mlseg";

    /// <summary>The safetensors metadata key holding the JSON config.</summary>
    public const string MetadataKey = ModelFileConfig.MetadataKey;

    // State-dict layouts (name → shape) of freshly built models, one per family config.
    private static readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, long[]>> Layouts = new(StringComparer.Ordinal);

    /// <summary>
    /// Writes <paramref name="model"/> and <paramref name="info"/> to <paramref name="path"/> atomically
    /// (a temporary file replaces the target only when complete). The family section is the model's
    /// own (<see cref="ISegmentationModel.WriteConfig"/>); the model's state dict must have exactly the
    /// layout its family builds from that section, so that every file that saves also loads (the
    /// reference layout is built once per configuration and process). Returns the info as written.
    /// </summary>
    /// <exception cref="ArgumentException">The info disagrees with the model (class count, family), or the
    /// model is laid out differently from what its family builds.</exception>
    public static ModelFileInfo Save(ISegmentationModel model, ModelFileInfo info, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(info);
        ArgumentException.ThrowIfNullOrEmpty(path);
        string what = $"ModelFile.Save({path})";
        var family = model.Family;
        if (info.Family is { } given && given != family.Name)
            throw new ArgumentException($"{what}: info.Family is '{given}' but the model is a {family}; leave it null to take the model's");
        if (info.ClassProblem(model.NumClasses) is { } classProblem) throw new ArgumentException($"{what}: {classProblem}");
        var complete = info with
        {
            Family = family.Name,
            CategoryIds = info.LabelToCategoryId.ToArray(),
            Properties = new Dictionary<string, string>(info.Properties ?? new Dictionary<string, string>(), StringComparer.Ordinal),
            FormatVersion = ModelFileInfo.CurrentFormatVersion,
        };

        using var scope = DisposeScope.Enter();
        var stateDict = model.Module.StateDict();
        var dtype = model.Module.Parameters().First().DType;
        var config = ModelFileConfig.Write(model, complete, dtype);
        CheckLayout(config, stateDict, what);
        SafeTensors.Save(path, stateDict, new Dictionary<string, string> { [MetadataKey] = config });
        return complete;
    }

    /// <summary>Rebuilds the model stored in <paramref name="path"/> (in eval mode, on
    /// <paramref name="device"/>, CPU by default) and returns it with the file's info.</summary>
    /// <exception cref="ModelFileException">A newer format version, an unknown family, a plain safetensors
    /// file, a missing or malformed config, a truncated file, or weights that do not fit.</exception>
    public static (ISegmentationModel Model, ModelFileInfo Info) Load(string path, Device? device = null) => Load<ISegmentationModel>(path, device);

    /// <summary>
    /// Like <see cref="Load(string, Device?)"/>, and the file must hold a <typeparamref name="TModel"/>
    /// (e.g. <c>MaskRcnn</c>); another model is a <see cref="ModelFileException"/> naming what it holds.
    /// </summary>
    public static (TModel Model, ModelFileInfo Info) Load<TModel>(string path, Device? device = null) where TModel : class, ISegmentationModel
    {
        var (info, dtype, section) = ReadConfig(path);
        ISegmentationModel model;
        // The config may describe any size of model; a strict load needs every parameter and buffer in
        // the file, so building is bounded by the elements the file holds (plus non-persistent buffers).
        using (AllocationBudget.Enter(BuildBudget(StoredElements(path)), $"the model described by {path}"))
        {
            try { model = BuildFromConfig(info, section, path); }
            catch (AllocationBudgetException e)
            {
                throw new ModelFileException(path, $"its config describes a model larger than the weights the file holds: {e.Message}", e);
            }
        }
        if (model is not TModel typed)
        {
            string holds = $"{model.Family.DisplayName} ({model.GetType().Name})";
            model.Dispose();
            throw new ModelFileException(path, $"holds a {holds} model, not the {typeof(TModel).Name} asked for");
        }
        try
        {
            if (dtype != DType.Float32) model.Module.To(dtype);
            using (var scope = DisposeScope.Enter())
            {
                var tensors = ReadTensors(path);
                LoadStrict(model.Module, tensors, path);
            }
            if (device is { } d && d != Device.Cpu) model.Module.To(d);
            model.Module.Eval();
            return (typed, info);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The elements building a model from its config may create, given the elements its file stores.
    /// Building makes more than the state dict holds: tensors it throws away (a ResNet's 1000-class classifier,
    /// 2M elements for ResNet-50, built and dropped as torchvision does; initialisation temporaries) and
    /// non-persistent buffers. Twice the stored elements plus 2^24 (64 MiB of float32) admits those and still
    /// refuses a small file whose config describes gigabytes.</summary>
    internal static long BuildBudget(long storedElements) => 2 * storedElements + (1L << 24);

    /// <summary>The elements of all tensors in the file (its header was read and checked by ReadConfig).</summary>
    private static long StoredElements(string path) =>
        SafeTensors.ReadHeader(path).Tensors.Sum(t => t.ByteLength / t.DType.ElementSize());

    /// <summary>The info of a model file, from its header alone (no weights are read).</summary>
    public static ModelFileInfo ReadInfo(string path) => ReadConfig(path).Info;

    private static ISegmentationModel BuildFromConfig(ModelFileInfo info, ConfigField section, string path)
    {
        if (!ModelRegistry.TryGet(info.Family!, out var family))
            throw new ModelFileException(path, $"holds a model of family '{info.Family}', which this process does not know " +
                                               $"(registered: {string.Join(", ", ModelRegistry.Families.Select(f => f.Name))}); " +
                                               "register the family (ModelRegistry.Register) before loading");
        ISegmentationModel model;
        try { model = family.Build(section, info, info.FormatVersion); }
        catch (ArgumentException e) { throw new ModelFileException(path, $"its settings do not make a {family.DisplayName} model: {e.Message}", e); }
        if (info.ClassProblem(model.NumClasses) is { } problem)
        {
            model.Dispose();
            throw new ModelFileException(path, $"config field 'classes': {problem}");
        }
        return model;
    }

    private static (ModelFileInfo Info, DType DType, ConfigField Section) ReadConfig(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"model file not found: {path}", path);
        IReadOnlyDictionary<string, string> metadata;
        try { metadata = SafeTensors.ReadHeader(path).Metadata; }
        catch (InvalidDataException e) { throw new ModelFileException(path, $"not a readable model file: {WithoutPath(e.Message, path)}", e); }
        if (!metadata.TryGetValue(MetadataKey, out var json))
            throw new ModelFileException(path, $"a safetensors file without MLNetSeg model metadata (no \"{MetadataKey}\" entry in its __metadata__): " +
                                               "it holds weights only; build the model and load the weights into it, or write model files with ModelFile.Save");
        return ModelFileConfig.Read(json, path);
    }

    private static OrderedDictionary<string, Tensor> ReadTensors(string path)
    {
        try { return SafeTensors.Load(path); }
        catch (InvalidDataException e) { throw new ModelFileException(path, $"cannot read the weights: {WithoutPath(e.Message, path)}", e); }
    }

    private static void LoadStrict(Module module, IReadOnlyDictionary<string, Tensor> tensors, string path)
    {
        try { ModelWeights.Load(module, tensors, WeightLoadOptions.Strict, path); }
        catch (StateDictException e) { throw new ModelFileException(path, $"the weights do not fit the model its config describes: {e.Message}", e); }
    }

    /// <summary>The model must be laid out as its family builds it from the config being written.</summary>
    private static void CheckLayout(string config, IReadOnlyDictionary<string, Tensor> stateDict, string what)
    {
        IReadOnlyDictionary<string, long[]> expected;
        try
        {
            expected = Layouts.GetOrAdd(config, json =>
            {
                var (info, _, section) = ModelFileConfig.Read(json, what);
                using var reference = BuildFromConfig(info, section, what);
                using var scope = DisposeScope.Enter();
                return reference.Module.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Shape, StringComparer.Ordinal);
            });
        }
        catch (ModelFileException e)
        {
            throw new ArgumentException($"{what}: the file would not load back: {e.Problem}", e);
        }
        var problems = LayoutProblems(expected, stateDict.ToDictionary(kv => kv.Key, kv => kv.Value.Shape, StringComparer.Ordinal));
        if (problems.Count > 0)
            throw new ArgumentException($"{what}: the model's state dict is not laid out as its family builds a model of its config: {Summarize(problems)}");
    }

    private static List<string> LayoutProblems(IReadOnlyDictionary<string, long[]> expected, IReadOnlyDictionary<string, long[]> actual)
    {
        var problems = new List<string>();
        problems.AddRange(expected.Keys.Where(k => !actual.ContainsKey(k)).Select(k => $"missing {k}"));
        problems.AddRange(actual.Keys.Where(k => !expected.ContainsKey(k)).Select(k => $"unexpected {k}"));
        problems.AddRange(actual.Where(kv => expected.TryGetValue(kv.Key, out var shape) && !shape.SequenceEqual(kv.Value))
            .Select(kv => $"{kv.Key} is [{string.Join(", ", kv.Value)}], expected [{string.Join(", ", expected[kv.Key])}]"));
        return problems;
    }

    private static string Summarize(List<string> problems) =>
        string.Join("; ", problems.Take(8)) + (problems.Count > 8 ? $"; and {problems.Count - 8} more" : "");

    private static string WithoutPath(string message, string path) =>
        message.StartsWith(path + ": ", StringComparison.Ordinal) ? message[(path.Length + 2)..] : message;
}
