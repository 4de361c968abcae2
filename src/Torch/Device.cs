namespace MLNetSeg.Torch;

/// <summary>Device kinds; the values are c10::DeviceType's.</summary>
public enum DeviceType
{
    /// <summary>The host CPU.</summary>
    Cpu = 0,
    /// <summary>An NVIDIA GPU through CUDA (needs a CUDA build of libtorch).</summary>
    Cuda = 1,
}

/// <summary>Where a tensor lives. Every API that creates tensors takes one, so the same code
/// runs on CUDA when the native engine is built against a CUDA libtorch.</summary>
/// <param name="Type">The kind of device.</param>
/// <param name="Index">The device number (CUDA ordinal); −1 means the current device of that kind.</param>
public readonly record struct Device(DeviceType Type, int Index = -1)
{
    /// <summary>The CPU (torch.device("cpu")).</summary>
    public static readonly Device Cpu = new(DeviceType.Cpu);

    /// <summary>The CUDA device with ordinal <paramref name="index"/> (torch.device("cuda:N")).
    /// A negative ordinal throws <see cref="ArgumentOutOfRangeException"/>, as <see cref="Parse"/> does;
    /// otherwise creating the value checks nothing, and using it on a machine without that GPU fails
    /// in libtorch (<see cref="TorchException"/>).</summary>
    public static Device Cuda(int index = 0) =>
        index >= 0 ? new(DeviceType.Cuda, index) : throw new ArgumentOutOfRangeException(nameof(index), index, "a CUDA device ordinal is 0 or more");

    /// <summary>Parses "cpu", "cuda", "cuda:1".</summary>
    public static Device Parse(string text)
    {
        var s = text.Trim().ToLowerInvariant();
        if (s == "cpu") return Cpu;
        if (s == "cuda") return Cuda();
        if (s.StartsWith("cuda:") && int.TryParse(s.AsSpan(5), out var i) && i >= 0) return Cuda(i);
        throw new FormatException($"'{text}' is not a device (expected cpu, cuda or cuda:N)");
    }

    /// <summary>torch's spelling, which <see cref="Parse"/> reads back: "cpu", "cuda" or "cuda:N".</summary>
    public override string ToString() =>
        Type == DeviceType.Cpu ? "cpu" : Index < 0 ? "cuda" : $"cuda:{Index}";
}
