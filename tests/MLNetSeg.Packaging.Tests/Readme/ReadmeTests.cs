namespace MLNetSeg.Packaging.Tests.Readme;

/// <summary>
/// Every C# block of the README is compiled code: it equals the lines between a
/// "// snippet: NAME" and "// end snippet" marker pair of <see cref="ReadmeSnippets"/> (and the
/// packages' readmes show snippets from the same file).
/// </summary>
[TestClass]
public sealed class ReadmeTests
{
    [TestMethod]
    public void EveryCSharpBlockOfTheReadmeIsACompiledSnippet()
    {
        var snippets = Snippets(File.ReadAllText(Repo.File("tests", "MLNetSeg.Packaging.Tests", "Readme", "ReadmeSnippets.cs")));
        Assert.IsTrue(snippets.Count >= 6, $"only {snippets.Count} snippets found");
        foreach (var (name, body) in snippets)
            Assert.IsTrue(body.Split('\n').Length >= 3, $"snippet {name} is empty");

        var blocks = CSharpBlocks(File.ReadAllText(Repo.File("README.md")));
        Assert.IsTrue(blocks.Count >= snippets.Count, $"the README has {blocks.Count} C# blocks");
        foreach (var block in blocks)
            Assert.IsTrue(snippets.ContainsValue(block), $"a C# block of the README is not compiled code (ReadmeSnippets.cs):\n{block}");
        foreach (var (name, body) in snippets)
            Assert.IsTrue(blocks.Contains(body), $"the README does not show snippet {name} as compiled:\n{body}");
    }

    [TestMethod]
    public void ThePackageReadmesShowCompiledSnippets()
    {
        var snippets = Snippets(File.ReadAllText(Repo.File("tests", "MLNetSeg.Packaging.Tests", "Readme", "ReadmeSnippets.cs")));
        foreach (var (package, snippet) in new[] { ("MLNetSeg", "csharp-predict"), ("MLNetSeg.MLNet", "mlnet-train") })
        {
            var blocks = CSharpBlocks(File.ReadAllText(Repo.File("packaging", package, "README.md")));
            CollectionAssert.AreEqual(new[] { snippets[snippet] }, blocks, $"packaging/{package}/README.md shows snippet {snippet} as compiled");
        }
    }

    /// <summary>Snippet name → its dedented lines.</summary>
    private static Dictionary<string, string> Snippets(string source)
    {
        var lines = source.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        var result = new Dictionary<string, string>();
        for (int start = 0; start < lines.Count; start++)
        {
            var trimmed = lines[start].Trim();
            if (!trimmed.StartsWith("// snippet: ", StringComparison.Ordinal)) continue;
            int end = lines.FindIndex(start, l => l.Trim() == "// end snippet");
            Assert.IsTrue(end > start, $"snippet {trimmed} has no end marker");
            var body = lines.Skip(start + 1).Take(end - start - 1).ToList();
            int indent = body.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
            result[trimmed["// snippet: ".Length..]] = string.Join("\n", body.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));
        }
        return result;
    }

    private static readonly System.Text.RegularExpressions.Regex UsingDirective = new(@"^using [A-Za-z0-9_.]+;$");

    private static List<string> CSharpBlocks(string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n").Split('\n');
        var blocks = new List<string>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i] != "```csharp") continue;
            int end = Array.IndexOf(lines, "```", i + 1);
            // using directives open a block the way a user's file starts; the snippets begin after them.
            blocks.Add(string.Join("\n", lines[(i + 1)..end].SkipWhile(l => UsingDirective.IsMatch(l) || l.Length == 0)));
            i = end;
        }
        return blocks;
    }
}
