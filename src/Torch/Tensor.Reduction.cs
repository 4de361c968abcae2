namespace MLNetSeg.Torch;

// Reductions and scans. A full reduction returns a 0-d tensor; dim overloads drop the dim
// unless keepDim. Max/Min over a dim return (values, indices) like torch.
public sealed partial class Tensor
{
    private static readonly Op SumOp = new("sum"), SumDim = new("sum", "dim_IntList"), MeanOp = new("mean"),
        MeanDim = new("mean", "dim"), MaxOp = new("max"), MaxDim = new("max", "dim"), MinOp = new("min"),
        MinDim = new("min", "dim"), ProdOp = new("prod"), ProdDim = new("prod", "dim_int"), AmaxOp = new("amax"),
        AminOp = new("amin"), ArgmaxOp = new("argmax"), ArgminOp = new("argmin"), AllOp = new("all"),
        AllDim = new("all", "dim"), AnyOp = new("any"), AnyDim = new("any", "dim"), StdOp = new("std"),
        StdDim = new("std", "dim"), VarOp = new("var"), VarDim = new("var", "dim"), CumsumOp = new("cumsum"),
        CumprodOp = new("cumprod"), LogsumexpOp = new("logsumexp"), NormOp = new("norm", "Scalar"),
        NormDim = new("norm", "ScalarOpt_dim"), CountNonzeroOp = new("count_nonzero", "dim_IntList");

    /// <summary>Sum of all elements (integer and bool inputs sum to int64, like torch).</summary>
    public Tensor Sum() => SumOp.Invoke(this);
    /// <summary>Sum over one dimension (torch.sum), which is removed unless <paramref name="keepDim"/>.
    /// <paramref name="dtype"/> (null: torch's choice, int64 for integer and bool inputs) is the
    /// type accumulated in and returned.</summary>
    public Tensor Sum(long dim, bool keepDim = false, DType? dtype = null) => SumDim.Invoke(this, new[] { dim }, keepDim, dtype);
    /// <summary>Sum over several dimensions (torch.sum), removed unless <paramref name="keepDim"/>;
    /// an empty list sums everything. See <see cref="Sum(long, bool, DType?)"/> for <paramref name="dtype"/>.</summary>
    public Tensor Sum(long[] dims, bool keepDim = false, DType? dtype = null) => SumDim.Invoke(this, dims, keepDim, dtype);

    /// <summary>Mean of all elements, as a 0-d tensor (torch.mean). Floating-point inputs only
    /// (<see cref="TorchException"/> for integers: convert first, or pass a dtype to a dim overload).</summary>
    public Tensor Mean() => MeanOp.Invoke(this);
    /// <summary>Mean over one dimension (torch.mean), removed unless <paramref name="keepDim"/>;
    /// computed and returned in <paramref name="dtype"/> when given (needed for integer inputs).</summary>
    public Tensor Mean(long dim, bool keepDim = false, DType? dtype = null) => MeanDim.Invoke(this, new[] { dim }, keepDim, dtype);
    /// <summary>Mean over several dimensions (torch.mean), removed unless <paramref name="keepDim"/>;
    /// computed and returned in <paramref name="dtype"/> when given.</summary>
    public Tensor Mean(long[] dims, bool keepDim = false, DType? dtype = null) => MeanDim.Invoke(this, dims, keepDim, dtype);

    /// <summary>Product of all elements, as a 0-d tensor (torch.prod; integer and bool inputs give int64).</summary>
    public Tensor Prod() => ProdOp.Invoke(this);
    /// <summary>Product over one dimension (torch.prod), removed unless <paramref name="keepDim"/>;
    /// accumulated and returned in <paramref name="dtype"/> when given.</summary>
    public Tensor Prod(long dim, bool keepDim = false, DType? dtype = null) => ProdDim.Invoke(this, dim, keepDim, dtype);

    /// <summary>Largest element (0-d).</summary>
    public Tensor Max() => MaxOp.Invoke(this);

    /// <summary>Largest values along a dim and where they are (the first on ties, as torch on CPU).</summary>
    public (Tensor Values, Tensor Indices) Max(long dim, bool keepDim = false) => Pair(MaxDim.InvokeMany(this, dim, keepDim), "max");

    /// <summary>Elementwise maximum (torch.max(a, b)); same as <see cref="Maximum(Tensor)"/>.</summary>
    public Tensor Max(Tensor other) => Maximum(other);

    /// <summary>Smallest element, as a 0-d tensor (torch.min); fails on an empty tensor.</summary>
    public Tensor Min() => MinOp.Invoke(this);
    /// <summary>Smallest values along a dim and their int64 positions (torch.min(dim); the first on
    /// ties, as torch on CPU). Both are new tensors the caller owns.</summary>
    public (Tensor Values, Tensor Indices) Min(long dim, bool keepDim = false) => Pair(MinDim.InvokeMany(this, dim, keepDim), "min");
    /// <summary>Elementwise minimum (torch.min(a, b)); same as <see cref="Minimum(Tensor)"/>.</summary>
    public Tensor Min(Tensor other) => Minimum(other);

    /// <summary>Maximum over several dims (values only; the gradient is split evenly between ties).</summary>
    public Tensor Amax(params long[] dims) => AmaxOp.Invoke(this, dims, false);
    /// <summary>Maximum over several dims (torch.amax), removed unless <paramref name="keepDim"/>;
    /// an empty list reduces everything. The gradient is split evenly between ties.</summary>
    public Tensor Amax(long[] dims, bool keepDim) => AmaxOp.Invoke(this, dims, keepDim);
    /// <summary>Minimum over several dims (torch.amin; all of them when none are given): values
    /// only, the gradient is split evenly between ties.</summary>
    public Tensor Amin(params long[] dims) => AminOp.Invoke(this, dims, false);
    /// <summary>Minimum over several dims (torch.amin), removed unless <paramref name="keepDim"/>.</summary>
    public Tensor Amin(long[] dims, bool keepDim) => AminOp.Invoke(this, dims, keepDim);

    /// <summary>Index of the largest element: of the flattened tensor when dim is null.</summary>
    public Tensor Argmax(long? dim = null, bool keepDim = false) => ArgmaxOp.Invoke(this, dim, keepDim);
    /// <summary>Index (int64) of the smallest element: of the flattened tensor when dim is null
    /// (torch.argmin).</summary>
    public Tensor Argmin(long? dim = null, bool keepDim = false) => ArgminOp.Invoke(this, dim, keepDim);

    /// <summary>True (0-d bool) when every element is non-zero.</summary>
    public Tensor All() => AllOp.Invoke(this);
    /// <summary>Whether every element along a dim is non-zero (torch.all(dim)), as bool.</summary>
    public Tensor All(long dim, bool keepDim = false) => AllDim.Invoke(this, dim, keepDim);
    /// <summary>True (0-d bool) when at least one element is non-zero (torch.any).</summary>
    public Tensor Any() => AnyOp.Invoke(this);
    /// <summary>Whether some element along a dim is non-zero (torch.any(dim)), as bool.</summary>
    public Tensor Any(long dim, bool keepDim = false) => AnyDim.Invoke(this, dim, keepDim);

    /// <summary>Number of non-zero elements over the given dims (all when none).</summary>
    public Tensor CountNonzero(params long[] dims) => CountNonzeroOp.Invoke(this, dims);

    /// <summary>Standard deviation; unbiased divides by N − 1 (torch's default).</summary>
    public Tensor Std(bool unbiased = true) => StdOp.Invoke(this, unbiased);
    /// <summary>Standard deviation over one dim (torch.std), removed unless <paramref name="keepDim"/>;
    /// <paramref name="unbiased"/> divides by N − 1.</summary>
    public Tensor Std(long dim, bool unbiased = true, bool keepDim = false) => StdDim.Invoke(this, new[] { dim }, unbiased, keepDim);
    /// <summary>Standard deviation over several dims (torch.std), removed unless <paramref name="keepDim"/>;
    /// <paramref name="unbiased"/> divides by N − 1.</summary>
    public Tensor Std(long[] dims, bool unbiased = true, bool keepDim = false) => StdDim.Invoke(this, dims, unbiased, keepDim);
    /// <summary>Variance of all elements (torch.var); <paramref name="unbiased"/> divides by N − 1.</summary>
    public Tensor Var(bool unbiased = true) => VarOp.Invoke(this, unbiased);
    /// <summary>Variance over one dim (torch.var), removed unless <paramref name="keepDim"/>;
    /// <paramref name="unbiased"/> divides by N − 1.</summary>
    public Tensor Var(long dim, bool unbiased = true, bool keepDim = false) => VarDim.Invoke(this, new[] { dim }, unbiased, keepDim);
    /// <summary>Variance over several dims (torch.var), removed unless <paramref name="keepDim"/>;
    /// <paramref name="unbiased"/> divides by N − 1.</summary>
    public Tensor Var(long[] dims, bool unbiased = true, bool keepDim = false) => VarDim.Invoke(this, dims, unbiased, keepDim);

    /// <summary>p-norm of all elements (2 by default).</summary>
    public Tensor Norm(double p = 2) => NormOp.Invoke(this, p);
    /// <summary>p-norm over the given dims (torch.norm(p, dim)), removed unless <paramref name="keepDim"/>;
    /// <paramref name="p"/> may be <see cref="double.PositiveInfinity"/> for the max-norm.</summary>
    public Tensor Norm(double p, long[] dims, bool keepDim = false) => NormDim.Invoke(this, p, dims, keepDim);

    /// <summary>log(Σ exp(x)) over dims, computed stably.</summary>
    public Tensor Logsumexp(long dim, bool keepDim = false) => LogsumexpOp.Invoke(this, new[] { dim }, keepDim);

    /// <summary>Running sum along a dim.</summary>
    public Tensor Cumsum(long dim, DType? dtype = null) => CumsumOp.Invoke(this, dim, dtype);
    /// <summary>Running product along a dim (torch.cumprod), same shape as this; accumulated in
    /// <paramref name="dtype"/> when given.</summary>
    public Tensor Cumprod(long dim, DType? dtype = null) => CumprodOp.Invoke(this, dim, dtype);

    private static (Tensor, Tensor) Pair(Tensor?[] results, string op) =>
        results is [Tensor a, Tensor b] ? (a, b) : throw new TorchException($"{op} returned {results.Length} results, expected values and indices");
}
