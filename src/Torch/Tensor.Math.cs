namespace MLNetSeg.Torch;

// Elementwise math, clamping and selection (torch semantics; all differentiable where torch is).
public sealed partial class Tensor
{
    private static readonly Op ExpOp = new("exp"), LogOp = new("log"), SqrtOp = new("sqrt"), RsqrtOp = new("rsqrt"),
        AbsOp = new("abs"), SigmoidOp = new("sigmoid"), TanhOp = new("tanh"), ReluOp = new("relu"),
        FloorOp = new("floor"), CeilOp = new("ceil"), RoundOp = new("round"), RoundDecimalsOp = new("round", "decimals"),
        SignOp = new("sign"), ClampS = new("clamp"), ClampT = new("clamp", "Tensor"),
        ClampMinS = new("clamp_min"), ClampMinT = new("clamp_min", "Tensor"), ClampMaxS = new("clamp_max"),
        ClampMaxT = new("clamp_max", "Tensor"), MaximumOp = new("maximum"), MinimumOp = new("minimum"),
        WhereT = new("where", "self"), WhereScalarOther = new("where", "ScalarOther"),
        WhereScalarSelf = new("where", "ScalarSelf"), WhereScalars = new("where", "Scalar"),
        Log2Op = new("log2"), Log1pOp = new("log1p"), Expm1Op = new("expm1"), SinOp = new("sin"), CosOp = new("cos"),
        SquareOp = new("square"), RemainderS = new("remainder", "Scalar"), FloorDivideS = new("floor_divide", "Scalar"),
        RemainderT = new("remainder", "Tensor"), DivModeT = new("div", "Tensor_mode"), TruncOp = new("trunc");

    public Tensor Exp() => ExpOp.Invoke(this);
    public Tensor Log() => LogOp.Invoke(this);
    public Tensor Log2() => Log2Op.Invoke(this);
    public Tensor Log1p() => Log1pOp.Invoke(this);
    public Tensor Expm1() => Expm1Op.Invoke(this);
    public Tensor Sqrt() => SqrtOp.Invoke(this);
    public Tensor Rsqrt() => RsqrtOp.Invoke(this);
    public Tensor Square() => SquareOp.Invoke(this);
    public Tensor Abs() => AbsOp.Invoke(this);
    public Tensor Sin() => SinOp.Invoke(this);
    public Tensor Cos() => CosOp.Invoke(this);
    public Tensor Sigmoid() => SigmoidOp.Invoke(this);
    public Tensor Tanh() => TanhOp.Invoke(this);
    public Tensor Relu() => ReluOp.Invoke(this);
    public Tensor Floor() => FloorOp.Invoke(this);
    public Tensor Ceil() => CeilOp.Invoke(this);
    public Tensor Trunc() => TruncOp.Invoke(this);

    /// <summary>Rounds half to even (torch.round); with decimals, rounds to that many places.</summary>
    public Tensor Round(long decimals = 0) => decimals == 0 ? RoundOp.Invoke(this) : RoundDecimalsOp.Invoke(this, decimals);

    /// <summary>-1, 0 or 1 per element.</summary>
    public Tensor Sign() => SignOp.Invoke(this);

    /// <summary>Python-style modulo: the result has the sign of the divisor.</summary>
    public Tensor Remainder(double divisor) => RemainderS.Invoke(this, divisor);

    /// <summary>Python-style modulo by a broadcast tensor (torch.remainder); integer tensors stay integer.</summary>
    public Tensor Remainder(Tensor divisor) => RemainderT.Invoke(this, divisor);

    /// <summary>Division rounded towards −∞ (torch.floor_divide).</summary>
    public Tensor FloorDivide(double divisor) => FloorDivideS.Invoke(this, divisor);

    /// <summary>Division by a broadcast tensor rounded towards −∞ (torch.floor_divide, i.e.
    /// torch.div(rounding_mode="floor")); integer tensors stay integer.</summary>
    public Tensor FloorDivide(Tensor divisor) => DivModeT.Invoke(this, divisor, "floor");

    /// <summary>Clamps into [min, max]; a null bound is open. At least one bound must be given.</summary>
    public Tensor Clamp(double? min = null, double? max = null)
    {
        if (min is null && max is null) throw new ArgumentException("Clamp needs at least one of min and max");
        return ClampS.Invoke(this, min, max);
    }

    /// <summary>Clamps elementwise against broadcast tensors of bounds.</summary>
    public Tensor Clamp(Tensor? min, Tensor? max)
    {
        if (min is null && max is null) throw new ArgumentException("Clamp needs at least one of min and max");
        return ClampT.Invoke(this, min, max);
    }

    public Tensor ClampMin(double min) => ClampMinS.Invoke(this, min);
    public Tensor ClampMin(Tensor min) => ClampMinT.Invoke(this, min);
    public Tensor ClampMax(double max) => ClampMaxS.Invoke(this, max);
    public Tensor ClampMax(Tensor max) => ClampMaxT.Invoke(this, max);

    // Integer bounds stay integers (like a Python int), so an int64 tensor clamped by them stays
    // int64, where a double bound would promote it to float, as in torch.
    /// <summary>Clamps into [min, max] with integer bounds.</summary>
    public Tensor Clamp(long min, long max) => ClampS.Invoke(this, min, max);
    public Tensor ClampMin(long min) => ClampMinS.Invoke(this, min);
    public Tensor ClampMax(long max) => ClampMaxS.Invoke(this, max);

    /// <summary>Elementwise maximum of two broadcast tensors (torch.maximum; on ties the gradient is split).</summary>
    public Tensor Maximum(Tensor other) => MaximumOp.Invoke(this, other);
    public Tensor Minimum(Tensor other) => MinimumOp.Invoke(this, other);
    public static Tensor Maximum(Tensor a, Tensor b) => a.Maximum(b);
    public static Tensor Minimum(Tensor a, Tensor b) => a.Minimum(b);

    /// <summary>condition ? a : b elementwise (torch.where), broadcasting all three.</summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b) => WhereT.Invoke(condition, a, b);
    public static Tensor Where(Tensor condition, Tensor a, double b) => WhereScalarOther.Invoke(condition, a, b);
    public static Tensor Where(Tensor condition, double a, Tensor b) => WhereScalarSelf.Invoke(condition, a, b);
    public static Tensor Where(Tensor condition, double a, double b) => WhereScalars.Invoke(condition, a, b);

    /// <summary>condition ? this : other (torch's x.where(condition, other)).</summary>
    public Tensor Where(Tensor condition, Tensor other) => Where(condition, this, other);
}
