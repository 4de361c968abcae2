using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Serialization;
using MLNetSeg.Training;

namespace MLNetSeg.Reliability.Tests.Faults;

/// <summary>
/// The smallest Mask R-CNN that still trains every part of the loop (ResNet-18 at width 8, FPN 16,
/// 64-pixel images, few RPN/RoI samples: a checkpoint is under 2 MB and an iteration ~0.3 s on one
/// thread), as CLI arguments and as trainer options, and helpers shared by the fault tests.
/// </summary>
internal static class FaultFixtures
{
    /// <summary>The model settings as <c>mlnetseg train --set</c> arguments.</summary>
    public static readonly string[] ModelSets =
    {
        "Backbone=ResNet18", "Norm=BatchNorm", "Widths.Backbone=8", "Widths.Fpn=16", "Widths.BoxHead=32", "Widths.MaskHead=16",
        "Settings.MinSize=64", "Settings.MaxSize=128", "Settings.BoxBatchSizePerImage=32", "Settings.BoxDetectionsPerImage=10",
        "Settings.RpnPreNmsTopNTrain=100", "Settings.RpnPostNmsTopNTrain=50", "Settings.RpnBatchSizePerImage=32",
    };

    /// <summary>The same model as trainer options.</summary>
    public static MaskRcnnOptions Model { get; } = new()
    {
        Backbone = ResNetDepth.ResNet18,
        Norm = BackboneNorm.BatchNorm,
        Widths = DetectorWidths.Torchvision with { Backbone = 8, Fpn = 16, BoxHead = 32, MaskHead = 16 },
        Settings = new RcnnOptions
        {
            MinSize = 64, MaxSize = 128, BoxBatchSizePerImage = 32, BoxDetectionsPerImage = 10,
            RpnPreNmsTopNTrain = 100, RpnPostNmsTopNTrain = 50, RpnBatchSizePerImage = 32,
        },
    };

    /// <summary>Trainer options for <paramref name="iterations"/> steps on one thread, a checkpoint every iteration, a metrics line every iteration.</summary>
    public static TrainingOptions Options(string checkpointDirectory, int iterations) => new()
    {
        Model = Model,
        Optimizer = new OptimizerOptions { LearningRate = 0.01 },
        Schedule = new ScheduleOptions { Iterations = iterations, WarmupIterations = 2 },
        Data = new DataOptions { BatchSize = 2, LoaderWorkers = 1 },
        Checkpoints = new CheckpointOptions { Directory = checkpointDirectory, Period = 1, Keep = 2 },
        Evaluation = new EvaluationOptions { AtEnd = false, ValidationLoss = false },
        Runtime = new RuntimeOptions { Threads = 1, LogPeriod = 1, Progress = ConsoleTrainingProgress.Silent, Log = _ => { } },
        Seed = 7,
    };

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }

    /// <summary>Hidden temporary files (AtomicFile's ".{name}.{pid}.{guid}.tmp") in <paramref name="directory"/>.</summary>
    public static string[] Temporaries(string directory) =>
        Directory.Exists(directory) ? Directory.GetFiles(directory, ".*.tmp") : Array.Empty<string>();

    /// <summary>Loads every tensor of a safetensors file (checkpoint or model file) and checks it against the other's, bit for bit.</summary>
    public static void AssertSameTensors(string expectedPath, string actualPath)
    {
        using var scope = DisposeScope.Enter();
        var a = SafeTensors.Load(expectedPath);
        var b = SafeTensors.Load(actualPath);
        CollectionAssert.AreEqual(a.Keys.ToArray(), b.Keys.ToArray(), $"{actualPath} holds other tensors than {expectedPath}");
        foreach (var (name, t) in a)
        {
            Assert.AreEqual(t.DType, b[name].DType, name);
            CollectionAssert.AreEqual(t.Shape, b[name].Shape, name);
            Assert.IsTrue(t.Equal(b[name]), $"tensor {name} of {actualPath} differs from {expectedPath}");
        }
    }

    /// <summary>Runs a command (mount, umount) and returns its exit code and output.</summary>
    public static (int Code, string Output) Exec(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(info)!;
            var output = p.StandardOutput.ReadToEndAsync();
            var error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, (output.Result + error).Trim());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, $"{file}: {e.Message}");
        }
    }
}

/// <summary>
/// A tmpfs of a given size mounted on a fresh folder (root only); unmounted and removed on dispose.
/// When it cannot be mounted the test is inconclusive, saying why.
/// </summary>
internal sealed class SmallTmpfs : IDisposable
{
    public SmallTmpfs(long bytes)
    {
        Path = Directory.CreateTempSubdirectory("mlnetseg-tmpfs-").FullName;
        if (!OperatingSystem.IsLinux())
        {
            Directory.Delete(Path);
            Assert.Inconclusive("a full disk is simulated with a Linux tmpfs; this is not Linux");
        }
        long kib = (bytes + 1023) / 1024;
        var (code, output) = FaultFixtures.Exec("mount", "-t", "tmpfs", "-o", $"size={kib}k", "tmpfs", Path);
        if (code != 0)
        {
            Directory.Delete(Path);
            Assert.Inconclusive($"cannot mount a {kib} KiB tmpfs to simulate a full disk (needs root or CAP_SYS_ADMIN): mount exited {code}: {output}");
        }
        Bytes = kib * 1024;
    }

    public string Path { get; }

    /// <summary>The size asked for, rounded up to KiB (the kernel rounds it to pages).</summary>
    public long Bytes { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        var (code, output) = FaultFixtures.Exec("umount", Path);
        if (code != 0) FaultFixtures.Exec("umount", "-l", Path);  // busy: detach now, freed when released
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
        if (code != 0) Console.Error.WriteLine($"warning: umount {Path} exited {code}: {output}");
    }
}

/// <summary>A child process whose output is collected as it comes.</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    public ChildProcess(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) info.Environment[k] = v;
        _process = new Process { StartInfo = info };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>SIGKILL on Linux: no handler, finally block or flush runs. Only this process (the dotnet host runs the
    /// app in-process): walking the process tree first would delay the signal by milliseconds.</summary>
    public void KillNow() => _process.Kill();

    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout)) return false;
        _process.WaitForExit();  // drains the redirected output
        return true;
    }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public void Dispose()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
