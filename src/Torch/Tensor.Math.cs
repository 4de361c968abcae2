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

    /// <summary>eˣ elementwise (torch.exp); integer inputs give float32.</summary>
    public Tensor Exp() => ExpOp.Invoke(this);
    /// <summary>Natural logarithm elementwise (torch.log): log 0 = −∞, negative inputs give NaN;
    /// integer inputs give float32.</summary>
    public Tensor Log() => LogOp.Invoke(this);
    /// <summary>Base-2 logarithm elementwise (torch.log2); integer inputs give float32.</summary>
    public Tensor Log2() => Log2Op.Invoke(this);
    /// <summary>log(1 + x) elementwise, accurate for small x (torch.log1p).</summary>
    public Tensor Log1p() => Log1pOp.Invoke(this);
    /// <summary>eˣ − 1 elementwise, accurate for small x (torch.expm1).</summary>
    public Tensor Expm1() => Expm1Op.Invoke(this);
    /// <summary>√x elementwise (torch.sqrt): negative inputs give NaN; integer inputs give float32.</summary>
    public Tensor Sqrt() => SqrtOp.Invoke(this);
    /// <summary>1/√x elementwise (torch.rsqrt): 0 gives ∞, negative inputs NaN.</summary>
    public Tensor Rsqrt() => RsqrtOp.Invoke(this);
    /// <summary>x² elementwise (torch.square); integer tensors keep their dtype.</summary>
    public Tensor Square() => SquareOp.Invoke(this);
    /// <summary>|x| elementwise (torch.abs); the dtype is kept.</summary>
    public Tensor Abs() => AbsOp.Invoke(this);
    /// <summary>Sine of x in radians, elementwise (torch.sin).</summary>
    public Tensor Sin() => SinOp.Invoke(this);
    /// <summary>Cosine of x in radians, elementwise (torch.cos).</summary>
    public Tensor Cos() => CosOp.Invoke(this);
    /// <summary>The logistic function 1 / (1 + e⁻ˣ) elementwise (torch.sigmoid).</summary>
    public Tensor Sigmoid() => SigmoidOp.Invoke(this);
    /// <summary>Hyperbolic tangent elementwise (torch.tanh).</summary>
    public Tensor Tanh() => TanhOp.Invoke(this);
    /// <summary>max(x, 0) elementwise (torch.relu); the dtype is kept. See
    /// <see cref="Functional.Relu"/> for the in-place variant.</summary>
    public Tensor Relu() => ReluOp.Invoke(this);
    /// <summary>Rounds down to an integral value, elementwise (torch.floor); the dtype is kept.</summary>
    public Tensor Floor() => FloorOp.Invoke(this);
    /// <summary>Rounds up to an integral value, elementwise (torch.ceil); the dtype is kept.</summary>
    public Tensor Ceil() => CeilOp.Invoke(this);
    /// <summary>Rounds towards zero to an integral value, elementwise (torch.trunc); the dtype is kept.</summary>
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

    /// <summary>max(x, min) elementwise (torch.clamp_min); a float bound promotes an integer tensor
    /// to float32.</summary>
    public Tensor ClampMin(double min) => ClampMinS.Invoke(this, min);
    /// <summary>max(x, min) elementwise against a broadcast tensor of lower bounds (torch.clamp_min).</summary>
    public Tensor ClampMin(Tensor min) => ClampMinT.Invoke(this, min);
    /// <summary>min(x, max) elementwise (torch.clamp_max); a float bound promotes an integer tensor
    /// to float32.</summary>
    public Tensor ClampMax(double max) => ClampMaxS.Invoke(this, max);
    /// <summary>min(x, max) elementwise against a broadcast tensor of upper bounds (torch.clamp_max).</summary>
    public Tensor ClampMax(Tensor max) => ClampMaxT.Invoke(this, max);

    // Integer bounds stay integers (like a Python int), so an int64 tensor clamped by them stays
    // int64, where a double bound would promote it to float, as in torch.
    /// <summary>Clamps into [min, max] with integer bounds.</summary>
    public Tensor Clamp(long min, long max) => ClampS.Invoke(this, min, max);
    /// <summary>max(x, min) with an integer bound: integer tensors keep their dtype.</summary>
    public Tensor ClampMin(long min) => ClampMinS.Invoke(this, min);
    /// <summary>min(x, max) with an integer bound: integer tensors keep their dtype.</summary>
    public Tensor ClampMax(long max) => ClampMaxS.Invoke(this, max);

    /// <summary>Elementwise maximum of two broadcast tensors (torch.maximum; on ties the gradient is split).</summary>
    public Tensor Maximum(Tensor other) => MaximumOp.Invoke(this, other);
    /// <summary>Elementwise minimum of two broadcast tensors (torch.minimum; on ties the gradient is split).</summary>
    public Tensor Minimum(Tensor other) => MinimumOp.Invoke(this, other);
    /// <summary>Elementwise maximum of two broadcast tensors (torch.maximum); same as <c>a.Maximum(b)</c>.</summary>
    public static Tensor Maximum(Tensor a, Tensor b) => a.Maximum(b);
    /// <summary>Elementwise minimum of two broadcast tensors (torch.minimum); same as <c>a.Minimum(b)</c>.</summary>
    public static Tensor Minimum(Tensor a, Tensor b) => a.Minimum(b);

    /// <summary>condition ? a : b elementwise (torch.where), broadcasting all three.</summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b) => WhereT.Invoke(condition, a, b);
    /// <summary>condition ? a : b elementwise with a scalar <paramref name="b"/> (torch.where).</summary>
    public static Tensor Where(Tensor condition, Tensor a, double b) => WhereScalarOther.Invoke(condition, a, b);
    /// <summary>condition ? a : b elementwise with a scalar <paramref name="a"/> (torch.where).</summary>
    public static Tensor Where(Tensor condition, double a, Tensor b) => WhereScalarSelf.Invoke(condition, a, b);
    /// <summary>condition ? a : b elementwise with two scalars (torch.where): a float32 tensor
    /// shaped like the condition.</summary>
    public static Tensor Where(Tensor condition, double a, double b) => WhereScalars.Invoke(condition, a, b);

    /// <summary>condition ? this : other (torch's x.where(condition, other)).</summary>
    public Tensor Where(Tensor condition, Tensor other) => Where(condition, this, other);
}
