using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Rcnn;

// The transform's target side (torchvision 0.14 GeneralizedRCNNTransform.forward with targets).
public sealed partial class GeneralizedRcnnTransform
{
    private IReadOnlyList<int>? trainMinSizes;

    /// <summary>
    /// Short sides to train at (torchvision's min_size tuple, e.g. Keypoint R-CNN's 640–800): in
    /// training one is drawn per image with torch's CPU generator, as torchvision's torch_choice
    /// does (a draw is made even when there is a single size, so seeded runs stay in step).
    /// Defaults to [<see cref="MinSize"/>]; evaluation always uses <see cref="MinSize"/>.
    /// </summary>
    public IReadOnlyList<int> TrainMinSizes
    {
        get => trainMinSizes ?? new[] { MinSize };
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Count == 0 || value.Any(s => s <= 0))
                throw new ArgumentException($"GeneralizedRcnnTransform: training sizes must be a non-empty list of positive sizes, got [{string.Join(", ", value)}]");
            trainMinSizes = value.ToArray();
        }
    }

    /// <summary>
    /// Normalises, resizes and batches the images and maps their targets onto the resized images:
    /// boxes and keypoints scaled by the float32 size ratios, masks resized with nearest-neighbour
    /// interpolation at the image's scale factor (torchvision's _resize_image_and_masks).
    /// In training mode the short side is drawn from <see cref="TrainMinSizes"/>.
    /// The targets are validated by the caller; masks come back uint8.
    /// </summary>
    public (ImageList Images, RcnnTarget[] Targets) Transform(IReadOnlyList<Tensor> images, IReadOnlyList<RcnnTarget> targets, bool training)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(targets);
        var (batch, resized) = Run(images, targets, training);
        return (batch, resized!);
    }

    /// <summary>torchvision's torch_choice: k[int(torch.empty(1).uniform_(0, len(k)))].</summary>
    private int DrawTrainMinSize()
    {
        var choices = TrainMinSizes;
        using var scope = DisposeScope.Enter();
        var draw = Init.Uniform_(Tensor.Empty(new long[] { 1 }, DType.Float32, Device.Cpu), 0, choices.Count).ItemDouble();
        return choices[Math.Min((int)draw, choices.Count - 1)];
    }

    private static RcnnTarget ResizeTarget(RcnnTarget target, (int Height, int Width) from, (int Height, int Width) to, double scale)
    {
        var boxes = ResizeBoxes(target.Boxes, from, to);
        Tensor? masks = null;
        if (target.Masks is not null)
        {
            // mask[:, None].float() resized nearest at the image's scale factor, then .byte().
            using var scope = DisposeScope.Enter();
            var asFloat = target.Masks.To(DType.Float32);
            var resized = Functional.Interpolate(asFloat.Unsqueeze(1), scaleFactor: (scale, scale), mode: InterpolationMode.Nearest,
                recomputeScaleFactor: true).Select(1, 0);
            masks = scope.MoveToOuter(resized.To(DType.UInt8));
        }
        var keypoints = target.Keypoints is null ? null : ResizeKeypoints(target.Keypoints, from, to);
        Tensor? semantic = null;
        if (target.Semantic is not null)
        {
            // As the masks: nearest at the image's scale factor (class indices must not be blended).
            using var scope = DisposeScope.Enter();
            var resized = Functional.Interpolate(target.Semantic.To(DType.Float32).Unsqueeze(0).Unsqueeze(0), scaleFactor: (scale, scale),
                mode: InterpolationMode.Nearest, recomputeScaleFactor: true).Select(0, 0).Select(0, 0);
            semantic = scope.MoveToOuter(resized.To(DType.UInt8));
        }
        return new RcnnTarget(boxes, target.Labels, masks, keypoints, semantic);
    }
}
