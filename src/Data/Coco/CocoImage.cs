namespace MLNetSeg.Data.Coco;

/// <summary>One entry of a COCO dataset's "images" list.</summary>
public sealed class CocoImage
{
    public required long Id { get; init; }

    public required int Width { get; init; }

    public required int Height { get; init; }

    public string? FileName { get; init; }
}
