using System.Collections.Concurrent;
using MLNetSeg.Models.MaskLab;
using MLNetSeg.Models.Panoptic;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Models.TensorMask;

namespace MLNetSeg.Models;

/// <summary>
/// The model families this process knows, by name: the one place model files, the trainer, the
/// evaluation and the command line ask. The built-in families are registered below; a family
/// defined elsewhere (another assembly, a test) calls <see cref="Register"/> once before use.
/// </summary>
public static class ModelRegistry
{
    private static readonly ConcurrentDictionary<string, ModelFamily> ByName = new(StringComparer.Ordinal);

    static ModelRegistry()
    {
        // The built-in families: adding one is one line here plus its own folder.
        Register(MaskRcnnFamily.Instance);
        Register(KeypointRcnnFamily.Instance);
        Register(MaskLabFamily.Instance);
        Register(PanopticFamily.Instance);
        Register(TensorMaskFamily.Instance);
    }

    /// <summary>Every registered family, in name order.</summary>
    public static IReadOnlyList<ModelFamily> Families => ByName.Values.OrderBy(f => f.Name, StringComparer.Ordinal).ToArray();

    /// <summary>
    /// Adds <paramref name="family"/>. Registering the same family (same type) again does nothing;
    /// another family under a taken name is an error.
    /// </summary>
    public static void Register(ModelFamily family)
    {
        ArgumentNullException.ThrowIfNull(family);
        string name = family.Name;
        if (string.IsNullOrWhiteSpace(name) || name != name.Trim() || name.Any(char.IsUpper))
            throw new ArgumentException($"family name '{name}' must be non-empty lower case without surrounding spaces", nameof(family));
        var existing = ByName.GetOrAdd(name, family);
        if (existing.GetType() != family.GetType())
            throw new ArgumentException($"family name '{name}' is taken by {existing.GetType().FullName}; {family.GetType().FullName} needs another name", nameof(family));
    }

    /// <summary>Whether a family of that name is registered.</summary>
    public static bool TryGet(string name, out ModelFamily family) => ByName.TryGetValue(name ?? "", out family!);

    /// <summary>The family of that name.</summary>
    /// <exception cref="KeyNotFoundException">No such family; the message lists the registered ones.</exception>
    public static ModelFamily Get(string name) =>
        TryGet(name, out var family) ? family
            : throw new KeyNotFoundException($"no model family '{name}' is registered (known: {string.Join(", ", Families.Select(f => f.Name))})");

    /// <summary>The family that builds <paramref name="options"/>.</summary>
    public static ModelFamily For(ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Get(options.Family);
    }
}
