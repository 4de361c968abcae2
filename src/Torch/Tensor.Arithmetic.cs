namespace MLNetSeg.Torch;

// Elementwise arithmetic and its C# operators (broadcasting like torch).
public sealed partial class Tensor
{
    private static readonly Op AddT = new("add", "Tensor"), AddS = new("add", "Scalar"), SubT = new("sub", "Tensor"),
        SubS = new("sub", "Scalar"), RsubS = new("rsub", "Scalar"), MulT = new("mul", "Tensor"), MulS = new("mul", "Scalar"),
        DivT = new("div", "Tensor"), DivS = new("div", "Scalar"), NegOp = new("neg"), PowT = new("pow", "Tensor_Tensor"),
        PowS = new("pow", "Tensor_Scalar"), AddInplaceT = new("add_", "Tensor"), MulInplaceS = new("mul_", "Scalar"),
        ReciprocalOp = new("reciprocal");

    public Tensor Add(Tensor other, double alpha = 1) => AddT.Invoke(this, other, Alpha(alpha));
    public Tensor Add(double other) => AddS.Invoke(this, other, 1);
    // Integer scalars stay integers (like a Python int), so int64 + 1 stays int64 while
    // int64 + 1.0 promotes to float, as in torch.
    public Tensor Add(long other) => AddS.Invoke(this, other, 1);
    public Tensor Sub(long other) => SubS.Invoke(this, other, 1);
    public Tensor Mul(long other) => MulS.Invoke(this, other);
    public Tensor Sub(Tensor other, double alpha = 1) => SubT.Invoke(this, other, Alpha(alpha));
    public Tensor Sub(double other) => SubS.Invoke(this, other, 1);
    public Tensor Mul(Tensor other) => MulT.Invoke(this, other);
    public Tensor Mul(double other) => MulS.Invoke(this, other);
    public Tensor Div(Tensor other) => DivT.Invoke(this, other);
    public Tensor Div(double other) => DivS.Invoke(this, other);
    public Tensor Neg() => NegOp.Invoke(this);
    public Tensor Pow(Tensor exponent) => PowT.Invoke(this, exponent);
    public Tensor Pow(double exponent) => PowS.Invoke(this, exponent);
    public Tensor Reciprocal() => ReciprocalOp.Invoke(this);

    /// <summary>this += alpha * other, in place; returns this.</summary>
    public Tensor Add_(Tensor other, double alpha = 1)
    {
        AddInplaceT.InvokeVoid(this, other, Alpha(alpha));
        return this;
    }

    public Tensor Mul_(double other)
    {
        MulInplaceS.InvokeVoid(this, other);
        return this;
    }

    // libtorch rejects a floating-point alpha for integer tensors; a whole alpha goes as an int.
    private static OpArg Alpha(double alpha) => alpha == Math.Floor(alpha) && Math.Abs(alpha) < 1e15 ? (OpArg)(long)alpha : (OpArg)alpha;

    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);
    public static Tensor operator +(Tensor a, double b) => a.Add(b);
    public static Tensor operator +(double a, Tensor b) => b.Add(a);
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);
    public static Tensor operator -(Tensor a, double b) => a.Sub(b);
    public static Tensor operator -(double a, Tensor b) => RsubS.Invoke(b, a, 1);
    public static Tensor operator -(Tensor a) => a.Neg();
    public static Tensor operator +(Tensor a, long b) => a.Add(b);
    public static Tensor operator +(long a, Tensor b) => b.Add(a);
    public static Tensor operator -(Tensor a, long b) => a.Sub(b);
    public static Tensor operator -(long a, Tensor b) => RsubS.Invoke(b, a, 1);
    public static Tensor operator *(Tensor a, long b) => a.Mul(b);
    public static Tensor operator *(long a, Tensor b) => b.Mul(a);
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);
    public static Tensor operator *(Tensor a, double b) => a.Mul(b);
    public static Tensor operator *(double a, Tensor b) => b.Mul(a);
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);
    public static Tensor operator /(Tensor a, double b) => a.Div(b);
    public static Tensor operator /(double a, Tensor b) => b.Reciprocal().Mul(a);
}
