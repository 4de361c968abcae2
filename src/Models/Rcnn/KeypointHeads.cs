using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Rcnn;

/// <summary>torchvision's KeypointRCNNHeads: 3×3 conv + ReLU pairs as one sequence, so the convs
/// are children "0", "2", ..., "14" for eight layers.</summary>
public sealed class KeypointRcnnHeads : Module<Tensor, Tensor>
{
    private readonly List<Conv2d> convs = new();

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

    public long OutChannels { get; }

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
    public const int UpScale = 2;

    public KeypointRcnnPredictor(long inChannels, int numKeypoints)
    {
        NumKeypoints = numKeypoints;
        const int deconvKernel = 4;
        KpsScoreLowres = RegisterModule("kps_score_lowres",
            new ConvTranspose2d(inChannels, numKeypoints, deconvKernel, stride: 2, padding: deconvKernel / 2 - 1));
        ConvBlocks.KaimingNormalFanOut(KpsScoreLowres.Weight, KpsScoreLowres.Bias);
    }

    public int NumKeypoints { get; }
    public ConvTranspose2d KpsScoreLowres { get; }

    public override Tensor Forward(Tensor input) =>
        Functional.Interpolate(KpsScoreLowres.Forward(input), scaleFactor: (UpScale, UpScale), mode: InterpolationMode.Bilinear,
            alignCorners: false, recomputeScaleFactor: false);
}
