namespace MLNetSeg.Torch;

/// <summary>
/// Frees native tensors deterministically: every tensor created on this thread while the
/// scope is the innermost one is disposed with the scope, except those moved out
/// (<see cref="MoveToOuter(Tensor)"/>) or detached (<see cref="Tensor.DetachFromDisposeScope"/>).
/// <code>using (var scope = DisposeScope.Enter()) { var y = f(x); result = scope.MoveToOuter(y); }</code>
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? current;
    private readonly DisposeScope? outer;
    private readonly List<Tensor> owned = new();
    private bool disposed;

    private DisposeScope(DisposeScope? outer) => this.outer = outer;

    /// <summary>The innermost open scope on this thread, or null.</summary>
    public static DisposeScope? Current => current;

    /// <summary>Opens a scope nested in the current one (if any) and makes it the innermost scope of
    /// this thread. Dispose it on the same thread, in reverse order of opening (a <c>using</c> does).</summary>
    public static DisposeScope Enter() => current = new DisposeScope(current);

    /// <summary>Number of live tensors this scope will dispose.</summary>
    public int Count => owned.Count(t => ReferenceEquals(t.Scope, this) && !t.IsDisposed);

    internal void Register(Tensor tensor)
    {
        tensor.Scope = this;
        owned.Add(tensor);
    }

    /// <summary>Hands a tensor to the enclosing scope (or to no scope) and returns it.</summary>
    public Tensor MoveToOuter(Tensor tensor)
    {
        if (!ReferenceEquals(tensor.Scope, this)) return tensor;
        tensor.Scope = null;
        outer?.Register(tensor);
        return tensor;
    }

    /// <summary>Hands each of <paramref name="tensors"/> to the enclosing scope (or to no scope), as
    /// <see cref="MoveToOuter(Tensor)"/> does.</summary>
    public void MoveToOuter(IEnumerable<Tensor> tensors)
    {
        foreach (var t in tensors) MoveToOuter(t);
    }

    /// <summary>Disposes every tensor this scope still owns and makes the enclosing scope the current
    /// one again. Later calls do nothing.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var t in owned)
            if (ReferenceEquals(t.Scope, this)) t.Dispose();
        owned.Clear();
        // Scopes must nest; restoring the outer keeps a mis-ordered dispose from leaking the
        // rest of the stack onto a dead scope.
        if (ReferenceEquals(current, this)) current = outer;
    }
}
