using System.Globalization;
using System.Text.Json.Serialization;

namespace MLNetSeg.Training;

/// <summary>
/// Data-parallel training over several processes (one per device or per group of cores, on one or
/// several machines), as torch's DistributedDataParallel started by torchrun: every process builds the
/// same model, takes its share of every batch (<see cref="DataOptions.BatchSize"/> images each, so a
/// step trains on BatchSize × <see cref="WorldSize"/> images and the default learning rate scales with
/// it), and gradients are averaged over the processes during backward (c10d's Reducer over Gloo).
/// Only rank 0 writes checkpoints, metrics, evaluations and the final model; the checkpoint directory
/// must be one every process sees (a resume reads it on every rank).
/// </summary>
/// <remarks>
/// Batch normalisation: the default (frozen, torchvision's FrozenBatchNorm2d) needs nothing. With
/// trainable BatchNorm, rank 0's running statistics are copied to every process before each step
/// (DDP's broadcast_buffers) and the batch statistics are each process's own: there is no SyncBatchNorm.
/// </remarks>
public sealed record DistributedOptions
{
    /// <summary>The number of processes (torchrun's WORLD_SIZE); at least 1.</summary>
    public int WorldSize { get; init; } = 1;

    /// <summary>This process's rank, 0 to <see cref="WorldSize"/> − 1 (RANK).</summary>
    public int Rank { get; init; }

    /// <summary>The address of rank 0's rendezvous server (MASTER_ADDR).</summary>
    public string MasterAddress { get; init; } = "127.0.0.1";

    /// <summary>Its port (MASTER_PORT; torch's default 29500).</summary>
    public int MasterPort { get; init; } = 29500;

    /// <summary>How long the rendezvous and every collective wait for the other processes (torch's default 30 minutes).
    /// Rank 0 evaluates alone while the others wait at their next step, so it must exceed an evaluation.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>The network interface Gloo connects through (GLOO_SOCKET_IFNAME), e.g. "eth0"; null: the one
    /// <see cref="MasterAddress"/> is reached by when it is a loopback address, otherwise the one this host's name resolves to.</summary>
    public string? NetworkInterface { get; init; }

    /// <summary>Search each iteration's graph for parameters that got no gradient (DDP's find_unused_parameters);
    /// needed only by models that leave parameters out of some iterations.</summary>
    public bool FindUnusedParameters { get; init; }

    /// <summary>Gradient bucket size in MiB (DDP's bucket_cap_mb, 25).</summary>
    public int BucketCapMiB { get; init; } = 25;

    /// <summary>Whether this process is the one that writes (rank 0).</summary>
    [JsonIgnore]
    public bool IsMain => Rank == 0;

    /// <summary>
    /// The options torchrun (or <c>mlnetseg train --nproc</c>) passes through the environment: WORLD_SIZE,
    /// RANK, MASTER_ADDR, MASTER_PORT and GLOO_SOCKET_IFNAME; null when WORLD_SIZE is not set.
    /// </summary>
    /// <exception cref="ArgumentException">A variable is set but malformed (named in the message).</exception>
    public static DistributedOptions? FromEnvironment(Func<string, string?>? variables = null)
    {
        variables ??= Environment.GetEnvironmentVariable;
        if (string.IsNullOrEmpty(variables("WORLD_SIZE"))) return null;
        int Int(string name, int fallback)
        {
            string? text = variables(name);
            if (string.IsNullOrEmpty(text)) return fallback;
            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)
                ? v
                : throw new ArgumentException($"the environment variable {name} is '{text}', not an integer");
        }
        var defaults = new DistributedOptions();
        return new DistributedOptions
        {
            WorldSize = Int("WORLD_SIZE", 1),
            Rank = Int("RANK", 0),
            MasterAddress = variables("MASTER_ADDR") is { Length: > 0 } address ? address : defaults.MasterAddress,
            MasterPort = Int("MASTER_PORT", defaults.MasterPort),
            NetworkInterface = variables("GLOO_SOCKET_IFNAME") is { Length: > 0 } iface ? iface : null,
        };
    }

    internal void Validate()
    {
        TrainingOptions.Require(WorldSize >= 1, "Distributed." + nameof(WorldSize), $"must be at least 1, got {WorldSize}");
        TrainingOptions.Require(Rank >= 0 && Rank < WorldSize, "Distributed." + nameof(Rank), $"must be in 0..{WorldSize - 1}, got {Rank}");
        TrainingOptions.Require(!string.IsNullOrWhiteSpace(MasterAddress), "Distributed." + nameof(MasterAddress), "must be set");
        TrainingOptions.Require(MasterPort is > 0 and < 65536, "Distributed." + nameof(MasterPort), $"must be in 1..65535, got {MasterPort}");
        TrainingOptions.Require(Timeout > TimeSpan.Zero, "Distributed." + nameof(Timeout), $"must be positive, got {Timeout}");
        TrainingOptions.Require(BucketCapMiB >= 1, "Distributed." + nameof(BucketCapMiB), $"must be at least 1, got {BucketCapMiB}");
    }
}
