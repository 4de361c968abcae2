namespace MLNetSeg.Vision.Structures;

/// <summary>
/// A per-pixel class map of <see cref="Height"/> × <see cref="Width"/>, row-major, as used for
/// semantic segmentation targets and predictions. <see cref="IgnoreLabel"/> (255) marks pixels
/// that take no part in losses or metrics.
/// </summary>
public sealed class SemanticLabelMap
{
    /// <summary>Label of "void" pixels, excluded from losses and metrics (COCO-stuff, Cityscapes, Panoptic FPN convention).</summary>
    public const int IgnoreLabel = 255;

    private readonly int[] _labels;

    /// <summary>Creates a map from a copy of row-major labels; labels must be non-negative.</summary>
    /// <param name="height">Rows in pixels.</param>
    /// <param name="width">Columns in pixels.</param>
    /// <param name="labels">Row-major class labels, <c>height · width</c> of them; copied.</param>
    /// <exception cref="ArgumentException">The number of labels does not fit the size, or a label is negative.</exception>
    public SemanticLabelMap(int height, int width, int[] labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        BitMask.ValidateSize(height, width);
        if (labels.Length != height * width)
            throw new ArgumentException($"A {height}x{width} label map needs {height * width} labels, got {labels.Length}.", nameof(labels));
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0)
                throw new ArgumentException($"Label at (y={i / width}, x={i % width}) is {labels[i]}; labels must be non-negative.", nameof(labels));
        }
        Height = height;
        Width = width;
        _labels = (int[])labels.Clone();
    }

    /// <summary>Creates a map from 8-bit labels, e.g. a decoded single-channel PNG.</summary>
    public static SemanticLabelMap FromBytes(int height, int width, ReadOnlySpan<byte> labels)
    {
        var ints = new int[labels.Length];
        for (int i = 0; i < ints.Length; i++) ints[i] = labels[i];
        return new SemanticLabelMap(height, width, ints);
    }

    /// <summary>Number of rows (pixels).</summary>
    public int Height { get; }

    /// <summary>Number of columns (pixels).</summary>
    public int Width { get; }

    /// <summary>Row-major labels.</summary>
    public ReadOnlySpan<int> Labels => _labels;

    /// <summary>The label of the pixel at row <paramref name="y"/>, column <paramref name="x"/>.</summary>
    /// <param name="y">Row, in [0, <see cref="Height"/>).</param>
    /// <param name="x">Column, in [0, <see cref="Width"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">The pixel is outside the map.</exception>
    public int this[int y, int x]
    {
        get
        {
            if ((uint)y >= (uint)Height || (uint)x >= (uint)Width)
                throw new ArgumentOutOfRangeException(nameof(y), $"Pixel (y={y}, x={x}) is outside the {Height}x{Width} label map.");
            return _labels[y * Width + x];
        }
    }

    /// <summary>The pixels carrying <paramref name="label"/>.</summary>
    public BitMask ToBitMask(int label)
    {
        var pixels = new byte[_labels.Length];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = _labels[i] == label ? (byte)1 : (byte)0;
        return BitMask.WrapNormalized(Height, Width, pixels);
    }

    /// <summary>
    /// Pixels per class 0..<paramref name="numClasses"/>−1 (at most 255 classes), skipping <see cref="IgnoreLabel"/>.
    /// Any other label outside that range is an error (it would silently vanish from metrics).
    /// </summary>
    public long[] CountPixels(int numClasses)
    {
        // Class 255 would be indistinguishable from the ignore label.
        if (numClasses <= 0 || numClasses > IgnoreLabel)
            throw new ArgumentOutOfRangeException(nameof(numClasses), $"numClasses must be in 1..{IgnoreLabel}, got {numClasses}.");
        var counts = new long[numClasses];
        for (int i = 0; i < _labels.Length; i++)
        {
            int label = _labels[i];
            if (label == IgnoreLabel) continue;
            if (label >= numClasses)
                throw new InvalidOperationException(
                    $"Label {label} at (y={i / Width}, x={i % Width}) is neither a class in 0..{numClasses - 1} nor the ignore label {IgnoreLabel}.");
            counts[label]++;
        }
        return counts;
    }

    /// <summary>The labels as bytes (for saving as an 8-bit PNG); fails if a label exceeds 255.</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[_labels.Length];
        for (int i = 0; i < bytes.Length; i++)
        {
            if (_labels[i] > byte.MaxValue)
                throw new InvalidOperationException($"Label {_labels[i]} at (y={i / Width}, x={i % Width}) does not fit in a byte.");
            bytes[i] = (byte)_labels[i];
        }
        return bytes;
    }

    /// <summary>"SemanticLabelMap HxW".</summary>
    public override string ToString() => $"SemanticLabelMap {Height}x{Width}";
}
