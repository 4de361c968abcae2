using System.Collections;

namespace MLNetSeg.Torch.Nn;

/// <summary>Modules applied one after another (torch.nn.Sequential); children are named
/// "0", "1", ... unless names are given.</summary>
public sealed class Sequential : Module<Tensor, Tensor>, IReadOnlyList<Module<Tensor, Tensor>>
{
    private readonly List<Module<Tensor, Tensor>> layers = new();

    /// <summary>Chains <paramref name="modules"/>, named "0", "1", ... in order.</summary>
    public Sequential(params Module<Tensor, Tensor>[] modules)
    {
        foreach (var m in modules) Append(m);
    }

    /// <summary>Chains named modules; the names become state-dict key segments (e.g. "conv1.weight").</summary>
    public Sequential(IEnumerable<(string Name, Module<Tensor, Tensor> Module)> modules)
    {
        foreach (var (name, m) in modules) Add(name, m);
    }

    /// <summary>Adds a module named by its position.</summary>
    public Sequential Append(Module<Tensor, Tensor> module) => Add(layers.Count.ToString(), module);

    /// <summary>Appends <paramref name="module"/> under <paramref name="name"/> (unique, without '.');
    /// returns this.</summary>
    public Sequential Add(string name, Module<Tensor, Tensor> module)
    {
        layers.Add(RegisterModule(name, module));
        return this;
    }

    /// <summary>The module at position <paramref name="index"/>.</summary>
    public Module<Tensor, Tensor> this[int index] => layers[index];
    /// <summary>Number of modules in the chain.</summary>
    public int Count => layers.Count;
    /// <summary>The modules in order of application.</summary>
    public IEnumerator<Module<Tensor, Tensor>> GetEnumerator() => layers.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Feeds <paramref name="input"/> through each module in turn; the intermediates belong
    /// to the current <see cref="DisposeScope"/> (or to no one, when none is open).</summary>
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var layer in layers) x = layer.Forward(x);
        return x;
    }
}

/// <summary>An indexed list of child modules (torch.nn.ModuleList), named "0", "1", ...</summary>
public sealed class ModuleList<T> : Module, IReadOnlyList<T> where T : Module
{
    private readonly List<T> items = new();

    /// <summary>A list of <paramref name="modules"/>, named "0", "1", ... in order.</summary>
    public ModuleList(params T[] modules)
    {
        foreach (var m in modules) Add(m);
    }

    /// <summary>A list of <paramref name="modules"/>, named "0", "1", ... in order.</summary>
    public ModuleList(IEnumerable<T> modules)
    {
        foreach (var m in modules) Add(m);
    }

    /// <summary>Appends and registers <paramref name="module"/>, named by its position.</summary>
    public void Add(T module) => items.Add(RegisterModule(items.Count.ToString(), module));

    /// <summary>The module at position <paramref name="index"/>.</summary>
    public T this[int index] => items[index];
    /// <summary>Number of modules.</summary>
    public int Count => items.Count;
    /// <summary>The modules in order.</summary>
    public IEnumerator<T> GetEnumerator() => items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Child modules by name, in insertion order (torch.nn.ModuleDict).</summary>
public sealed class ModuleDict<T> : Module, IReadOnlyDictionary<string, T> where T : Module
{
    private readonly OrderedDictionary<string, T> items = new();

    /// <summary>An empty dictionary.</summary>
    public ModuleDict() { }

    /// <summary>Registers <paramref name="modules"/> in the given order.</summary>
    public ModuleDict(IEnumerable<KeyValuePair<string, T>> modules)
    {
        foreach (var (name, m) in modules) Add(name, m);
    }

    /// <summary>Registers <paramref name="module"/> under <paramref name="name"/> (unique, without '.').</summary>
    public void Add(string name, T module) => items.Add(name, RegisterModule(name, module));

    /// <summary>The module named <paramref name="key"/>; <see cref="KeyNotFoundException"/> listing
    /// the names present otherwise.</summary>
    public T this[string key] => items.TryGetValue(key, out var m) ? m
        : throw new KeyNotFoundException($"ModuleDict has no module '{key}' (has: {string.Join(", ", items.Keys)})");

    /// <summary>The names, in insertion order.</summary>
    public IEnumerable<string> Keys => items.Keys;
    /// <summary>The modules, in insertion order.</summary>
    public IEnumerable<T> Values => items.Values;
    /// <summary>Number of modules.</summary>
    public int Count => items.Count;
    /// <summary>Whether a module is registered under <paramref name="key"/>.</summary>
    public bool ContainsKey(string key) => items.ContainsKey(key);
    /// <summary>The module named <paramref name="key"/>, if any.</summary>
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T value) => items.TryGetValue(key, out value);
    /// <summary>The (name, module) pairs in insertion order.</summary>
    public IEnumerator<KeyValuePair<string, T>> GetEnumerator() => items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
