using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Backbones;

/// <summary>
/// torchvision.models._utils.IntermediateLayerGetter over a <see cref="ResNet"/>: keeps the
/// ResNet's children in order up to the deepest requested stage (conv1, bn1, relu, maxpool,
/// layer1..layerK — the same names, so the same state-dict keys) and returns the outputs of the
/// requested stages under their new names, shallowest first.
/// <para>
/// It takes ownership of the ResNet: the children it drops (avgpool, fc, stages deeper than K)
/// are disposed, as torchvision lets them go.
/// </para>
/// </summary>
public sealed class IntermediateLayerGetter : Module<Tensor, IReadOnlyList<(string Name, Tensor Feature)>>
{
    private readonly ResNet model;
    private readonly string?[] outputNames;  // per stage 1..K: the returned name, or null

    /// <summary>Keeps the stem and stages 1..K of <paramref name="model"/>, K being the deepest requested stage, and disposes the rest.</summary>
    /// <param name="model">The ResNet whose stages to expose.</param>
    /// <param name="returnLayers">Stage names ("layer1".."layer4") and the names their outputs
    /// get, e.g. ("layer1", "0"), ("layer2", "1"). Each stage at most once.</param>
    /// <exception cref="ArgumentException"><paramref name="returnLayers"/> is empty, names something other than layer1..layer4, or lists a stage twice.</exception>
    public IntermediateLayerGetter(ResNet model, IReadOnlyList<(string Layer, string Name)> returnLayers)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (returnLayers.Count == 0) throw new ArgumentException("IntermediateLayerGetter: returnLayers is empty", nameof(returnLayers));
        var stageOf = new Dictionary<string, int> { ["layer1"] = 1, ["layer2"] = 2, ["layer3"] = 3, ["layer4"] = 4 };
        var unknown = returnLayers.Select(r => r.Layer).Where(l => !stageOf.ContainsKey(l)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"IntermediateLayerGetter: return layers [{string.Join(", ", unknown)}] are not stages of the ResNet " +
                                        "(layer1..layer4)", nameof(returnLayers));
        if (returnLayers.Select(r => r.Layer).Distinct().Count() != returnLayers.Count)
            throw new ArgumentException($"IntermediateLayerGetter: a stage is listed twice in [{string.Join(", ", returnLayers.Select(r => r.Layer))}]",
                nameof(returnLayers));

        this.model = model;
        int deepest = returnLayers.Max(r => stageOf[r.Layer]);
        outputNames = new string?[deepest + 1];
        foreach (var (layer, name) in returnLayers) outputNames[stageOf[layer]] = name;

        var keep = new HashSet<string> { "conv1", "bn1", "relu", "maxpool" };
        for (int s = 1; s <= deepest; s++) keep.Add($"layer{s}");
        foreach (var (name, child) in model.NamedChildren())
        {
            if (keep.Contains(name)) RegisterModule(name, child);
            else child.Dispose();
        }
    }

    /// <summary>The ResNet the stages come from (its dropped children are disposed).</summary>
    public ResNet Model => model;

    /// <summary>Channels of each returned feature, in output order.</summary>
    public IReadOnlyList<long> OutChannels =>
        Enumerable.Range(1, outputNames.Length - 1).Where(s => outputNames[s] is not null).Select(s => model.Spec.StageChannels(s)).ToList();

    /// <summary>Runs the stem and the kept stages on an (N, 3, H, W) batch and returns the requested stages' outputs
    /// (stride 4, 8, 16, 32 for layer1..layer4) under their new names, shallowest first.</summary>
    public override IReadOnlyList<(string Name, Tensor Feature)> Forward(Tensor images)
    {
        var features = new List<(string, Tensor)>();
        var x = model.ForwardStem(images);
        for (int s = 1; s < outputNames.Length; s++)
        {
            var y = ResNet.ForwardStage(model.Stage(s), x);
            bool previousReturned = s > 1 && outputNames[s - 1] is not null;
            if (!previousReturned) x.Dispose();  // the stem output or an unreturned stage
            x = y;
            if (outputNames[s] is { } name) features.Add((name, x));
        }
        return features;
    }

    /// <inheritdoc cref="ResNet.FuseFrozenBatchNorm()"/>
    public int FuseFrozenBatchNorm() => model.FuseFrozenBatchNorm(throughStage: outputNames.Length - 1);

    /// <inheritdoc cref="ResNet.UnfuseFrozenBatchNorm"/>
    public void UnfuseFrozenBatchNorm() => model.UnfuseFrozenBatchNorm();

    /// <summary>Disposes the kept stages and the ResNet it owns: the ResNet is not a registered child
    /// (its children are), but it holds the stem's folded weights.</summary>
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) model.Dispose();
    }
}
