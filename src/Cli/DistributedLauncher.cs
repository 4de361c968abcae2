using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace MLNetSeg.Cli;

/// <summary>
/// <c>mlnetseg train --nproc N</c>: starts N copies of this program on this machine, each with
/// torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT; the ranks of node
/// <c>--node-rank</c> of <c>--nnodes</c>), which makes each a distributed training process
/// (<see cref="MLNetSeg.Training.DistributedOptions.FromEnvironment"/>). The children share this
/// console; when one fails, the others get a grace period to fail on their own (their next collective
/// reports the lost peer) and are then stopped, as torchrun does.
/// </summary>
internal static class DistributedLauncher
{
    /// <summary>How long the other processes may take to stop after one failed.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);

    public static int Launch(IReadOnlyList<string> arguments, int processesPerNode, int nodes, int nodeRank, string masterAddress, int? masterPort,
        int? threads, TextWriter stderr)
    {
        int world = processesPerNode * nodes;
        // One machine: a free port unless one was given (several runs may share the machine).
        int port = masterPort ?? (nodes == 1 ? FreePort() : 29500);
        // Cores are split between the local processes unless --threads says otherwise.
        int threadsEach = threads ?? Math.Max(1, Environment.ProcessorCount / processesPerNode);
        var (file, prefix) = Executable();
        int first = nodeRank * processesPerNode, last = first + processesPerNode - 1;
        string ranks = processesPerNode == 1 ? $"1 process (rank {first} of {world})" : $"{processesPerNode} processes (ranks {first}–{last} of {world})";
        stderr.WriteLine($"mlnetseg train: starting {ranks}, rendezvous {masterAddress}:{port}, {threadsEach} threads each");
        var children = new List<(int Rank, Process Process)>();
        try
        {
            for (int local = 0; local < processesPerNode; local++)
            {
                int rank = nodeRank * processesPerNode + local;
                var start = new ProcessStartInfo(file) { UseShellExecute = false };
                foreach (var a in prefix.Concat(arguments)) start.ArgumentList.Add(a);
                start.Environment["WORLD_SIZE"] = world.ToString();
                start.Environment["RANK"] = rank.ToString();
                start.Environment["LOCAL_RANK"] = local.ToString();
                start.Environment["MASTER_ADDR"] = masterAddress;
                start.Environment["MASTER_PORT"] = port.ToString();
                start.Environment["MLNETSEG_THREADS"] = threadsEach.ToString();
                children.Add((rank, Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}")));
            }
            return Wait(children, stderr);
        }
        finally
        {
            foreach (var (_, p) in children)
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
                p.Dispose();
            }
        }
    }

    private static int Wait(List<(int Rank, Process Process)> children, TextWriter stderr)
    {
        var running = children.ToList();
        int code = 0;
        DateTime? deadline = null;
        while (running.Count > 0)
        {
            var exited = running.FirstOrDefault(c => c.Process.WaitForExit(100));
            if (exited.Process is null)
            {
                if (deadline is { } d && DateTime.UtcNow > d)
                {
                    foreach (var (rank, p) in running)
                    {
                        stderr.WriteLine($"mlnetseg train: rank {rank} did not stop within {Grace.TotalSeconds:F0} s of the failure; stopping it");
                        p.Kill(entireProcessTree: true);
                    }
                    break;
                }
                continue;
            }
            running.Remove(exited);
            if (exited.Process.ExitCode != 0 && code == 0)
            {
                code = exited.Process.ExitCode;
                stderr.WriteLine($"mlnetseg train: rank {exited.Rank} exited with code {code}");
                deadline = DateTime.UtcNow + Grace;
            }
        }
        return code;
    }

    /// <summary>This program: its apphost when there is one beside it, otherwise <c>dotnet mlnetseg.dll</c>.</summary>
    private static (string File, string[] Prefix) Executable()
    {
        var dll = typeof(DistributedLauncher).Assembly.Location;
        var host = Path.Combine(Path.GetDirectoryName(dll)!, Path.GetFileNameWithoutExtension(dll));
        return File.Exists(host) ? (host, Array.Empty<string>()) : ("dotnet", new[] { dll });
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
