using MLNetSeg.Torch.Native;

namespace MLNetSeg.Torch.Serialization;

/// <summary>
/// The raw-data part every weights format shares: a tensor's bytes streamed in and out in 1 GiB
/// chunks (little-endian, row-major, as safetensors and TorchSharp both store them), and moving a
/// freshly read CPU tensor to its device.
/// </summary>
internal static class TensorBytes
{
    private const int Chunk = 1 << 30;

    /// <summary>The most dimensions a stored tensor may have: libtorch slows to minutes on tensors of
    /// thousands of dimensions, and no model has more than a handful.</summary>
    public const int MaxRank = 64;

    /// <summary>Writes <paramref name="data"/>'s bytes (contiguous) to <paramref name="stream"/>.</summary>
    public static unsafe void Write(Stream stream, Tensor data)
    {
        long bytes = data.NumEl * data.DType.ElementSize();
        if (bytes == 0) return;
        var p = (byte*)NativeMethods.mls_tensor_data_ptr(data.Handle);
        if (p == null) throw new TorchException(NativeMethods.LastError());
        for (long done = 0; done < bytes;)
        {
            int chunk = (int)Math.Min(bytes - done, Chunk);
            stream.Write(new ReadOnlySpan<byte>(p + done, chunk));
            done += chunk;
        }
        GC.KeepAlive(data);
    }

    /// <summary>Fills <paramref name="target"/> with <paramref name="byteLength"/> bytes read at the stream's position; <see cref="EndOfStreamException"/> when the stream ends first.</summary>
    public static unsafe void ReadInto(Stream stream, Tensor target, long byteLength)
    {
        if (byteLength == 0) return;
        var p = (byte*)NativeMethods.mls_tensor_data_ptr(target.Handle);
        if (p == null) throw new TorchException(NativeMethods.LastError());
        for (long done = 0; done < byteLength;)
        {
            int chunk = (int)Math.Min(byteLength - done, Chunk);
            stream.ReadExactly(new Span<byte>(p + done, chunk));
            done += chunk;
        }
        GC.KeepAlive(target);
    }

    /// <summary><paramref name="t"/> on <paramref name="device"/>; the CPU original is disposed.</summary>
    public static Tensor MoveTo(Tensor t, Device device)
    {
        var moved = t.To(device);
        t.Dispose();
        return moved;
    }

    /// <summary>The formats store little-endian bytes and are copied without swapping.</summary>
    public static void EnsureLittleEndian(string format)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException($"{format} I/O needs a little-endian machine");
    }
}
