using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Panoptic;

/// <summary>
/// The semantic predictor of the IMP models (Fig. 4 of the paper): the semantic head's features (128 channels at 1/4) concatenated
/// with the IMP canvas (one channel per thing class), then <c>convs</c> × conv3×3 (GroupNorm for Panoptic-FPN-IMP, none for
/// Panoptic-P2-IMP, as the paper's P2 models have none) + ReLU, and a 1×1 conv to the semantic logits. Children "convs.{i}" and
/// "predictor".
/// </summary>
public sealed class ImpFusionHead : Module
{
    private readonly ConvNormRelu[] _convs;

    /// <param name="featureChannels">Channels of the semantic head's features (128).</param>
    /// <param name="canvasChannels">Channels of the IMP canvas: the thing classes.</param>
    /// <param name="semanticClasses">Semantic classes (logits).</param>
    /// <param name="convs">3×3 convs before the predictor (the paper: 4).</param>
    /// <param name="groupNormGroups">GroupNorm groups (32), or null for none.</param>
    public ImpFusionHead(long featureChannels, int canvasChannels, int semanticClasses, int convs = 4, int? groupNormGroups = 32)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(canvasChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(semanticClasses, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(convs);
        CanvasChannels = canvasChannels;
        var list = new ModuleList<ConvNormRelu>();
        _convs = new ConvNormRelu[convs];
        for (int i = 0; i < convs; i++)
        {
            _convs[i] = new ConvNormRelu(i == 0 ? featureChannels + canvasChannels : featureChannels, featureChannels, groupNormGroups);
            list.Add(_convs[i]);
        }
        RegisterModule("convs", list);
        Predictor = RegisterModule("predictor", ConvNormRelu.Predictor(convs == 0 ? featureChannels + canvasChannels : featureChannels, semanticClasses));
    }

    /// <summary>Channels of the canvas this head expects.</summary>
    public int CanvasChannels { get; }

    /// <summary>3×3 convs before the predictor.</summary>
    public int Convs => _convs.Length;

    /// <summary>The 3×3 conv blocks before the predictor.</summary>
    internal IReadOnlyList<ConvNormRelu> ConvLayers => _convs;

    /// <summary>Whether the convs are GroupNorm'd.</summary>
    public bool GroupNorm => _convs.Length > 0 && _convs[0].HasNorm;

    /// <summary>The 1×1 conv to the semantic logits.</summary>
    public Conv2d Predictor { get; }

    /// <summary>Semantic logits [N, S, h, w] from features [N, F, h, w] and the canvas [N, C, h, w].</summary>
    public Tensor Forward(Tensor features, Tensor canvas)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(canvas);
        if (canvas.Size(1) != CanvasChannels || canvas.Size(2) != features.Size(2) || canvas.Size(3) != features.Size(3))
            throw new ArgumentException($"ImpFusionHead: canvas [{string.Join(", ", canvas.Shape)}] does not fit features [{string.Join(", ", features.Shape)}] " +
                                        $"({CanvasChannels} canvas channels at the features' size expected)");
        var x = Tensor.Cat(new[] { features, canvas.To(features.DType) }, 1);
        foreach (var conv in _convs) x = conv.Forward(x);
        return Predictor.Forward(x);
    }
}
