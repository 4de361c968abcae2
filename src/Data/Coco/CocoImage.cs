namespace MLNetSeg.Data.Coco;

/// <summary>One entry of a COCO dataset's "images" list.</summary>
public sealed class CocoImage
{
    /// <summary>The image's "id", the value annotations and results use as "image_id".</summary>
    public required long Id { get; init; }

    /// <summary>The "width" field in pixels (positive); polygons are rasterised and RLEs checked at this size.</summary>
    public required int Width { get; init; }

    /// <summary>The "height" field in pixels (positive).</summary>
    public required int Height { get; init; }

    /// <summary>The "file_name" field, relative to the dataset's image folder; null when absent.</summary>
    public string? FileName { get; init; }
}
