namespace MLNetSeg.Torch;

// Matrix products (through libtorch's BLAS).
public sealed partial class Tensor
{
    private static readonly Op MatmulOp = new("matmul"), MmOp = new("mm"), BmmOp = new("bmm"), OuterOp = new("outer"),
        DotOp = new("dot"), EinsumOp = new("einsum");

    /// <summary>torch.matmul: dot, matrix-vector, matrix-matrix or batched with broadcasting, by the operands' dims.</summary>
    public Tensor Matmul(Tensor other) => MatmulOp.Invoke(this, other);

    /// <summary>[n, m] × [m, p] → [n, p].</summary>
    public Tensor Mm(Tensor other) => MmOp.Invoke(this, other);

    /// <summary>[b, n, m] × [b, m, p] → [b, n, p].</summary>
    public Tensor Bmm(Tensor other) => BmmOp.Invoke(this, other);

    /// <summary>Outer product of two 1-d tensors.</summary>
    public Tensor Outer(Tensor other) => OuterOp.Invoke(this, other);

    /// <summary>Inner product of two 1-d tensors (0-d result).</summary>
    public Tensor Dot(Tensor other) => DotOp.Invoke(this, other);

    /// <summary>Einstein summation, e.g. Einsum("bij,bjk->bik", a, b).</summary>
    public static Tensor Einsum(string equation, params Tensor[] operands) =>
        EinsumOp.Invoke(equation, ToArgList(operands, "Einsum"));
}
