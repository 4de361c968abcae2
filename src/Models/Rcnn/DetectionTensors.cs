using MLNetSeg.Torch;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models.Rcnn;

/// <summary>
/// One image's detections as tensors, torchvision's output dict: the fields a model has no head
/// for are null. Coordinates refer to an image of <see cref="ImageHeight"/> × <see cref="ImageWidth"/>.
/// </summary>
/// <param name="ImageHeight">Height in pixels of the image the coordinates refer to.</param>
/// <param name="ImageWidth">Width in pixels of the image the coordinates refer to.</param>
/// <param name="Boxes">[N, 4] float (x1, y1, x2, y2), by decreasing score.</param>
/// <param name="Labels">[N] int64 class indices (0 is background and never returned).</param>
/// <param name="Scores">[N] float class probabilities.</param>
/// <param name="Masks">[N, 1, h, w] mask probabilities: 28×28 per box inside the network, pasted
/// into the full image after postprocessing.</param>
/// <param name="Keypoints">[N, K, 3] (x, y, 1).</param>
/// <param name="KeypointScores">[N, K] heatmap logits at the keypoints.</param>
public sealed record DetectionTensors(
    int ImageHeight,
    int ImageWidth,
    Tensor Boxes,
    Tensor Labels,
    Tensor Scores,
    Tensor? Masks = null,
    Tensor? Keypoints = null,
    Tensor? KeypointScores = null) : IDisposable
{
    /// <summary>Number of detections, N.</summary>
    public int Count => (int)Boxes.Size(0);

    /// <summary>
    /// Copies the detections into an <see cref="Instances"/>: masks binarised at
    /// probability &gt; <paramref name="maskThreshold"/> (torchvision's convention) and run-length encoded.
    /// Masks must already be pasted at image size.
    /// </summary>
    /// <exception cref="InvalidOperationException">The masks are not [N, 1, ImageHeight, ImageWidth].</exception>
    public Instances ToInstances(double maskThreshold = 0.5)
    {
        using var scope = DisposeScope.Enter();
        var boxes = Boxes.To(DType.Float32, Device.Cpu).Contiguous().ToArray<float>();
        var labels = Labels.To(DType.Int64, Device.Cpu).ToArray<long>().Select(l => checked((int)l)).ToArray();
        var scores = Scores.To(DType.Float32, Device.Cpu).ToArray<float>();
        Rle[]? masks = null;
        if (Masks is not null)
        {
            if (Masks.Dim != 4 || Masks.Size(2) != ImageHeight || Masks.Size(3) != ImageWidth)
                throw new InvalidOperationException(
                    $"DetectionTensors.ToInstances: masks are [{string.Join(", ", Masks.Shape)}], not pasted at the image size {ImageHeight}×{ImageWidth}");
            masks = EncodeMasks(Masks.Gt(maskThreshold), ImageHeight, ImageWidth);
        }
        Vision.Structures.Keypoints? keypoints = null;
        float[]? keypointScores = null;
        if (Keypoints is not null)
        {
            int k = (int)Keypoints.Size(1);
            keypoints = new Vision.Structures.Keypoints(Count, k, Keypoints.To(DType.Float32, Device.Cpu).Contiguous().ToArray<float>());
            keypointScores = KeypointScores?.To(DType.Float32, Device.Cpu).Contiguous().ToArray<float>();
        }
        return new Instances(ImageHeight, ImageWidth, Vision.Structures.Boxes.FromXyxy(boxes), labels, scores, masks, keypoints, keypointScores);
    }

    /// <summary>COCO RLE of each [1, H, W] bool mask. The masks are transposed to column-major on the
    /// tensor side, so each RLE is a single pass over contiguous bytes (<see cref="Rle.FromColumnMajor"/>).</summary>
    private static Rle[] EncodeMasks(Tensor binary, int height, int width)
    {
        int n = (int)binary.Size(0);
        var columnMajor = binary.Reshape(n, height, width).Transpose(1, 2).Contiguous().To(DType.UInt8, Device.Cpu).ToArray<byte>();
        int pixels = checked(height * width);
        var result = new Rle[n];
        for (int i = 0; i < n; i++)
            result[i] = Rle.FromColumnMajor(columnMajor.AsSpan(checked(i * pixels), pixels), height, width);
        return result;
    }

    /// <summary>Disposes every tensor of the record (the null ones excepted).</summary>
    public void Dispose()
    {
        Boxes.Dispose();
        Labels.Dispose();
        Scores.Dispose();
        Masks?.Dispose();
        Keypoints?.Dispose();
        KeypointScores?.Dispose();
    }
}
