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

    /// <summary>this == other elementwise with broadcasting (torch.eq); a bool tensor, not
    /// differentiable.</summary>
    public Tensor Eq(Tensor other) => EqT.Invoke(this, other);
    /// <summary>this == other elementwise against a scalar (torch.eq); a bool tensor.</summary>
    public Tensor Eq(double other) => EqS.Invoke(this, other);
    /// <summary>this ≠ other elementwise with broadcasting (torch.ne); a bool tensor.</summary>
    public Tensor Ne(Tensor other) => NeT.Invoke(this, other);
    /// <summary>this ≠ other elementwise against a scalar (torch.ne); a bool tensor.</summary>
    public Tensor Ne(double other) => NeS.Invoke(this, other);
    /// <summary>this &lt; other elementwise with broadcasting (torch.lt); a bool tensor.</summary>
    public Tensor Lt(Tensor other) => LtT.Invoke(this, other);
    /// <summary>this &lt; other elementwise against a scalar (torch.lt); a bool tensor.</summary>
    public Tensor Lt(double other) => LtS.Invoke(this, other);
    /// <summary>this ≤ other elementwise with broadcasting (torch.le); a bool tensor.</summary>
    public Tensor Le(Tensor other) => LeT.Invoke(this, other);
    /// <summary>this ≤ other elementwise against a scalar (torch.le); a bool tensor.</summary>
    public Tensor Le(double other) => LeS.Invoke(this, other);
    /// <summary>this &gt; other elementwise with broadcasting (torch.gt); a bool tensor.</summary>
    public Tensor Gt(Tensor other) => GtT.Invoke(this, other);
    /// <summary>this &gt; other elementwise against a scalar (torch.gt); a bool tensor.</summary>
    public Tensor Gt(double other) => GtS.Invoke(this, other);
    /// <summary>this ≥ other elementwise with broadcasting (torch.ge); a bool tensor.</summary>
    public Tensor Ge(Tensor other) => GeT.Invoke(this, other);
    /// <summary>this ≥ other elementwise against a scalar (torch.ge); a bool tensor.</summary>
    public Tensor Ge(double other) => GeS.Invoke(this, other);

    /// <summary>True where an element is NaN (torch.isnan); a bool tensor.</summary>
    public Tensor IsNan() => IsNanOp.Invoke(this);
    /// <summary>True where an element is neither infinite nor NaN (torch.isfinite); a bool tensor.</summary>
    public Tensor IsFinite() => IsFiniteOp.Invoke(this);

    /// <summary>Elementwise logical and; any dtype, zero is false; the result is bool.</summary>
    public Tensor LogicalAnd(Tensor other) => LogicalAndOp.Invoke(this, other);
    /// <summary>Elementwise logical or with broadcasting (torch.logical_or); zero is false; the result is bool.</summary>
    public Tensor LogicalOr(Tensor other) => LogicalOrOp.Invoke(this, other);
    /// <summary>Elementwise logical exclusive or with broadcasting (torch.logical_xor); the result is bool.</summary>
    public Tensor LogicalXor(Tensor other) => LogicalXorOp.Invoke(this, other);
    /// <summary>Elementwise logical not (torch.logical_not): true where an element is zero; the result is bool.</summary>
    public Tensor LogicalNot() => LogicalNotOp.Invoke(this);

    /// <summary>True when both tensors have the same shape and elements (torch.equal).</summary>
    public bool Equal(Tensor other) => EqualOp.InvokeScalar(this, other) != 0;

    /// <summary>|this − other| ≤ atol + rtol·|other| everywhere (torch.allclose).</summary>
    public bool AllClose(Tensor other, double rtol = 1e-5, double atol = 1e-8, bool equalNan = false) =>
        AllCloseOp.InvokeScalar(this, other, rtol, atol, equalNan) != 0;

    // Like Python's & | ^ ~ on tensors: bitwise ops, which are the logical ones on bool masks.
    /// <summary>Bitwise and of integer or bool tensors with broadcasting (torch.bitwise_and, Python's
    /// <c>a &amp; b</c>): on bool masks, the logical and. Floating-point tensors are refused.</summary>
    public static Tensor operator &(Tensor a, Tensor b) => BitwiseAndOp.Invoke(a, b);
    /// <summary>Bitwise or of integer or bool tensors with broadcasting (torch.bitwise_or, Python's
    /// <c>a | b</c>): on bool masks, the logical or.</summary>
    public static Tensor operator |(Tensor a, Tensor b) => BitwiseOrOp.Invoke(a, b);
    /// <summary>Bitwise exclusive or of integer or bool tensors with broadcasting (torch.bitwise_xor,
    /// Python's <c>a ^ b</c>).</summary>
    public static Tensor operator ^(Tensor a, Tensor b) => BitwiseXorOp.Invoke(a, b);
    /// <summary>Bitwise not (torch.bitwise_not, Python's <c>~a</c>): on a bool mask, the logical not.</summary>
    public static Tensor operator ~(Tensor a) => BitwiseNotOp.Invoke(a);
}
