using MLNetSeg.Torch;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Models.Rcnn;

/// <summary>
/// The image side of an R-CNN, as torchvision 0.14's GeneralizedRCNNTransform in eval mode:
/// normalise each [C, H, W] float image ((x − mean) / std), resize it so the short side is
/// <see cref="MinSize"/> unless that makes the long side exceed <see cref="MaxSize"/>, batch the
/// results zero-padded to a multiple of <see cref="SizeDivisible"/>; afterwards map detections back
/// onto the original images (boxes and keypoints scaled, masks pasted into the image).
/// Every step uses torchvision's arithmetic (float32 where it computes in float32), so sizes and
/// values agree with it exactly.
/// </summary>
public sealed partial class GeneralizedRcnnTransform
{
    /// <summary>Creates the transform (torchvision's <c>GeneralizedRCNNTransform(min_size, max_size, image_mean, image_std, size_divisible)</c>);
    /// <see cref="GeneralizedRcnn.CreateTransform"/> makes it from <see cref="RcnnOptions"/>.</summary>
    /// <param name="minSize">Target short side in pixels (torchvision: 800).</param>
    /// <param name="maxSize">Cap on the long side in pixels (torchvision: 1333).</param>
    /// <param name="imageMean">Per-channel mean subtracted from the [0, 1] pixels (torchvision: ImageNet's 0.485, 0.456, 0.406).</param>
    /// <param name="imageStd">Per-channel standard deviation divided by (torchvision: 0.229, 0.224, 0.225).</param>
    /// <param name="sizeDivisible">The padded batch's height and width are multiples of this (32, the coarsest FPN stride).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size or the divisor is not positive.</exception>
    /// <exception cref="ArgumentException">The means and stds differ in number or are empty, or a std is 0.</exception>
    public GeneralizedRcnnTransform(int minSize, int maxSize, IReadOnlyList<double> imageMean, IReadOnlyList<double> imageStd,
        int sizeDivisible = 32)
    {
        if (minSize <= 0 || maxSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(minSize), $"GeneralizedRcnnTransform: sizes must be positive, got min {minSize}, max {maxSize}");
        if (imageMean.Count != imageStd.Count || imageMean.Count == 0)
            throw new ArgumentException($"GeneralizedRcnnTransform: {imageMean.Count} means but {imageStd.Count} stds");
        if (imageStd.Any(s => s == 0)) throw new ArgumentException("GeneralizedRcnnTransform: a std is 0");
        if (sizeDivisible < 1) throw new ArgumentOutOfRangeException(nameof(sizeDivisible), $"must be at least 1, got {sizeDivisible}");
        MinSize = minSize;
        MaxSize = maxSize;
        ImageMean = imageMean.ToArray();
        ImageStd = imageStd.ToArray();
        SizeDivisible = sizeDivisible;
    }

    /// <summary>Target short side in pixels at test time, and in training unless <see cref="TrainMinSizes"/> lists other sizes.</summary>
    public int MinSize { get; }

    /// <summary>Cap on the long side in pixels: the scale is min(MinSize / short side, MaxSize / long side).</summary>
    public int MaxSize { get; }

    /// <summary>Per-channel mean subtracted from the [0, 1] pixels.</summary>
    public IReadOnlyList<double> ImageMean { get; }

    /// <summary>Per-channel standard deviation the pixels are divided by after the mean is subtracted.</summary>
    public IReadOnlyList<double> ImageStd { get; }

    /// <summary>The padded batch's height and width are rounded up to multiples of this.</summary>
    public int SizeDivisible { get; }

    /// <summary>Normalises, resizes and batches float images ([C, H, W], values in [0, 1]).</summary>
    public ImageList Transform(IReadOnlyList<Tensor> images) => Run(images, targets: null, training: false).Images;

    /// <summary>
    /// The one pipeline of both modes: per image, normalise, resize (short side <see cref="MinSize"/>, or
    /// drawn from <see cref="TrainMinSizes"/> in training) and map its target, if any, onto the resized
    /// image; then batch, zero-padded to multiples of <see cref="SizeDivisible"/>.
    /// </summary>
    private (ImageList Images, RcnnTarget[]? Targets) Run(IReadOnlyList<Tensor> images, IReadOnlyList<RcnnTarget>? targets, bool training)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) throw new ArgumentException("GeneralizedRcnnTransform: no images given", nameof(images));
        if (targets is not null && targets.Count != images.Count)
            throw new ArgumentException($"GeneralizedRcnnTransform: {images.Count} images but {targets.Count} targets", nameof(targets));
        using var scope = DisposeScope.Enter();
        var resized = new Tensor[images.Count];
        var sizes = new (int Height, int Width)[images.Count];
        var outTargets = targets is null ? null : new RcnnTarget[images.Count];
        for (int i = 0; i < images.Count; i++)
        {
            var image = CheckImage(images, i, nameof(GeneralizedRcnnTransform));
            var normalized = Normalize(image, i);
            int minSize = training ? DrawTrainMinSize() : MinSize;
            double scale = ScaleFactor(image.Size(1), image.Size(2), minSize, MaxSize);
            resized[i] = ResizeByScale(normalized, scale, InterpolationMode.Bilinear);
            sizes[i] = ((int)resized[i].Size(1), (int)resized[i].Size(2));
            if (outTargets is not null)
                outTargets[i] = ResizeTarget(targets![i], ((int)image.Size(1), (int)image.Size(2)), sizes[i], scale);
        }
        var batch = ImageTensors.Batch(resized, SizeDivisible);
        foreach (var t in outTargets ?? Array.Empty<RcnnTarget>())
        {
            scope.MoveToOuter(t.Boxes);
            scope.MoveToOuter(t.Labels);
            if (t.Masks is not null) scope.MoveToOuter(t.Masks);
            if (t.Keypoints is not null) scope.MoveToOuter(t.Keypoints);
            if (t.Semantic is not null) scope.MoveToOuter(t.Semantic);
        }
        return (new ImageList(scope.MoveToOuter(batch), sizes), outTargets);
    }

    /// <summary>The images checked, moved to <paramref name="device"/> (floating ones to <paramref name="dtype"/>, a model's), normalised,
    /// resized and batched for inference, with their original sizes; tensors in the caller's dispose scope. Errors name
    /// <paramref name="owner"/>.</summary>
    public (ImageList Batch, (int Height, int Width)[] OriginalSizes) TransformForInference(IReadOnlyList<Tensor> images, Device device, DType dtype, string owner)
    {
        ArgumentNullException.ThrowIfNull(images);
        var originalSizes = new (int Height, int Width)[images.Count];
        var inputs = new Tensor[images.Count];
        for (int i = 0; i < images.Count; i++)
        {
            var image = CheckImage(images, i, owner);
            originalSizes[i] = ((int)image.Size(1), (int)image.Size(2));
            // Floating images take the model's dtype; others are left for the transform to refuse by name.
            inputs[i] = image.To(image.DType.IsFloatingPoint() ? dtype : image.DType, device);
        }
        return (Transform(inputs), originalSizes);
    }

    /// <summary>images[index], checked to be a [C, H, W] tensor; the exception names <paramref name="owner"/> and the index.</summary>
    internal static Tensor CheckImage(IReadOnlyList<Tensor> images, int index, string owner)
    {
        var image = images[index] ?? throw new ArgumentNullException(nameof(images), $"image {index} is null");
        if (image.Dim != 3)
            throw new ArgumentException($"{owner}: image {index} has shape [{string.Join(", ", image.Shape)}], expected [C, H, W]", nameof(images));
        return image;
    }

    /// <summary>(image − mean[:, None, None]) / std[:, None, None] in the image's dtype, as torchvision.</summary>
    public Tensor Normalize(Tensor image, int index = 0)
    {
        if (!image.DType.IsFloatingPoint())
            throw new ArgumentException($"GeneralizedRcnnTransform: image {index} is {image.DType}; expected a floating-point image with values in [0, 1]");
        if (image.Size(0) != ImageMean.Count)
            throw new ArgumentException($"GeneralizedRcnnTransform: image {index} has {image.Size(0)} channels but the normalisation has {ImageMean.Count}");
        using var scope = DisposeScope.Enter();
        var mean = Tensor.FromArray(ImageMean.ToArray(), new long[] { ImageMean.Count, 1, 1 }).To(image.DType, image.Device);
        var std = Tensor.FromArray(ImageStd.ToArray(), new long[] { ImageStd.Count, 1, 1 }).To(image.DType, image.Device);
        return scope.MoveToOuter((image - mean) / std);
    }

    /// <summary>Bilinear resize of a [C, H, W] image by <see cref="ScaleFactor"/>, the output size
    /// being floor(side · scale) (torchvision's recompute_scale_factor=True path).</summary>
    public Tensor Resize(Tensor image) =>
        ResizeByScale(image, ScaleFactor(image.Size(1), image.Size(2), MinSize, MaxSize), InterpolationMode.Bilinear);

    /// <summary>interpolate(x[None], scale_factor=scale, recompute_scale_factor=True)[0] for a [C, H, W] tensor.</summary>
    private static Tensor ResizeByScale(Tensor chw, double scale, InterpolationMode mode)
    {
        using var scope = DisposeScope.Enter();
        bool? alignCorners = mode == InterpolationMode.Bilinear ? false : null;
        var resized = Functional.Interpolate(chw.Unsqueeze(0), scaleFactor: (scale, scale), mode: mode,
            alignCorners: alignCorners, recomputeScaleFactor: true).Select(0, 0);
        return scope.MoveToOuter(resized);
    }

    /// <summary>The (height, width) an image of the given size is resized to.</summary>
    public (int Height, int Width) ResizedSize(long height, long width)
    {
        double scale = ScaleFactor(height, width, MinSize, MaxSize);
        return ((int)Math.Floor(height * scale), (int)Math.Floor(width * scale));
    }

    /// <summary>
    /// min(minSize / short side, maxSize / long side), computed as torchvision does: in float32,
    /// and a Python float divided by a tensor is reciprocal(tensor) · float, which rounds
    /// differently from a true division.
    /// </summary>
    public static double ScaleFactor(long height, long width, double minSize, double maxSize)
    {
        if (height <= 0 || width <= 0)
            throw new ArgumentException($"GeneralizedRcnnTransform: cannot resize an image of size {height}×{width}");
        float shortSide = Math.Min(height, width), longSide = Math.Max(height, width);
        float byShort = (1f / shortSide) * (float)minSize;
        float byLong = (1f / longSide) * (float)maxSize;
        return Math.Min(byShort, byLong);
    }

    /// <summary>Scales [N, 4] boxes from <paramref name="from"/> (height, width) to <paramref name="to"/>
    /// (torchvision's resize_boxes: float32 ratios to / from).</summary>
    public static Tensor ResizeBoxes(Tensor boxes, (int Height, int Width) from, (int Height, int Width) to)
    {
        using var scope = DisposeScope.Enter();
        var (ratioH, ratioW) = Ratios(from, to, boxes.Device);
        var cols = boxes.Unbind(1);
        var resized = Tensor.Stack(new[] { cols[0] * ratioW, cols[1] * ratioH, cols[2] * ratioW, cols[3] * ratioH }, 1);
        return scope.MoveToOuter(resized);
    }

    /// <summary>Scales the x and y of [N, K, 3] keypoints (visibility untouched), as torchvision's resize_keypoints.</summary>
    public static Tensor ResizeKeypoints(Tensor keypoints, (int Height, int Width) from, (int Height, int Width) to)
    {
        using var scope = DisposeScope.Enter();
        var (ratioH, ratioW) = Ratios(from, to, keypoints.Device);
        var resized = keypoints.Clone();
        var x = resized.Select(-1, 0);
        var y = resized.Select(-1, 1);
        x.CopyFrom(x * ratioW);
        y.CopyFrom(y * ratioH);
        return scope.MoveToOuter(resized);
    }

    /// <summary>float32 0-d ratios new / old, as torch.tensor(s, float32) / torch.tensor(s_orig, float32).</summary>
    private static (Tensor H, Tensor W) Ratios((int Height, int Width) from, (int Height, int Width) to, Device device) =>
        (Tensor.Scalar((float)to.Height / (float)from.Height, DType.Float32, device),
         Tensor.Scalar((float)to.Width / (float)from.Width, DType.Float32, device));

    /// <summary>
    /// Maps one image's detections from the network input back onto the original image
    /// (torchvision's postprocess): boxes scaled, [N, 1, M, M] mask probabilities pasted into
    /// [N, 1, H, W] canvases at the scaled boxes, keypoints scaled.
    /// </summary>
    public DetectionTensors Postprocess(DetectionTensors detections, (int Height, int Width) resizedSize, (int Height, int Width) originalSize)
    {
        using var scope = DisposeScope.Enter();
        var boxes = ResizeBoxes(detections.Boxes, resizedSize, originalSize);
        var masks = detections.Masks is null ? null
            : VisionOps.PasteMasksInImage(detections.Masks, boxes, originalSize.Height, originalSize.Width);
        var keypoints = detections.Keypoints is null ? null : ResizeKeypoints(detections.Keypoints, resizedSize, originalSize);
        var result = detections with
        {
            Boxes = scope.MoveToOuter(boxes),
            Masks = masks is null ? null : scope.MoveToOuter(masks),
            Keypoints = keypoints is null ? null : scope.MoveToOuter(keypoints),
            ImageHeight = originalSize.Height,
            ImageWidth = originalSize.Width,
        };
        return result;
    }
}
