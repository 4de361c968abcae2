namespace MLNetSeg.Torch;

/// <summary>
/// A cap on the elements the shape factories (<see cref="Tensor.Empty"/>, <see cref="Tensor.Zeros"/>,
/// <see cref="Tensor.Ones"/>, <see cref="Tensor.Full"/>) may create on this thread while the budget is
/// open. A file reader that builds what a file describes (a model from its config) opens one sized by
/// what the file itself holds, so that a damaged or hostile description fails before it allocates
/// gigabytes. Budgets nest; the innermost applies.
/// </summary>
public sealed class AllocationBudget : IDisposable
{
    [ThreadStatic] private static AllocationBudget? current;

    private readonly AllocationBudget? outer;
    private readonly string what;
    private readonly long limit;
    private long used;

    private AllocationBudget(long elements, string what)
    {
        limit = elements;
        this.what = what;
        outer = current;
        current = this;
    }

    /// <summary>Opens a budget of <paramref name="elements"/> on this thread until disposed;
    /// <paramref name="what"/> names it in the error ("the model described by m.mlseg").</summary>
    public static AllocationBudget Enter(long elements, string what) => new(elements, what);

    /// <summary>Counts a tensor of <paramref name="shape"/> against the open budget, if any, before it is created.</summary>
    /// <exception cref="AllocationBudgetException">The budget would be exceeded.</exception>
    internal static void Charge(long[] shape)
    {
        if (current is not { } budget) return;
        long numel = 1;
        try { foreach (var s in shape) numel = checked(numel * Math.Max(s, 0)); }
        catch (OverflowException) { numel = long.MaxValue; }
        if (numel > budget.limit - budget.used)
            throw new AllocationBudgetException($"{budget.what} needs more than the {budget.limit} elements allowed " +
                                                $"(a tensor of [{string.Join(", ", shape)}] after {budget.used})");
        budget.used += numel;
    }

    /// <summary>Closes the budget (the enclosing one, if any, applies again).</summary>
    public void Dispose()
    {
        if (current == this) current = outer;
    }
}

/// <summary>A tensor factory refused to exceed the open <see cref="AllocationBudget"/>.</summary>
public sealed class AllocationBudgetException : InvalidOperationException
{
    /// <summary>Creates the exception with its message.</summary>
    public AllocationBudgetException(string message) : base(message) { }
}
