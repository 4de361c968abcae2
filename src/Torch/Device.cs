namespace MLNetSeg.Torch;

/// <summary>Device kinds; the values are c10::DeviceType's.</summary>
public enum DeviceType { Cpu = 0, Cuda = 1 }

/// <summary>Where a tensor lives. Every API that creates tensors takes one, so the same code
/// runs on CUDA when the native engine is built against a CUDA libtorch.</summary>
public readonly record struct Device(DeviceType Type, int Index = -1)
{
    public static readonly Device Cpu = new(DeviceType.Cpu);
    public static Device Cuda(int index = 0) => new(DeviceType.Cuda, index);

    /// <summary>Parses "cpu", "cuda", "cuda:1".</summary>
    public static Device Parse(string text)
    {
        var s = text.Trim().ToLowerInvariant();
        if (s == "cpu") return Cpu;
        if (s == "cuda") return Cuda();
        if (s.StartsWith("cuda:") && int.TryParse(s.AsSpan(5), out var i) && i >= 0) return Cuda(i);
        throw new FormatException($"'{text}' is not a device (expected cpu, cuda or cuda:N)");
    }

    public override string ToString() =>
        Type == DeviceType.Cpu ? "cpu" : Index < 0 ? "cuda" : $"cuda:{Index}";
}
