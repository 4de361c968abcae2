using System.Diagnostics.CodeAnalysis;
using MLNetSeg.Torch;

namespace MLNetSeg.Models.Rcnn;

/// <summary>
/// The ground truth of one training image, as torchvision's target dict: boxes in the original
/// image's pixels, labels, and for Mask R-CNN masks, for Keypoint R-CNN keypoints. An image
/// without objects has zero rows everywhere (see <see cref="Empty"/>); torchvision trains on those
/// as pure background.
/// </summary>
public sealed class RcnnTarget : ITrainingTarget
{
    /// <summary>An empty target to fill with an object initializer (<see cref="Boxes"/> and <see cref="Labels"/> are required).</summary>
    public RcnnTarget() { }

    /// <summary>A target from its tensors; see the properties for the shapes and dtypes (checked by <see cref="Validate"/>, not here).</summary>
    /// <param name="boxes">[N, 4] float32 (x1, y1, x2, y2) in image pixels.</param>
    /// <param name="labels">[N] int64 class indices, at least 1 (0 is background).</param>
    /// <param name="masks">[N, H, W] uint8 or bool instance masks, for Mask R-CNN.</param>
    /// <param name="keypoints">[N, K, 3] float32 (x, y, visibility), for Keypoint R-CNN.</param>
    /// <param name="semantic">[H, W] uint8 class map (255 = ignore), for the families with a semantic head.</param>
    [SetsRequiredMembers]
    public RcnnTarget(Tensor boxes, Tensor labels, Tensor? masks = null, Tensor? keypoints = null, Tensor? semantic = null)
    {
        Boxes = boxes;
        Labels = labels;
        Masks = masks;
        Keypoints = keypoints;
        Semantic = semantic;
    }

    /// <summary>[N, 4] float32 (x1, y1, x2, y2) in image pixels, x2 &gt; x1 and y2 &gt; y1.</summary>
    public required Tensor Boxes { get; init; }

    /// <summary>[N] int64 class indices in 1..K (0 is background).</summary>
    public required Tensor Labels { get; init; }

    /// <summary>[N, H, W] uint8 (or bool) instance masks at the image's size; required by Mask R-CNN.</summary>
    public Tensor? Masks { get; init; }

    /// <summary>[N, K, 3] float32 (x, y, visibility) in image pixels; a keypoint counts when visibility &gt; 0.
    /// Required by Keypoint R-CNN.</summary>
    public Tensor? Keypoints { get; init; }

    /// <summary>[H, W] uint8 per-pixel classes 0..S-1 at the image's size, 255 where unlabelled; required by the families
    /// with a semantic head (Panoptic FPN, IMP).</summary>
    public Tensor? Semantic { get; init; }

    /// <summary>Objects in the image.</summary>
    public long Count => Boxes.Size(0);

    /// <summary>A target without objects for an image of <paramref name="height"/>×<paramref name="width"/>,
    /// with empty masks and/or <paramref name="numKeypoints"/>-point keypoints when asked for.</summary>
    public static RcnnTarget Empty(int height, int width, bool masks = false, int? numKeypoints = null, Device? device = null) => new(
        Tensor.Zeros(new long[] { 0, 4 }, DType.Float32, device),
        Tensor.Zeros(new long[] { 0 }, DType.Int64, device),
        masks ? Tensor.Zeros(new long[] { 0, height, width }, DType.UInt8, device) : null,
        numKeypoints is { } k ? Tensor.Zeros(new long[] { 0, k, 3 }, DType.Float32, device) : null);

    /// <summary>
    /// Checks shapes, dtypes and values against the image (<paramref name="imageHeight"/>×<paramref name="imageWidth"/>)
    /// and the model; throws an <see cref="ArgumentException"/> naming image <paramref name="index"/> and the field.
    /// </summary>
    /// <param name="index">The image's position in the batch, named in the error.</param>
    /// <param name="imageHeight">Height in pixels the masks must have.</param>
    /// <param name="imageWidth">Width in pixels the masks must have.</param>
    /// <param name="numClasses">Classes including background: labels must lie in [1, numClasses).</param>
    /// <param name="requireMasks">The model has a mask branch.</param>
    /// <param name="numKeypoints">Keypoints per instance when the model has a keypoint branch.</param>
    /// <param name="requireSemantic">The model has a semantic head.</param>
    public void Validate(int index, long imageHeight, long imageWidth, int numClasses, bool requireMasks, int? numKeypoints, bool requireSemantic = false)
    {
        string Where(string field) => $"target {index}: {field}";
        static string ShapeOf(Tensor t) => $"[{string.Join(", ", t.Shape)}]";
        if (Boxes is null) throw new ArgumentException($"{Where("boxes")} is missing");
        if (Labels is null) throw new ArgumentException($"{Where("labels")} is missing");
        if (Boxes.Dim != 2 || Boxes.Size(1) != 4)
            throw new ArgumentException($"{Where("boxes")} has shape {ShapeOf(Boxes)}; expected [N, 4] (x1, y1, x2, y2)");
        if (!Boxes.DType.IsFloatingPoint())
            throw new ArgumentException($"{Where("boxes")} is {Boxes.DType}; expected a floating-point tensor (float32)");
        long n = Boxes.Size(0);
        if (Labels.DType != DType.Int64)
            throw new ArgumentException($"{Where("labels")} is {Labels.DType}; expected int64");
        if (Labels.Dim != 1 || Labels.Size(0) != n)
            throw new ArgumentException($"{Where("labels")} has shape {ShapeOf(Labels)}; expected [{n}] (one per box)");
        if (n > 0)
        {
            using var scope = DisposeScope.Enter();
            if (Boxes.IsFinite().All().ItemLong() == 0)
                throw new ArgumentException($"{Where("boxes")} holds a non-finite coordinate");
            long minLabel = Labels.Min().ItemLong(), maxLabel = Labels.Max().ItemLong();
            if (minLabel < 1 || maxLabel >= numClasses)
                throw new ArgumentException($"{Where("labels")} range over [{minLabel}, {maxLabel}]; expected classes 1..{numClasses - 1} " +
                                            $"(0 is background, the model has {numClasses} classes)");
        }

        if (requireMasks)
        {
            if (Masks is null) throw new ArgumentException($"{Where("masks")} is missing; Mask R-CNN trains on instance masks");
            if (Masks.Dim != 3 || Masks.Size(0) != n || Masks.Size(1) != imageHeight || Masks.Size(2) != imageWidth)
                throw new ArgumentException($"{Where("masks")} has shape {ShapeOf(Masks)}; expected [{n}, {imageHeight}, {imageWidth}] " +
                                            "(one mask per box, at the image's size)");
            if (Masks.DType is not (DType.UInt8 or DType.Bool))
                throw new ArgumentException($"{Where("masks")} is {Masks.DType}; expected uint8 (0/1) or bool");
        }

        if (requireSemantic)
        {
            if (Semantic is null) throw new ArgumentException($"{Where("semantic")} is missing; a semantic head trains on per-pixel class maps");
            if (Semantic.Dim != 2 || Semantic.Size(0) != imageHeight || Semantic.Size(1) != imageWidth)
                throw new ArgumentException($"{Where("semantic")} has shape {ShapeOf(Semantic)}; expected [{imageHeight}, {imageWidth}] (the image's size)");
            if (Semantic.DType != DType.UInt8)
                throw new ArgumentException($"{Where("semantic")} is {Semantic.DType}; expected uint8 (classes, 255 = ignore)");
        }

        if (numKeypoints is { } k)
        {
            if (Keypoints is null) throw new ArgumentException($"{Where("keypoints")} is missing; Keypoint R-CNN trains on keypoints");
            if (Keypoints.Dim != 3 || Keypoints.Size(0) != n || Keypoints.Size(1) != k || Keypoints.Size(2) != 3)
                throw new ArgumentException($"{Where("keypoints")} has shape {ShapeOf(Keypoints)}; expected [{n}, {k}, 3] (x, y, visibility)");
            if (Keypoints.DType != DType.Float32)
                throw new ArgumentException($"{Where("keypoints")} is {Keypoints.DType}; expected float32");
        }
    }
}
