namespace MLNetSeg.Onnx.Runtime;

/// <summary>An ONNX file that cannot be used: missing, not ONNX, truncated, not an MLNetSeg export, or
/// made for a newer interface. The message names the file.</summary>
public sealed class OnnxModelException : Exception
{
    /// <summary>Creates the exception for <paramref name="path"/>.</summary>
    public OnnxModelException(string path, string message, Exception? inner = null) : base($"{path}: {message}", inner) => Path = path;

    /// <summary>The file concerned.</summary>
    public string Path { get; }
}
