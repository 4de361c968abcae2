using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Transforms;

/// <summary>
/// The text encoding of masks in <see cref="SegmentationColumns.Masks"/> and
/// <see cref="SegmentationColumns.PredictedMasks"/>: pycocotools' compressed RLE <c>counts</c>
/// string (what COCO json and COCO results files hold under <c>segmentation.counts</c>), for a
/// mask of the image's full size. A string per object keeps the columns plain ML.NET text vectors
/// and about 50× smaller than the bitmaps; the size is not repeated in every string because every
/// mask of a row has the image's size.
/// </summary>
public static class MaskEncoding
{
    /// <summary>Encodes a mask as its compressed RLE counts string.</summary>
    public static string Encode(Rle mask)
    {
        ArgumentNullException.ThrowIfNull(mask);
        return mask.ToCompressedString();
    }

    /// <summary>Decodes a counts string into an RLE of <paramref name="height"/> × <paramref name="width"/>; throws <see cref="FormatException"/> naming the problem when the string does not describe such a mask.</summary>
    public static Rle Decode(string counts, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(counts);
        if (height <= 0 || width <= 0) throw new ArgumentOutOfRangeException(nameof(height), $"mask size {height}x{width} (HxW) must be positive");
        return Rle.FromCompressedString(counts, height, width);
    }

    /// <summary>Decodes a counts string into a row-major bitmap (<see cref="BitMask"/>).</summary>
    public static BitMask DecodeToBitMask(string counts, int height, int width) => Decode(counts, height, width).Decode();
}
