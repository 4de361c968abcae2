using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Serialization;
using MLNetSeg.Reliability.Tests.Faults;
using MLNetSeg.Training;

namespace MLNetSeg.Reliability.Tests.Distributed;

/// <summary>
/// <c>mlnetseg train --nproc 2</c> end to end (two real processes over Gloo on the loopback, one thread
/// each): exact resume of a distributed run, rank 0 alone writing, and a killed process making the
/// other stop with a clear error instead of hanging. The averaging itself is checked against one
/// process in MLNetSeg.Torch.Tests' ProcessGroupTests.
/// </summary>
[TestClass]
public sealed class DistributedTrainingTests
{
    private static string[] TrainArgs(TinyDataset data, string output, int iterations, params string[] extra) =>
        new[] { "train", "--train-json", data.TrainJson, "--train-images", data.TrainImages, "--out", output,
                "--iterations", iterations.ToString(CultureInfo.InvariantCulture), "--workers", "1", "--batch-size", "1", "--lr", "0.01",
                "--warmup", "2", "--seed", "7", "--checkpoint-period", "2", "--log-period", "1" }
            .Concat(FaultFixtures.ModelSets.SelectMany(s => new[] { "--set", s })).Concat(extra).ToArray();

    /// <summary>
    /// A run killed mid-way (the launcher and both processes, SIGKILL) and resumed ends in a final checkpoint
    /// bit-equal to the uninterrupted run's (weights, momentum, every rank's generator): the resume restores
    /// each rank's sampling stream and its shard position. Only rank 0 wrote.
    /// </summary>
    [TestMethod]
    public void AKilledDistributedRunResumesBitExactly()
    {
        const int Iterations = 40;
        var data = TinyDataset.Shared;
        using var straight = new TempDir();
        using var interrupted = new TempDir();
        var (code, _, err) = CliRunner.Run(TrainArgs(data, straight.Path, Iterations, "--nproc", "2"));
        Assert.AreEqual(0, code, err);
        StringAssert.Contains(err, "starting 2 processes (ranks 0–1 of 2)");

        var dll = Path.Combine(AppContext.BaseDirectory, "mlnetseg.dll");
        using (var run = new ChildProcess("dotnet", TrainArgs(data, interrupted.Path, Iterations, "--nproc", "2").Prepend(dll)))
        {
            var clock = Stopwatch.StartNew();
            while (TrainingCheckpoint.FindLatest(interrupted.Path) is null)
            {
                Assert.IsFalse(run.HasExited, $"the run stopped before its first checkpoint:\n{run.Output}");
                Assert.IsTrue(clock.Elapsed < TimeSpan.FromMinutes(3), $"no checkpoint after 3 minutes:\n{run.Output}");
                Thread.Sleep(10);
            }
        }  // kills the launcher and both training processes
        long resumeFrom = TrainingCheckpoint.List(interrupted.Path)[^1].Iteration;
        Assert.IsTrue(resumeFrom < Iterations, $"the kill came too late: the run had finished ({resumeFrom} iterations)");
        (code, _, err) = CliRunner.Run(TrainArgs(data, interrupted.Path, Iterations, "--nproc", "2"));
        Assert.AreEqual(0, code, err);
        Console.WriteLine($"killed after the checkpoint of iteration {resumeFrom}; resumed from it");

        var final = TrainingCheckpoint.FileName(Iterations);
        FaultFixtures.AssertSameTensors(Path.Combine(straight.Path, final), Path.Combine(interrupted.Path, final));
        using (DisposeScope.Enter())
            CollectionAssert.Contains(SafeTensors.Load(Path.Combine(straight.Path, final)).Keys.ToArray(), "rng.cpu.rank1");
        var logged = MetricsLog.Read(Path.Combine(straight.Path, MetricsLog.FileName)).Where(r => r.IsTraining).Select(r => r.Iteration).ToArray();
        CollectionAssert.AreEqual(Enumerable.Range(1, Iterations).Select(i => (long)i).ToArray(), logged, "one metrics line per iteration (rank 0's), none from rank 1");
        var resumedLog = MetricsLog.Read(Path.Combine(interrupted.Path, MetricsLog.FileName)).Where(r => r.IsTraining).Select(r => r.Iteration).ToArray();
        CollectionAssert.AreEqual(logged, resumedLog, "the resumed run's log continues where its checkpoint was");
        Assert.IsFalse(Directory.GetFiles(straight.Path).Any(f => Path.GetFileName(f).Contains("rank", StringComparison.Ordinal)));
    }

    /// <summary>The launcher's several-machine form, both "machines" on this one: two <c>--nnodes 2 --nproc 1</c> launchers with
    /// node ranks 0 and 1 meet at --master-addr:--master-port and train as ranks 0 and 1; rank 0's node writes.</summary>
    [TestMethod]
    public void TwoNodesMeetAtTheMasterAddressAndTrainTogether()
    {
        var data = TinyDataset.Shared;
        using var dir = new TempDir();
        int port = FreePort();
        var dll = Path.Combine(AppContext.BaseDirectory, "mlnetseg.dll");
        ChildProcess Node(int rank) => new("dotnet", TrainArgs(data, dir.Path, 3, "--nproc", "1", "--nnodes", "2", "--node-rank", rank.ToString(CultureInfo.InvariantCulture),
            "--master-addr", "127.0.0.1", "--master-port", port.ToString(CultureInfo.InvariantCulture), "--threads", "1").Prepend(dll));
        using var node0 = Node(0);
        using var node1 = Node(1);
        Assert.IsTrue(node0.WaitForExit(TimeSpan.FromMinutes(3)) && node1.WaitForExit(TimeSpan.FromMinutes(1)), $"{node0.Output}\n{node1.Output}");
        Assert.AreEqual(0, node0.ExitCode, node0.Output);
        Assert.AreEqual(0, node1.ExitCode, node1.Output);
        StringAssert.Contains(node0.Output, "starting 1 process (rank 0 of 2)");
        StringAssert.Contains(node1.Output, "starting 1 process (rank 1 of 2)");
        StringAssert.Contains(node0.Output, "3 iterations of 1×1 images × 2 processes");
        Assert.IsTrue(File.Exists(Path.Combine(dir.Path, "model_final.mlseg")));
        CollectionAssert.AreEqual(new long[] { 1, 2, 3 },
            MetricsLog.Read(Path.Combine(dir.Path, MetricsLog.FileName)).Where(r => r.IsTraining).Select(r => r.Iteration).ToArray());
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>SIGKILL one of two processes mid-training: the survivor's next collective fails, it exits with the
    /// distributed-failure code and a message naming its rank, within seconds rather than the 30-minute timeout.</summary>
    [TestMethod]
    public void AKilledProcessMakesTheOtherStopWithAClearError()
    {
        var data = TinyDataset.Shared;
        using var dir = new TempDir();
        int port = FreePort();
        ChildProcess Rank(int rank) => new("dotnet", TrainArgs(data, dir.Path, 500).Prepend(Path.Combine(AppContext.BaseDirectory, "mlnetseg.dll")),
            new Dictionary<string, string>
            {
                ["WORLD_SIZE"] = "2", ["RANK"] = rank.ToString(CultureInfo.InvariantCulture), ["MASTER_ADDR"] = "127.0.0.1",
                ["MASTER_PORT"] = port.ToString(CultureInfo.InvariantCulture), ["MLNETSEG_THREADS"] = "1",
            });
        using var rank0 = Rank(0);
        using var rank1 = Rank(1);
        var started = Stopwatch.StartNew();
        while (!System.Text.RegularExpressions.Regex.IsMatch(rank0.Output, @"iter +3/500"))
        {
            Assert.IsFalse(rank0.HasExited || rank1.HasExited, $"a process stopped early:\n{rank0.Output}\n{rank1.Output}");
            Assert.IsTrue(started.Elapsed < TimeSpan.FromMinutes(3), $"training did not reach iteration 3:\n{rank0.Output}");
            Thread.Sleep(50);
        }
        rank1.KillNow();
        var killed = Stopwatch.StartNew();
        Assert.IsTrue(rank0.WaitForExit(TimeSpan.FromSeconds(60)), $"rank 0 still runs 60 s after rank 1 was killed:\n{rank0.Output}");
        Assert.AreEqual(4, rank0.ExitCode, rank0.Output);
        StringAssert.Contains(rank0.Output, "mlnetseg train [rank 0]: error: ");
        StringAssert.Contains(rank0.Output, "on rank 0 of 2 (a peer process may have died");
        Console.WriteLine($"rank 0 stopped {killed.Elapsed.TotalSeconds:F1} s after rank 1 was killed: " +
                          rank0.Output.Split('\n').First(l => l.Contains("error:", StringComparison.Ordinal)));
    }
}
