using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Evaluation.Semantic;

/// <summary>
/// Mask boundaries as Boundary IoU defines them (Cheng et al. 2021, boundary-iou-api
/// <c>mask_to_boundary</c>): the mask pixels within d pixels (Chebyshev distance, i.e. d
/// erosions by a 3×3 square) of a non-mask pixel or of the image border, with
/// d = max(1, round(ratio × image diagonal)).
/// </summary>
public static class MaskBoundary
{
    /// <summary>The default ratio of the image diagonal (boundary-iou-api and detectron2 use 0.02).</summary>
    public const double DefaultDilationRatio = 0.02;

    /// <summary>d = max(1, round(ratio · √(h² + w²))), rounding half to even like Python's round().</summary>
    public static int Dilation(int height, int width, double dilationRatio = DefaultDilationRatio)
    {
        if (!(dilationRatio > 0)) throw new ArgumentOutOfRangeException(nameof(dilationRatio), $"must be positive, got {dilationRatio}");
        double diagonal = Math.Sqrt((double)height * height + (double)width * width);
        return Math.Max(1, (int)Math.Round(dilationRatio * diagonal, MidpointRounding.ToEven));
    }

    /// <summary>The boundary band of a binary mask.</summary>
    public static BitMask Of(BitMask mask, double dilationRatio = DefaultDilationRatio)
    {
        ArgumentNullException.ThrowIfNull(mask);
        var pixels = mask.Pixels;
        var labels = new int[pixels.Length];
        for (int i = 0; i < labels.Length; i++) labels[i] = pixels[i] != 0 ? 1 : 0;
        var onBoundary = OfLabelMap(labels, mask.Height, mask.Width, Dilation(mask.Height, mask.Width, dilationRatio));
        for (int i = 0; i < onBoundary.Length; i++) onBoundary[i] = (byte)(onBoundary[i] & labels[i]);
        return BitMask.FromRowMajor(mask.Height, mask.Width, onBoundary);
    }

    /// <summary>
    /// For every pixel of a label map, 1 when it lies on the boundary of its own label's mask, that
    /// is when <c>mask_to_boundary(labels == labels[p])</c> is set at p: some pixel within
    /// Chebyshev distance <paramref name="dilation"/> has another label or lies outside the image.
    /// One pass serves all labels at once, in O(h·w) whatever the dilation.
    /// </summary>
    public static byte[] OfLabelMap(ReadOnlySpan<int> labels, int height, int width, int dilation)
    {
        if (labels.Length != height * width)
            throw new ArgumentException($"{labels.Length} labels for a {height}x{width} map", nameof(labels));
        ArgumentOutOfRangeException.ThrowIfNegative(dilation);
        int d = dilation;
        // Pass 1: uniformRow[i] = the horizontal run through pixel i extends d pixels both ways.
        var uniformRow = new byte[labels.Length];
        var leftRun = new int[width];
        for (int y = 0; y < height; y++)
        {
            var row = labels.Slice(y * width, width);
            for (int x = 0; x < width; x++) leftRun[x] = x > 0 && row[x] == row[x - 1] ? leftRun[x - 1] + 1 : 1;
            int rightRun = 0;
            for (int x = width - 1; x >= 0; x--)
            {
                rightRun = x < width - 1 && row[x] == row[x + 1] ? rightRun + 1 : 1;
                if (leftRun[x] > d && rightRun > d) uniformRow[y * width + x] = 1;
            }
        }
        // Pass 2: the pixel is interior when the d rows above and below are row-uniform with the
        // same label; runs are counted down (upRun) then up (downRun) the columns.
        var upOk = new byte[labels.Length];
        var run = new int[width];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int i = y * width + x;
                run[x] = uniformRow[i] == 0 ? 0
                    : y > 0 && uniformRow[i - width] == 1 && labels[i - width] == labels[i] ? run[x] + 1 : 1;
                if (run[x] > d) upOk[i] = 1;
            }
        var boundary = new byte[labels.Length];
        Array.Clear(run);
        for (int y = height - 1; y >= 0; y--)
            for (int x = 0; x < width; x++)
            {
                int i = y * width + x;
                run[x] = uniformRow[i] == 0 ? 0
                    : y < height - 1 && uniformRow[i + width] == 1 && labels[i + width] == labels[i] ? run[x] + 1 : 1;
                boundary[i] = (byte)(upOk[i] == 1 && run[x] > d ? 0 : 1);
            }
        return boundary;
    }
}
