using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Rcnn;

/// <summary>torchvision's KeypointRCNNHeads: 3×3 conv + ReLU pairs as one sequence, so the convs
/// are children "0", "2", ..., "14" for eight layers.</summary>
public sealed class KeypointRcnnHeads : Module<Tensor, Tensor>
{
    private readonly List<Conv2d> convs = new();

    /// <summary>Creates the convs (torchvision's <c>KeypointRCNNHeads(in_channels, layers)</c>), initialised kaiming_normal(fan_out) with zero biases.</summary>
    /// <param name="inChannels">Channels of the 14×14 RoI features (the FPN's, 256 in torchvision).</param>
    /// <param name="layers">Output channels of each 3×3 conv (torchvision: eight of 512).</param>
    public KeypointRcnnHeads(long inChannels, IReadOnlyList<long> layers)
    {
        long next = inChannels;
        for (int i = 0; i < layers.Count; i++)
        {
            var conv = RegisterModule((2 * i).ToString(), new Conv2d(next, layers[i], 3, stride: 1, padding: 1));
            ConvBlocks.KaimingNormalFanOut(conv.Weight, conv.Bias);
            convs.Add(conv);
            next = layers[i];
        }
        OutChannels = next;
    }

    /// <summary>Channels of the head's output: the last conv's (the input's when there is none).</summary>
    public long OutChannels { get; }

    /// <summary>[R, C, 14, 14] pooled RoI features → [R, <see cref="OutChannels"/>, 14, 14] (size-preserving convs).</summary>
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var conv in convs) x = Functional.Relu(conv.Forward(x), inplace: true);
        return x;
    }
}

/// <summary>torchvision's KeypointRCNNPredictor: kps_score_lowres (4×4 stride-2 transposed conv,
/// padding 1) to one heatmap per keypoint, then ×2 bilinear upsampling (scale factor kept, not
/// recomputed): 14×14 RoI features become 56×56 heatmaps.</summary>
public sealed class KeypointRcnnPredictor : Module<Tensor, Tensor>
{
    /// <summary>Factor of the bilinear upsampling after the transposed conv (torchvision's <c>up_scale</c>).</summary>
    public const int UpScale = 2;

    /// <summary>Creates kps_score_lowres (torchvision's <c>KeypointRCNNPredictor(in_channels, num_keypoints)</c>).</summary>
    /// <param name="inChannels">Channels of the keypoint head's output (torchvision: 512).</param>
    /// <param name="numKeypoints">Keypoints per instance, one heatmap each (17 for COCO persons).</param>
    public KeypointRcnnPredictor(long inChannels, int numKeypoints)
    {
        NumKeypoints = numKeypoints;
        const int deconvKernel = 4;
        KpsScoreLowres = RegisterModule("kps_score_lowres",
            new ConvTranspose2d(inChannels, numKeypoints, deconvKernel, stride: 2, padding: deconvKernel / 2 - 1));
        ConvBlocks.KaimingNormalFanOut(KpsScoreLowres.Weight, KpsScoreLowres.Bias);
    }

    /// <summary>Keypoints per instance: the number of heatmaps.</summary>
    public int NumKeypoints { get; }

    /// <summary>The 4×4, stride-2 transposed conv to one low-resolution heatmap per keypoint ("kps_score_lowres").</summary>
    public ConvTranspose2d KpsScoreLowres { get; }

    /// <summary>[R, C, 14, 14] head features → [R, K, 56, 56] heatmap logits.</summary>
    public override Tensor Forward(Tensor input) =>
        Functional.Interpolate(KpsScoreLowres.Forward(input), scaleFactor: (UpScale, UpScale), mode: InterpolationMode.Bilinear,
            alignCorners: false, recomputeScaleFactor: false);
}
