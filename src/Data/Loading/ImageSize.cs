namespace MLNetSeg.Data.Loading;

/// <summary>An image's size in pixels (height first, as tensors are laid out).</summary>
public readonly record struct ImageSize(int Height, int Width)
{
    /// <summary>"HxW", e.g. <c>480x640</c>.</summary>
    public override string ToString() => $"{Height}x{Width}";
}
