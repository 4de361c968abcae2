using MLNetSeg.Data.Loading;

namespace MLNetSeg.Training;

/// <summary>
/// An endless stream of training batches over a <see cref="DataLoader"/>'s epochs, remembering the
/// position of the next batch (epoch, plan index) so a checkpoint can record it and a resumed run
/// can start there.
/// </summary>
/// <remarks>
/// The loader has no way to start an epoch in the middle, so resuming mid-epoch builds the epoch's
/// first batches and drops them unused: cheap next to training on them, and their content is
/// irrelevant because every sample's randomness is keyed by (seed, epoch, index), not by what came
/// before.
/// </remarks>
internal sealed class BatchStream : IDisposable
{
    private readonly DataLoader _loader;
    private IEnumerator<DetectionBatch>? _epoch;

    public BatchStream(DataLoader loader, int epoch, int batchInEpoch)
    {
        _loader = loader;
        (Epoch, NextBatch) = Normalize(epoch, batchInEpoch);
    }

    /// <summary>Epoch of the next batch.</summary>
    public int Epoch { get; private set; }

    /// <summary>Plan index of the next batch within <see cref="Epoch"/>.</summary>
    public int NextBatch { get; private set; }

    /// <summary>Batches skipped when starting mid-epoch.</summary>
    public int Skipped { get; private set; }

    /// <summary>The next batch (the caller disposes it); moves to the next epoch when one runs out.</summary>
    public DetectionBatch Next(CancellationToken cancellationToken)
    {
        for (int emptyEpochs = 0; ; )
        {
            _epoch ??= _loader.GetEpoch(Epoch, cancellationToken).GetEnumerator();
            while (_epoch.MoveNext())
            {
                var batch = _epoch.Current;
                if (batch.Index < NextBatch)
                {
                    // Resuming mid-epoch: built by the loader but already trained on before the checkpoint.
                    batch.Dispose();
                    Skipped++;
                    continue;
                }
                (Epoch, NextBatch) = Normalize(Epoch, batch.Index + 1);
                if (NextBatch == 0) CloseEpoch();  // the epoch is done; the next call starts the next one
                return batch;
            }
            CloseEpoch();
            Epoch++;
            NextBatch = 0;
            // Every batch of an epoch can be left out (all samples bad, with SkipBadSamples): give up
            // rather than spin when that happens twice in a row.
            if (++emptyEpochs > 1)
                throw new InvalidOperationException($"the data loader delivered no batch in epochs {Epoch - 2} and {Epoch - 1}: " +
                                                    "every training sample was skipped as bad");
        }
    }

    private (int Epoch, int Batch) Normalize(int epoch, int batch) =>
        batch >= _loader.BatchesPerEpoch ? (epoch + 1, 0) : (epoch, batch);

    private void CloseEpoch()
    {
        _epoch?.Dispose();
        _epoch = null;
    }

    public void Dispose() => CloseEpoch();
}
