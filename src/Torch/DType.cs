namespace MLNetSeg.Torch;

/// <summary>Element types; the values are c10::ScalarType's.</summary>
public enum DType
{
    /// <summary>Unsigned 8-bit integer (torch.uint8, .NET <see cref="byte"/>); images and masks.</summary>
    UInt8 = 0,
    /// <summary>Signed 8-bit integer (torch.int8, .NET <see cref="sbyte"/>).</summary>
    Int8 = 1,
    /// <summary>Signed 16-bit integer (torch.int16, .NET <see cref="short"/>).</summary>
    Int16 = 2,
    /// <summary>Signed 32-bit integer (torch.int32, .NET <see cref="int"/>).</summary>
    Int32 = 3,
    /// <summary>Signed 64-bit integer (torch.int64, .NET <see cref="long"/>): torch's type for indices and labels.</summary>
    Int64 = 4,
    /// <summary>IEEE half precision (torch.float16, .NET <see cref="Half"/>).</summary>
    Float16 = 5,
    /// <summary>IEEE single precision (torch.float32, .NET <see cref="float"/>): the default for parameters and factories.</summary>
    Float32 = 6,
    /// <summary>IEEE double precision (torch.float64, .NET <see cref="double"/>).</summary>
    Float64 = 7,
    /// <summary>Boolean, one byte per element (torch.bool, .NET <see cref="bool"/>): masks and comparison results.</summary>
    Bool = 11,
    /// <summary>Brain floating point, 8 exponent and 7 mantissa bits (torch.bfloat16); no .NET
    /// element type, so <see cref="Tensor.ToArray{T}"/> cannot read it directly.</summary>
    BFloat16 = 15,
}

/// <summary>Facts about <see cref="DType"/> values and their .NET element types.</summary>
public static class DTypeExtensions
{
    /// <summary>Bytes per element (torch's <c>element_size()</c>).</summary>
    public static int ElementSize(this DType dtype) => dtype switch
    {
        DType.UInt8 or DType.Int8 or DType.Bool => 1,
        DType.Int16 or DType.Float16 or DType.BFloat16 => 2,
        DType.Int32 or DType.Float32 => 4,
        DType.Int64 or DType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>True for float16, bfloat16, float32 and float64 (torch's <c>is_floating_point</c>):
    /// the types that can require grad.</summary>
    public static bool IsFloatingPoint(this DType dtype) =>
        dtype is DType.Float16 or DType.Float32 or DType.Float64 or DType.BFloat16;

    /// <summary>The DType that stores the .NET element type <typeparamref name="T"/>;
    /// <see cref="NotSupportedException"/> for types without one (e.g. <see cref="ushort"/>).</summary>
    public static DType Of<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? DType.Float32 :
        typeof(T) == typeof(double) ? DType.Float64 :
        typeof(T) == typeof(long) ? DType.Int64 :
        typeof(T) == typeof(int) ? DType.Int32 :
        typeof(T) == typeof(byte) ? DType.UInt8 :
        typeof(T) == typeof(sbyte) ? DType.Int8 :
        typeof(T) == typeof(short) ? DType.Int16 :
        typeof(T) == typeof(bool) ? DType.Bool :
        typeof(T) == typeof(Half) ? DType.Float16 :
        throw new NotSupportedException($"no tensor dtype for {typeof(T).Name}");
}
