using System.Collections.Concurrent;
using Microsoft.ML;

namespace MLNetSeg.Transforms;

/// <summary>
/// A thread-safe predictor for servers: ML.NET's <c>PredictionEngine</c> is not thread-safe, so
/// each concurrent caller rents an engine of its own from a pool (created on demand, at most one per
/// concurrent caller, kept for reuse). The engines share the model: its weights are only read during
/// inference, once in memory whatever the number of threads.
/// </summary>
public sealed class SegmentationPredictorPool<TInput, TOutput> : IDisposable
    where TInput : class
    where TOutput : class, new()
{
    private readonly MLContext _context;
    private readonly ITransformer _model;
    private readonly ConcurrentBag<PredictionEngine<TInput, TOutput>> _engines = new();
    private bool _disposed;

    /// <summary>A pool over <paramref name="model"/> (a fitted pipeline, or what <c>mlContext.Model.Load</c> returned).</summary>
    public SegmentationPredictorPool(MLContext context, ITransformer model)
    {
        _context = context ?? throw new ArgumentNullException(nameof(context));
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _engines.Add(Create()); // fail now, not on the first request, if the classes do not fit the pipeline
    }

    /// <summary>Engines created so far (the peak number of concurrent callers).</summary>
    public int EngineCount => _created;

    private int _created;

    /// <summary>Runs the pipeline on <paramref name="input"/>; safe to call from any number of threads.</summary>
    public TOutput Predict(TInput input)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_engines.TryTake(out var engine)) engine = Create();
        try
        {
            return engine.Predict(input);
        }
        finally
        {
            _engines.Add(engine);
        }
    }

    private PredictionEngine<TInput, TOutput> Create()
    {
        Interlocked.Increment(ref _created);
        return _context.Model.CreatePredictionEngine<TInput, TOutput>(_model);
    }

    /// <summary>Disposes the pooled engines (not the model).</summary>
    public void Dispose()
    {
        _disposed = true;
        while (_engines.TryTake(out var engine)) engine.Dispose();
    }
}
