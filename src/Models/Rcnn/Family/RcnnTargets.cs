using MLNetSeg.Data.Loading;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;

namespace MLNetSeg.Models.Rcnn;

/// <summary>Turns data-loader batches into what <see cref="GeneralizedRcnn.ComputeLosses"/> takes.</summary>
public static class RcnnTargets
{
    /// <summary>
    /// The model's target for a loader target: boxes [N, 4] float32, labels [N] int64 (the
    /// dataset's contiguous labels 1..K), masks [N, H, W] uint8 when <paramref name="masks"/> is set,
    /// keypoints [N, K, 3] float32 when <paramref name="keypoints"/> is set. Tensors are created in
    /// the caller's dispose scope, on <paramref name="device"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The model needs masks or keypoints the target lacks; the
    /// message names <paramref name="describe"/> (the image).</exception>
    /// <param name="target">The loader's target, in the sample's pixels.</param>
    /// <param name="size">The image size.</param>
    /// <param name="masks">Whether the model trains on instance masks.</param>
    /// <param name="keypoints">Whether the model trains on keypoints.</param>
    /// <param name="device">Where the tensors go (CPU when null).</param>
    /// <param name="describe">Names the image in errors.</param>
    /// <param name="semantic">Whether the model trains a semantic head: the target's <see cref="DetectionTarget.Semantic"/> map goes in as
    /// [H, W] uint8.</param>
    /// <param name="model">The model's name in errors ("Mask R-CNN").</param>
    public static RcnnTarget From(DetectionTarget target, ImageSize size, bool masks, bool keypoints, Device? device = null, string? describe = null,
        bool semantic = false, string model = "Mask R-CNN")
    {
        ArgumentNullException.ThrowIfNull(target);
        int n = target.Count;
        var boxes = Tensor.FromArray(target.Boxes.ToXyxy(), new long[] { n, 4 }, device);
        var labels = Tensor.FromArray(target.Labels.Select(l => (long)l).ToArray(), new long[] { n }, device);
        Tensor? maskTensor = null;
        if (masks)
        {
            if (target.Masks is not { } m)
                throw new ArgumentException($"{describe ?? "a training image"}: {model} needs instance masks but the target has none " +
                                            "(is the dataset loaded with LoadMasks, and do its annotations have segmentations?)");
            var pixels = new byte[(long)n * size.Height * size.Width];
            int plane = size.Height * size.Width;
            for (int i = 0; i < n; i++) m[i].Pixels.CopyTo(pixels.AsSpan(i * plane, plane));
            maskTensor = Tensor.FromArray(pixels, new long[] { n, size.Height, size.Width }, device);
        }
        Tensor? keypointTensor = null;
        if (keypoints)
        {
            if (target.Keypoints is not { } k)
                throw new ArgumentException($"{describe ?? "a training image"}: Keypoint R-CNN needs keypoints but the target has none " +
                                            "(does the annotation file have keypoints, and is LoadKeypoints on?)");
            keypointTensor = Tensor.FromArray(k.Data.ToArray(), new long[] { n, k.KeypointsPerInstance, 3 }, device);
        }
        Tensor? semanticTensor = null;
        if (semantic)
        {
            if (target.Semantic is not { } map)
                throw new ArgumentException($"{describe ?? "a training image"}: the model trains a semantic head but the target has no semantic map " +
                                            "(load the dataset with DetectionDatasetOptions.SemanticDirectory, e.g. the synthetic set's semantic/<split>)");
            semanticTensor = Tensor.FromArray(map.ToBytes(), new long[] { map.Height, map.Width }, device);
        }
        return new RcnnTarget(boxes, labels, maskTensor, keypointTensor, semanticTensor);
    }

    /// <summary>
    /// The images of a batch as [3, h, w] views of the padded batch tensor (each image's own size,
    /// padding cut off: the model normalises, resizes and pads again, as torchvision does) and their targets.
    /// </summary>
    public static (Tensor[] Images, RcnnTarget[] Targets) From(DetectionBatch batch, bool masks, bool keypoints, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var images = new Tensor[batch.Count];
        var targets = new RcnnTarget[batch.Count];
        var all = device is { } d && d != batch.Images.Device ? batch.Images.To(device: d) : batch.Images;
        for (int i = 0; i < batch.Count; i++)
        {
            var size = batch.ImageSizes[i];
            images[i] = all.Select(0, i).Narrow(1, 0, size.Height).Narrow(2, 0, size.Width);
            targets[i] = From(batch.Targets[i], size, masks, keypoints, device, batch.ImagePaths[i]);
        }
        return (images, targets);
    }
}
