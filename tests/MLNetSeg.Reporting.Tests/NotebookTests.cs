using System.Diagnostics;
using System.Text.Json;

namespace MLNetSeg.Reporting.Tests;

/// <summary>
/// Every notebook of samples/notebooks runs headless from top to bottom in dotnet-repl (the repository's local tool, the
/// .NET Interactive C# kernel) on the tiny set with budgets of seconds (MLNETSEG_NOTEBOOK_QUICK=1): the run must exit 0, and
/// in the executed notebook every code cell must have produced output and none an error, and our formatters' pictures and
/// tables must be among the outputs. The executed notebook is kept as an artifact.
/// </summary>
[TestClass]
public sealed class NotebookTests
{
    public TestContext TestContext { get; set; } = null!;

    private static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "MLNetSeg.sln"))) return dir.FullName;
            throw new DirectoryNotFoundException("repository root (MLNetSeg.sln) not found above " + AppContext.BaseDirectory);
        }
    }

    [TestMethod]
    public void EveryNotebookInTheSamplesIsTested()
    {
        var notebooks = Directory.GetFiles(Path.Combine(RepoRoot, "samples", "notebooks"), "*.ipynb").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        CollectionAssert.AreEqual(new[] { "01-synthetic-data.ipynb", "02-train-and-evaluate.ipynb", "03-compare-models.ipynb", "04-inspect-failures.ipynb" }, notebooks,
            "a new notebook needs a DataRow below");
    }

    [TestMethod]
    [DataRow("01-synthetic-data.ipynb", "data:image/svg+xml;base64,", "<figcaption>")]          // a ScottPlot plot, overlays
    [DataRow("02-train-and-evaluate.ipynb", "<th>metric (", "<figcaption>prediction")]         // the evaluation table, predictions
    [DataRow("03-compare-models.ipynb", "ranked by <b>segm/AP</b>", "report.html")]            // the leaderboard, the report
    [DataRow("04-inspect-failures.ipynb", "false positives</figcaption>", "missed</figcaption>")]
    public void TheNotebookRunsHeadlessWithoutACellError(string notebook, string shown1, string shown2)
    {
        string folder = Path.Combine(RepoRoot, "samples", "notebooks");
        string work = Path.Combine(Path.GetTempPath(), $"mlnetseg-notebook-{Guid.NewGuid():N}");
        string executed = Path.Combine(work, notebook);
        Directory.CreateDirectory(work);
        try
        {
            var start = new ProcessStartInfo("dotnet") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in new[] { "tool", "run", "dotnet-repl", "--", "--run", notebook, "--exit-after-run", "--output-path", executed }) start.ArgumentList.Add(a);
            start.Environment["MLNETSEG_NOTEBOOK_QUICK"] = "1";
            start.Environment["MLNETSEG_NOTEBOOK_OUT"] = work;
            start.Environment["DOTNET_ROLL_FORWARD"] = "Major";
            using var process = Process.Start(start)!;
            var errors = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            Assert.IsTrue(process.WaitForExit(TimeSpan.FromMinutes(5)), $"{notebook} did not finish in 5 minutes");
            Assert.IsTrue(File.Exists(executed), $"dotnet-repl wrote no executed notebook (exit {process.ExitCode}):\n{output}\n{errors.Result}");
            TestContext.AddResultFile(executed);

            using var document = JsonDocument.Parse(File.ReadAllText(executed));
            int codeCells = 0;
            var problems = new List<string>();
            foreach (var (cell, index) in document.RootElement.GetProperty("cells").EnumerateArray().Select((c, i) => (c, i)))
            {
                if (cell.GetProperty("cell_type").GetString() != "code") continue;
                codeCells++;
                var outputs = cell.GetProperty("outputs").EnumerateArray().ToArray();
                string source = string.Concat(cell.GetProperty("source").ValueKind == JsonValueKind.Array
                    ? cell.GetProperty("source").EnumerateArray().Select(s => s.GetString()) : new[] { cell.GetProperty("source").GetString() });
                string firstLine = source.Split('\n')[0];
                foreach (var o in outputs.Where(o => o.GetProperty("output_type").GetString() == "error"))
                    problems.Add($"cell {index} ({firstLine}): {o.GetProperty("evalue").GetString()}");
                // A cell that ends in an expression, a display() or a Console line shows something; one that only disposes may not.
                if (outputs.Length == 0 && !source.TrimEnd().EndsWith("Dispose();", StringComparison.Ordinal))
                    problems.Add($"cell {index} ({firstLine}): no output");
            }
            Assert.IsTrue(codeCells >= 4, $"{notebook} has {codeCells} code cells");
            Assert.AreEqual(0, problems.Count, string.Join("\n", problems));
            // Our formatters drew what they should (the notebook kernel used them, not its default object trees).
            string all = File.ReadAllText(executed);
            foreach (string shown in new[] { shown1, shown2 })
                Assert.IsTrue(all.Contains(JsonEncodedText.Encode(shown).Value, StringComparison.Ordinal) || all.Contains(shown, StringComparison.Ordinal), $"{notebook}: no output shows '{shown}'");
            Assert.AreEqual(0, process.ExitCode, $"dotnet-repl exit code {process.ExitCode}:\n{output}\n{errors.Result}");
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }
}
