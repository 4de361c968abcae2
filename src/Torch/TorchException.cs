namespace MLNetSeg.Torch;

/// <summary>An error raised by libtorch (shape mismatch, wrong dtype, bad index, ...),
/// carrying torch's own message.</summary>
public sealed class TorchException : Exception
{
    /// <summary>An error with libtorch's (or the native shim's) message; an empty message becomes
    /// "native call failed".</summary>
    public TorchException(string message) : base(string.IsNullOrEmpty(message) ? "native call failed" : message) { }
}
