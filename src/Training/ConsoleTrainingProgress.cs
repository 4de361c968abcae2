using System.Globalization;
using System.Text;

namespace MLNetSeg.Training;

/// <summary>
/// The default progress sink: one status line per <see cref="TrainingEvent.Iteration"/> report
/// ("iter 120/1000  loss 1.234 (cls 0.31 box 0.22 mask 0.41 obj 0.12 rpn 0.05)  lr 0.0100  5.2 img/s  eta 3m02s"),
/// rewritten in place with '\r' when the output is a terminal and printed as plain lines otherwise
/// (logs, CI); other events are printed as lines of their own.
/// </summary>
public sealed class ConsoleTrainingProgress : IProgress<TrainingProgress>
{
    private readonly TextWriter _writer;
    private readonly bool _inPlace;
    private readonly object _gate = new();
    private int _pendingLength;

    /// <param name="writer">Where to write; standard output by default.</param>
    /// <param name="inPlace">Rewrite the iteration line in place; default: when writing to a console
    /// whose output is not redirected.</param>
    public ConsoleTrainingProgress(TextWriter? writer = null, bool? inPlace = null)
    {
        _writer = writer ?? Console.Out;
        _inPlace = inPlace ?? (writer is null && !Console.IsOutputRedirected);
    }

    /// <summary>A sink that drops every report.</summary>
    public static IProgress<TrainingProgress> Silent { get; } = new SilentProgress();

    /// <inheritdoc/>
    /// <remarks>Thread-safe: reports from several threads are written one at a time.</remarks>
    public void Report(TrainingProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        lock (_gate)
        {
            if (value.Event == TrainingEvent.Iteration)
            {
                var line = FormatIteration(value);
                if (_inPlace)
                {
                    _writer.Write('\r' + line.PadRight(_pendingLength));
                    _pendingLength = line.Length;
                    _writer.Flush();
                }
                else
                {
                    _writer.WriteLine(line);
                }
                return;
            }
            EndPendingLine();
            _writer.WriteLine(Format(value));
            _writer.Flush();
        }
    }

    private void EndPendingLine()
    {
        if (_pendingLength == 0) return;
        _writer.WriteLine();
        _pendingLength = 0;
    }

    /// <summary>The text of any report: the status line of an iteration, the figures of a validation, or the event's message.</summary>
    public static string Format(TrainingProgress p) => p.Event switch
    {
        TrainingEvent.Iteration => FormatIteration(p),
        TrainingEvent.Validation => FormatValidation(p),
        _ => p.Message ?? $"{p.Event} at iteration {p.Iteration}",
    };

    /// <summary>The status line of an iteration report.</summary>
    public static string FormatIteration(TrainingProgress p)
    {
        var b = new StringBuilder();
        int width = p.TotalIterations.ToString(CultureInfo.InvariantCulture).Length;
        b.Append(CultureInfo.InvariantCulture, $"iter {p.Iteration.ToString(CultureInfo.InvariantCulture).PadLeft(width)}/{p.TotalIterations}");
        if (p.Losses.TryGetValue("loss", out var total)) b.Append(CultureInfo.InvariantCulture, $"  loss {total:F3}");
        var parts = p.Losses.Where(kv => kv.Key != "loss").Select(kv => $"{ShortName(kv.Key)} {kv.Value.ToString("F3", CultureInfo.InvariantCulture)}");
        var joined = string.Join(" ", parts);
        if (joined.Length > 0) b.Append(" (").Append(joined).Append(')');
        b.Append(CultureInfo.InvariantCulture, $"  lr {p.LearningRate:G3}  {p.ImagesPerSecond:F1} img/s");
        if (p.Eta is { } eta) b.Append("  eta ").Append(FormatDuration(eta));
        return b.ToString();
    }

    private static string FormatValidation(TrainingProgress p)
    {
        var b = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"validation at iteration {p.Iteration}:"));
        if (p.ValidationLosses is { Count: > 0 } losses)
            b.Append(" loss ").Append(string.Join(" ", losses.Select(kv => $"{ShortName(kv.Key)} {kv.Value.ToString("F3", CultureInfo.InvariantCulture)}")));
        if (p.Metrics is { Count: > 0 } metrics)
        {
            var main = metrics.Where(kv => kv.Key.EndsWith("/AP", StringComparison.Ordinal) || kv.Key.EndsWith("/AP50", StringComparison.Ordinal));
            b.Append("  ").Append(string.Join("  ", main.Select(kv => $"{kv.Key} {(kv.Value * 100).ToString("F1", CultureInfo.InvariantCulture)}")));
        }
        if (p.Message is { } m) b.Append("  ").Append(m);
        return b.ToString();
    }

    /// <summary>"loss_classifier" → "cls" and so on, to keep the line short.</summary>
    public static string ShortName(string loss) => loss switch
    {
        "loss" => "total",
        "loss_classifier" => "cls",
        "loss_box_reg" => "box",
        "loss_mask" => "mask",
        "loss_keypoint" => "kp",
        "loss_objectness" => "obj",
        "loss_rpn_box_reg" => "rpn",
        _ => loss.StartsWith("loss_", StringComparison.Ordinal) ? loss[5..] : loss,
    };

    /// <summary>"1h02m", "3m05s", "42s".</summary>
    public static string FormatDuration(TimeSpan t)
    {
        if (t < TimeSpan.Zero) t = TimeSpan.Zero;
        if (t.TotalHours >= 1) return $"{(int)t.TotalHours}h{t.Minutes:D2}m";
        if (t.TotalMinutes >= 1) return $"{(int)t.TotalMinutes}m{t.Seconds:D2}s";
        return $"{(int)Math.Round(t.TotalSeconds)}s";
    }

    private sealed class SilentProgress : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) { }
    }
}
