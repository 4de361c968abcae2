namespace MLNetSeg.Data.Semantic;

/// <summary>A semantic segmentation dataset on disk that is inconsistent: unpaired files, a label
/// map of the wrong size or format, labels outside the classes. The message names the files.</summary>
public sealed class SemanticDatasetException : IOException
{
    public SemanticDatasetException(string message) : base(message) { }

    public SemanticDatasetException(string message, Exception inner) : base(message, inner) { }
}
