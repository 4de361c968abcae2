using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Vision.Geometry;

/// <summary>
/// Anchors over feature-map grids, identical to torchvision's AnchorGenerator: per level, base
/// anchors for every (aspect ratio, size) pair (ratio-major), zero-centred and rounded
/// (w = size/√ratio, h = size·√ratio, ratio = h/w), shifted to (x·stride_w, y·stride_h) for
/// every cell in row-major order, where stride = padded image size // grid size.
/// </summary>
/// <remarks>Holds no native tensor: the cell anchors are kept as managed float32 values (exactly the
/// rounded float32 tensor's) and made into a small tensor per call, so a generator needs no disposal
/// and can be shared by any number of modules (cached tensors here would belong to no module, and
/// disposing a model would not free them).</remarks>
public sealed class AnchorGenerator
{
    private readonly float[][] cellAnchors;

    /// <summary>Creates a generator for one anchor set per feature level (torchvision's <c>AnchorGenerator(sizes, aspect_ratios)</c>).</summary>
    /// <param name="sizes">Anchor sizes per level, e.g. {32}, {64}, ... for an FPN.</param>
    /// <param name="aspectRatios">Aspect ratios (h/w) per level; one entry is used for every level.</param>
    /// <exception cref="ArgumentException"><paramref name="sizes"/> is empty, or the number of aspect-ratio lists is neither 1 nor the number of levels.</exception>
    public AnchorGenerator(IReadOnlyList<IReadOnlyList<double>> sizes, IReadOnlyList<IReadOnlyList<double>> aspectRatios)
    {
        if (sizes.Count == 0) throw new ArgumentException("AnchorGenerator: no levels given");
        if (aspectRatios.Count == 1 && sizes.Count > 1)
            aspectRatios = Enumerable.Repeat(aspectRatios[0], sizes.Count).ToArray();
        if (aspectRatios.Count != sizes.Count)
            throw new ArgumentException($"AnchorGenerator: {sizes.Count} levels of sizes but {aspectRatios.Count} of aspect ratios");
        Sizes = sizes;
        AspectRatios = aspectRatios;
        cellAnchors = new float[sizes.Count][];
        for (int l = 0; l < sizes.Count; l++)
        {
            using var anchors = GenerateCellAnchors(sizes[l], aspectRatios[l]);
            cellAnchors[l] = anchors.ToArray<float>();
        }
    }

    /// <summary>torchvision's FPN default: sizes 32…512 on five levels, ratios 0.5, 1, 2 everywhere.</summary>
    public static AnchorGenerator FpnDefault() => new(
        new[] { 32.0, 64, 128, 256, 512 }.Select(s => (IReadOnlyList<double>)new[] { s }).ToArray(),
        new IReadOnlyList<double>[] { new[] { 0.5, 1.0, 2.0 } });

    /// <summary>Anchor sizes (side of the square anchor, in input pixels) per level, as given.</summary>
    public IReadOnlyList<IReadOnlyList<double>> Sizes { get; }

    /// <summary>Aspect ratios (h/w) per level; a single list given to the constructor is repeated for every level.</summary>
    public IReadOnlyList<IReadOnlyList<double>> AspectRatios { get; }

    /// <summary>Anchors per feature-map cell for each level (sizes × ratios), torchvision's
    /// <c>num_anchors_per_location()</c>; the RPN head predicts this many objectness scores per cell.</summary>
    public int[] NumAnchorsPerLocation => Sizes.Select((s, l) => s.Count * AspectRatios[l].Count).ToArray();

    /// <summary>The [A, 4] zero-centred anchors of a level (float32, CPU; a copy).</summary>
    public Tensor CellAnchors(int level) => Tensor.FromArray(cellAnchors[level], cellAnchors[level].Length / 4, 4);

    /// <summary>Rounded zero-centred anchors, computed in float32 as torchvision's <c>generate_anchors</c> does.</summary>
    /// <param name="scales">Anchor sizes in pixels.</param>
    /// <param name="aspectRatios">Aspect ratios h/w.</param>
    /// <returns>float32 [ratios·scales, 4] xyxy boxes centred on 0, ratio-major (all scales of the first ratio first).</returns>
    public static Tensor GenerateCellAnchors(IReadOnlyList<double> scales, IReadOnlyList<double> aspectRatios)
    {
        using var scope = DisposeScope.Enter();
        var s = Tensor.FromArray(scales.Select(v => (float)v).ToArray(), scales.Count);
        var ratios = Tensor.FromArray(aspectRatios.Select(v => (float)v).ToArray(), aspectRatios.Count);
        var hRatios = ratios.Sqrt();
        var wRatios = 1.0 / hRatios;
        var ws = (wRatios.Unsqueeze(1) * s.Unsqueeze(0)).Reshape(-1);
        var hs = (hRatios.Unsqueeze(1) * s.Unsqueeze(0)).Reshape(-1);
        var baseAnchors = Tensor.Stack(new[] { -ws, -hs, ws, hs }, 1) / 2;
        return scope.MoveToOuter(baseAnchors.Round());
    }

    /// <summary>Anchors of every level for a batch padded to <paramref name="imageHeight"/>×<paramref name="imageWidth"/>,
    /// concatenated: [Σ H_l·W_l·A_l, 4], in <paramref name="dtype"/> on <paramref name="device"/>
    /// (the same for every image of the batch).</summary>
    /// <param name="imageHeight">Height of the padded batch in pixels (the strides are <c>imageHeight / gridHeight</c>, integer division).</param>
    /// <param name="imageWidth">Width of the padded batch in pixels.</param>
    /// <param name="gridSizes">(height, width) of each level's feature map.</param>
    /// <param name="dtype">Element type of the result.</param>
    /// <param name="device">Device of the result; CPU when null.</param>
    /// <exception cref="ArgumentException">The number of grids differs from the number of levels, or a grid is empty.</exception>
    public Tensor Generate(long imageHeight, long imageWidth, IReadOnlyList<(long Height, long Width)> gridSizes, DType dtype = DType.Float32, Device? device = null)
    {
        using var scope = DisposeScope.Enter();
        var levels = GenerateLevels(imageHeight, imageWidth, gridSizes, dtype, device);
        return scope.MoveToOuter(levels.Length == 1 ? levels[0] : Tensor.Cat(levels));
    }

    /// <summary>Generate for feature maps given as tensors ([N, C, H, W]); dtype and device follow the first map.</summary>
    public Tensor Generate(long imageHeight, long imageWidth, IReadOnlyList<Tensor> featureMaps) =>
        Generate(imageHeight, imageWidth, featureMaps.Select(f => (f.Size(-2), f.Size(-1))).ToArray(), featureMaps[0].DType, featureMaps[0].Device);

    /// <summary>Per-level anchors ([H_l·W_l·A_l, 4] each), see <see cref="Generate(long, long, IReadOnlyList{ValueTuple{long, long}}, DType, Device?)"/>.</summary>
    public Tensor[] GenerateLevels(long imageHeight, long imageWidth, IReadOnlyList<(long Height, long Width)> gridSizes, DType dtype = DType.Float32, Device? device = null)
    {
        if (gridSizes.Count != cellAnchors.Length)
            throw new ArgumentException($"AnchorGenerator: configured for {cellAnchors.Length} levels but got {gridSizes.Count} feature maps");
        var d = device ?? Device.Cpu;
        var result = new Tensor[gridSizes.Count];
        for (int l = 0; l < gridSizes.Count; l++)
        {
            using var scope = DisposeScope.Enter();
            var (gh, gw) = gridSizes[l];
            if (gh <= 0 || gw <= 0)
                throw new ArgumentException($"AnchorGenerator: level {l} has an empty grid {gh}×{gw}");
            long strideH = imageHeight / gh, strideW = imageWidth / gw;
            var baseAnchors = CellAnchors(l).To(dtype, d);
            var shiftsX = Tensor.Arange(0, gw, 1, DType.Int32, d).Mul(strideW);  // int32, as torchvision's int32 arange times a 0-d stride
            var shiftsY = Tensor.Arange(0, gh, 1, DType.Int32, d).Mul(strideH);
            var shiftX = shiftsX.Unsqueeze(0).Expand(gh, gw).Reshape(-1);  // meshgrid "ij", row-major
            var shiftY = shiftsY.Unsqueeze(1).Expand(gh, gw).Reshape(-1);
            var shifts = Tensor.Stack(new[] { shiftX, shiftY, shiftX, shiftY }, 1);
            var anchors = (shifts.View(-1, 1, 4) + baseAnchors.View(1, -1, 4)).Reshape(-1, 4);
            result[l] = scope.MoveToOuter(anchors);
        }
        return result;
    }
}
