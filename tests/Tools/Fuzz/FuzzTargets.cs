namespace MLNetSeg.Fuzz;

/// <summary>
/// Every parser users feed files to, as a fuzz target (docs/reliability.md lists them with the
/// inputs run). Seeds: tests/fixtures/fuzz/{name}/seeds; regression inputs (every finding, after
/// its fix, with the finding's description in a .finding file beside it): tests/fixtures/fuzz/{name}/regressions.
/// </summary>
public static partial class FuzzTargets
{
    /// <summary>All targets, by name: the data formats (FuzzTargets.Data.cs), then the weight and
    /// model formats (FuzzTargets.Models.cs).</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } = DataTargets().Concat(ModelTargets()).ToArray();

    /// <summary>The target called <paramref name="name"/>.</summary>
    public static FuzzTarget Get(string name) =>
        All.FirstOrDefault(t => t.Name == name)
        ?? throw new ArgumentException($"no fuzz target '{name}'; targets: {string.Join(", ", All.Select(t => t.Name))}", nameof(name));

    /// <summary>The seed corpus of <paramref name="target"/> under <paramref name="corpusRoot"/> (fixtures/fuzz).</summary>
    public static IReadOnlyList<byte[]> Seeds(FuzzTarget target, string corpusRoot) => Files(Path.Combine(corpusRoot, target.Name, "seeds"));

    /// <summary>The saved regression inputs of <paramref name="target"/> (may be none).</summary>
    public static IReadOnlyList<string> Regressions(FuzzTarget target, string corpusRoot)
    {
        var dir = Path.Combine(corpusRoot, target.Name, "regressions");
        return Directory.Exists(dir) ? Directory.GetFiles(dir).Where(f => !f.EndsWith(".finding", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray() : Array.Empty<string>();
    }

    private static IReadOnlyList<byte[]> Files(string dir) =>
        Directory.Exists(dir) ? Directory.GetFiles(dir).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToArray() : Array.Empty<byte[]>();

    /// <summary>fixtures/fuzz next to the running assembly (tests copy tests/fixtures to their output).</summary>
    public static string DefaultCorpusRoot => Path.Combine(AppContext.BaseDirectory, "fixtures", "fuzz");
}
