namespace MLNetSeg.Torch.Nn;

/// <summary>
/// A network component with named parameters, buffers and child modules (torch.nn.Module).
/// Subclasses register them explicitly in their constructor; the registered names compose
/// into PyTorch's dotted state-dict keys ("backbone.body.layer1.0.conv1.weight",
/// "bn.running_mean"), so checkpoints map one to one onto PyTorch's.
/// <para>
/// Registered tensors belong to the module: they are removed from any dispose scope and freed
/// by <see cref="Dispose()"/>. Their identity never changes (<see cref="To(Device?, DType?)"/> and
/// <see cref="LoadStateDict"/> work in place), so an optimizer can hold on to them.
/// </para>
/// </summary>
public abstract class Module : IDisposable
{
    private static readonly Op SetDataOp = new("set_data");

    private readonly OrderedDictionary<string, Tensor?> parameters = new();
    private readonly OrderedDictionary<string, Tensor?> buffers = new();
    private readonly HashSet<string> nonPersistentBuffers = new();
    private readonly OrderedDictionary<string, Module> modules = new();
    private bool disposed;

    /// <summary>True in training mode (the default), false after <see cref="Eval"/>.</summary>
    public bool Training { get; private set; } = true;

    // ---- registration

    /// <summary>
    /// Registers a parameter (a leaf tensor that requires grad when floating point) under
    /// <paramref name="name"/>, takes ownership of it and returns it. Null registers an absent
    /// optional parameter (e.g. a disabled bias): the name is taken, nothing is stored.
    /// </summary>
    protected Tensor? RegisterParameter(string name, Tensor? value, bool requiresGrad = true)
    {
        CheckNewName(name);
        if (value is not null)
        {
            if (!value.IsLeaf)
                throw new ArgumentException($"{GetType().Name}: parameter '{name}' must be a leaf tensor (create it under NoGradScope or Detach() it)");
            value.DetachFromDisposeScope();
            if (value.DType.IsFloatingPoint()) value.RequiresGrad = requiresGrad;
        }
        parameters.Add(name, value);
        return value;
    }

    /// <summary>
    /// Registers a buffer (state that is not trained, e.g. running statistics), takes ownership
    /// and returns it. Non-persistent buffers are left out of the state dict.
    /// </summary>
    protected Tensor? RegisterBuffer(string name, Tensor? value, bool persistent = true)
    {
        CheckNewName(name);
        value?.DetachFromDisposeScope();
        buffers.Add(name, value);
        if (!persistent) nonPersistentBuffers.Add(name);
        return value;
    }

    /// <summary>Registers a child module under <paramref name="name"/> and returns it.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        CheckNewName(name);
        modules.Add(name, module);
        return module;
    }

    private void CheckNewName(string name)
    {
        if (string.IsNullOrEmpty(name)) throw new ArgumentException($"{GetType().Name}: a registered name cannot be empty");
        if (name.Contains('.')) throw new ArgumentException($"{GetType().Name}: registered name '{name}' cannot contain '.'");
        if (parameters.ContainsKey(name) || buffers.ContainsKey(name) || modules.ContainsKey(name))
            throw new ArgumentException($"{GetType().Name}: '{name}' is already registered");
    }

    // ---- traversal

    /// <summary>Parameters of this module and (with <paramref name="recurse"/>) its descendants,
    /// with dotted names, each tensor once (a shared parameter is listed under its first name).</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters(bool recurse = true) =>
        NamedMembers(m => m.parameters, recurse);

    /// <summary>The parameter tensors of <see cref="NamedParameters"/>, e.g. to hand to an optimizer.
    /// They are the module's own objects, not copies: do not dispose them.</summary>
    public IEnumerable<Tensor> Parameters(bool recurse = true) => NamedParameters(recurse).Select(p => p.Parameter);

    /// <summary>Buffers (persistent or not) with dotted names, each tensor once.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(bool recurse = true) =>
        NamedMembers(m => m.buffers, recurse);

    /// <summary>The buffer tensors of <see cref="NamedBuffers"/>; the module's own objects.</summary>
    public IEnumerable<Tensor> Buffers(bool recurse = true) => NamedBuffers(recurse).Select(b => b.Buffer);

    /// <summary>Direct children, in registration order.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => modules.Select(kv => (kv.Key, kv.Value));

    /// <summary>The direct child modules, in registration order.</summary>
    public IEnumerable<Module> Children() => modules.Values;

    /// <summary>This module ("") and all descendants, depth first, each module once.</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules()
    {
        var seen = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        return Walk(this, "", seen);

        static IEnumerable<(string, Module)> Walk(Module m, string prefix, HashSet<Module> seen)
        {
            if (!seen.Add(m)) yield break;
            yield return (prefix, m);
            foreach (var (name, child) in m.modules)
                foreach (var item in Walk(child, Join(prefix, name), seen))
                    yield return item;
        }
    }

    /// <summary>This module and all descendants, depth first, each once (see <see cref="NamedModules"/>).</summary>
    public IEnumerable<Module> Modules() => NamedModules().Select(m => m.Module);

    private IEnumerable<(string, Tensor)> NamedMembers(Func<Module, OrderedDictionary<string, Tensor?>> members, bool recurse)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var owners = recurse ? NamedModules() : new[] { ("", this) };
        foreach (var (prefix, module) in owners)
            foreach (var (name, tensor) in members(module))
                if (tensor is not null && seen.Add(tensor))
                    yield return (Join(prefix, name), tensor);
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    // ---- state dict

    /// <summary>
    /// All parameters and persistent buffers under PyTorch's dotted names, in PyTorch's order
    /// (a module's own parameters, then its buffers, then each child's entries). Values are
    /// detached views that share storage with the module; they belong to the current dispose scope.
    /// </summary>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        var result = new OrderedDictionary<string, Tensor>();
        AddState(this, "", result);
        return result;

        static void AddState(Module m, string prefix, OrderedDictionary<string, Tensor> into)
        {
            foreach (var (name, p) in m.parameters)
                if (p is not null) into[prefix + name] = p.Detach();
            foreach (var (name, b) in m.buffers)
                if (b is not null && !m.nonPersistentBuffers.Contains(name)) into[prefix + name] = b.Detach();
            foreach (var (name, child) in m.modules) AddState(child, prefix + name + ".", into);
        }
    }

    /// <summary>
    /// Copies <paramref name="stateDict"/> into the parameters and buffers, in place and without
    /// recording gradients (values are cast to each tensor's dtype and device). Keys are matched
    /// by full dotted name. A tensor whose shape differs always fails; with
    /// <paramref name="strict"/>, missing and unexpected keys fail too. A failure throws a
    /// <see cref="StateDictException"/> naming every offending key; entries that matched have
    /// been copied by then. Returns the missing and unexpected keys.
    /// </summary>
    public StateDictLoadResult LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true)
    {
        using var scope = DisposeScope.Enter();  // frees tensors the upgrade hooks and reshapes create
        var working = UpgradeLegacyKeys(stateDict);
        var expected = new HashSet<string>(StringComparer.Ordinal);
        var missing = new List<string>();
        var mismatched = new List<string>();
        LoadInto(this, "", working, expected, missing, mismatched);
        var unexpected = working.Keys.Where(k => !expected.Contains(k)).ToList();
        if (mismatched.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
            throw new StateDictException(GetType().Name, missing, strict ? unexpected : new List<string>(), mismatched);
        return new StateDictLoadResult(missing, unexpected);

        static void LoadInto(Module m, string prefix, OrderedDictionary<string, Tensor> dict, HashSet<string> expected,
            List<string> missing, List<string> mismatched)
        {
            var local = m.parameters.Where(kv => kv.Value is not null)
                .Concat(m.buffers.Where(kv => kv.Value is not null && !m.nonPersistentBuffers.Contains(kv.Key)));
            foreach (var (name, target) in local)
            {
                var key = prefix + name;
                expected.Add(key);
                if (!dict.TryGetValue(key, out var source)) { missing.Add(key); continue; }
                var tshape = target!.Shape;
                var sshape = source.Shape;
                // PyTorch accepts a 1-element vector for a scalar (checkpoints from torch 0.3).
                if (tshape.Length == 0 && sshape.Length == 1 && sshape[0] == 1) { source = source.Reshape(); sshape = tshape; }
                if (!tshape.SequenceEqual(sshape))
                {
                    mismatched.Add($"size mismatch for {key}: copying a tensor with shape [{string.Join(", ", sshape)}] from the " +
                                   $"checkpoint, the shape in the current model is [{string.Join(", ", tshape)}]");
                    continue;
                }
                using (NoGradScope.Enter()) target.CopyFrom(source);
            }
            foreach (var (name, child) in m.modules) LoadInto(child, prefix + name + ".", dict, expected, missing, mismatched);
        }
    }

    /// <summary>
    /// <paramref name="stateDict"/> as this module will load it: every module's legacy-upgrade hook
    /// (<see cref="UpgradeStateDict"/>) applied from the root down, so keys are renamed to today's
    /// layout, keys a module ignores are dropped (FrozenBatchNorm2d's num_batches_tracked) and
    /// absent defaults are added. Lets a caller compare names with <see cref="StateDict"/> before
    /// anything is copied. The input is not modified; tensors a hook creates belong to the caller's
    /// <see cref="DisposeScope"/>. Applying it twice changes nothing more.
    /// </summary>
    /// <param name="stateDict">Checkpoint entries by full dotted name.</param>
    /// <returns>A new dictionary, in the input's order where keys were kept.</returns>
    public OrderedDictionary<string, Tensor> UpgradeLegacyKeys(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var working = new OrderedDictionary<string, Tensor>();
        foreach (var (k, v) in stateDict) working[k] = v;
        Upgrade(this, "", working);
        return working;

        // Pre-order, as PyTorch's load hooks: a parent may rename keys its children then see.
        static void Upgrade(Module m, string prefix, OrderedDictionary<string, Tensor> dict)
        {
            m.UpgradeStateDict(prefix, dict);
            foreach (var (name, child) in m.modules) Upgrade(child, prefix + name + ".", dict);
        }
    }

    /// <summary>
    /// Called before this module's entries are loaded, with its key prefix (e.g. "backbone.bn1.").
    /// Override to accept legacy layouts, like PyTorch's _load_from_state_dict hooks: add
    /// defaults for absent keys or drop keys this module ignores.
    /// </summary>
    protected virtual void UpgradeStateDict(string prefix, IDictionary<string, Tensor> stateDict) { }

    // ---- modes, devices, gradients

    /// <summary>Sets training mode on this module and its descendants; returns this.</summary>
    public Module Train(bool training = true)
    {
        foreach (var m in Modules()) m.Training = training;
        return this;
    }

    /// <summary>Evaluation mode (BatchNorm uses running stats, Dropout is off); returns this.</summary>
    public Module Eval() => Train(false);

    /// <summary>
    /// Moves parameters and buffers (and gradients) to <paramref name="device"/> and casts the
    /// floating-point ones to <paramref name="dtype"/>, in place: the tensor objects stay the same.
    /// </summary>
    public Module To(Device? device = null, DType? dtype = null)
    {
        if (dtype is { } d && !d.IsFloatingPoint())
            throw new ArgumentException($"Module.To only casts to floating-point dtypes, not {d}", nameof(dtype));
        using var scope = DisposeScope.Enter();
        using var noGrad = NoGradScope.Enter();
        foreach (var t in Parameters().Concat(Buffers()))
        {
            var target = t.DType.IsFloatingPoint() ? dtype : null;
            var grad = t.Grad;
            SetDataOp.InvokeVoid(t, t.To(target, device));
            if (grad is not null) t.Grad = grad.To(target, device);
        }
        return this;
    }

    /// <summary>Casts the floating-point parameters and buffers to <paramref name="dtype"/> in place,
    /// keeping their device (see <see cref="To(Device?, DType?)"/>).</summary>
    public Module To(DType dtype) => To(null, dtype);

    /// <summary>Clears the gradients of all parameters: drops them (the default, like
    /// PyTorch 2) or fills them with zeros.</summary>
    public void ZeroGrad(bool setToNone = true)
    {
        using var scope = DisposeScope.Enter();
        foreach (var p in Parameters())
        {
            if (setToNone) { p.Grad = null; continue; }
            p.Grad?.Zero_();
        }
    }

    /// <summary>Number of parameter elements (each shared parameter counted once).</summary>
    public long ParameterCount => Parameters().Sum(p => p.NumEl);

    /// <summary>Frees the parameters and buffers of this module and its descendants, and any
    /// tensor a module keeps outside them (see <see cref="Dispose(bool)"/>).</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Frees the registered parameters and buffers and disposes the child modules. A module that
    /// owns tensors it does not register (derived caches, e.g. folded inference weights) overrides
    /// this to free them, then calls the base, so that disposing the model frees every native
    /// tensor it holds instead of leaving them to the finalizer. Called once with true by
    /// <see cref="Dispose()"/> (later calls are ignored here; overrides must tolerate them).
    /// </summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposed || !disposing) return;
        disposed = true;
        foreach (var t in parameters.Values) t?.Dispose();
        foreach (var t in buffers.Values) t?.Dispose();
        foreach (var m in modules.Values) m.Dispose();
    }
}

/// <summary>A module with a typed forward pass.</summary>
public abstract class Module<TInput, TOutput> : Module
{
    /// <summary>Computes the module's output (torch's <c>forward</c>). The tensors it creates, the
    /// intermediates included, belong to the current <see cref="DisposeScope"/> (or to the caller when
    /// none is open); a module may also return its input itself (an in-place ReLU, an empty Sequential).</summary>
    public abstract TOutput Forward(TInput input);
}

/// <summary>Keys that did not line up when loading a state dict.</summary>
/// <param name="MissingKeys">Keys the module expects that the state dict lacks (left unchanged in the module).</param>
/// <param name="UnexpectedKeys">Keys of the state dict the module does not have (ignored).</param>
public sealed record StateDictLoadResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys);

/// <summary>A state dict that does not fit a module; the message names every offending key.</summary>
public sealed class StateDictException : Exception
{
    /// <summary>Builds the exception with PyTorch's message for these keys.</summary>
    /// <param name="moduleName">The module type, for the first line of the message.</param>
    /// <param name="missingKeys">Keys the module expects that the state dict lacks.</param>
    /// <param name="unexpectedKeys">Keys of the state dict the module does not have.</param>
    /// <param name="sizeMismatches">One message per tensor whose shape differs.</param>
    public StateDictException(string moduleName, IReadOnlyList<string> missingKeys, IReadOnlyList<string> unexpectedKeys,
        IReadOnlyList<string> sizeMismatches)
        : base(Describe(moduleName, missingKeys, unexpectedKeys, sizeMismatches))
    {
        MissingKeys = missingKeys;
        UnexpectedKeys = unexpectedKeys;
        SizeMismatches = sizeMismatches;
    }

    /// <summary>Keys the module expects that the state dict lacks.</summary>
    public IReadOnlyList<string> MissingKeys { get; }
    /// <summary>Keys of the state dict the module does not have (empty unless loading was strict).</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; }
    /// <summary>One message per tensor whose shape differs, naming the key and both shapes.</summary>
    public IReadOnlyList<string> SizeMismatches { get; }

    private static string Describe(string module, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> sizes)
    {
        var lines = new List<string> { $"Error(s) in loading state_dict for {module}:" };
        if (missing.Count > 0) lines.Add("Missing key(s) in state_dict: " + string.Join(", ", missing.Select(k => $"\"{k}\"")) + ".");
        if (unexpected.Count > 0) lines.Add("Unexpected key(s) in state_dict: " + string.Join(", ", unexpected.Select(k => $"\"{k}\"")) + ".");
        lines.AddRange(sizes.Select(s => s + "."));
        return string.Join("\n\t", lines);
    }
}
