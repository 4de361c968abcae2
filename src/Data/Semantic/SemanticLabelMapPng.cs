using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Data.Semantic;

/// <summary>
/// Semantic label maps stored as 8-bit single-channel PNGs: each pixel value is a class index,
/// 255 marks ignored pixels (<see cref="SemanticLabelMap.IgnoreLabel"/>). Palette and RGB PNGs
/// (e.g. PASCAL VOC's coloured masks) are rejected: OpenCV expands palettes to colours, which
/// would lose the class indices.
/// </summary>
public static class SemanticLabelMapPng
{
    /// <summary>Reads a label map; errors name <paramref name="path"/>.</summary>
    public static SemanticLabelMap Read(string path)
    {
        Image image;
        try { image = ImageIO.Read(path); }
        catch (InvalidImageException e) { throw new SemanticDatasetException($"label map {path}: {e.Reason}", e); }
        if (image.Channels != 1)
            throw new SemanticDatasetException(
                $"label map {path} has {image.Channels} channels; it must be a single-channel 8-bit PNG of class indices " +
                "(convert palette or RGB masks to indices first)");
        return SemanticLabelMap.FromBytes(image.Height, image.Width, image.Pixels);
    }

    /// <summary>Writes a label map as an 8-bit grey PNG, atomically (temporary file, then rename).
    /// Labels above 255 cannot be stored and raise an error.</summary>
    public static void Write(SemanticLabelMap labels, string path)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ImageIO.WritePng(new Image(labels.Height, labels.Width, 1, labels.ToBytes()), path);
    }
}
