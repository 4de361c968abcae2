using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Rcnn;

/// <summary>torchvision's TwoMLPHead (Mask R-CNN v1): flatten, fc6 + ReLU, fc7 + ReLU.</summary>
public sealed class TwoMlpHead : Module<Tensor, Tensor>
{
    /// <summary>Creates fc6 and fc7 (torchvision's <c>TwoMLPHead(in_channels, representation_size)</c>).</summary>
    /// <param name="inChannels">Flattened RoI feature size: FPN channels × 7 × 7 (12544 in torchvision).</param>
    /// <param name="representationSize">Width of both fully connected layers (torchvision: 1024).</param>
    public TwoMlpHead(long inChannels, long representationSize)
    {
        Fc6 = RegisterModule("fc6", new Linear(inChannels, representationSize));
        Fc7 = RegisterModule("fc7", new Linear(representationSize, representationSize));
    }

    /// <summary>The first fully connected layer ("fc6"), from the flattened RoI features.</summary>
    public Linear Fc6 { get; }

    /// <summary>The second fully connected layer ("fc7").</summary>
    public Linear Fc7 { get; }

    /// <summary>[R, C, 7, 7] pooled RoI features → [R, representationSize] box features.</summary>
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

    /// <summary>Creates the head (torchvision's <c>FastRCNNConvFCHead(input_size, conv_layers, fc_layers, norm_layer)</c>).</summary>
    /// <param name="inputSize">(channels, height, width) of the pooled RoI features, e.g. (256, 7, 7).</param>
    /// <param name="convLayers">Output channels of each 3×3 conv block (torchvision v2: four of 256).</param>
    /// <param name="fcLayers">Width of each fully connected layer (torchvision v2: one of 1024).</param>
    /// <param name="batchNorm">BatchNorm2d after each conv (the v2 recipe; the convs then have no bias).</param>
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

    /// <summary>Width of the head's output: the last FC layer's, or the flattened conv output when there is none.</summary>
    public long OutFeatures { get; }

    /// <summary>[R, C, H, W] pooled RoI features → [R, <see cref="OutFeatures"/>] box features.</summary>
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
    /// <summary>Creates cls_score and bbox_pred (torchvision's <c>FastRCNNPredictor(in_channels, num_classes)</c>).</summary>
    /// <param name="inChannels">Width of the box head's output (torchvision: 1024).</param>
    /// <param name="numClasses">Classes including background (91 for COCO in torchvision).</param>
    public FastRcnnPredictor(long inChannels, int numClasses)
    {
        NumClasses = numClasses;
        ClsScore = RegisterModule("cls_score", new Linear(inChannels, numClasses));
        BboxPred = RegisterModule("bbox_pred", new Linear(inChannels, numClasses * 4L));
    }

    /// <summary>Classes including background (index 0).</summary>
    public int NumClasses { get; }

    /// <summary>The classifier ("cls_score"): box features → one logit per class.</summary>
    public Linear ClsScore { get; }

    /// <summary>The box regressor ("bbox_pred"): box features → (dx, dy, dw, dh) per class.</summary>
    public Linear BboxPred { get; }

    /// <summary>Class logits [R, C] and box deltas [R, 4C] (class c at columns 4c…4c+3) of [R, F] or [R, F, 1, 1] box features.</summary>
    /// <exception cref="ArgumentException">A 4-d input is not [R, F, 1, 1].</exception>
    public override (Tensor ClassLogits, Tensor BoxRegression) Forward(Tensor input)
    {
        if (input.Dim == 4 && (input.Size(2) != 1 || input.Size(3) != 1))
            throw new ArgumentException($"FastRcnnPredictor: expected [N, C] or [N, C, 1, 1] features, got [{string.Join(", ", input.Shape)}]");
        var x = input.Flatten(1);
        return (ClsScore.Forward(x), BboxPred.Forward(x));
    }
}
