using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Vision.Geometry;

/// <summary>
/// Encodes boxes as (dx, dy, dw, dh) offsets from reference boxes and back, exactly as
/// torchvision's det_utils.BoxCoder (widths x2 − x1, centres x1 + w/2, offsets scaled by the
/// weights, dw/dh clamped at <see cref="BboxXformClip"/> before exp when decoding).
/// </summary>
public sealed class BoxCoder
{
    /// <summary>log(1000/16): the largest log-scale change decoding allows.</summary>
    public static readonly double DefaultBboxXformClip = Math.Log(1000.0 / 16);

    /// <summary>Creates a coder with the given weights; torchvision uses (1, 1, 1, 1) for the RPN and (10, 10, 5, 5) for the box head.</summary>
    /// <param name="weights">Factors applied to (dx, dy, dw, dh) when encoding and divided out when decoding.</param>
    /// <param name="bboxXformClip">Upper clamp for dw and dh before exp when decoding; <see cref="DefaultBboxXformClip"/> when null.</param>
    public BoxCoder((double X, double Y, double W, double H) weights, double? bboxXformClip = null)
    {
        Weights = weights;
        BboxXformClip = bboxXformClip ?? DefaultBboxXformClip;
    }

    /// <summary>Scaling of the (dx, dy, dw, dh) offsets (torchvision's <c>weights</c>).</summary>
    public (double X, double Y, double W, double H) Weights { get; }

    /// <summary>Largest dw/dh (after dividing by the weights) applied when decoding, so that exp does not overflow
    /// (torchvision's <c>bbox_xform_clip</c>).</summary>
    public double BboxXformClip { get; }

    /// <summary>Per-image encode: targets of <paramref name="referenceBoxes"/>[i] relative to <paramref name="proposals"/>[i].</summary>
    /// <param name="referenceBoxes">Per image, [N_i, 4] xyxy target (ground-truth) boxes.</param>
    /// <param name="proposals">Per image, [N_i, 4] xyxy boxes the targets are relative to.</param>
    /// <returns>Per image, [N_i, 4] (dx, dy, dw, dh) regression targets.</returns>
    /// <exception cref="ArgumentException">The lists differ in length or are empty.</exception>
    public Tensor[] Encode(IReadOnlyList<Tensor> referenceBoxes, IReadOnlyList<Tensor> proposals)
    {
        if (referenceBoxes.Count != proposals.Count)
            throw new ArgumentException($"BoxCoder.Encode: {referenceBoxes.Count} reference box lists but {proposals.Count} proposal lists");
        using var scope = DisposeScope.Enter();
        var targets = EncodeSingle(Concat(referenceBoxes), Concat(proposals));
        var parts = new Tensor[referenceBoxes.Count];
        long start = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            long n = referenceBoxes[i].Size(0);
            parts[i] = scope.MoveToOuter(targets.Narrow(0, start, n));
            start += n;
        }
        return parts;
    }

    /// <summary>[N, 4] regression targets that move each proposal onto its reference box (torchvision's <c>encode_single</c>).</summary>
    /// <param name="referenceBoxes">[N, 4] xyxy target boxes; their dtype and device are the result's.</param>
    /// <param name="proposals">[N, 4] xyxy boxes the offsets start from.</param>
    /// <exception cref="ArgumentException">Either tensor is not [N, 4], or the counts differ.</exception>
    public Tensor EncodeSingle(Tensor referenceBoxes, Tensor proposals)
    {
        AtenOps.CheckShape2(referenceBoxes, 4, "reference boxes", "BoxCoder.EncodeSingle");
        AtenOps.CheckShape2(proposals, 4, "proposals", "BoxCoder.EncodeSingle");
        if (referenceBoxes.Size(0) != proposals.Size(0))
            throw new ArgumentException($"BoxCoder.EncodeSingle: {referenceBoxes.Size(0)} reference boxes but {proposals.Size(0)} proposals");
        using var scope = DisposeScope.Enter();
        var dtype = referenceBoxes.DType;
        var device = referenceBoxes.Device;
        // torchvision multiplies by 0-d weight tensors of the reference boxes' dtype.
        var wx = Tensor.Scalar(Weights.X, dtype, device);
        var wy = Tensor.Scalar(Weights.Y, dtype, device);
        var ww = Tensor.Scalar(Weights.W, dtype, device);
        var wh = Tensor.Scalar(Weights.H, dtype, device);
        Tensor P(int j) => proposals.Select(1, j).Unsqueeze(1);
        Tensor R(int j) => referenceBoxes.Select(1, j).Unsqueeze(1);

        var exWidths = P(2) - P(0);
        var exHeights = P(3) - P(1);
        var exCtrX = P(0) + 0.5 * exWidths;
        var exCtrY = P(1) + 0.5 * exHeights;
        var gtWidths = R(2) - R(0);
        var gtHeights = R(3) - R(1);
        var gtCtrX = R(0) + 0.5 * gtWidths;
        var gtCtrY = R(1) + 0.5 * gtHeights;

        var dx = wx * (gtCtrX - exCtrX) / exWidths;
        var dy = wy * (gtCtrY - exCtrY) / exHeights;
        var dw = ww * (gtWidths / exWidths).Log();
        var dh = wh * (gtHeights / exHeights).Log();
        return scope.MoveToOuter(Tensor.Cat(new[] { dx, dy, dw, dh }, 1));
    }

    /// <summary>Decodes [ΣN_i, 4·C] codes against the concatenated reference boxes: [ΣN_i, C, 4].</summary>
    /// <param name="relCodes">[ΣN_i, 4·C] (dx, dy, dw, dh) offsets, C sets per box (one per class, or 1 for the RPN).</param>
    /// <param name="boxes">Per image, [N_i, 4] xyxy reference boxes (anchors or proposals).</param>
    public Tensor Decode(Tensor relCodes, IReadOnlyList<Tensor> boxes)
    {
        using var scope = DisposeScope.Enter();
        long boxSum = boxes.Sum(b => b.Size(0));
        var codes = boxSum > 0 ? relCodes.Reshape(boxSum, -1) : relCodes;
        var predicted = DecodeSingle(codes, Concat(boxes));
        if (boxSum > 0) predicted = predicted.Reshape(boxSum, -1, 4);
        return scope.MoveToOuter(predicted);
    }

    /// <summary>Applies [N, 4·C] offsets to [N, 4] boxes: [N, 4·C] boxes (x1, y1, x2, y2 per class), torchvision's <c>decode_single</c>.</summary>
    /// <param name="relCodes">[N, 4·C] (dx, dy, dw, dh) offsets; the result has their dtype.</param>
    /// <param name="boxes">[N, 4] xyxy reference boxes.</param>
    /// <exception cref="ArgumentException">The shapes do not match as described.</exception>
    public Tensor DecodeSingle(Tensor relCodes, Tensor boxes)
    {
        AtenOps.CheckShape2(boxes, 4, "boxes", "BoxCoder.DecodeSingle");
        if (relCodes.Dim != 2 || relCodes.Size(0) != boxes.Size(0) || relCodes.Size(1) % 4 != 0)
            throw new ArgumentException($"BoxCoder.DecodeSingle: codes must be [{boxes.Size(0)}, 4·C], got [{string.Join(", ", relCodes.Shape)}]");
        using var scope = DisposeScope.Enter();
        var b = boxes.To(relCodes.DType);
        var widths = b.Select(1, 2) - b.Select(1, 0);
        var heights = b.Select(1, 3) - b.Select(1, 1);
        var ctrX = b.Select(1, 0) + 0.5 * widths;
        var ctrY = b.Select(1, 1) + 0.5 * heights;

        Tensor Every4th(int j) => relCodes.Slice(1, j, null, 4);
        var dx = Every4th(0) / Weights.X;
        var dy = Every4th(1) / Weights.Y;
        var dw = (Every4th(2) / Weights.W).ClampMax(BboxXformClip);
        var dh = (Every4th(3) / Weights.H).ClampMax(BboxXformClip);

        var predCtrX = dx * widths.Unsqueeze(1) + ctrX.Unsqueeze(1);
        var predCtrY = dy * heights.Unsqueeze(1) + ctrY.Unsqueeze(1);
        var predW = dw.Exp() * widths.Unsqueeze(1);
        var predH = dh.Exp() * heights.Unsqueeze(1);
        var half = Tensor.Scalar(0.5, predCtrX.DType, predCtrX.Device);
        var cToCH = half * predH;
        var cToCW = half * predW;
        var stacked = Tensor.Stack(new[] { predCtrX - cToCW, predCtrY - cToCH, predCtrX + cToCW, predCtrY + cToCH }, 2);
        return scope.MoveToOuter(stacked.Flatten(1));
    }

    private static Tensor Concat(IReadOnlyList<Tensor> parts)
    {
        if (parts.Count == 0) throw new ArgumentException("BoxCoder: the list of per-image boxes is empty");
        return parts.Count == 1 ? parts[0] : Tensor.Cat(parts);
    }
}
