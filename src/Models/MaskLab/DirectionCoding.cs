using MLNetSeg.Torch;

namespace MLNetSeg.Models.MaskLab;

/// <summary>
/// MaskLab's direction features (§3, Fig. 3 and 6): every pixel of an instance is labelled with the
/// direction from it towards its instance's centre, quantised into <see cref="Directions"/> angle bins,
/// and with its distance from the centre, quantised into <see cref="DistanceBins"/> rings; the network
/// predicts one logit per (direction, distance) pair, <c>Directions × DistanceBins</c> channels
/// (8 × 4 = 32 in the paper). Direction pooling reads those channels back inside a box: each location
/// of the box's crop copies the channel its own (direction, distance) relative to the box centre names,
/// so a location belonging to the box's instance reads a channel that says "yes", and a pixel of
/// another instance of the same class, whose centre lies elsewhere, reads a channel that says "no".
/// </summary>
/// <remarks>
/// Choices where the paper is silent (written here so targets and pooling agree by construction):
/// <list type="bullet">
/// <item>Geometry is measured in the box's normalised frame: the vector from a point to the box centre
/// is divided by the box's half-width and half-height, so the 8 direction regions of any box are the
/// triangles its diagonals and midlines cut (Fig. 3), whatever its aspect.</item>
/// <item>Angle bin: the angle of that vector in image axes (x right, y down; so angles turn clockwise on
/// screen), bin <c>floor(angle / (360° / Directions))</c>, angle in [0°, 360°).</item>
/// <item>Distance bin: the normalised L∞ distance (0 at the centre, 1 on the box edge; the square rings of
/// Fig. 6), bin <c>min(floor(d · DistanceBins), DistanceBins − 1)</c>.</item>
/// <item>Channel <c>direction · DistanceBins + distance</c>.</item>
/// <item>Targets: an instance's pixels are measured against the centre of the instance's box (the box the
/// direction branch is cropped with during training: the ground-truth box, §4.1). A pixel several
/// instances cover belongs to the one of smallest area, ties to the later one (drawn on top); pixels of
/// no instance are ignored (-1).</item>
/// <item>Points: pixel (i, j) of an image is at (j + 0.5, i + 0.5); crop cell (i, j) of an S×S crop of a box
/// is at the cell centre, as <see cref="Vision.Ops.VisionOps.CropAndResize"/> samples it. A box whose
/// corners are on the pixel grid cropped at its own size therefore pools exactly its pixels' targets.</item>
/// </list>
/// </remarks>
public sealed class DirectionCoding
{
    /// <summary>The paper's coding: 8 directions × 4 distance bins.</summary>
    public DirectionCoding(int directions = 8, int distanceBins = 4)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(directions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(distanceBins, 1);
        Directions = directions;
        DistanceBins = distanceBins;
    }

    /// <summary>Angle bins over 360°.</summary>
    public int Directions { get; }

    /// <summary>Distance rings from the centre to the box edge.</summary>
    public int DistanceBins { get; }

    /// <summary>Logit channels: <see cref="Directions"/> × <see cref="DistanceBins"/>.</summary>
    public int Channels => Directions * DistanceBins;

    /// <summary>The ignore label of pixels that belong to no instance.</summary>
    public const long Ignore = -1;

    /// <summary>The channel of a point whose vector to the box centre, divided by the box's half-width and
    /// half-height, is (<paramref name="u"/>, <paramref name="v"/>).</summary>
    public int Channel(double u, double v)
    {
        // Points on a bin boundary (the diagonals of a square crop, ring edges) go to the upper bin whichever
        // way the last bit of u and v was rounded: targets and pooling compute them by different formulas.
        u = Math.Round(u, 9);
        v = Math.Round(v, 9);
        double angle = Math.Atan2(v, u);
        if (angle < 0) angle += 2 * Math.PI;
        int direction = Math.Min((int)Math.Floor(angle / (2 * Math.PI / Directions) + 1e-9), Directions - 1);
        double distance = Math.Max(Math.Abs(u), Math.Abs(v));
        int ring = Math.Min((int)Math.Floor(distance * DistanceBins + 1e-9), DistanceBins - 1);
        return direction * DistanceBins + ring;
    }

    /// <summary>The channel every cell of a <paramref name="height"/>×<paramref name="width"/> crop reads, row-major.</summary>
    public long[] PoolingChannels(int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        var channels = new long[height * width];
        for (int i = 0; i < height; i++)
        {
            // Cell centre at fraction (i + 0.5) / height of the box; vector to the centre (0.5) over the half-size.
            double v = 1 - (2.0 * i + 1) / height;
            for (int j = 0; j < width; j++)
                channels[i * width + j] = Channel(1 - (2.0 * j + 1) / width, v);
        }
        return channels;
    }

    /// <summary>
    /// Direction pooling: from crops of the direction logits ([R, Channels, S, S], e.g. from
    /// <see cref="Vision.Ops.VisionOps.CropAndResize"/>), each cell keeps the channel its position names:
    /// [R, 1, S, S]. Differentiable (a gather).
    /// </summary>
    public Tensor Pool(Tensor crops)
    {
        ArgumentNullException.ThrowIfNull(crops);
        if (crops.Dim != 4 || crops.Size(1) != Channels)
            throw new ArgumentException($"direction pooling expects [R, {Channels}, H, W] crops ({Directions} directions × {DistanceBins} distance bins), got [{string.Join(", ", crops.Shape)}]");
        int height = (int)crops.Size(2), width = (int)crops.Size(3);
        using var scope = DisposeScope.Enter();
        var index = Tensor.FromArray(PoolingChannels(height, width), new long[] { 1, 1, height, width }, crops.Device)
            .Expand(crops.Size(0), 1, height, width);
        return scope.MoveToOuter(crops.Gather(1, index));
    }

    /// <summary>
    /// The direction label of every pixel (see the remarks): int64 [H, W], <see cref="Ignore"/> outside
    /// every instance.
    /// </summary>
    /// <param name="masks">[N, H, W] instance masks (non-zero inside), at the resolution of the labels.</param>
    /// <param name="boxes">[N, 4] (x1, y1, x2, y2) of each instance in the same pixel coordinates; null: each mask's tight box.</param>
    public Tensor Targets(Tensor masks, Tensor? boxes = null)
    {
        ArgumentNullException.ThrowIfNull(masks);
        if (masks.Dim != 3) throw new ArgumentException($"direction targets expect [N, H, W] masks, got [{string.Join(", ", masks.Shape)}]");
        int n = (int)masks.Size(0), height = (int)masks.Size(1), width = (int)masks.Size(2);
        if (boxes is not null && (boxes.Dim != 2 || boxes.Size(0) != n || boxes.Size(1) != 4))
            throw new ArgumentException($"direction targets: boxes must be [{n}, 4], got [{string.Join(", ", boxes.Shape)}]");
        using var scope = DisposeScope.Enter();
        var inside = masks.To(DType.UInt8, Device.Cpu).Contiguous().ToArray<byte>();
        var boxValues = boxes?.To(DType.Float64, Device.Cpu).ToArray<double>();
        var owner = InstanceOwnership.Owners(inside, n, height, width);
        var labels = new long[height * width];
        Array.Fill(labels, Ignore);
        var centres = new (double Cx, double Cy, double HalfW, double HalfH)[n];
        for (int k = 0; k < n; k++)
        {
            var (x1, y1, x2, y2) = boxValues is null ? TightBox(inside, k, height, width) : (boxValues[4 * k], boxValues[4 * k + 1], boxValues[4 * k + 2], boxValues[4 * k + 3]);
            centres[k] = ((x1 + x2) / 2, (y1 + y2) / 2, Math.Max((x2 - x1) / 2, 1e-6), Math.Max((y2 - y1) / 2, 1e-6));
        }
        for (int i = 0; i < height; i++)
            for (int j = 0; j < width; j++)
            {
                int k = owner[i * width + j];
                if (k < 0) continue;
                var c = centres[k];
                labels[i * width + j] = Channel((c.Cx - (j + 0.5)) / c.HalfW, (c.Cy - (i + 0.5)) / c.HalfH);
            }
        return scope.MoveToOuter(Tensor.FromArray(labels, new long[] { height, width }, masks.Device));
    }

    private static (double X1, double Y1, double X2, double Y2) TightBox(byte[] inside, int k, int height, int width)
    {
        int minX = width, minY = height, maxX = -1, maxY = -1;
        for (int i = 0; i < height; i++)
            for (int j = 0; j < width; j++)
                if (inside[(long)k * height * width + i * width + j] != 0)
                {
                    minX = Math.Min(minX, j); maxX = Math.Max(maxX, j);
                    minY = Math.Min(minY, i); maxY = Math.Max(maxY, i);
                }
        return (minX, minY, maxX + 1, maxY + 1);
    }
}
