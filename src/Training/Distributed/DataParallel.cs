using System.Net;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Distributed;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Training;

/// <summary>
/// One process's part in a data-parallel run (<see cref="DistributedOptions"/>): the Gloo group it
/// joined, the reducer that averages its gradients during backward, and the few other things the
/// processes must agree on: the logged losses (their mean, as detectron2 logs), the training clock
/// (rank 0's, so time-based schedules and limits decide the same on every rank) and, for exact resume,
/// every rank's random generator state in rank 0's checkpoint.
/// </summary>
internal sealed class DataParallel : IDisposable
{
    private readonly RendezvousStore _store;
    private readonly DistributedOptions _options;
    private GradientReducer? _reducer;
    private Tensor[] _buffers = Array.Empty<Tensor>();

    private DataParallel(RendezvousStore store, ProcessGroup group, DistributedOptions options)
    {
        _store = store;
        Group = group;
        _options = options;
    }

    public ProcessGroup Group { get; }
    public int Rank => Group.Rank;
    public int WorldSize => Group.WorldSize;
    public bool IsMain => Rank == 0;

    /// <summary>Meets the other processes (rank 0 serves the rendezvous) and joins the Gloo group.</summary>
    public static DataParallel Join(DistributedOptions options, Action<string> log)
    {
        var store = RendezvousStore.Tcp(options.MasterAddress, options.MasterPort, options.WorldSize, options.Rank == 0, options.Timeout);
        try
        {
            // On one machine the loopback carries Gloo's connections; across machines, the interface asked
            // for, or the address this host's name resolves to (what torch does without GLOO_SOCKET_IFNAME).
            bool local = IPAddress.TryParse(options.MasterAddress, out var ip) ? IPAddress.IsLoopback(ip) : options.MasterAddress == "localhost";
            var group = ProcessGroup.Gloo(store, options.Rank, options.WorldSize, options.Timeout,
                host: local ? "127.0.0.1" : Dns.GetHostName(), networkInterface: options.NetworkInterface);
            if (options.Rank == 0)
                log($"distributed: {options.WorldSize} processes joined through {store.Description} (Gloo, timeout {options.Timeout})");
            return new DataParallel(store, group, options);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>Copies rank 0's buffers to every rank and sets up the reducer over the trainable
    /// parameters (which checks the models agree and copies rank 0's weights).</summary>
    public void Attach(Module model, IReadOnlyList<Tensor> parameters)
    {
        _buffers = model.Buffers().ToArray();
        if (_buffers.Length > 0) Group.Broadcast(_buffers);
        _reducer = new GradientReducer(Group, parameters, (long)_options.BucketCapMiB << 20, _options.FindUnusedParameters);
    }

    /// <summary>Before the forward pass of the micro-batch whose backward averages the gradients. As DDP's
    /// broadcast_buffers, rank 0's buffers (trainable BatchNorm's running statistics) are copied to all first.</summary>
    public void BeforeSynchronisedForward()
    {
        if (_buffers.Length > 0) Group.Broadcast(_buffers);
        Reducer.PrepareForForward();
    }

    /// <summary>That micro-batch's backward: the reducer's hooks all-reduce the gradients while it runs. A peer lost
    /// meanwhile surfaces from libtorch's autograd engine; it becomes a <see cref="DistributedException"/> naming this rank.</summary>
    public void SynchronisedBackward(Tensor loss)
    {
        Reducer.PrepareForBackward(loss);
        try
        {
            loss.Backward();
        }
        catch (TorchException e) when (e.Message.Contains("gloo", StringComparison.OrdinalIgnoreCase))
        {
            throw new DistributedException($"the gradient all-reduce during backward failed on rank {Rank} of {WorldSize} " +
                                           $"(a peer process may have died, or not answered within {Group.Timeout}): {e.Message}");
        }
    }

    private GradientReducer Reducer => _reducer ?? throw new InvalidOperationException("Attach the model first");

    /// <summary>The mean of every rank's values (every rank passes the same keys).</summary>
    public Dictionary<string, double> Mean(IReadOnlyDictionary<string, double> values)
    {
        var keys = values.Keys.Order(StringComparer.Ordinal).ToArray();
        using var t = Tensor.FromArray(keys.Select(k => values[k]).ToArray(), keys.Length);
        Group.AllReduce(new[] { t });
        var sums = t.ToArray<double>();
        return keys.Select((k, i) => (k, v: sums[i] / WorldSize)).ToDictionary(p => p.k, p => p.v, StringComparer.Ordinal);
    }

    /// <summary>Rank 0's clock readings, on every rank.</summary>
    public (TimeSpan Total, TimeSpan ThisCall) AgreeOnTime(TimeSpan total, TimeSpan thisCall)
    {
        using var t = Tensor.FromArray(new[] { total.TotalSeconds, thisCall.TotalSeconds }, 2);
        Group.Broadcast(new[] { t });
        var s = t.ToArray<double>();
        return (TimeSpan.FromSeconds(s[0]), TimeSpan.FromSeconds(s[1]));
    }

    /// <summary>Every rank's generator state (a byte tensor each, the same length everywhere), indexed by rank.</summary>
    public Tensor[] GatherRngStates(Tensor local)
    {
        var bytes = local.ToArray<byte>();
        var all = new byte[WorldSize * bytes.Length];
        bytes.CopyTo(all, Rank * bytes.Length);
        // An all-gather as a sum: each rank fills its row, zeros elsewhere; uint8 sums of one non-zero term are exact.
        using var t = Tensor.FromArray(all, WorldSize, bytes.Length);
        Group.AllReduce(new[] { t });
        var gathered = t.ToArray<byte>();
        return Enumerable.Range(0, WorldSize).Select(r => Tensor.FromArray(gathered.AsSpan(r * bytes.Length, bytes.Length).ToArray(), bytes.Length)).ToArray();
    }

    public void Dispose()
    {
        _reducer?.Dispose();
        Group.Dispose();
        _store.Dispose();
    }
}
