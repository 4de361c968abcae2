namespace MLNetSeg.Data.Coco;

/// <summary>
/// A COCO json file (dataset or results) is malformed or inconsistent. The message names the
/// file, the image / annotation / result it concerns and the offending field, e.g.
/// <c>train.json: annotation 17 (image 3): 'bbox' must have 4 numbers, got 3</c>.
/// </summary>
public sealed class CocoFormatException : FormatException
{
    public CocoFormatException(string message) : base(message) { }

    public CocoFormatException(string message, Exception inner) : base(message, inner) { }
}
