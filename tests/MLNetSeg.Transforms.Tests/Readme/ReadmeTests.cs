namespace MLNetSeg.Transforms.Tests.Readme;

/// <summary>The README's ML.NET snippets are the compiled code of <see cref="ReadmeSnippets"/>.</summary>
[TestClass]
public sealed class ReadmeTests
{
    private static string RepoFile(params string[] parts)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MLNetSeg.sln"))) dir = dir.Parent;
        Assert.IsNotNull(dir, "repository root not found above " + AppContext.BaseDirectory);
        return Path.Combine(new[] { dir.FullName }.Concat(parts).ToArray());
    }

    /// <summary>The dedented lines between "// snippet: NAME" and "// end snippet".</summary>
    private static string Snippet(string source, string name)
    {
        var lines = source.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        int start = lines.FindIndex(l => l.Trim() == $"// snippet: {name}");
        Assert.IsTrue(start >= 0, $"snippet {name} not found");
        int end = lines.FindIndex(start, l => l.Trim() == "// end snippet");
        var body = lines.Skip(start + 1).Take(end - start - 1).ToList();
        int indent = body.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        return string.Join("\n", body.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));
    }

    [TestMethod]
    public void ReadmeShowsTheCompiledSnippets()
    {
        var source = File.ReadAllText(RepoFile("tests", "MLNetSeg.Transforms.Tests", "Readme", "ReadmeSnippets.cs"));
        var readme = File.ReadAllText(RepoFile("README.md")).Replace("\r\n", "\n");
        foreach (var name in new[] { "mlnet-train", "mlnet-predict", "mlnet-input" })
        {
            var snippet = Snippet(source, name);
            Assert.IsTrue(snippet.Split('\n').Length >= 3, $"snippet {name} is empty");
            StringAssert.Contains(readme, "```csharp\n" + snippet + "\n```", $"README does not show snippet {name} as compiled:\n{snippet}");
        }
    }
}
