namespace MLNetSeg.Data.Coco;

/// <summary>
/// A COCO json file (dataset or results) is malformed or inconsistent. The message names the
/// file, the image / annotation / result it concerns and the offending field, e.g.
/// <c>train.json: annotation 17 (image 3): 'bbox' must have 4 numbers, got 3</c>.
/// </summary>
public sealed class CocoFormatException : FormatException
{
    /// <summary>Creates the exception with a message naming the file, the entry and the field.</summary>
    /// <param name="message">The full message, starting with the file name.</param>
    public CocoFormatException(string message) : base(message) { }

    /// <summary>Creates the exception for a lower-level failure, e.g. a <see cref="System.Text.Json.JsonException"/> of malformed json.</summary>
    /// <param name="message">The full message, starting with the file name.</param>
    /// <param name="inner">The exception that caused this one.</param>
    public CocoFormatException(string message, Exception inner) : base(message, inner) { }
}
