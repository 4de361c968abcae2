using System.Text;
using System.Text.Json;
using MLNetSeg.Torch.IO;

namespace MLNetSeg.Training;

/// <summary>
/// The metrics log of a training run, metrics.jsonl in the checkpoint directory (like detectron2's
/// metrics.json): one json object per line, appended and flushed to disk as each line is written, so
/// a killed run keeps everything it reported.
/// <list type="bullet">
/// <item>every <see cref="TrainingEvent.Iteration"/> report (each LogPeriod iterations and the last):
/// {"iteration", "elapsed_s", "lr", "images_per_s", "loss", "loss_classifier", "loss_box_reg", ...},
/// the losses being the report's means over its window;</item>
/// <item>every <see cref="TrainingEvent.Validation"/> report: {"iteration", "elapsed_s",
/// "validation_loss", "validation_loss_classifier", ... (when computed), "bbox/AP", "segm/AP50", ...}.</item>
/// </list>
/// "elapsed_s" counts from the start of the training call, so it restarts at 0 when a run resumes.
/// Numbers are json numbers (invariant, shortest round-trip form); a non-finite value is written as null.
/// <para>
/// Resuming: <see cref="Open"/> with the checkpoint's iteration N first drops every line with an
/// iteration above N (a run killed after its last checkpoint logged iterations that the resumed run
/// will redo), rewriting the file atomically (temporary file + rename), so the log reads as if the run
/// had never stopped. A validation of an iteration the log already has a validation line for (rerunning
/// a finished run evaluates its final model again) is not written twice.
/// </para>
/// </summary>
public sealed class MetricsLog : IProgress<TrainingProgress>
{
    /// <summary>The log's file name in the checkpoint directory.</summary>
    public const string FileName = "metrics.jsonl";

    private const string IterationKey = "iteration", ElapsedKey = "elapsed_s";
    private const string ValidationPrefix = "validation_";

    private readonly IProgress<TrainingProgress>? _next;
    private readonly object _gate = new();
    private long _lastValidationIteration;

    private MetricsLog(string path, IProgress<TrainingProgress>? next, long lastValidationIteration)
    {
        Path = path;
        _next = next;
        _lastValidationIteration = lastValidationIteration;
    }

    /// <summary>The file written.</summary>
    public string Path { get; }

    /// <summary>
    /// Opens (creates) the log at <paramref name="path"/> for a run that starts after iteration
    /// <paramref name="resumeIteration"/> (0 for a fresh start): lines of later iterations are dropped
    /// first (see the class remarks). Every report is then written (iteration and validation events)
    /// and passed on to <paramref name="next"/>.
    /// </summary>
    /// <param name="path">The metrics.jsonl file; created when missing.</param>
    /// <param name="resumeIteration">The iteration the run resumes after (the checkpoint's), or 0 for a fresh start.</param>
    /// <param name="next">A sink every report is passed on to (e.g. the console), or null.</param>
    /// <param name="log">Told about an incomplete last line (a write cut off by a kill), which is dropped.</param>
    /// <exception cref="InvalidDataException">A complete line of the existing file is not a metrics record
    /// (the message names the file and line).</exception>
    public static MetricsLog Open(string path, long resumeIteration, IProgress<TrainingProgress>? next = null, Action<string>? log = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(resumeIteration);
        var kept = TruncateAfter(path, resumeIteration, log);
        long lastValidation = kept.Where(r => !r.IsTraining).Select(r => r.Iteration).DefaultIfEmpty(-1).Max();
        return new MetricsLog(path, next, lastValidation);
    }

    /// <summary>
    /// Appends the report's line (iteration and validation events only; a repeated validation of an iteration
    /// already logged is skipped), flushed to disk before returning, then passes the report on to the next sink.
    /// </summary>
    /// <param name="value">The report.</param>
    public void Report(TrainingProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (ToRecord(value) is { } record)
        {
            lock (_gate)
            {
                bool repeatedValidation = !record.IsTraining && record.Iteration <= _lastValidationIteration;
                if (!repeatedValidation)
                {
                    // Opened, written and closed per line: the line is on disk before training goes on.
                    File.AppendAllText(Path, Serialize(record) + "\n");
                    if (!record.IsTraining) _lastValidationIteration = record.Iteration;
                }
            }
        }
        _next?.Report(value);
    }

    /// <summary>The record a report becomes in the log; null for events the log does not keep.</summary>
    public static MetricsRecord? ToRecord(TrainingProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        switch (value.Event)
        {
            case TrainingEvent.Iteration:
                values["lr"] = value.LearningRate;
                values["images_per_s"] = Math.Round(value.ImagesPerSecond, 3);
                values[MetricsRecord.TotalLossKey] = value.Losses.TryGetValue(MetricsRecord.TotalLossKey, out var total) ? total : double.NaN;
                foreach (var (name, loss) in value.Losses.Where(kv => kv.Key != MetricsRecord.TotalLossKey).OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    values[name] = loss;
                break;
            case TrainingEvent.Validation:
                if (value.ValidationLosses is { } validationLosses)
                {
                    // "loss" → "validation_loss", "loss_mask" → "validation_loss_mask".
                    if (validationLosses.TryGetValue(MetricsRecord.TotalLossKey, out var validationTotal)) values[MetricsRecord.ValidationLossKey] = validationTotal;
                    foreach (var (name, loss) in validationLosses.Where(kv => kv.Key != MetricsRecord.TotalLossKey).OrderBy(kv => kv.Key, StringComparer.Ordinal))
                        values[ValidationPrefix + name] = loss;
                }
                foreach (var (name, metric) in value.Metrics ?? new Dictionary<string, double>()) values[name] = metric;
                if (values.Count == 0) return null;
                break;
            default:
                return null;
        }
        return new MetricsRecord(value.Iteration, Math.Round(value.Elapsed.TotalSeconds, 3), values);
    }

    /// <summary>One json line (without the newline): iteration, elapsed_s, then the values in their order.</summary>
    public static string Serialize(MetricsRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteNumber(IterationKey, record.Iteration);
            WriteNumberOrNull(w, ElapsedKey, record.ElapsedSeconds);
            foreach (var (name, value) in record.Values) WriteNumberOrNull(w, name, value);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
    }

    private static void WriteNumberOrNull(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteNull(name);
    }

    /// <summary>
    /// Reads a metrics.jsonl file: every non-blank line must be a json object with an integer
    /// "iteration" ≥ 0, a numeric "elapsed_s" and otherwise numbers or nulls, each key once.
    /// </summary>
    /// <exception cref="InvalidDataException">A line breaks these rules: the message starts with "file:line:".</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    public static IReadOnlyList<MetricsRecord> Read(string path) =>
        ReadLines(path, File.ReadAllText(path), dropTornTail: false, out _).Select(l => l.Record).ToArray();

    /// <summary>
    /// Drops the lines of iterations above <paramref name="iteration"/> from the log at
    /// <paramref name="path"/> (temporary file + rename, so a crash leaves the old or the new file,
    /// never a mix), and an incomplete last line. Nothing is written when nothing is dropped; a
    /// missing file stays missing. Returns the records kept.
    /// </summary>
    public static IReadOnlyList<MetricsRecord> TruncateAfter(string path, long iteration, Action<string>? log = null)
    {
        if (!File.Exists(path)) return Array.Empty<MetricsRecord>();
        var lines = ReadLines(path, File.ReadAllText(path), dropTornTail: true, out var tail);
        if (tail == Tail.Torn) log?.Invoke($"warning: {path}: dropped an incomplete last line (the run writing it was stopped mid-write)");
        var kept = lines.Where(l => l.Record.Iteration <= iteration).ToArray();
        // An unterminated last line is rewritten with its newline, or the next line would be appended to it.
        if (kept.Length == lines.Count && tail == Tail.Terminated) return kept.Select(l => l.Record).ToArray();

        // AtomicFile's temporaries are what TrainingCheckpoint.CleanStaleTemporaryFiles removes when a killed process left one.
        AtomicFile.WriteAllText(path, string.Concat(kept.Select(l => l.Text + "\n")));
        if (kept.Length < lines.Count)
            log?.Invoke($"{path}: resuming after iteration {iteration}: dropped {lines.Count - kept.Length} line(s) of later iterations");
        return kept.Select(l => l.Record).ToArray();
    }

    private readonly record struct Line(string Text, MetricsRecord Record);

    private enum Tail { Terminated, Unterminated, Torn }

    private static List<Line> ReadLines(string path, string content, bool dropTornTail, out Tail tail)
    {
        tail = Tail.Terminated;
        var raw = content.Split('\n');
        var lines = new List<Line>(raw.Length);
        for (int i = 0; i < raw.Length; i++)
        {
            var text = raw[i].TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(text)) continue;
            var number = i + 1;
            if (i < raw.Length - 1 || !dropTornTail)
            {
                lines.Add(new Line(text, Parse(path, number, text)));
                continue;
            }
            // The last piece has no newline after it: complete (written by hand), or cut off by a kill.
            try
            {
                lines.Add(new Line(text, Parse(path, number, text)));
                tail = Tail.Unterminated;
            }
            catch (InvalidDataException)
            {
                tail = Tail.Torn;
            }
        }
        return lines;
    }

    private static MetricsRecord Parse(string path, int lineNumber, string text)
    {
        InvalidDataException Bad(string what) => new($"{path}:{lineNumber}: {what}");

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw Bad($"not valid json ({e.Message})");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad($"expected a json object, found {root.ValueKind.ToString().ToLowerInvariant()}");
            long? iteration = null;
            double? elapsed = null;
            var values = new Dictionary<string, double>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name)) throw Bad($"the key \"{property.Name}\" appears twice");
                var v = property.Value;
                switch (property.Name)
                {
                    case IterationKey:
                        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var it) || it < 0)
                            throw Bad($"\"{IterationKey}\" must be an integer ≥ 0, found {v.GetRawText()}");
                        iteration = it;
                        break;
                    case ElapsedKey:
                        elapsed = Number(property.Name, v);
                        break;
                    default:
                        values[property.Name] = Number(property.Name, v);
                        break;
                }
            }
            if (iteration is null) throw Bad($"no \"{IterationKey}\"");
            if (elapsed is null) throw Bad($"no \"{ElapsedKey}\"");
            return new MetricsRecord(iteration.Value, elapsed.Value, values);
        }

        double Number(string name, JsonElement v) => v.ValueKind switch
        {
            JsonValueKind.Null => double.NaN,
            JsonValueKind.Number when v.TryGetDouble(out var d) && double.IsFinite(d) => d,
            _ => throw Bad($"\"{name}\" must be a number or null, found {v.GetRawText()}"),
        };
    }
}
