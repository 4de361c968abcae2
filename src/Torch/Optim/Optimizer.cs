namespace MLNetSeg.Torch.Optim;

/// <summary>
/// Parameters that share hyper-parameters within an optimizer (a PyTorch param group). The
/// learning rate is mutable so schedulers can drive it.
/// </summary>
public abstract class ParamGroup
{
    /// <summary>Checks and stores the group's parameters and learning rate.</summary>
    /// <param name="parameters">The tensors to optimise: at least one, no nulls (leaf tensors, checked by
    /// the <see cref="Optimizer"/>). The group refers to them; it does not own them.</param>
    /// <param name="learningRate">The step size, non-negative.</param>
    protected ParamGroup(IEnumerable<Tensor> parameters, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters.ToArray();
        if (Parameters.Count == 0) throw new ArgumentException("a parameter group needs at least one parameter");
        if (Parameters.Any(p => p is null)) throw new ArgumentException("a parameter group contains a null parameter");
        if (!(learningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "learning rate must be non-negative");
        LearningRate = learningRate;
    }

    /// <summary>The tensors this group updates, in the order given (which numbers them in state dicts).</summary>
    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>The current learning rate (PyTorch's "lr"); an <see cref="LrScheduler"/> rewrites it
    /// at every step. Must be finite and non-negative (<see cref="ArgumentOutOfRangeException"/>).</summary>
    public double LearningRate
    {
        get => learningRate;
        set
        {
            if (!(value >= 0) || double.IsInfinity(value))
                throw new ArgumentOutOfRangeException(nameof(LearningRate), value, "learning rate must be finite and non-negative");
            learningRate = value;
        }
    }

    private double learningRate;

    /// <summary>The learning rate schedulers scale (PyTorch's initial_lr): set by the first
    /// scheduler attached to the optimizer, restored with its state dict.</summary>
    public double? InitialLearningRate { get; set; }

    /// <summary>The hyper-parameters by PyTorch name ("lr", "momentum", ...; booleans as 0/1).</summary>
    public IReadOnlyDictionary<string, double> Options()
    {
        var options = new Dictionary<string, double> { ["lr"] = LearningRate };
        if (InitialLearningRate is { } initial) options["initial_lr"] = initial;
        WriteOptions(options);
        return options;
    }

    internal void LoadOptions(IReadOnlyDictionary<string, double> options, string where)
    {
        var expected = Options().Keys.Where(k => k != "initial_lr").ToHashSet();
        var missing = expected.Where(k => !options.ContainsKey(k)).ToList();
        var unknown = options.Keys.Where(k => k != "initial_lr" && !expected.Contains(k)).ToList();
        if (missing.Count > 0 || unknown.Count > 0)
            throw new InvalidDataException($"{where}: hyper-parameters do not fit {GetType().Name}" +
                                           (missing.Count > 0 ? $"; missing {string.Join(", ", missing)}" : "") +
                                           (unknown.Count > 0 ? $"; unknown {string.Join(", ", unknown)}" : ""));
        LearningRate = options["lr"];
        InitialLearningRate = options.TryGetValue("initial_lr", out var initial) ? initial : null;
        ReadOptions(options);
    }

    private protected abstract void WriteOptions(IDictionary<string, double> options);
    private protected abstract void ReadOptions(IReadOnlyDictionary<string, double> options);
}

/// <summary>
/// Updates parameters from their gradients (torch.optim.Optimizer). Parameters without a
/// gradient are skipped. Per-parameter state (momentum buffers, moments) lives here and is
/// saved and restored with <see cref="StateDict"/> / <see cref="LoadStateDict"/>, so training
/// resumes exactly.
/// </summary>
public abstract class Optimizer : IDisposable
{
    private readonly Dictionary<Tensor, Dictionary<string, Tensor>> state = new(ReferenceEqualityComparer.Instance);

    /// <summary>Takes the parameter groups; every parameter must be a leaf tensor and appear only once
    /// across them (<see cref="ArgumentException"/> otherwise).</summary>
    protected Optimizer(IEnumerable<ParamGroup> groups)
    {
        var list = groups.ToArray();
        if (list.Length == 0) throw new ArgumentException($"{GetType().Name} got an empty parameter group list");
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var p in list.SelectMany(g => g.Parameters))
        {
            if (!seen.Add(p)) throw new ArgumentException("some parameters appear in more than one parameter group (or twice in one)");
            if (!p.IsLeaf) throw new ArgumentException("an optimizer can only optimize leaf tensors");
        }
        ParamGroups = list;
    }

    /// <summary>The parameter groups, in the order given (PyTorch's <c>param_groups</c>).</summary>
    public IReadOnlyList<ParamGroup> ParamGroups { get; }

    /// <summary>The name saved in state dicts, checked on load ("SGD", "AdamW").</summary>
    public abstract string Name { get; }

    /// <summary>Applies one update to every parameter that has a gradient.</summary>
    public void Step()
    {
        using var scope = DisposeScope.Enter();
        using var noGrad = NoGradScope.Enter();
        foreach (var group in ParamGroups)
            foreach (var p in group.Parameters)
            {
                var grad = p.Grad;
                if (grad is null) continue;
                Update(group, p, grad, State(p));
            }
    }

    /// <summary>One parameter's update, under no-grad inside a dispose scope. Tensors stored in
    /// <paramref name="paramState"/> must be created with <see cref="Keep"/>.</summary>
    protected abstract void Update(ParamGroup group, Tensor parameter, Tensor grad, Dictionary<string, Tensor> paramState);

    /// <summary>Takes a tensor out of the step's dispose scope, for storing in the state.</summary>
    protected static Tensor Keep(Tensor t) => t.DetachFromDisposeScope();

    private Dictionary<string, Tensor> State(Tensor p)
    {
        if (!state.TryGetValue(p, out var s)) state[p] = s = new Dictionary<string, Tensor>();
        return s;
    }

    /// <summary>Drops (default) or zeroes the gradients of all parameters.</summary>
    public void ZeroGrad(bool setToNone = true)
    {
        using var scope = DisposeScope.Enter();
        foreach (var p in ParamGroups.SelectMany(g => g.Parameters))
        {
            if (setToNone) p.Grad = null;
            else p.Grad?.Zero_();
        }
    }

    /// <summary>
    /// The optimizer state in PyTorch's layout: per-parameter state keyed by the parameter's
    /// position across all groups, and each group's hyper-parameters with its positions. State
    /// tensors are detached aliases of the live ones (in the current dispose scope).
    /// </summary>
    public OptimizerStateDict StateDict()
    {
        var perParam = new SortedDictionary<int, IReadOnlyDictionary<string, Tensor>>();
        var groups = new List<ParamGroupState>();
        int index = 0;
        foreach (var g in ParamGroups)
        {
            var indices = new List<int>();
            foreach (var p in g.Parameters)
            {
                if (state.TryGetValue(p, out var s) && s.Count > 0)
                    perParam[index] = s.ToDictionary(kv => kv.Key, kv => kv.Value.Detach());
                indices.Add(index++);
            }
            groups.Add(new ParamGroupState(g.Options(), indices));
        }
        return new OptimizerStateDict(Name, perParam, groups);
    }

    /// <summary>
    /// Restores hyper-parameters and per-parameter state (copied, cast to each parameter's
    /// dtype and device except the step counter). The groups must have the same sizes and the
    /// state tensors the shapes of their parameters; otherwise nothing is changed and the
    /// exception names the group or parameter index.
    /// </summary>
    public void LoadStateDict(OptimizerStateDict stateDict)
    {
        if (stateDict.OptimizerName != Name)
            throw new InvalidDataException($"optimizer state dict is for {stateDict.OptimizerName}, not {Name}");
        if (stateDict.ParamGroups.Count != ParamGroups.Count)
            throw new InvalidDataException($"optimizer state dict has {stateDict.ParamGroups.Count} parameter groups, the optimizer {ParamGroups.Count}");
        var byIndex = new Dictionary<int, Tensor>();
        for (int g = 0; g < ParamGroups.Count; g++)
        {
            var saved = stateDict.ParamGroups[g];
            var group = ParamGroups[g];
            if (saved.Params.Count != group.Parameters.Count)
                throw new InvalidDataException($"optimizer state dict: parameter group {g} holds {saved.Params.Count} parameters, the optimizer's {group.Parameters.Count}");
            for (int i = 0; i < saved.Params.Count; i++) byIndex[saved.Params[i]] = group.Parameters[i];
        }
        foreach (var (index, entries) in stateDict.State)
        {
            if (!byIndex.TryGetValue(index, out var p))
                throw new InvalidDataException($"optimizer state dict: state for parameter {index}, which no group lists");
            foreach (var (key, t) in entries)
                if (key != "step" && !t.Shape.SequenceEqual(p.Shape))
                    throw new InvalidDataException($"optimizer state dict: state.{index}.{key} has shape [{string.Join(", ", t.Shape)}], " +
                                                   $"its parameter [{string.Join(", ", p.Shape)}]");
        }
        // Validate every group's options before changing any, so a failure leaves the optimizer as it was.
        var backup = ParamGroups.Select(g => g.Options()).ToArray();
        try
        {
            for (int g = 0; g < ParamGroups.Count; g++)
                ParamGroups[g].LoadOptions(stateDict.ParamGroups[g].Options, $"optimizer state dict, parameter group {g}");
        }
        catch
        {
            for (int g = 0; g < ParamGroups.Count; g++) ParamGroups[g].LoadOptions(backup[g], "backup");
            throw;
        }
        ClearState();
        using var scope = DisposeScope.Enter();
        using var noGrad = NoGradScope.Enter();
        foreach (var (index, entries) in stateDict.State)
        {
            var p = byIndex[index];
            var s = State(p);
            foreach (var (key, t) in entries)
            {
                var copy = key == "step" ? t.Detach().Clone() : t.Detach().To(p.DType, p.Device, copy: true);
                s[key] = copy.DetachFromDisposeScope();
            }
        }
    }

    private void ClearState()
    {
        foreach (var s in state.Values)
            foreach (var t in s.Values) t.Dispose();
        state.Clear();
    }

    /// <summary>Frees the optimizer state (not the parameters).</summary>
    public void Dispose()
    {
        ClearState();
        GC.SuppressFinalize(this);
    }
}

/// <summary>One parameter group in a state dict: its hyper-parameters and the positions of its parameters.</summary>
/// <param name="Options">The hyper-parameters by PyTorch name ("lr", "momentum", "initial_lr", ...; booleans as 0/1).</param>
/// <param name="Params">The positions of the group's parameters, counted across all groups.</param>
public sealed record ParamGroupState(IReadOnlyDictionary<string, double> Options, IReadOnlyList<int> Params);
