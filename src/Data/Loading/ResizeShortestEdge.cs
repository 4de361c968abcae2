using MLNetSeg.Torch;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Data.Loading;

/// <summary>
/// Resizes so the short side reaches a target (picked at random from <see cref="ShortEdges"/> —
/// multi-scale training's scale jitter) unless the long side would then exceed
/// <see cref="MaxSize"/>: torchvision's training resize (<c>GeneralizedRCNNTransform.resize</c>),
/// applied to image, boxes, masks and keypoints.
/// </summary>
/// <remarks>
/// Every number follows torchvision 0.14 (<c>_resize_image_and_masks</c>, <c>resize_boxes</c>,
/// <c>resize_keypoints</c>): scale = min(short / min_side, max / max_side) in float32 (its
/// <c>scalar / tensor</c> is <c>reciprocal(tensor) * scalar</c>), output size = ⌊side · scale⌋ in
/// float64 (<c>interpolate(..., recompute_scale_factor=True)</c>); the image is resized with
/// libtorch's bilinear kernel (align_corners=False), masks with nearest-neighbour indices as
/// libtorch computes them, and boxes and keypoints are multiplied by new/old size per axis in float32.
/// </remarks>
public sealed class ResizeShortestEdge : IDetectionTransform
{
    private static readonly Op UpsampleBilinear = new("upsample_bilinear2d");
    private readonly int[] _shortEdges;

    public ResizeShortestEdge(IReadOnlyList<int> shortEdges, int maxSize)
    {
        ArgumentNullException.ThrowIfNull(shortEdges);
        if (shortEdges.Count == 0) throw new ArgumentException("give at least one short-edge size", nameof(shortEdges));
        foreach (int s in shortEdges)
            if (s <= 0) throw new ArgumentOutOfRangeException(nameof(shortEdges), $"short-edge sizes must be positive, got {s}");
        if (maxSize <= 0) throw new ArgumentOutOfRangeException(nameof(maxSize), $"max size must be positive, got {maxSize}");
        _shortEdges = shortEdges.ToArray();
        MaxSize = maxSize;
    }

    public ResizeShortestEdge(int shortEdge, int maxSize) : this([shortEdge], maxSize) { }

    public IReadOnlyList<int> ShortEdges => _shortEdges;

    public int MaxSize { get; }

    public DetectionSample Apply(DetectionSample sample, Random random)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(random);
        int shortEdge = _shortEdges.Length == 1 ? _shortEdges[0] : _shortEdges[random.Next(_shortEdges.Length)];
        var size = OutputSize(sample.Size, shortEdge, MaxSize);
        if (size.Height == 0 || size.Width == 0)
            throw new ArgumentException($"{sample.Describe()}: a {sample.Size} image resized for short edge {shortEdge} / max {MaxSize} would be {size}");
        return ResizeTo(sample, size);
    }

    /// <summary>The size torchvision resizes an image of <paramref name="input"/> size to.</summary>
    public static ImageSize OutputSize(ImageSize input, int shortEdge, int maxSize)
    {
        float minSide = Math.Min(input.Height, input.Width), maxSide = Math.Max(input.Height, input.Width);
        float byShort = 1f / minSide * shortEdge;
        float byMax = 1f / maxSide * maxSize;
        double scale = Math.Min(byShort, byMax);
        return new ImageSize((int)Math.Floor(input.Height * scale), (int)Math.Floor(input.Width * scale));
    }

    /// <summary>Resizes image, boxes, masks and keypoints of <paramref name="sample"/> to <paramref name="size"/>.</summary>
    public static DetectionSample ResizeTo(DetectionSample sample, ImageSize size)
    {
        ArgumentNullException.ThrowIfNull(sample);
        if (size.Height <= 0 || size.Width <= 0) throw new ArgumentOutOfRangeException(nameof(size), $"target size must be positive, got {size}");
        var old = sample.Size;
        if (size == old) return sample; // bilinear and nearest at scale 1 copy, and the ratios are 1
        Tensor image;
        using (var scope = DisposeScope.Enter())
        {
            image = UpsampleBilinear.Invoke(sample.Image.Unsqueeze(0), new long[] { size.Height, size.Width }, false)
                .Squeeze(0).MoveToOuterDisposeScope();
        }
        var t = sample.Target;
        float ratioH = (float)size.Height / old.Height, ratioW = (float)size.Width / old.Width;
        var boxes = t.Boxes.ToXyxy();
        for (int i = 0; i < boxes.Length; i += 2)
        {
            boxes[i] *= ratioW;
            boxes[i + 1] *= ratioH;
        }
        Keypoints? keypoints = null;
        if (t.Keypoints is { } kp)
        {
            var data = kp.Data.ToArray();
            for (int i = 0; i < data.Length; i += 3)
            {
                data[i] *= ratioW;
                data[i + 1] *= ratioH;
            }
            keypoints = new Keypoints(kp.Count, kp.KeypointsPerInstance, data);
        }
        var masks = t.Masks is { } m ? MaskResize.Nearest(m, size) : null;
        return sample.With(image, t.WithGeometry(Boxes.FromXyxy(boxes), masks, keypoints));
    }
}

/// <summary>Nearest-neighbour mask resizing with libtorch's index rule.</summary>
public static class MaskResize
{
    /// <summary>
    /// Resizes every mask to <paramref name="size"/> picking source pixels as libtorch's
    /// <c>upsample_nearest2d</c> does without explicit scales (torchvision's mask resize):
    /// src = min(⌊dst · (in / out)⌋, in − 1) in float32, with exact shortcuts when out = in and out = 2 · in.
    /// </summary>
    public static BitMask[] Nearest(IReadOnlyList<BitMask> masks, ImageSize size)
    {
        ArgumentNullException.ThrowIfNull(masks);
        if (masks.Count == 0) return [];
        int inH = masks[0].Height, inW = masks[0].Width;
        var ys = SourceIndices(inH, size.Height);
        var xs = SourceIndices(inW, size.Width);
        var result = new BitMask[masks.Count];
        var pixels = new byte[size.Height * size.Width];
        for (int n = 0; n < masks.Count; n++)
        {
            var src = masks[n].Pixels;
            if (masks[n].Height != inH || masks[n].Width != inW)
                throw new ArgumentException($"masks[{n}] is {masks[n].Height}x{masks[n].Width} but masks[0] is {inH}x{inW}", nameof(masks));
            for (int y = 0; y < size.Height; y++)
            {
                int row = ys[y] * inW, dst = y * size.Width;
                for (int x = 0; x < size.Width; x++) pixels[dst + x] = src[row + xs[x]];
            }
            result[n] = BitMask.FromRowMajor(size.Height, size.Width, pixels);
        }
        return result;
    }

    private static int[] SourceIndices(int input, int output)
    {
        var idx = new int[output];
        if (output == input)
        {
            for (int i = 0; i < output; i++) idx[i] = i;
        }
        else if (output == 2 * input)
        {
            for (int i = 0; i < output; i++) idx[i] = i >> 1;
        }
        else
        {
            float scale = (float)input / output;
            for (int i = 0; i < output; i++) idx[i] = Math.Min((int)MathF.Floor(i * scale), input - 1);
        }
        return idx;
    }
}
