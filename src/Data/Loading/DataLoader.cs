using MLNetSeg.Torch;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Data.Loading;

/// <summary>How a <see cref="DataLoader"/> samples, batches and parallelises.</summary>
public sealed record DataLoaderOptions
{
    /// <summary>Images per batch (torchvision's detection reference: 2 per GPU); at least 1.</summary>
    public int BatchSize { get; init; } = 2;

    /// <summary>Worker threads decoding and transforming batches; default: one per core.</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Most batches in flight at once — being built or built and waiting for the consumer,
    /// including those finished out of order and held for reordering. This bounds the loader's
    /// memory to about this many batches. 0 (default) means max(2, <see cref="Workers"/>).
    /// </summary>
    public int PrefetchBatches { get; init; }

    /// <summary>Padded batch height and width are multiples of this (32, as torchvision and detectron2 FPN models need).</summary>
    public int SizeDivisible { get; init; } = 32;

    /// <summary>Value of the padding (0, as torchvision's <c>batch_images</c>).</summary>
    public double PadValue { get; init; }

    /// <summary>Shuffle every epoch (a permutation drawn from (Seed, epoch)); otherwise dataset order.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Seed of the shuffles and of every sample's augmentation stream (see <see cref="SampleSeeds"/>).</summary>
    public long Seed { get; init; }

    /// <summary>Batch only images of one aspect-ratio group (<see cref="AspectRatioGrouping"/>).</summary>
    public bool GroupByAspectRatio { get; init; } = true;

    /// <summary>Without grouping: drop a last incomplete batch (torchvision's training BatchSampler does).
    /// With grouping the epoch always has ⌊N / B⌋ full batches.</summary>
    public bool DropLast { get; init; } = true;

    /// <summary>
    /// On a <see cref="BadSampleException"/> (corrupt or missing image, unusable annotation), log a
    /// warning through <see cref="Log"/> and leave the sample out of its batch instead of failing;
    /// a batch whose every sample is bad is left out too. Counted in <see cref="DataLoaderStatistics.SkippedSamples"/>.
    /// </summary>
    public bool SkipBadSamples { get; init; }

    /// <summary>
    /// Data-parallel training: this process's share of every batch. The epoch is planned in global
    /// batches of <see cref="BatchSize"/> × <see cref="DataShard.Count"/> images (same seed on every
    /// process, so the same plan) and process <see cref="DataShard.Index"/> takes the
    /// <see cref="BatchSize"/> images at its position of each global batch: the processes together
    /// see exactly what one process with the global batch would, in the same order. Null: all of it.
    /// </summary>
    public DataShard? Shard { get; init; }

    /// <summary>Receives warnings (skipped samples and batches), from worker threads, possibly
    /// concurrently. Default: standard error.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>Process <paramref name="Index"/> of <paramref name="Count"/> sharing each batch (see <see cref="DataLoaderOptions.Shard"/>).</summary>
public sealed record DataShard(int Index, int Count);

/// <summary>
/// What the last epoch run of a <see cref="DataLoader"/> did; updated live while it runs.
/// </summary>
public sealed class DataLoaderStatistics
{
    private int _inFlight, _peakInFlight, _batchesDelivered, _skippedSamples;

    internal DataLoaderStatistics(int capacity) => Capacity = capacity;

    /// <summary>The bound on batches in flight (<see cref="DataLoaderOptions.PrefetchBatches"/>).</summary>
    public int Capacity { get; }

    /// <summary>Batches started and not yet handed to the consumer.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>The most batches that were ever in flight at once (never above <see cref="Capacity"/>).</summary>
    public int PeakInFlight => Volatile.Read(ref _peakInFlight);

    /// <summary>Batches handed to the consumer (a batch left out because all its samples were bad is not counted).</summary>
    public int BatchesDelivered => Volatile.Read(ref _batchesDelivered);

    /// <summary>Samples left out because of a <see cref="BadSampleException"/> (only with <see cref="DataLoaderOptions.SkipBadSamples"/>).</summary>
    public int SkippedSamples => Volatile.Read(ref _skippedSamples);

    internal void Started()
    {
        int now = Interlocked.Increment(ref _inFlight);
        int peak;
        while (now > (peak = Volatile.Read(ref _peakInFlight)) && Interlocked.CompareExchange(ref _peakInFlight, now, peak) != peak) { }
    }

    internal void Handed(bool delivered)
    {
        Interlocked.Decrement(ref _inFlight);
        if (delivered) Interlocked.Increment(ref _batchesDelivered);
    }

    internal void Abandoned() => Interlocked.Decrement(ref _inFlight);

    internal void Skipped() => Interlocked.Increment(ref _skippedSamples);
}

/// <summary>
/// Feeds a detection model: shuffles each epoch from a seed, forms (aspect-ratio grouped)
/// batches, decodes and transforms them on parallel workers, pads and stacks the images, and
/// hands batches over in plan order.
/// </summary>
/// <remarks>
/// <para>Determinism: the plan of an epoch (<see cref="PlanEpoch"/>) depends only on (seed, epoch)
/// and the dataset; every sample's transforms draw from a stream keyed by (seed, epoch, dataset
/// index). Workers may finish out of order; batches are still handed over in plan order, so the
/// output is identical for any number of workers.</para>
/// <para>Memory: at most <see cref="DataLoaderOptions.PrefetchBatches"/> batches are in flight
/// (building, or built and waiting — the reorder buffer included); a worker waits for a free slot
/// before starting another batch, and the consumer frees one per batch it takes.</para>
/// <para>Errors: a sample that fails raises its exception (a <see cref="BadSampleException"/> names
/// the file and, for annotations, the annotation id) from the enumeration at that batch's
/// position — unless <see cref="DataLoaderOptions.SkipBadSamples"/> is set, in which case bad data
/// is logged and left out. Other failures are wrapped in a <see cref="DataLoaderException"/> naming
/// the sample. Nothing is swallowed.</para>
/// <para>Disposal: the consumer disposes each <see cref="DetectionBatch"/>. Leaving the
/// enumeration early (break, exception, cancellation) stops the workers and disposes every batch
/// not handed over. Cancellation through the token raises <see cref="OperationCanceledException"/>.</para>
/// </remarks>
public sealed class DataLoader
{
    private readonly IDetectionTransform? _transform;
    private readonly Action<string> _log;

    /// <summary>Creates a loader; no work starts until an epoch is enumerated.</summary>
    /// <param name="dataset">The samples to load.</param>
    /// <param name="transform">The augmentation applied to every sample, or null for none.</param>
    /// <param name="options">Batching and parallelism; null means the defaults of <see cref="DataLoaderOptions"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="DataLoaderOptions.BatchSize"/>, <see cref="DataLoaderOptions.Workers"/> or
    /// <see cref="DataLoaderOptions.SizeDivisible"/> is below 1, or <see cref="DataLoaderOptions.PrefetchBatches"/> is negative.</exception>
    public DataLoader(DetectionDataset dataset, IDetectionTransform? transform = null, DataLoaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        Dataset = dataset;
        _transform = transform;
        Options = options ?? new DataLoaderOptions();
        if (Options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), $"BatchSize must be at least 1, got {Options.BatchSize}");
        if (Options.Workers < 1) throw new ArgumentOutOfRangeException(nameof(options), $"Workers must be at least 1, got {Options.Workers}");
        if (Options.PrefetchBatches < 0) throw new ArgumentOutOfRangeException(nameof(options), $"PrefetchBatches must be non-negative, got {Options.PrefetchBatches}");
        if (Options.Shard is { } shard && (shard.Count < 1 || shard.Index < 0 || shard.Index >= shard.Count))
            throw new ArgumentOutOfRangeException(nameof(options), $"Shard {shard.Index} of {shard.Count} does not exist");
        if (Options.Shard is { Count: > 1 } && !Options.GroupByAspectRatio && !Options.DropLast)
            throw new ArgumentException("a sharded loader needs full batches: set DropLast or GroupByAspectRatio", nameof(options));
        if (Options.SizeDivisible < 1) throw new ArgumentOutOfRangeException(nameof(options), $"SizeDivisible must be at least 1, got {Options.SizeDivisible}");
        Capacity = Options.PrefetchBatches > 0 ? Options.PrefetchBatches : Math.Max(2, Options.Workers);
        _log = Options.Log ?? (message => Console.Error.WriteLine(message));
        Statistics = new DataLoaderStatistics(Capacity);
    }

    /// <summary>The dataset the batches are drawn from.</summary>
    public DetectionDataset Dataset { get; }

    /// <summary>The options in effect (the defaults when none were given).</summary>
    public DataLoaderOptions Options { get; }

    /// <summary>The bound on batches in flight.</summary>
    public int Capacity { get; }

    /// <summary>Counters of the epoch run most recently started.</summary>
    public DataLoaderStatistics Statistics { get; private set; }

    /// <summary>Number of batches an epoch plans (bad samples skipped at run time can lower what is delivered).</summary>
    public int BatchesPerEpoch
    {
        get
        {
            int n = Dataset.Count, b = GlobalBatchSize;
            if (Options.GroupByAspectRatio || Options.DropLast) return n / b;
            return (n + b - 1) / b;
        }
    }

    /// <summary>Images per batch over all shards.</summary>
    private int GlobalBatchSize => Options.BatchSize * (Options.Shard?.Count ?? 1);

    /// <summary>The dataset indices of every batch of <paramref name="epoch"/> (this shard's part of it), in delivery order.</summary>
    public IReadOnlyList<int[]> PlanEpoch(int epoch)
    {
        var global = PlanGlobalEpoch(epoch);
        if (Options.Shard is not { Count: > 1 } shard) return global;
        return global.Select(batch => batch.AsSpan(shard.Index * Options.BatchSize, Options.BatchSize).ToArray()).ToArray();
    }

    private IReadOnlyList<int[]> PlanGlobalEpoch(int epoch)
    {
        int n = Dataset.Count;
        var order = Enumerable.Range(0, n).ToArray();
        if (Options.Shuffle)
        {
            var random = SampleSeeds.ForShuffle(Options.Seed, epoch);
            for (int i = n - 1; i > 0; i--)
            {
                int j = random.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
        }
        int size = GlobalBatchSize;
        if (Options.GroupByAspectRatio) return AspectRatioGrouping.GroupedBatches(order, Dataset.AspectGroups, size);
        var batches = new List<int[]>();
        for (int start = 0; start < n; start += size)
        {
            int count = Math.Min(size, n - start);
            if (count < size && Options.DropLast) break;
            batches.Add(order.AsSpan(start, count).ToArray());
        }
        return batches;
    }

    /// <summary>
    /// The batches of <paramref name="epoch"/>, built in the background while the caller consumes
    /// them. Work starts at the first <c>MoveNext</c>. Dispose every batch received.
    /// </summary>
    public IEnumerable<DetectionBatch> GetEpoch(int epoch, CancellationToken cancellationToken = default)
    {
        var plan = PlanEpoch(epoch);
        return Run(epoch, plan, cancellationToken);
    }

    private IEnumerable<DetectionBatch> Run(int epoch, IReadOnlyList<int[]> plan, CancellationToken cancellationToken)
    {
        var stats = Statistics = new DataLoaderStatistics(Capacity);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var slots = new SemaphoreSlim(Capacity, Capacity);
        var results = new TaskCompletionSource<DetectionBatch?>[plan.Count];
        for (int k = 0; k < results.Length; k++) results[k] = new TaskCompletionSource<DetectionBatch?>(TaskCreationOptions.RunContinuationsAsynchronously);
        int next = -1;
        var workers = new Task[Math.Min(Options.Workers, Math.Max(1, plan.Count))];
        for (int w = 0; w < workers.Length; w++)
            workers[w] = Task.Factory.StartNew(Work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        int handed = 0; // results before this index belong to the consumer
        try
        {
            while (handed < plan.Count)
            {
                var batch = Await(results[handed].Task, cancellationToken);
                handed++; // before yielding: a consumer that breaks keeps the batch it holds
                stats.Handed(delivered: batch is not null);
                slots.Release();
                if (batch is not null) yield return batch;
            }
        }
        finally
        {
            stop.Cancel();
            Task.WaitAll(workers); // workers never fault: their errors travel through the results
            for (int k = handed; k < results.Length; k++)
            {
                var task = results[k].Task;
                if (task.IsCompletedSuccessfully) task.Result?.Dispose();
            }
        }

        void Work()
        {
            while (true)
            {
                try { slots.Wait(stop.Token); }
                catch (OperationCanceledException) { return; }
                int k = Interlocked.Increment(ref next);
                if (k >= plan.Count)
                {
                    slots.Release();
                    return;
                }
                stats.Started();
                try
                {
                    results[k].SetResult(BuildBatch(epoch, k, plan[k], stats, stop.Token));
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    stats.Abandoned();
                    results[k].SetCanceled(stop.Token);
                    return;
                }
                catch (Exception e)
                {
                    results[k].SetException(e);
                }
            }
        }
    }

    private static DetectionBatch? Await(Task<DetectionBatch?> task, CancellationToken cancellationToken)
    {
        // Checked first: a batch that is already built is not handed out after cancellation either.
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return task.WaitAsync(cancellationToken).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw;
        }
    }

    /// <summary>Decodes, transforms, pads and stacks one batch on the calling (worker) thread.</summary>
    private DetectionBatch? BuildBatch(int epoch, int batchIndex, int[] indices, DataLoaderStatistics stats, CancellationToken cancellationToken)
    {
        using var batchScope = DisposeScope.Enter();
        var samples = new List<DetectionSample>(indices.Length);
        foreach (int index in indices)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (LoadSample(epoch, batchIndex, index, stats) is { } sample) samples.Add(sample);
        }
        if (samples.Count == 0)
        {
            _log($"warning: epoch {epoch}, batch {batchIndex} left out: all {indices.Length} of its samples were bad");
            return null;
        }
        Tensor images;
        try
        {
            images = ImageTensors.Batch(samples.Select(s => s.Image).ToList(), Options.SizeDivisible, Options.PadValue);
        }
        catch (ArgumentException e)
        {
            throw new DataLoaderException(
                $"epoch {epoch}, batch {batchIndex}: cannot stack images of {string.Join(", ", samples.Select(s => s.Describe()))}: {e.Message}", e);
        }
        // The batch tensor leaves every scope: the batch owns it and the consumer disposes the batch.
        return new DetectionBatch(epoch, batchIndex, images.DetachFromDisposeScope(), samples);
    }

    private DetectionSample? LoadSample(int epoch, int batchIndex, int index, DataLoaderStatistics stats)
    {
        // Intermediate tensors of one sample (decoded, resized, flipped…) die with this scope;
        // only the final image moves to the batch scope.
        using var sampleScope = DisposeScope.Enter();
        DetectionSample sample;
        try
        {
            sample = Dataset.Get(index);
        }
        catch (BadSampleException e) when (Options.SkipBadSamples)
        {
            stats.Skipped();
            _log($"warning: epoch {epoch}, batch {batchIndex}: skipping sample {index}: {e.Message}");
            return null;
        }
        if (_transform is not null)
        {
            try
            {
                sample = _transform.Apply(sample, SampleSeeds.ForSample(Options.Seed, epoch, index));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new DataLoaderException($"epoch {epoch}, batch {batchIndex}: transforming {sample.Describe()} failed: {e.Message}", e);
            }
        }
        sample.Image.MoveToOuterDisposeScope();
        return sample;
    }
}
