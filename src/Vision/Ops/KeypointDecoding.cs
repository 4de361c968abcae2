using MLNetSeg.Torch;

namespace MLNetSeg.Vision.Ops;

public static partial class VisionOps
{
    /// <summary>
    /// Keypoint locations from per-RoI heatmaps (torchvision's heatmaps_to_keypoints): each
    /// RoI's maps are bicubic-resized to ceil(h)×ceil(w) (sides clamped to ≥ 1), the argmax
    /// cell (ix, iy) becomes x = (ix + 0.5)·w/ceil(w) + x1, y likewise, and its resized value
    /// is the keypoint's score.
    /// </summary>
    /// <param name="maps">[R, K, S, S] heatmap logits.</param>
    /// <param name="rois">[R, 4] boxes the heatmaps were pooled from.</param>
    /// <returns>Keypoints [R, K, 3] float32 (x, y, 1) and scores [R, K] float32.</returns>
    public static (Tensor Keypoints, Tensor Scores) HeatmapsToKeypoints(Tensor maps, Tensor rois)
    {
        const string op = nameof(HeatmapsToKeypoints);
        if (maps.Dim != 4)
            throw new ArgumentException($"{op}: maps must be [R, K, S, S], got [{string.Join(", ", maps.Shape)}]");
        AtenOps.CheckShape2(rois, 4, "rois", op);
        long r = maps.Size(0), k = maps.Size(1);
        if (rois.Size(0) != r) throw new ArgumentException($"{op}: {r} heatmaps but {rois.Size(0)} rois");

        using var scope = DisposeScope.Enter();
        var device = maps.Device;
        var offsetX = rois.Select(1, 0);
        var offsetY = rois.Select(1, 1);
        var widths = (rois.Select(1, 2) - offsetX).ClampMin(1.0);
        var heights = (rois.Select(1, 3) - offsetY).ClampMin(1.0);
        var widthsCeil = widths.Ceil();
        var heightsCeil = heights.Ceil();
        if (r == 0)
            return (scope.MoveToOuter(Tensor.Zeros(new long[] { 0, k, 3 }, DType.Float32, device)),
                    scope.MoveToOuter(Tensor.Zeros(new long[] { 0, k }, DType.Float32, device)));

        var mapWidths = widthsCeil.To(DType.Int64, Device.Cpu).ToArray<long>();
        var mapHeights = heightsCeil.To(DType.Int64, Device.Cpu).ToArray<long>();
        var positions = new Tensor[r];
        var scores = new Tensor[r];
        for (long i = 0; i < r; i++)
        {
            // One RoI at a time: every RoI has its own resize target.
            var perKeypoint = maps.Select(0, i).Unsqueeze(1);  // [K, 1, S, S]
            var resized = Functional.Interpolate(perKeypoint, size: (mapHeights[i], mapWidths[i]), mode: InterpolationMode.Bicubic, alignCorners: false)
                .Reshape(k, -1);
            var pos = resized.Argmax(1);
            positions[i] = pos;
            scores[i] = resized.Gather(1, pos.Unsqueeze(1)).Reshape(k);
        }
        var posAll = Tensor.Stack(positions, 0);                                  // [R, K]
        var w = Tensor.FromArray(mapWidths, new long[] { r }, device).Unsqueeze(1);
        var xInt = posAll.Remainder(w);
        var yInt = (posAll - xInt).FloorDivide(w);
        // width_correction = w / ceil(w) in the boxes' dtype; torchvision then mixes it (a 0-d
        // tensor) into float32 arithmetic, which is float32 arithmetic on its rounded value.
        var widthCorrection = (widths / widthsCeil).To(DType.Float32).Unsqueeze(1);
        var heightCorrection = (heights / heightsCeil).To(DType.Float32).Unsqueeze(1);
        var x = (xInt.To(DType.Float32) + 0.5) * widthCorrection + offsetX.To(DType.Float32).Unsqueeze(1);
        var y = (yInt.To(DType.Float32) + 0.5) * heightCorrection + offsetY.To(DType.Float32).Unsqueeze(1);
        var keypoints = Tensor.Stack(new[] { x, y, Tensor.OnesLike(x) }, 2);
        var endScores = Tensor.Stack(scores, 0).To(DType.Float32);
        return (scope.MoveToOuter(keypoints), scope.MoveToOuter(endScores));
    }
}
