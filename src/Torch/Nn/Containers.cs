using System.Collections;

namespace MLNetSeg.Torch.Nn;

/// <summary>Modules applied one after another (torch.nn.Sequential); children are named
/// "0", "1", ... unless names are given.</summary>
public sealed class Sequential : Module<Tensor, Tensor>, IReadOnlyList<Module<Tensor, Tensor>>
{
    private readonly List<Module<Tensor, Tensor>> layers = new();

    public Sequential(params Module<Tensor, Tensor>[] modules)
    {
        foreach (var m in modules) Append(m);
    }

    public Sequential(IEnumerable<(string Name, Module<Tensor, Tensor> Module)> modules)
    {
        foreach (var (name, m) in modules) Add(name, m);
    }

    /// <summary>Adds a module named by its position.</summary>
    public Sequential Append(Module<Tensor, Tensor> module) => Add(layers.Count.ToString(), module);

    public Sequential Add(string name, Module<Tensor, Tensor> module)
    {
        layers.Add(RegisterModule(name, module));
        return this;
    }

    public Module<Tensor, Tensor> this[int index] => layers[index];
    public int Count => layers.Count;
    public IEnumerator<Module<Tensor, Tensor>> GetEnumerator() => layers.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

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

    public ModuleList(params T[] modules)
    {
        foreach (var m in modules) Add(m);
    }

    public ModuleList(IEnumerable<T> modules)
    {
        foreach (var m in modules) Add(m);
    }

    public void Add(T module) => items.Add(RegisterModule(items.Count.ToString(), module));

    public T this[int index] => items[index];
    public int Count => items.Count;
    public IEnumerator<T> GetEnumerator() => items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Child modules by name, in insertion order (torch.nn.ModuleDict).</summary>
public sealed class ModuleDict<T> : Module, IReadOnlyDictionary<string, T> where T : Module
{
    private readonly OrderedDictionary<string, T> items = new();

    public ModuleDict() { }

    public ModuleDict(IEnumerable<KeyValuePair<string, T>> modules)
    {
        foreach (var (name, m) in modules) Add(name, m);
    }

    public void Add(string name, T module) => items.Add(name, RegisterModule(name, module));

    public T this[string key] => items.TryGetValue(key, out var m) ? m
        : throw new KeyNotFoundException($"ModuleDict has no module '{key}' (has: {string.Join(", ", items.Keys)})");

    public IEnumerable<string> Keys => items.Keys;
    public IEnumerable<T> Values => items.Values;
    public int Count => items.Count;
    public bool ContainsKey(string key) => items.ContainsKey(key);
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T value) => items.TryGetValue(key, out value);
    public IEnumerator<KeyValuePair<string, T>> GetEnumerator() => items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
