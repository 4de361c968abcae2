namespace MLNetSeg.Data.Semantic;

/// <summary>A semantic segmentation dataset on disk that is inconsistent: unpaired files, a label
/// map of the wrong size or format, labels outside the classes. The message names the files.</summary>
public sealed class SemanticDatasetException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message, naming the files concerned.</param>
    public SemanticDatasetException(string message) : base(message) { }

    /// <summary>Creates the exception for a lower-level failure.</summary>
    /// <param name="message">The message, naming the files concerned.</param>
    /// <param name="inner">The exception that caused this one.</param>
    public SemanticDatasetException(string message, Exception inner) : base(message, inner) { }
}
