namespace MLNetSeg.Torch;

// Elementwise arithmetic and its C# operators (broadcasting like torch).
public sealed partial class Tensor
{
    private static readonly Op AddT = new("add", "Tensor"), AddS = new("add", "Scalar"), SubT = new("sub", "Tensor"),
        SubS = new("sub", "Scalar"), RsubS = new("rsub", "Scalar"), MulT = new("mul", "Tensor"), MulS = new("mul", "Scalar"),
        DivT = new("div", "Tensor"), DivS = new("div", "Scalar"), NegOp = new("neg"), PowT = new("pow", "Tensor_Tensor"),
        PowS = new("pow", "Tensor_Scalar"), AddInplaceT = new("add_", "Tensor"), MulInplaceS = new("mul_", "Scalar"),
        ReciprocalOp = new("reciprocal");

    /// <summary>this + alpha·other elementwise, with broadcasting and type promotion (torch.add).
    /// A whole <paramref name="alpha"/> is passed as an integer, so integer tensors accept it.</summary>
    public Tensor Add(Tensor other, double alpha = 1) => AddT.Invoke(this, other, Alpha(alpha));
    /// <summary>this + other with a float scalar (torch.add): an integer tensor promotes to float32.</summary>
    public Tensor Add(double other) => AddS.Invoke(this, other, 1);
    // Integer scalars stay integers (like a Python int), so int64 + 1 stays int64 while
    // int64 + 1.0 promotes to float, as in torch.
    /// <summary>this + other with an integer scalar (torch.add): integer tensors keep their dtype.</summary>
    public Tensor Add(long other) => AddS.Invoke(this, other, 1);
    /// <summary>this − other with an integer scalar (torch.sub): integer tensors keep their dtype.</summary>
    public Tensor Sub(long other) => SubS.Invoke(this, other, 1);
    /// <summary>this · other with an integer scalar (torch.mul): integer tensors keep their dtype.</summary>
    public Tensor Mul(long other) => MulS.Invoke(this, other);
    /// <summary>this − alpha·other elementwise, with broadcasting and type promotion (torch.sub).
    /// Bool tensors are refused (<see cref="TorchException"/>).</summary>
    public Tensor Sub(Tensor other, double alpha = 1) => SubT.Invoke(this, other, Alpha(alpha));
    /// <summary>this − other with a float scalar (torch.sub): an integer tensor promotes to float32.</summary>
    public Tensor Sub(double other) => SubS.Invoke(this, other, 1);
    /// <summary>this · other elementwise, with broadcasting and type promotion (torch.mul).</summary>
    public Tensor Mul(Tensor other) => MulT.Invoke(this, other);
    /// <summary>this · other with a float scalar (torch.mul): an integer tensor promotes to float32.</summary>
    public Tensor Mul(double other) => MulS.Invoke(this, other);
    /// <summary>True division this / other with broadcasting (torch.div): integer inputs give a
    /// float32 result. See <see cref="FloorDivide(Tensor)"/> for integer division.</summary>
    public Tensor Div(Tensor other) => DivT.Invoke(this, other);
    /// <summary>True division by a scalar (torch.div): integer inputs give a float32 result.</summary>
    public Tensor Div(double other) => DivS.Invoke(this, other);
    /// <summary>−this elementwise (torch.neg); bool tensors are refused (<see cref="TorchException"/>).</summary>
    public Tensor Neg() => NegOp.Invoke(this);
    /// <summary>this raised to <paramref name="exponent"/> elementwise, with broadcasting (torch.pow).</summary>
    public Tensor Pow(Tensor exponent) => PowT.Invoke(this, exponent);
    /// <summary>this raised to a scalar power (torch.pow): a float exponent promotes an integer tensor
    /// to float32.</summary>
    public Tensor Pow(double exponent) => PowS.Invoke(this, exponent);
    /// <summary>1 / this elementwise (torch.reciprocal): integer inputs give float32; 1/0 is ∞.</summary>
    public Tensor Reciprocal() => ReciprocalOp.Invoke(this);

    /// <summary>this += alpha * other, in place; returns this.</summary>
    public Tensor Add_(Tensor other, double alpha = 1)
    {
        AddInplaceT.InvokeVoid(this, other, Alpha(alpha));
        return this;
    }

    /// <summary>this ·= other in place (torch's <c>mul_</c>); returns this. A float scalar on an
    /// integer tensor fails (<see cref="TorchException"/>: the float result cannot be stored back).</summary>
    public Tensor Mul_(double other)
    {
        MulInplaceS.InvokeVoid(this, other);
        return this;
    }

    // libtorch rejects a floating-point alpha for integer tensors; a whole alpha goes as an int.
    private static OpArg Alpha(double alpha) => alpha == Math.Floor(alpha) && Math.Abs(alpha) < 1e15 ? (OpArg)(long)alpha : (OpArg)alpha;

    /// <summary>Elementwise a + b with broadcasting (<see cref="Add(Tensor, double)"/>).</summary>
    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);
    /// <summary>a + b with a float scalar (<see cref="Add(double)"/>).</summary>
    public static Tensor operator +(Tensor a, double b) => a.Add(b);
    /// <summary>a + b with a float scalar (<see cref="Add(double)"/>).</summary>
    public static Tensor operator +(double a, Tensor b) => b.Add(a);
    /// <summary>Elementwise a − b with broadcasting (<see cref="Sub(Tensor, double)"/>).</summary>
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);
    /// <summary>a − b with a float scalar (<see cref="Sub(double)"/>).</summary>
    public static Tensor operator -(Tensor a, double b) => a.Sub(b);
    /// <summary>a − b for a float scalar a (torch.rsub): an integer tensor promotes to float32.</summary>
    public static Tensor operator -(double a, Tensor b) => RsubS.Invoke(b, a, 1);
    /// <summary>Elementwise negation (<see cref="Neg"/>).</summary>
    public static Tensor operator -(Tensor a) => a.Neg();
    /// <summary>a + b with an integer scalar (<see cref="Add(long)"/>): integer tensors keep their dtype.</summary>
    public static Tensor operator +(Tensor a, long b) => a.Add(b);
    /// <summary>a + b with an integer scalar (<see cref="Add(long)"/>): integer tensors keep their dtype.</summary>
    public static Tensor operator +(long a, Tensor b) => b.Add(a);
    /// <summary>a − b with an integer scalar (<see cref="Sub(long)"/>): integer tensors keep their dtype.</summary>
    public static Tensor operator -(Tensor a, long b) => a.Sub(b);
    /// <summary>a − b for an integer scalar a (torch.rsub): integer tensors keep their dtype.</summary>
    public static Tensor operator -(long a, Tensor b) => RsubS.Invoke(b, a, 1);
    /// <summary>a · b with an integer scalar (<see cref="Mul(long)"/>): integer tensors keep their dtype.</summary>
    public static Tensor operator *(Tensor a, long b) => a.Mul(b);
    /// <summary>a · b with an integer scalar (<see cref="Mul(long)"/>): integer tensors keep their dtype.</summary>
    public static Tensor operator *(long a, Tensor b) => b.Mul(a);
    /// <summary>Elementwise a · b with broadcasting (<see cref="Mul(Tensor)"/>).</summary>
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);
    /// <summary>a · b with a float scalar (<see cref="Mul(double)"/>).</summary>
    public static Tensor operator *(Tensor a, double b) => a.Mul(b);
    /// <summary>a · b with a float scalar (<see cref="Mul(double)"/>).</summary>
    public static Tensor operator *(double a, Tensor b) => b.Mul(a);
    /// <summary>Elementwise true division a / b with broadcasting (<see cref="Div(Tensor)"/>).</summary>
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);
    /// <summary>True division by a scalar (<see cref="Div(double)"/>).</summary>
    public static Tensor operator /(Tensor a, double b) => a.Div(b);
    /// <summary>a / b for a scalar a, computed as b.reciprocal() · a exactly as torch's
    /// <c>__rtruediv__</c> does (so it rounds the same way).</summary>
    public static Tensor operator /(double a, Tensor b)
    {
        using var reciprocal = b.Reciprocal();
        return reciprocal.Mul(a);
    }
}
