namespace MLNetSeg.Data.Loading;

/// <summary>
/// A sample whose data cannot be used: the image file is missing, corrupt or truncated, its size
/// disagrees with the annotation file, or one of its annotations is unusable (no box, no
/// segmentation, a segmentation that cannot be rasterised). The message names the image file, the image id and,
/// for annotation problems, the annotation id. <see cref="DataLoaderOptions.SkipBadSamples"/>
/// skips exactly these errors (with a logged warning); anything else stops the run.
/// </summary>
public sealed class BadSampleException : IOException
{
    /// <summary>Creates the exception for one sample.</summary>
    /// <param name="message">The full message, naming the image file, the image id and any annotation id.</param>
    /// <param name="datasetIndex">Position of the sample in the <see cref="DetectionDataset"/>.</param>
    /// <param name="imageId">COCO image id of the sample.</param>
    /// <param name="imagePath">The image file the dataset reads.</param>
    /// <param name="annotationId">The annotation at fault, or null when the image itself is.</param>
    /// <param name="inner">The decoding or rasterisation failure that caused this one, if any.</param>
    public BadSampleException(string message, int datasetIndex, long imageId, string imagePath, long? annotationId = null, Exception? inner = null)
        : base(message, inner)
    {
        DatasetIndex = datasetIndex;
        ImageId = imageId;
        ImagePath = imagePath;
        AnnotationId = annotationId;
    }

    /// <summary>Position of the sample in the <see cref="DetectionDataset"/>.</summary>
    public int DatasetIndex { get; }

    /// <summary>COCO image id of the sample.</summary>
    public long ImageId { get; }

    /// <summary>The image file (the path the dataset reads, possibly not existing).</summary>
    public string ImagePath { get; }

    /// <summary>The annotation at fault, or null when the image itself is.</summary>
    public long? AnnotationId { get; }
}

/// <summary>
/// A failure while turning a (valid) sample into a batch, e.g. a transform that rejects the
/// sample; names the epoch, the batch and the sample. Not skipped by <see cref="DataLoaderOptions.SkipBadSamples"/>:
/// these are configuration or program errors, not bad data.
/// </summary>
public sealed class DataLoaderException : Exception
{
    /// <summary>Creates the exception, wrapping the failure of one sample.</summary>
    /// <param name="message">The message, naming the epoch, the batch and the sample.</param>
    /// <param name="inner">The exception the transform or collation threw.</param>
    public DataLoaderException(string message, Exception inner) : base(message, inner) { }
}
