using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.MaskLab;

/// <summary>
/// MaskLab's "deformable crop and resize" for box classification (§3, Fig. 5) as the box branch's pooler:
/// each box is cropped and resized from its FPN level (torchvision's level assignment) to
/// <see cref="OutputSize"/>; a small network (one fully connected layer over that crop, "offsets") predicts an
/// offset for each of the <see cref="SubBoxes"/>² sub-boxes; every moved sub-box is cropped and resized again
/// (<see cref="VisionOps.DeformableCropAndResize"/>) at twice the output resolution and max-pooled 2×2 to the
/// output, as TensorFlow's object detection library (the paper's code base) pools its box crops.
/// </summary>
/// <remarks>
/// Where the paper is silent: the offsets are fractions of the box's width and height multiplied by
/// <see cref="OffsetScale"/> (0.1, the γ of deformable RoI pooling, Dai et al. 2017, whose offsets MaskLab
/// follows), and the offset layer starts at zero, so a new model pools exactly as plain crop and resize
/// (max-pooled) and learns to move the sub-boxes.
/// </remarks>
public sealed class DeformableCropPool : Module, IRoiPool
{
    // Level assignment and per-level scales, exactly as the RoIAlign pooler infers them; its RoIAlign is not used.
    private readonly MultiScaleRoiAlign _levels;

    /// <param name="channels">Channels of the feature maps (the FPN's).</param>
    /// <param name="outputSize">Side of every pooled map (7, the box head's input).</param>
    /// <param name="subBoxes">Sub-boxes per side (2: four sub-boxes, Fig. 5).</param>
    /// <param name="offsetScale">Multiplies the predicted offsets (0.1).</param>
    public DeformableCropPool(long channels, int outputSize = 7, int subBoxes = 2, double offsetScale = 0.1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(subBoxes, 1);
        if (2 * outputSize % subBoxes != 0)
            throw new ArgumentException($"DeformableCropPool: the {2 * outputSize}-cell fine crop does not divide into {subBoxes} sub-boxes per side", nameof(subBoxes));
        OutputSize = (outputSize, outputSize);
        SubBoxes = subBoxes;
        OffsetScale = offsetScale;
        _levels = new MultiScaleRoiAlign(outputSize, 1);
        Offsets = RegisterModule("offsets", new Linear(channels * outputSize * outputSize, subBoxes * subBoxes * 2));
        using (NoGradScope.Enter())
        {
            Offsets.Weight.Zero_();
            Offsets.Bias!.Zero_();
        }
    }

    /// <inheritdoc/>
    public (int Height, int Width) OutputSize { get; }

    /// <summary>Sub-boxes per side of a crop.</summary>
    public int SubBoxes { get; }

    /// <summary>Multiplies the offset layer's output (offsets in box widths and heights).</summary>
    public double OffsetScale { get; }

    /// <summary>The offset network: the first crop, flattened, to (dx, dy) of every sub-box.</summary>
    public Linear Offsets { get; }

    /// <inheritdoc/>
    public Tensor Forward(IReadOnlyList<Tensor> features, IReadOnlyList<Tensor> boxes, IReadOnlyList<(int Height, int Width)> imageShapes)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(boxes);
        if (_levels.Scales is null) _levels.SetupScales(features, imageShapes);
        if (features.Count != _levels.Scales!.Count)
            throw new ArgumentException($"DeformableCropPool: set up for {_levels.Scales.Count} levels, got {features.Count} feature maps");
        using var scope = DisposeScope.Enter();
        var rois = VisionOps.BoxesToRois(boxes.Select(b => b.To(features[0].DType, features[0].Device)).ToArray());
        var levels = _levels.Mapper!.Map(boxes);
        var (h, w) = OutputSize;
        var result = Tensor.Zeros(new long[] { rois.Size(0), features[0].Size(1), h, w }, features[0].DType, features[0].Device);
        for (int level = 0; level < features.Count; level++)
        {
            var inLevel = levels.Eq(level).NonzeroAsTuple()[0];
            if (inLevel.Size(0) == 0) continue;
            result.IndexPut_(new[] { inLevel }, Pool(features[level], rois.Index(inLevel), _levels.Scales[level]));
        }
        return scope.MoveToOuter(result);
    }

    /// <summary>Crop, offsets, the deformed crop at twice the resolution, 2×2 max pooling: [K, C, h, w].</summary>
    private Tensor Pool(Tensor feature, Tensor rois, double scale)
    {
        var (h, w) = OutputSize;
        var first = VisionOps.CropAndResize(feature, rois, OutputSize, scale);
        var offsets = Offsets.Forward(first.Flatten(1)).Mul(OffsetScale).Reshape(-1, SubBoxes, SubBoxes, 2);
        var fine = VisionOps.DeformableCropAndResize(feature, rois, offsets, (2 * h, 2 * w), scale);
        return Functional.MaxPool2d(fine, 2);
    }
}
