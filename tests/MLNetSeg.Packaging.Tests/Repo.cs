namespace MLNetSeg.Packaging.Tests;

/// <summary>Paths in the source checkout the tests run from.</summary>
internal static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string File(params string[] parts) => Path.Combine(new[] { Root }.Concat(parts).ToArray());

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "MLNetSeg.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("repository root (MLNetSeg.sln) not found above " + AppContext.BaseDirectory);
    }
}
