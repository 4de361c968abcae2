using System.Diagnostics;
using System.Globalization;
using MLNetSeg.Torch.IO;
using MLNetSeg.Training;

namespace MLNetSeg.Reliability.Tests.Faults;

/// <summary>
/// <c>kill -9</c> during training, 20 times in a row, each followed by a resume (docs/reliability.md, "Faults"):
/// the real <c>mlnetseg train</c> runs as a child process and is SIGKILLed at seeded-random moments,
/// some aimed at a checkpoint write (a checkpoint's temporary file is on disk), some just after a
/// metrics.jsonl append (before that iteration's checkpoint), some at a random time in an iteration or
/// during start-up and resume. After each kill every checkpoint on disk loads, the metrics log is
/// well-formed, and the next run resumes from the newest complete checkpoint and removes the stale
/// temporary files. At the end the weights, optimizer and generator state, model file and logged losses
/// equal an uninterrupted run's bit for bit.
/// </summary>
[TestClass]
public sealed class KillResumeTests
{
    /// <summary>Kills in a row (MLNETSEG_KILLS overrides, for tools/reliability/kill_resume.sh).</summary>
    private static int Kills => int.TryParse(Environment.GetEnvironmentVariable("MLNETSEG_KILLS"), out var k) && k > 0 ? k : 20;

    /// <summary>The campaign's seed (MLNETSEG_KILL_SEED overrides).</summary>
    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("MLNETSEG_KILL_SEED"), out var s) ? s : 17;

    /// <summary>Iterations of the run: more than the kills can reach (at most 2 per kill), 16 batches of 1 image an epoch.</summary>
    private static int Iterations => 2 * Kills + 8;

    private enum Aim { CheckpointWrite, MetricsAppend, Iteration, Startup }

    private sealed record KillRecord(int Number, Aim Aim, string Hit, long ResumedFrom, long NewestCheckpointAfter, long LastMetricsIteration, double Seconds);

    private static string[] TrainArgs(TinyDataset data, string output) =>
        new[] { Path.Combine(AppContext.BaseDirectory, "mlnetseg.dll"), "train", "--train-json", data.TrainJson, "--train-images", data.TrainImages,
                "--out", output, "--iterations", Iterations.ToString(CultureInfo.InvariantCulture), "--threads", "1", "--workers", "1",
                "--batch-size", "1", "--lr", "0.01", "--warmup", "2", "--seed", "7", "--checkpoint-period", "1", "--log-period", "1" }
            .Concat(FaultFixtures.ModelSets.SelectMany(s => new[] { "--set", s })).ToArray();

    [TestMethod]
    public void TwentyKillsDuringTrainingEachResumeFromTheLastCompleteCheckpointAndEndBitEqual()
    {
        var data = TinyDataset.Shared;
        using var dir = new TempDir();
        var clock = Stopwatch.StartNew();

        // The reference: one uninterrupted run with the same arguments.
        var straight = dir.Sub("straight");
        using (var run = new ChildProcess("dotnet", TrainArgs(data, straight)))
        {
            Assert.IsTrue(run.WaitForExit(TimeSpan.FromMinutes(3)), "the uninterrupted run did not finish in 3 minutes");
            Assert.AreEqual(0, run.ExitCode, run.Output);
        }
        var straightSeconds = clock.Elapsed.TotalSeconds;

        var killed = dir.Sub("killed");
        var rng = new Random(Seed);
        var records = new List<KillRecord>();
        string[] leftByLastKill = Array.Empty<string>();
        string metricsPath = Path.Combine(killed, MetricsLog.FileName);
        for (int k = 1; k <= Kills; k++)
        {
            var expected = CheckFilesAfterKill(killed, k - 1);
            var aim = (Aim)rng.Next(4);
            int pass = rng.Next(0, 2);          // metrics appends let through before aiming (progress)
            int delayMs = rng.Next(0, 300);     // for Iteration: how far into the next iteration
            int startupMs = rng.Next(0, 2500);  // for Startup: time after the process starts
            var started = Stopwatch.StartNew();
            using var run = new ChildProcess("dotnet", TrainArgs(data, killed));
            long lastLength = File.Exists(metricsPath) ? new FileInfo(metricsPath).Length : -1;
            int grown = 0;
            bool sawTemporary = false;
            var deadline = TimeSpan.FromSeconds(60);
            Stopwatch? sinceAimed = null;
            while (true)
            {
                if (run.HasExited) Assert.Fail($"kill {k}: the run ended by itself (exit {run.ExitCode}) before being killed:\n{run.Output}");
                if (started.Elapsed > deadline) Assert.Fail($"kill {k} ({aim}): nothing to aim at within {deadline}:\n{run.Output}");
                // The checkpoint writer's temporaries; AtomicFile names them ".checkpoint_….ckpt.{pid}.{guid}.tmp".
                bool temporary = Directory.Exists(killed) && Directory.EnumerateFiles(killed, "." + TrainingCheckpoint.Prefix + "*.tmp").Any();
                long length = File.Exists(metricsPath) ? new FileInfo(metricsPath).Length : -1;
                bool appended = length > lastLength && lastLength >= 0 || lastLength < 0 && length > 0;
                lastLength = length;
                if (appended) grown++;
                bool fire = aim switch
                {
                    Aim.Startup => started.ElapsedMilliseconds >= startupMs || grown > 0,
                    Aim.MetricsAppend => appended && grown > pass,
                    Aim.CheckpointWrite => temporary && grown > pass,
                    Aim.Iteration => grown > pass && (sinceAimed ??= Stopwatch.StartNew()).ElapsedMilliseconds >= delayMs,
                    _ => throw new InvalidOperationException(),
                };
                if (fire)
                {
                    sawTemporary = temporary;
                    run.KillNow();
                    break;
                }
                Thread.Yield();
            }
            Assert.IsTrue(run.WaitForExit(TimeSpan.FromSeconds(30)), $"kill {k}: the killed process did not exit");
            Assert.AreNotEqual(0, run.ExitCode, $"kill {k}: the process was killed, not finished");

            // What the kill hit, from what it left on disk.
            var left = FaultFixtures.Temporaries(killed);
            var newest = TrainingCheckpoint.List(killed).Select(c => c.Iteration).DefaultIfEmpty(0).Max();
            long lastLogged = LastCompleteIteration(metricsPath);
            string hit = left.Any(f => Path.GetFileName(f).StartsWith("." + TrainingCheckpoint.Prefix, StringComparison.Ordinal))
                ? "checkpoint write (its temporary file left behind)"
                : sawTemporary ? "checkpoint write (the rename landed before the kill)"
                : grown == 0 ? "start-up/resume (before the first iteration)"
                : lastLogged > newest ? "after a metrics append, before that iteration's checkpoint"
                : "inside an iteration";

            // The run resumed from the newest complete checkpoint the previous kill left, and removed its stale temporaries.
            long resumedFrom = -1;
            var output = run.Output;
            int at = output.IndexOf("training Mask R-CNN", StringComparison.Ordinal);
            var line = at >= 0 ? output[at..].Split('\n')[0] : "";
            // Judged only when the line is whole (it ends "… threads on cpu"): a kill aimed at start-up can
            // cut it mid-write, and the child's reader hands on the cut piece as a line of its own.
            if (line.Contains(" threads on ", StringComparison.Ordinal))
            {
                if (expected.Path is null)
                {
                    StringAssert.Contains(line, "from scratch", $"kill {k}: no checkpoint yet, the run must start afresh");
                    resumedFrom = 0;
                }
                else
                {
                    StringAssert.Contains(line, $"resuming from {expected.Path} (iteration {expected.Iteration},", $"kill {k}: not resumed from the newest checkpoint");
                    resumedFrom = expected.Iteration;
                }
                foreach (var stale in leftByLastKill)
                    Assert.IsFalse(File.Exists(stale), $"kill {k}: the resumed run did not remove the stale temporary file {stale}");
            }
            leftByLastKill = leftByLastKill.Where(File.Exists).Concat(left).Distinct().ToArray();
            records.Add(new KillRecord(k, aim, hit, resumedFrom, newest, lastLogged, started.Elapsed.TotalSeconds));
        }

        // The last run goes to the end.
        var final = CheckFilesAfterKill(killed, Kills);
        using (var run = new ChildProcess("dotnet", TrainArgs(data, killed)))
        {
            Assert.IsTrue(run.WaitForExit(TimeSpan.FromMinutes(3)), "the final run did not finish in 3 minutes");
            Assert.AreEqual(0, run.ExitCode, run.Output);
            StringAssert.Contains(run.Output, final.Path is null ? "from scratch" : $"resuming from {final.Path} (iteration {final.Iteration},");
        }
        var report = string.Join("\n", records.Select(r => string.Create(CultureInfo.InvariantCulture,
            $"kill {r.Number,2}: aimed at {r.Aim,-15} hit: {r.Hit,-58} resumed from {r.ResumedFrom,3}, newest checkpoint after {r.NewestCheckpointAfter,3}, last logged {r.LastMetricsIteration,3} ({r.Seconds:F1} s)")));
        Console.WriteLine(report);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Kills} kills, {Iterations} iterations, seed {Seed}: {clock.Elapsed.TotalSeconds:F0} s in all (the uninterrupted run {straightSeconds:F0} s)"));

        Assert.AreEqual(0, FaultFixtures.Temporaries(killed).Length, "temporary files are left: " + string.Join(", ", FaultFixtures.Temporaries(killed)));
        // Bit-equal ends: model, optimizer and generator state; the model file; the logged losses and learning rates.
        var last = TrainingCheckpoint.FileName(Iterations);
        FaultFixtures.AssertSameTensors(Path.Combine(straight, last), Path.Combine(killed, last));
        FaultFixtures.AssertSameTensors(Path.Combine(straight, "model_final.mlseg"), Path.Combine(killed, "model_final.mlseg"));
        var expectedLog = MetricsLog.Read(Path.Combine(straight, MetricsLog.FileName));
        var actualLog = MetricsLog.Read(metricsPath);
        CollectionAssert.AreEqual(Enumerable.Range(1, Iterations).Select(i => (long)i).ToArray(), actualLog.Select(r => r.Iteration).ToArray(),
            "one line per iteration, in order, none twice, none missing");
        CollectionAssert.AreEqual(expectedLog.Select(r => r.Iteration).ToArray(), actualLog.Select(r => r.Iteration).ToArray());
        for (int i = 0; i < expectedLog.Count; i++)
        {
            foreach (var (name, value) in expectedLog[i].Values.Where(v => v.Key.StartsWith("loss", StringComparison.Ordinal) || v.Key == "lr"))
                Assert.AreEqual(BitConverter.DoubleToInt64Bits(value), BitConverter.DoubleToInt64Bits(actualLog[i].Values[name]),
                    $"iteration {expectedLog[i].Iteration} {name}: uninterrupted {value:R}, killed and resumed {actualLog[i].Values[name]:R}");
        }
        // The comparison can fail: the losses move between iterations.
        Assert.AreNotEqual(expectedLog[^1].Values["loss"], expectedLog[^2].Values["loss"]);
        // Honesty of the campaign: the kills did interrupt the training at many places.
        Assert.IsTrue(records.Select(r => r.ResumedFrom).Where(r => r >= 0).Distinct().Count() >= Kills / 3,
            "the resumed runs started from too few distinct checkpoints: the kills did not spread over the run\n" + report);
    }

    /// <summary>
    /// After a kill: every checkpoint file loads (metadata and every tensor) and says the iteration of its
    /// name; the complete lines of metrics.jsonl parse, with iterations strictly increasing. Returns the newest
    /// checkpoint, which the next run must resume from.
    /// </summary>
    private static (string? Path, long Iteration) CheckFilesAfterKill(string directory, int kill)
    {
        var checkpoints = TrainingCheckpoint.List(directory);
        foreach (var (iteration, path) in checkpoints)
        {
            var info = TrainingCheckpoint.ReadInfo(path);
            Assert.AreEqual(iteration, info.Position.Iteration, $"after kill {kill}: {path}");
            using var scope = MLNetSeg.Torch.DisposeScope.Enter();
            Assert.IsTrue(MLNetSeg.Torch.Serialization.SafeTensors.Load(path).Count > 0, $"after kill {kill}: {path} holds no tensor");
        }
        var metrics = Path.Combine(directory, MetricsLog.FileName);
        if (File.Exists(metrics))
        {
            var records = CompleteRecords(metrics);
            var iterations = records.Select(r => r.Iteration).ToArray();
            for (int i = 1; i < iterations.Length; i++)
                Assert.IsTrue(iterations[i] > iterations[i - 1], $"after kill {kill}: metrics.jsonl iterations not increasing: {string.Join(",", iterations)}");
            if (checkpoints.Count > 0)
                Assert.IsTrue(iterations.Length > 0 && iterations[^1] >= checkpoints[^1].Iteration,
                    $"after kill {kill}: checkpoint {checkpoints[^1].Iteration} is newer than the last metrics line (lines are appended before the checkpoint)");
        }
        return checkpoints.Count == 0 ? (null, 0) : (checkpoints[^1].Path, checkpoints[^1].Iteration);
    }

    /// <summary>The records of the file's complete (newline-terminated) lines: a kill mid-append may leave a torn
    /// last line, which the next run drops; everything before it must parse.</summary>
    private static IReadOnlyList<MetricsRecord> CompleteRecords(string metrics)
    {
        var text = File.ReadAllText(metrics);
        var complete = text[..(text.LastIndexOf('\n') + 1)];
        if (complete.Length != text.Length) Console.WriteLine($"note: {metrics} ends in a torn line ({text.Length - complete.Length} bytes)");
        var copy = Path.Combine(Path.GetDirectoryName(metrics)!, "..", $"metrics-check-{Guid.NewGuid():N}.jsonl");
        AtomicFile.WriteAllText(copy, complete);
        try { return MetricsLog.Read(copy); }
        finally { File.Delete(copy); }
    }

    private static long LastCompleteIteration(string metrics) =>
        File.Exists(metrics) ? CompleteRecords(metrics).Select(r => r.Iteration).DefaultIfEmpty(0).Max() : 0;
}
