using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MLNetSeg.Torch.Native;

internal enum ValueTag : int
{
    None = 0, Tensor = 1, Int = 2, Double = 3, Bool = 4, IntList = 5, DoubleList = 6,
    TensorList = 7, String = 8, BoolList = 9, Default = 10, Device = 11,
}

/// <summary>Mirror of <c>mls_value</c>: one boxed argument or result.</summary>
[StructLayout(LayoutKind.Explicit, Size = 80)]
internal unsafe struct NativeValue
{
    internal const int InlineCapacity = 8;
    [FieldOffset(0)] public ValueTag Tag;
    [FieldOffset(4)] public int Length;
    [FieldOffset(8)] public IntPtr Pointer;
    [FieldOffset(8)] public long Int;
    [FieldOffset(8)] public double Double;
    [FieldOffset(16)] public InlineInts Inline;

    [InlineArray(InlineCapacity)]
    internal struct InlineInts { private long element; }
}
