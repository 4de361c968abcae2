namespace MLNetSeg.Torch;

/// <summary>Interpolation used by <see cref="Functional.Interpolate"/>.</summary>
public enum InterpolationMode
{
    /// <summary>PyTorch's 'nearest': source index floor(dst · scale), which is off by half a pixel
    /// (kept for compatibility, as in PyTorch).</summary>
    Nearest,
    /// <summary>'nearest-exact': source index floor((dst + 0.5) · scale), the correct nearest neighbour.</summary>
    NearestExact,
    /// <summary>'bilinear': linear interpolation in both dimensions.</summary>
    Bilinear,
    /// <summary>'bicubic': cubic convolution (a = −0.75); may overshoot the input range.</summary>
    Bicubic,
    /// <summary>'area': adaptive average pooling to the output size.</summary>
    Area,
}

/// <summary>Sampling kernel of <see cref="Functional.GridSample"/>; the numbers are aten's.</summary>
public enum GridSampleMode
{
    /// <summary>Bilinear interpolation of the four neighbours.</summary>
    Bilinear = 0,
    /// <summary>The nearest input pixel.</summary>
    Nearest = 1,
    /// <summary>Bicubic interpolation of the 4 × 4 neighbourhood.</summary>
    Bicubic = 2,
}

/// <summary>What <see cref="Functional.GridSample"/> reads outside the input; the numbers are aten's.</summary>
public enum GridSamplePadding
{
    /// <summary>Zero outside the input.</summary>
    Zeros = 0,
    /// <summary>The nearest border pixel's value.</summary>
    Border = 1,
    /// <summary>The value mirrored at the border.</summary>
    Reflection = 2,
}

/// <summary>How <see cref="Functional.Pad"/> fills the border.</summary>
public enum PadMode
{
    /// <summary>A constant value (F.pad's 'constant').</summary>
    Constant,
    /// <summary>Mirror without repeating the edge: 3 2 | 1 2 3 (F.pad's 'reflect').</summary>
    Reflect,
    /// <summary>Repeat the edge value: 1 1 | 1 2 3 (F.pad's 'replicate').</summary>
    Replicate,
    /// <summary>Wrap around: 2 3 | 1 2 3 (F.pad's 'circular').</summary>
    Circular,
}

public static partial class Functional
{
    private static readonly Op UpsampleNearestOp = new("upsample_nearest2d", "vec"),
        UpsampleNearestExactOp = new("_upsample_nearest_exact2d", "vec"), UpsampleBilinearOp = new("upsample_bilinear2d", "vec"),
        UpsampleBicubicOp = new("upsample_bicubic2d", "vec"), GridSamplerOp = new("grid_sampler"), PadOp = new("pad");

    /// <summary>
    /// Resizes the spatial dimensions of an (N, C, H, W) tensor (F.interpolate): give either
    /// <paramref name="size"/> or <paramref name="scaleFactor"/>. <paramref name="alignCorners"/>
    /// applies to Bilinear/Bicubic only (default false). With a scale factor and
    /// recomputeScaleFactor false, the scale itself (not the rounded size) drives the sampling
    /// grid, as in PyTorch.
    /// </summary>
    public static Tensor Interpolate(Tensor input, Size2? size = null, (double H, double W)? scaleFactor = null,
        InterpolationMode mode = InterpolationMode.Nearest, bool? alignCorners = null, bool recomputeScaleFactor = false)
    {
        bool linear = mode is InterpolationMode.Bilinear or InterpolationMode.Bicubic;
        if (!linear && alignCorners is not null)
            throw new ArgumentException($"alignCorners can only be set with the interpolating modes Bilinear and Bicubic, not {mode}");
        if (input.Dim != 4)
            throw new ArgumentException($"Interpolate expects an (N, C, H, W) input, got shape [{string.Join(", ", input.Shape)}]");
        if (size is not null && scaleFactor is not null) throw new ArgumentException("give only one of size and scaleFactor");
        if (size is null && scaleFactor is null) throw new ArgumentException("give either size or scaleFactor");
        if (recomputeScaleFactor && size is not null) throw new ArgumentException("recomputeScaleFactor is not meaningful with an explicit size");

        long[]? outputSize = size?.ToArray();
        double[]? scales = scaleFactor is { } s ? new[] { s.H, s.W } : null;
        if (scales is not null && (recomputeScaleFactor || mode == InterpolationMode.Area))
        {
            var shape = input.Shape;
            outputSize = new[] { (long)Math.Floor(shape[2] * scales[0]), (long)Math.Floor(shape[3] * scales[1]) };
            scales = null;
        }
        bool corners = alignCorners ?? false;
        return mode switch
        {
            InterpolationMode.Nearest => UpsampleNearestOp.Invoke(input, outputSize, scales),
            InterpolationMode.NearestExact => UpsampleNearestExactOp.Invoke(input, outputSize, scales),
            InterpolationMode.Bilinear => UpsampleBilinearOp.Invoke(input, outputSize, corners, scales),
            InterpolationMode.Bicubic => UpsampleBicubicOp.Invoke(input, outputSize, corners, scales),
            InterpolationMode.Area => AdaptiveAvgPool2d(input, (outputSize![0], outputSize[1])),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown interpolation mode"),
        };
    }

    /// <summary>
    /// Samples an (N, C, H, W) input at the normalised (x, y) ∈ [−1, 1] locations of an
    /// (N, Hout, Wout, 2) grid (F.grid_sample). Default alignCorners false, as in PyTorch ≥ 1.3.
    /// </summary>
    public static Tensor GridSample(Tensor input, Tensor grid, GridSampleMode mode = GridSampleMode.Bilinear,
        GridSamplePadding paddingMode = GridSamplePadding.Zeros, bool alignCorners = false)
    {
        if (input.Dim != 4 || grid.Dim != 4 || grid.Size(3) != 2)
            throw new ArgumentException($"GridSample expects an (N, C, H, W) input and an (N, H, W, 2) grid, got " +
                                        $"[{string.Join(", ", input.Shape)}] and [{string.Join(", ", grid.Shape)}]");
        return GridSamplerOp.Invoke(input, grid, (long)mode, (long)paddingMode, alignCorners);
    }

    /// <summary>
    /// Pads the last dimensions (F.pad): <paramref name="pad"/> lists (before, after) pairs starting
    /// from the last dimension, e.g. {left, right, top, bottom}. Reflect/Replicate/Circular pad the
    /// trailing 1–3 dimensions of a batched input; <paramref name="value"/> is for Constant only.
    /// </summary>
    public static Tensor Pad(Tensor input, long[] pad, PadMode mode = PadMode.Constant, double value = 0)
    {
        if (pad.Length % 2 != 0 || pad.Length / 2 > input.Dim)
            throw new ArgumentException($"pad [{string.Join(", ", pad)}] must hold (before, after) pairs for at most " +
                                        $"{input.Dim} dimensions");
        return mode switch
        {
            PadMode.Constant => PadOp.Invoke(input, pad, "constant", value),
            PadMode.Reflect => PadOp.Invoke(input, pad, "reflect", OpArg.None),
            PadMode.Replicate => PadOp.Invoke(input, pad, "replicate", OpArg.None),
            PadMode.Circular => PadOp.Invoke(input, pad, "circular", OpArg.None),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown pad mode"),
        };
    }
}
