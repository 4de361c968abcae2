using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Vision.Imaging;

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
        if (images.Count == 0) throw new ArgumentException("GeneralizedRcnnTransform: no images given", nameof(images));
        if (targets.Count != images.Count)
            throw new ArgumentException($"GeneralizedRcnnTransform: {images.Count} images but {targets.Count} targets", nameof(targets));
        using var scope = DisposeScope.Enter();
        var resized = new Tensor[images.Count];
        var sizes = new (int Height, int Width)[images.Count];
        var outTargets = new RcnnTarget[images.Count];
        for (int i = 0; i < images.Count; i++)
        {
            var image = images[i] ?? throw new ArgumentNullException(nameof(images), $"image {i} is null");
            if (image.Dim != 3)
                throw new ArgumentException($"GeneralizedRcnnTransform: image {i} has shape [{string.Join(", ", image.Shape)}], expected [C, H, W]", nameof(images));
            var normalized = Normalize(image, i);
            int minSize = training ? DrawTrainMinSize() : MinSize;
            double scale = ScaleFactor(image.Size(1), image.Size(2), minSize, MaxSize);
            resized[i] = ResizeByScale(normalized, scale, InterpolationMode.Bilinear);
            sizes[i] = ((int)resized[i].Size(1), (int)resized[i].Size(2));
            outTargets[i] = ResizeTarget(targets[i], ((int)image.Size(1), (int)image.Size(2)), sizes[i], scale);
        }
        var batch = ImageTensors.Batch(resized, SizeDivisible);
        foreach (var t in outTargets)
        {
            scope.MoveToOuter(t.Boxes);
            scope.MoveToOuter(t.Labels);
            if (t.Masks is not null) scope.MoveToOuter(t.Masks);
            if (t.Keypoints is not null) scope.MoveToOuter(t.Keypoints);
        }
        return (new ImageList(scope.MoveToOuter(batch), sizes), outTargets);
    }

    /// <summary>torchvision's torch_choice: k[int(torch.empty(1).uniform_(0, len(k)))].</summary>
    private int DrawTrainMinSize()
    {
        var choices = TrainMinSizes;
        using var scope = DisposeScope.Enter();
        var draw = Init.Uniform_(Tensor.Empty(new long[] { 1 }, DType.Float32, Device.Cpu), 0, choices.Count).ItemDouble();
        return choices[Math.Min((int)draw, choices.Count - 1)];
    }

    /// <summary>interpolate(x[None], scale_factor=scale, recompute_scale_factor=True)[0] for a [C, H, W] tensor.</summary>
    private static Tensor ResizeByScale(Tensor chw, double scale, InterpolationMode mode)
    {
        using var scope = DisposeScope.Enter();
        bool? alignCorners = mode == InterpolationMode.Bilinear ? false : null;
        var resized = Functional.Interpolate(chw.Unsqueeze(0), scaleFactor: (scale, scale), mode: mode,
            alignCorners: alignCorners, recomputeScaleFactor: true).Select(0, 0);
        return scope.MoveToOuter(resized);
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
        return new RcnnTarget(boxes, target.Labels, masks, keypoints);
    }
}
