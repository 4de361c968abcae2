using System.Text.Json;
using MLNetSeg.Fuzz;
using MLNetSeg.Tests.Shared;

namespace MLNetSeg.Reliability.Tests.Fuzz;

/// <summary>
/// The fuzz smoke of the test suite (docs/reliability.md): every target's seeds, then its
/// <see cref="FuzzTarget.SmokeExecutions"/> mutated inputs, in a child process (tests/Tools/Fuzz),
/// so that a native abort or a hang is reported with the input that caused it instead of taking the
/// test host down. Plus every saved regression input, replayed in-process.
/// </summary>
[TestClass]
public sealed class FuzzSmokeTests
{
    public static IEnumerable<object[]> Targets => FuzzTargets.All.Select(t => new object[] { t.Name });

    [TestMethod]
    [DynamicData(nameof(Targets))]
    public void MutatedInputsAreParsedOrCleanlyRejected(string name)
    {
        var target = FuzzTargets.Get(name);
        // Kept when the test fails: the findings (and, after a native abort, the input that caused it).
        string findings = Path.Combine(Path.GetTempPath(), "mlnetseg-fuzz-findings", name);
        if (Directory.Exists(findings)) Directory.Delete(findings, recursive: true);
        var (code, output, errors) = RunHarness("smoke", "--target", name, "--execs", target.SmokeExecutions.ToString(), "--seed", "17", "--findings", findings);
        string lastLine = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
        string leftover = Path.Combine(findings, name, "fuzz-input" + target.Extension);
        Assert.AreNotEqual(3, code, $"a hang: {errors}");
        Assert.IsTrue(code is 0 or 1, $"the harness died (exit {code}), most likely a native abort; the input is {leftover}" +
                                        (File.Exists(leftover) ? $" ({new FileInfo(leftover).Length} bytes, kept)" : "") + $"\n{errors}");
        var report = JsonSerializer.Deserialize<FuzzReport>(lastLine, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })!;
        Assert.AreEqual(0, report.Findings.Count, string.Join("\n\n", report.Findings.Select(f => $"{f.InputPath}: {f.Detail}")));
        Assert.AreEqual(0, code, errors);
        Assert.AreEqual(target.SmokeExecutions, report.Executions, "every mutated input ran");
        Assert.IsTrue(report.Rejected > 0, "some mutated inputs were rejected (else the mutations never reach the parser's checks)");
        Console.WriteLine(lastLine);
        Directory.Delete(findings, recursive: true);
    }

    [TestMethod]
    [DynamicData(nameof(Targets))]
    public void SavedRegressionInputsAreCleanlyRejectedOrParsed(string name)
    {
        var target = FuzzTargets.Get(name);
        var seeds = FuzzTargets.Seeds(target, FuzzTargets.DefaultCorpusRoot);
        Assert.IsTrue(seeds.Count > 0, $"{name} has seeds in fixtures/fuzz/{name}/seeds");
        using var dir = new TempDir();
        var runner = new FuzzRunner(target, dir.Path);
        foreach (var seed in seeds)
            Assert.IsNull(runner.Execute(seed, out _, out _), $"{name}: every seed parses");
        foreach (var file in FuzzTargets.Regressions(target, FuzzTargets.DefaultCorpusRoot))
        {
            var outcome = runner.Execute(File.ReadAllBytes(file), out double ms, out long allocated);
            Assert.IsNull(outcome?.Finding, $"{file}: {outcome?.Finding}\n{outcome?.Error}");
            Assert.IsTrue(ms < target.HangLimit.TotalMilliseconds, $"{file} took {ms} ms");
            Assert.IsTrue(allocated <= FuzzRunner.AllocationLimit(new FileInfo(file).Length), $"{file} allocated {allocated} bytes");
        }
    }

    /// <summary>Runs tests/Tools/Fuzz (mlnetseg-fuzz) in a child process.</summary>
    internal static (int Code, string Output, string Errors) RunHarness(params string[] args) => ToolProcess.Run("Fuzz", "mlnetseg-fuzz.dll", args);
}
