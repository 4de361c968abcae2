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
        var offsetX = AtenOps.Col(rois, 0);
        var offsetY = AtenOps.Col(rois, 1);
        var widths = AtenOps.SubExact(AtenOps.Col(rois, 2), offsetX).ClampMin(1.0);
        var heights = AtenOps.SubExact(AtenOps.Col(rois, 3), offsetY).ClampMin(1.0);
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
            var perKeypoint = AtenOps.Unsqueeze(AtenOps.Select(maps, 0, i), 1);  // [K, 1, S, S]
            var resized = AtenOps.ResizeBicubic(perKeypoint, mapHeights[i], mapWidths[i]).Reshape(k, -1);
            var pos = AtenOps.Argmax(resized, 1);
            positions[i] = pos;
            scores[i] = AtenOps.Gather(resized, 1, AtenOps.Unsqueeze(pos, 1)).Reshape(k);
        }
        var posAll = AtenOps.Stack(positions, 0);                                  // [R, K]
        var w = AtenOps.Unsqueeze(Tensor.FromArray(mapWidths, new long[] { r }, device), 1);
        var xInt = AtenOps.Remainder(posAll, w);
        var yInt = AtenOps.FloorDivide(AtenOps.SubExact(posAll, xInt), w);
        // width_correction = w / ceil(w) in the boxes' dtype; torchvision then mixes it (a 0-d
        // tensor) into float32 arithmetic, which is float32 arithmetic on its rounded value.
        var widthCorrection = AtenOps.Unsqueeze((widths / widthsCeil).To(DType.Float32), 1);
        var heightCorrection = AtenOps.Unsqueeze((heights / heightsCeil).To(DType.Float32), 1);
        var x = (xInt.To(DType.Float32) + 0.5) * widthCorrection + AtenOps.Unsqueeze(offsetX.To(DType.Float32), 1);
        var y = (yInt.To(DType.Float32) + 0.5) * heightCorrection + AtenOps.Unsqueeze(offsetY.To(DType.Float32), 1);
        var keypoints = AtenOps.Stack(new[] { x, y, Tensor.OnesLike(x) }, 2);
        var endScores = AtenOps.Stack(scores, 0).To(DType.Float32);
        return (scope.MoveToOuter(keypoints), scope.MoveToOuter(endScores));
    }
}
