using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.MaskLab;

/// <summary>
/// MaskLab's coarse mask (§3, Fig. 2–3): for each box, the crop of the semantic logits' channel of the
/// box's class and the direction-pooled crop of the direction logits, concatenated, then one
/// class-agnostic 1×1 convolution to the coarse mask logits. Either feature can be switched off for the
/// paper's ablation (Table 2). The convolution starts at the paper's weights, 0.5 on the semantic
/// feature and 1 on the direction feature (§4.1 "weight initialization"), bias 0.
/// </summary>
public sealed class MaskLabCoarseMask : Module
{
    /// <summary>The heads of the paper's configuration (both features, the 8 × 4 coding, crop size 41).</summary>
    public MaskLabCoarseMask(bool semantic = true, bool direction = true, DirectionCoding? coding = null, int cropSize = 41)
    {
        if (!semantic && !direction) throw new ArgumentException("the coarse mask needs the semantic feature, the direction feature or both");
        ArgumentOutOfRangeException.ThrowIfLessThan(cropSize, 1);
        UsesSemantic = semantic;
        UsesDirection = direction;
        Coding = coding ?? new DirectionCoding();
        CropSize = cropSize;
        Fuse = RegisterModule("fuse", new Conv2d((semantic ? 1 : 0) + (direction ? 1 : 0), 1, 1));
        using (NoGradScope.Enter())
        {
            var init = new List<double>();
            if (semantic) init.Add(0.5);
            if (direction) init.Add(1.0);
            for (int i = 0; i < init.Count; i++) Fuse.Weight.Fill_(init[i], TensorIndex.All, i);
            Fuse.Bias!.Zero_();
        }
    }

    /// <summary>Whether the semantic channel of the box's class is a feature.</summary>
    public bool UsesSemantic { get; }

    /// <summary>Whether the direction-pooled logits are a feature.</summary>
    public bool UsesDirection { get; }

    /// <summary>The direction coding the direction logits follow.</summary>
    public DirectionCoding Coding { get; }

    /// <summary>Side of every crop and of the coarse mask (41 in the paper, Table 1).</summary>
    public int CropSize { get; }

    /// <summary>The class-agnostic 1×1 convolution over the stacked features.</summary>
    public Conv2d Fuse { get; }

    /// <summary>
    /// Coarse mask logits [R, 1, CropSize, CropSize] of the RoIs.
    /// </summary>
    /// <param name="semanticLogits">[N, K, H, W] semantic logits (K classes with the background), or null when unused.</param>
    /// <param name="directionLogits">[N, Coding.Channels, H, W] direction logits, or null when unused.</param>
    /// <param name="rois">[R, 5] (batch index, x1, y1, x2, y2) in image coordinates.</param>
    /// <param name="labels">[R] int64 class of each RoI (its semantic channel).</param>
    /// <param name="spatialScale">1 / the logits' stride.</param>
    public Tensor Forward(Tensor? semanticLogits, Tensor? directionLogits, Tensor rois, Tensor labels, double spatialScale)
    {
        ArgumentNullException.ThrowIfNull(rois);
        ArgumentNullException.ThrowIfNull(labels);
        var size = (CropSize, CropSize);
        var features = new List<Tensor>(2);
        if (UsesSemantic)
        {
            var logits = semanticLogits ?? throw new ArgumentNullException(nameof(semanticLogits), "this head uses the semantic logits");
            var crops = VisionOps.CropAndResize(logits, rois, size, spatialScale);  // [R, K, S, S]
            var channel = labels.To(DType.Int64, crops.Device).Reshape(-1, 1, 1, 1).Expand(crops.Size(0), 1, CropSize, CropSize);
            features.Add(crops.Gather(1, channel));
        }
        if (UsesDirection)
        {
            var logits = directionLogits ?? throw new ArgumentNullException(nameof(directionLogits), "this head uses the direction logits");
            features.Add(Coding.Pool(VisionOps.CropAndResize(logits, rois, size, spatialScale)));
        }
        return Fuse.Forward(features.Count == 1 ? features[0] : Tensor.Cat(features, 1));
    }
}

/// <summary>
/// MaskLab's mask refinement (§3, Fig. 4): the coarse mask logits concatenated with hypercolumn features
/// (crops of low-level feature maps, conv1 and res2 in the paper) go through a small ConvNet to the final
/// mask logits. REFERENCE.md: three 5×5 convolutions of 64 channels; the paper does not say how the last
/// one becomes one logit, so a 1×1 convolution to 1 channel follows them (ours). Kaiming-normal (fan-out)
/// initialisation as torchvision's mask head.
/// </summary>
public sealed class MaskLabRefinement : Module
{
    private readonly Sequential[] _blocks;

    /// <param name="hypercolumnChannels">Channels of the concatenated low-level crops.</param>
    /// <param name="width">Channels of each 5×5 convolution (64).</param>
    /// <param name="layers">Number of 5×5 convolutions (3).</param>
    public MaskLabRefinement(long hypercolumnChannels, long width = 64, int layers = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hypercolumnChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        _blocks = new Sequential[layers];
        long next = hypercolumnChannels + 1;
        for (int i = 0; i < layers; i++)
        {
            _blocks[i] = RegisterModule(i.ToString(), ConvBlocks.ConvNormRelu(next, width, kernelSize: 5));
            var conv = (Conv2d)_blocks[i][0];
            ConvBlocks.KaimingNormalFanOut(conv.Weight, conv.Bias);
            next = width;
        }
        Predictor = RegisterModule("predictor", new Conv2d(width, 1, 1));
        ConvBlocks.KaimingNormalFanOut(Predictor.Weight, Predictor.Bias);
    }

    /// <summary>The 1×1 convolution to the refined logits.</summary>
    public Conv2d Predictor { get; }

    /// <summary>[R, 1, S, S] coarse logits and [R, hypercolumnChannels, S, S] crops → [R, 1, S, S] refined logits.</summary>
    public Tensor Forward(Tensor coarseLogits, Tensor hypercolumns)
    {
        ArgumentNullException.ThrowIfNull(coarseLogits);
        ArgumentNullException.ThrowIfNull(hypercolumns);
        var x = Tensor.Cat(new[] { coarseLogits, hypercolumns }, 1);
        foreach (var block in _blocks) x = block.Forward(x);
        return Predictor.Forward(x);
    }
}
