using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLNetSeg.Torch.Optim;

/// <summary>
/// An optimizer's state in PyTorch's layout (state_dict()["state"] and ["param_groups"]),
/// plus the optimizer's name. <see cref="ToTensors"/> / <see cref="FromTensors"/> flatten it to
/// named tensors and string metadata, the shape a safetensors file stores.
/// </summary>
public sealed class OptimizerStateDict
{
    private const string GroupsKey = "param_groups", NameKey = "optimizer", FormatKey = "format", Format = "mlnetseg.optimizer/1";

    /// <summary>Wraps the parts of a state dict; nothing is copied or validated here
    /// (<see cref="Optimizer.LoadStateDict"/> validates on load).</summary>
    /// <param name="optimizerName">The optimizer's <see cref="Optimizer.Name"/>.</param>
    /// <param name="state">Per-parameter state by position across all groups.</param>
    /// <param name="paramGroups">Each group's hyper-parameters and parameter positions.</param>
    public OptimizerStateDict(string optimizerName, IReadOnlyDictionary<int, IReadOnlyDictionary<string, Tensor>> state,
        IReadOnlyList<ParamGroupState> paramGroups)
    {
        OptimizerName = optimizerName;
        State = state;
        ParamGroups = paramGroups;
    }

    /// <summary>The <see cref="Optimizer.Name"/> of the optimizer that wrote the state ("SGD", "AdamW").</summary>
    public string OptimizerName { get; }

    /// <summary>Per-parameter state by position across all groups ("momentum_buffer", "exp_avg", "step", ...).</summary>
    public IReadOnlyDictionary<int, IReadOnlyDictionary<string, Tensor>> State { get; }

    /// <summary>Each group's hyper-parameters and parameter positions (PyTorch's <c>param_groups</c>).</summary>
    public IReadOnlyList<ParamGroupState> ParamGroups { get; }

    /// <summary>Tensors named "state.&lt;index&gt;.&lt;key&gt;" and metadata holding the optimizer name
    /// and the parameter groups as JSON (doubles written round-trip exact).</summary>
    public (OrderedDictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) ToTensors()
    {
        var tensors = new OrderedDictionary<string, Tensor>();
        foreach (var (index, entries) in State.OrderBy(kv => kv.Key))
            foreach (var (key, t) in entries.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                if (key.Contains('.')) throw new InvalidOperationException($"optimizer state key '{key}' cannot contain '.'");
                tensors[$"state.{index}.{key}"] = t;
            }
        var groups = new JsonArray();
        foreach (var g in ParamGroups)
        {
            var options = new JsonObject();
            foreach (var (k, v) in g.Options.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                options[k] = v.ToString("R", CultureInfo.InvariantCulture);  // as text: JSON numbers lose nothing, but NaN/inf need it
            groups.Add(new JsonObject { ["options"] = options, ["params"] = new JsonArray(g.Params.Select(i => (JsonNode)i).ToArray()) });
        }
        var metadata = new Dictionary<string, string>
        {
            [FormatKey] = Format,
            [NameKey] = OptimizerName,
            [GroupsKey] = groups.ToJsonString(),
        };
        return (tensors, metadata);
    }

    /// <summary>Rebuilds a state dict from <see cref="ToTensors"/>' output; <paramref name="source"/>
    /// (e.g. a file name) prefixes error messages.</summary>
    public static OptimizerStateDict FromTensors(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata,
        string source = "optimizer state")
    {
        string Meta(string key) => metadata.TryGetValue(key, out var v) ? v
            : throw new InvalidDataException($"{source}: metadata has no '{key}' entry (not an optimizer state file?)");
        if (Meta(FormatKey) != Format) throw new InvalidDataException($"{source}: unsupported optimizer state format '{Meta(FormatKey)}'");
        var groups = new List<ParamGroupState>();
        JsonArray parsed;
        try { parsed = JsonNode.Parse(Meta(GroupsKey)) as JsonArray ?? throw new InvalidDataException($"{source}: param_groups is not a JSON array"); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: param_groups is not valid JSON: {e.Message}", e); }
        for (int g = 0; g < parsed.Count; g++)
        {
            try
            {
                var obj = parsed[g]!.AsObject();
                var options = obj["options"]!.AsObject().ToDictionary(kv => kv.Key,
                    kv => double.Parse(kv.Value!.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture));
                var indices = obj["params"]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
                groups.Add(new ParamGroupState(options, indices));
            }
            catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException or JsonException)
            {
                throw new InvalidDataException($"{source}: param_groups[{g}] is malformed ({e.Message})", e);
            }
        }
        var state = new SortedDictionary<int, Dictionary<string, Tensor>>();
        foreach (var (name, t) in tensors)
        {
            var parts = name.Split('.');
            if (parts.Length != 3 || parts[0] != "state" || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                throw new InvalidDataException($"{source}: tensor '{name}' is not an optimizer state entry (expected state.<index>.<key>)");
            if (!state.TryGetValue(index, out var entries)) state[index] = entries = new Dictionary<string, Tensor>();
            entries[parts[2]] = t;
        }
        return new OptimizerStateDict(Meta(NameKey),
            state.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, Tensor>)kv.Value), groups);
    }
}
