using System.Diagnostics;
using System.Text.Json;
using MLNetSeg.Data.Synthetic;

namespace MLNetSeg.Reliability.Tests.Faults;

/// <summary>
/// <c>kill -9</c> of <c>mlnetseg compare</c> in its second trial, then the same command again: the finished
/// trial is kept as it was (not retrained), the interrupted one resumes under the budget it was given, and the
/// comparison ends with both candidates ranked.
/// </summary>
[TestClass]
public sealed class CompareKillResumeTests
{
    private static string[] CompareArgs(TinyDataset data, string output) =>
        new[]
        {
            Path.Combine(AppContext.BaseDirectory, "mlnetseg.dll"), "compare", "--train-json", data.TrainJson, "--train-images", data.TrainImages,
            "--val-json", SyntheticDatasetGenerator.InstancesJsonPath(data.Root, "val"), "--val-images", SyntheticDatasetGenerator.ImageDirectory(data.Root, "val"), "--out", output, "--budget", "50s", "--threads", "1", "--workers", "1",
            "--batch-size", "1", "--lr", "0.01", "--warmup", "2", "--seed", "7",
            "--candidate", "r18=maskrcnn", "--candidate", "lab=masklab CropSize=21",
        }.Concat(FaultFixtures.ModelSets.SelectMany(s => new[] { "--set", s })).ToArray();

    [TestMethod]
    public void AComparisonKilledInItsSecondTrialContinuesWithoutRetrainingTheFirst()
    {
        var data = TinyDataset.Shared;
        using var dir = new TempDir();
        string state = Path.Combine(dir.Path, "comparison.json");
        int Finished() => File.Exists(state) ? JsonDocument.Parse(File.ReadAllText(state)).RootElement.GetProperty("Trials").GetArrayLength() : 0;

        using (var run = new ChildProcess("dotnet", CompareArgs(data, dir.Path)))
        {
            var clock = Stopwatch.StartNew();
            while (Finished() < 1)
            {
                if (run.HasExited) Assert.Fail($"the comparison ended (exit {run.ExitCode}) before its first trial was recorded:\n{run.Output}");
                if (clock.Elapsed > TimeSpan.FromSeconds(90)) Assert.Fail($"no trial finished within 90 s:\n{run.Output}");
                Thread.Sleep(50);
            }
            Thread.Sleep(3000);  // into the second trial
            Assert.IsFalse(run.HasExited, $"the comparison ended before the kill:\n{run.Output}");
            run.KillNow();
            Assert.IsTrue(run.WaitForExit(TimeSpan.FromSeconds(30)));
        }
        using var doc = JsonDocument.Parse(File.ReadAllText(state));
        var first = doc.RootElement.GetProperty("Trials")[0];
        string firstModel = first.GetProperty("ModelPath").GetString()!, firstName = first.GetProperty("Candidate").GetString()!;
        var current = doc.RootElement.GetProperty("Current");
        Assert.AreEqual(JsonValueKind.Object, current.ValueKind, "the killed trial is recorded as in progress");
        double plannedSeconds = current.GetProperty("TrainingSeconds").GetDouble();
        var stamp = File.GetLastWriteTimeUtc(firstModel);

        using (var again = new ChildProcess("dotnet", CompareArgs(data, dir.Path)))
        {
            Assert.IsTrue(again.WaitForExit(TimeSpan.FromMinutes(3)), "the continued comparison did not finish in 3 minutes");
            Assert.AreEqual(0, again.ExitCode, again.Output);
            var output = again.Output;
            Assert.IsFalse(output.Contains($"round 1/2: {firstName} trains"), $"the finished trial was trained again:\n{output}");
            StringAssert.Contains(output, $"trains for {plannedSeconds:F0} s", "the interrupted trial resumes under its own budget");
            StringAssert.Contains(output, "best: ");
            StringAssert.Contains(output, $"report: {Path.Combine(dir.Path, "report.html")}");
        }
        StringAssert.Contains(File.ReadAllText(Path.Combine(dir.Path, "report.html")), "<table id=\"trials\">", "the finished comparison's report");
        Assert.AreEqual(stamp, File.GetLastWriteTimeUtc(firstModel), "the first trial's model is untouched");
        var rows = File.ReadAllLines(Path.Combine(dir.Path, "leaderboard.csv"));
        Assert.AreEqual(3, rows.Length, string.Join("\n", rows));
        Assert.AreEqual(3, Finished(), "two trials in round 0, the winner's in round 1");
    }
}
