using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Rcnn;

/// <summary>torchvision's TwoMLPHead (Mask R-CNN v1): flatten, fc6 + ReLU, fc7 + ReLU.</summary>
public sealed class TwoMlpHead : Module<Tensor, Tensor>
{
    public TwoMlpHead(long inChannels, long representationSize)
    {
        Fc6 = RegisterModule("fc6", new Linear(inChannels, representationSize));
        Fc7 = RegisterModule("fc7", new Linear(representationSize, representationSize));
    }

    public Linear Fc6 { get; }
    public Linear Fc7 { get; }

    public override Tensor Forward(Tensor input)
    {
        var x = input.Flatten(1);
        x = Functional.Relu(Fc6.Forward(x));
        return Functional.Relu(Fc7.Forward(x));
    }
}

/// <summary>
/// torchvision's FastRCNNConvFCHead (the v2 box head): conv blocks (3×3 conv [+ BatchNorm] + ReLU,
/// children "0".."C-1"), flatten (child C, no state), then Linear + ReLU pairs (children C+1, C+3, ...),
/// so the v2 names are "0.0.weight", "0.1.running_mean", ..., "5.weight".
/// </summary>
public sealed class FastRcnnConvFcHead : Module<Tensor, Tensor>
{
    private readonly List<Sequential> convs = new();
    private readonly List<Linear> fcs = new();

    public FastRcnnConvFcHead((long Channels, long Height, long Width) inputSize, IReadOnlyList<long> convLayers,
        IReadOnlyList<long> fcLayers, bool batchNorm)
    {
        long previous = inputSize.Channels;
        int index = 0;
        foreach (var channels in convLayers)
        {
            var block = RegisterModule((index++).ToString(), ConvBlocks.ConvNormRelu(previous, channels, batchNorm: batchNorm));
            convs.Add(block);
            previous = channels;
        }
        index++;  // nn.Flatten
        previous = previous * inputSize.Height * inputSize.Width;
        foreach (var features in fcLayers)
        {
            fcs.Add(RegisterModule(index.ToString(), new Linear(previous, features)));
            index += 2;  // Linear, ReLU
            previous = features;
        }
        OutFeatures = previous;
        foreach (var block in convs)
        {
            var conv = (Conv2d)block[0];
            ConvBlocks.KaimingNormalFanOut(conv.Weight, conv.Bias);
        }
    }

    public long OutFeatures { get; }

    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var block in convs) x = block.Forward(x);
        x = x.Flatten(1);
        foreach (var fc in fcs) x = Functional.Relu(fc.Forward(x));
        return x;
    }
}

/// <summary>torchvision's FastRCNNPredictor: class logits (cls_score) and per-class box deltas (bbox_pred).</summary>
public sealed class FastRcnnPredictor : Module<Tensor, (Tensor ClassLogits, Tensor BoxRegression)>
{
    public FastRcnnPredictor(long inChannels, int numClasses)
    {
        NumClasses = numClasses;
        ClsScore = RegisterModule("cls_score", new Linear(inChannels, numClasses));
        BboxPred = RegisterModule("bbox_pred", new Linear(inChannels, numClasses * 4L));
    }

    public int NumClasses { get; }
    public Linear ClsScore { get; }
    public Linear BboxPred { get; }

    public override (Tensor ClassLogits, Tensor BoxRegression) Forward(Tensor input)
    {
        if (input.Dim == 4 && (input.Size(2) != 1 || input.Size(3) != 1))
            throw new ArgumentException($"FastRcnnPredictor: expected [N, C] or [N, C, 1, 1] features, got [{string.Join(", ", input.Shape)}]");
        var x = input.Flatten(1);
        return (ClsScore.Forward(x), BboxPred.Forward(x));
    }
}
