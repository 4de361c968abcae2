using System.Collections;
using System.Numerics;

namespace MLNetSeg.Torch.Serialization;

/// <summary>
/// A Python dict (or collections.OrderedDict) read from a checkpoint, in insertion order.
/// Keys are what the pickle held: <see cref="string"/>, <see cref="long"/>, <see cref="BigInteger"/>,
/// <see cref="double"/>, <see cref="bool"/>, <c>byte[]</c> or <see cref="CheckpointTuple"/>.
/// Values are checkpoint tree nodes: <see cref="Tensor"/>, <see cref="CheckpointDict"/>,
/// <see cref="List{T}"/> of nodes (a Python list), <see cref="CheckpointTuple"/>, string, long,
/// BigInteger (integers beyond 64 bits), double, bool, <c>byte[]</c> or null (None).
/// </summary>
public sealed class CheckpointDict : IReadOnlyDictionary<object, object?>
{
    private readonly OrderedDictionary<object, object?> items = new();
    private readonly OrderedDictionary<string, object?> attributes = new();

    /// <summary>The value under a string key (KeyNotFoundException naming the key and the keys present).</summary>
    public object? this[string key] =>
        items.TryGetValue(key, out var value) ? value
            : throw new KeyNotFoundException($"no key '{key}' in the dict (keys: {DescribeKeys()})");

    /// <summary>The value under a key of any type (a <see cref="long"/> for a Python int, a
    /// <see cref="CheckpointTuple"/>, ...), matched with <see cref="object.Equals(object?)"/>;
    /// <see cref="KeyNotFoundException"/> listing the keys present otherwise.</summary>
    public object? this[object key] =>
        items.TryGetValue(key, out var value) ? value
            : throw new KeyNotFoundException($"no key {key} in the dict (keys: {DescribeKeys()})");

    /// <summary>
    /// Instance attributes set by the pickle (BUILD), e.g. the <c>_metadata</c> that
    /// nn.Module.state_dict() attaches (per-module versions, used by legacy-upgrade hooks).
    /// </summary>
    public IReadOnlyDictionary<string, object?> Attributes => attributes;

    /// <summary>Number of entries.</summary>
    public int Count => items.Count;
    /// <summary>The keys, in insertion order.</summary>
    public IEnumerable<object> Keys => items.Keys;
    /// <summary>The values, in insertion order.</summary>
    public IEnumerable<object?> Values => items.Values;
    /// <summary>Whether the dict holds <paramref name="key"/>.</summary>
    public bool ContainsKey(object key) => items.ContainsKey(key);
    /// <summary>The value under <paramref name="key"/>, if present.</summary>
    public bool TryGetValue(object key, out object? value) => items.TryGetValue(key, out value);
    /// <summary>The entries in insertion order.</summary>
    public IEnumerator<KeyValuePair<object, object?>> GetEnumerator() => items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal void Set(object key, object? value) => items[key] = value;
    internal void SetAttribute(string name, object? value) => attributes[name] = value;
    internal void SetValueAt(int index, object? value) => items.SetAt(index, value);
    internal object? ValueAt(int index) => items.GetAt(index).Value;

    internal string DescribeKeys(int max = 12)
    {
        var shown = items.Keys.Take(max).Select(k => k is string s ? $"'{s}'" : Convert.ToString(k, System.Globalization.CultureInfo.InvariantCulture));
        return items.Count == 0 ? "none" : string.Join(", ", shown) + (items.Count > max ? $", … ({items.Count} in all)" : "");
    }
}

/// <summary>A Python tuple read from a checkpoint; equal to another tuple with equal items
/// (so tuples work as dict keys, as in Python).</summary>
public sealed class CheckpointTuple : IReadOnlyList<object?>, IEquatable<CheckpointTuple>
{
    private readonly object?[] items;

    internal CheckpointTuple(object?[] items) => this.items = items;

    internal static readonly CheckpointTuple Empty = new(Array.Empty<object?>());

    /// <summary>The item at <paramref name="index"/>.</summary>
    public object? this[int index] => items[index];
    /// <summary>Number of items.</summary>
    public int Count => items.Length;
    /// <summary>The items in order.</summary>
    public IEnumerator<object?> GetEnumerator() => ((IEnumerable<object?>)items).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => items.GetEnumerator();

    internal void SetAt(int index, object? value) => items[index] = value;

    /// <summary>True when <paramref name="other"/> has the same number of items, pairwise equal
    /// (by <see cref="object.Equals(object?, object?)"/>).</summary>
    public bool Equals(CheckpointTuple? other) =>
        other is not null && other.items.Length == items.Length && items.Zip(other.items).All(p => Equals(p.First, p.Second));

    /// <summary>True when <paramref name="obj"/> is an equal <see cref="CheckpointTuple"/>.</summary>
    public override bool Equals(object? obj) => obj is CheckpointTuple t && Equals(t);

    /// <summary>A hash combining the items' hashes, consistent with <see cref="Equals(CheckpointTuple?)"/>.</summary>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var item in items) hash.Add(item);
        return hash.ToHashCode();
    }

    /// <summary>Python-like tuple notation from the items' <c>ToString</c>, e.g. "(1, a, None)"; a
    /// one-item tuple ends in ",)".</summary>
    public override string ToString() => "(" + string.Join(", ", items.Select(i => i?.ToString() ?? "None")) + (items.Length == 1 ? ",)" : ")");
}
