using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNetSeg.Training;

namespace MLNetSeg.Trainers.Host;

/// <summary>
/// How a trainer talks to its <see cref="MLContext"/>: progress goes to <c>MLContext.Log</c> through a
/// channel (<see cref="IChannelProvider"/> is public), and ML.NET's cancellation flag is watched.
/// </summary>
internal sealed class MLContextHost : IDisposable
{
    private readonly IChannel _channel;
    private readonly CancellationTokenSource _cancel;
    private readonly Timer? _watch;

    public MLContextHost(MLContext context, string component, CancellationToken cancellationToken)
    {
        _channel = ((IChannelProvider)context).Start(component);
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var isCanceled = CancellationFlag(context);
        if (isCanceled is not null)
            _watch = new Timer(_ => { if (isCanceled()) _cancel.Cancel(); }, null, TimeSpan.Zero, TimeSpan.FromMilliseconds(200));
    }

    /// <summary>Canceled by the caller's token or by ML.NET's cancellation of the context.</summary>
    public CancellationToken Token => _cancel.Token;

    /// <summary>A progress sink writing each report to <c>MLContext.Log</c> (and to <paramref name="also"/>).</summary>
    public IProgress<TrainingProgress> Progress(IProgress<TrainingProgress>? also) => new Sink(this, also);

    public void Info(string message) => _channel.Info(MessageSensitivity.None, message);

    public void Warning(string message) => _channel.Warning(MessageSensitivity.None, message);

    /// <summary>
    /// ML.NET 6 keeps <c>MLContext.CancelExecution()</c> and the flag it sets internal
    /// (<c>[BestFriend]</c>, for its own AutoML); the flag is read here by reflection so that a
    /// cancellation through it stops our training too. Null when the member is not found (another
    /// ML.NET version): then only the caller's token cancels.
    /// </summary>
    private static Func<bool>? CancellationFlag(MLContext context)
    {
        var env = typeof(MLContext).GetField("_env", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(context);
        var property = env?.GetType().GetProperty("IsCanceled", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance);
        if (property?.PropertyType != typeof(bool)) return null;
        return () => (bool)property.GetValue(env)!;
    }

    public void Dispose()
    {
        _watch?.Dispose();
        _channel.Dispose();
        _cancel.Dispose();
    }

    private sealed class Sink(MLContextHost host, IProgress<TrainingProgress>? also) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            host.Info(ConsoleTrainingProgress.Format(value));
            also?.Report(value);
        }
    }
}
