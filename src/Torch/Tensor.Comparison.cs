namespace MLNetSeg.Torch;

// Comparisons (bool results, broadcasting) and logical/bitwise combinations of masks.
// C#'s == and != keep reference semantics on Tensor; use Eq/Ne (elementwise) or Equal (whole tensor).
public sealed partial class Tensor
{
    private static readonly Op EqT = new("eq", "Tensor"), EqS = new("eq", "Scalar"), NeT = new("ne", "Tensor"),
        NeS = new("ne", "Scalar"), LtT = new("lt", "Tensor"), LtS = new("lt", "Scalar"), LeT = new("le", "Tensor"),
        LeS = new("le", "Scalar"), GtT = new("gt", "Tensor"), GtS = new("gt", "Scalar"), GeT = new("ge", "Tensor"),
        GeS = new("ge", "Scalar"), LogicalAndOp = new("logical_and"), LogicalOrOp = new("logical_or"),
        LogicalNotOp = new("logical_not"), LogicalXorOp = new("logical_xor"), BitwiseAndOp = new("bitwise_and", "Tensor"),
        BitwiseOrOp = new("bitwise_or", "Tensor"), BitwiseXorOp = new("bitwise_xor", "Tensor"), BitwiseNotOp = new("bitwise_not"),
        EqualOp = new("equal"), AllCloseOp = new("allclose"), IsNanOp = new("isnan"), IsFiniteOp = new("isfinite");

    public Tensor Eq(Tensor other) => EqT.Invoke(this, other);
    public Tensor Eq(double other) => EqS.Invoke(this, other);
    public Tensor Ne(Tensor other) => NeT.Invoke(this, other);
    public Tensor Ne(double other) => NeS.Invoke(this, other);
    public Tensor Lt(Tensor other) => LtT.Invoke(this, other);
    public Tensor Lt(double other) => LtS.Invoke(this, other);
    public Tensor Le(Tensor other) => LeT.Invoke(this, other);
    public Tensor Le(double other) => LeS.Invoke(this, other);
    public Tensor Gt(Tensor other) => GtT.Invoke(this, other);
    public Tensor Gt(double other) => GtS.Invoke(this, other);
    public Tensor Ge(Tensor other) => GeT.Invoke(this, other);
    public Tensor Ge(double other) => GeS.Invoke(this, other);

    public Tensor IsNan() => IsNanOp.Invoke(this);
    public Tensor IsFinite() => IsFiniteOp.Invoke(this);

    /// <summary>Elementwise logical and; any dtype, zero is false; the result is bool.</summary>
    public Tensor LogicalAnd(Tensor other) => LogicalAndOp.Invoke(this, other);
    public Tensor LogicalOr(Tensor other) => LogicalOrOp.Invoke(this, other);
    public Tensor LogicalXor(Tensor other) => LogicalXorOp.Invoke(this, other);
    public Tensor LogicalNot() => LogicalNotOp.Invoke(this);

    /// <summary>True when both tensors have the same shape and elements (torch.equal).</summary>
    public bool Equal(Tensor other) => EqualOp.InvokeScalar(this, other) != 0;

    /// <summary>|this − other| ≤ atol + rtol·|other| everywhere (torch.allclose).</summary>
    public bool AllClose(Tensor other, double rtol = 1e-5, double atol = 1e-8, bool equalNan = false) =>
        AllCloseOp.InvokeScalar(this, other, rtol, atol, equalNan) != 0;

    // Like Python's & | ^ ~ on tensors: bitwise ops, which are the logical ones on bool masks.
    public static Tensor operator &(Tensor a, Tensor b) => BitwiseAndOp.Invoke(a, b);
    public static Tensor operator |(Tensor a, Tensor b) => BitwiseOrOp.Invoke(a, b);
    public static Tensor operator ^(Tensor a, Tensor b) => BitwiseXorOp.Invoke(a, b);
    public static Tensor operator ~(Tensor a) => BitwiseNotOp.Invoke(a);
}
