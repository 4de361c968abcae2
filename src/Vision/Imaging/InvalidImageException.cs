namespace MLNetSeg.Vision.Imaging;

/// <summary>An image file (or buffer) that cannot be decoded: corrupt, truncated, an
/// unsupported format or bit depth. <see cref="FileName"/> names the file or buffer.</summary>
public sealed class InvalidImageException : IOException
{
    /// <summary>Creates the exception; its message is "<paramref name="fileName"/>: <paramref name="reason"/>".</summary>
    /// <param name="fileName">The file path, or the name given to the decoded buffer.</param>
    /// <param name="reason">What is wrong, without the file name.</param>
    /// <param name="inner">The decoder's own error, if any.</param>
    public InvalidImageException(string fileName, string reason, Exception? inner = null)
        : base($"{fileName}: {reason}", inner)
    {
        FileName = fileName;
        Reason = reason;
    }

    /// <summary>The file path, or the name given to <see cref="ImageIO.Decode"/>.</summary>
    public string FileName { get; }

    /// <summary>What is wrong, without the file name.</summary>
    public string Reason { get; }
}
