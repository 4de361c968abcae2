using System.Globalization;
using System.Text;
using System.Text.Json;
using MLNetSeg.Torch.IO;

namespace MLNetSeg.Training.Comparison;

/// <summary>
/// The candidates ranked: each by its last trial, those that reached a later round of the successive
/// halving above those dropped earlier (a later round trained longer, so its score is not comparable with
/// an earlier round's), and within a round by the metric. Printed as a table, written as CSV and JSON.
/// </summary>
public sealed class Leaderboard
{
    /// <summary>Ranks the candidates of <paramref name="trials"/> (every trial of the comparison).</summary>
    public Leaderboard(IEnumerable<TrialResult> trials)
    {
        ArgumentNullException.ThrowIfNull(trials);
        var all = trials.ToArray();
        Rows = all.GroupBy(t => t.Candidate, StringComparer.Ordinal)
            .Select(g => g.MaxBy(t => t.Round)!)
            .OrderByDescending(t => t.Round).ThenByDescending(t => t.Score).ThenBy(t => t.Candidate, StringComparer.Ordinal)
            .ToArray();
        Trials = all;
    }

    /// <summary>One row per candidate, best first.</summary>
    public IReadOnlyList<TrialResult> Rows { get; }

    /// <summary>Every trial, in the order given.</summary>
    public IReadOnlyList<TrialResult> Trials { get; }

    /// <summary>The best candidate's last trial.</summary>
    public TrialResult Best => Rows.Count > 0 ? Rows[0] : throw new InvalidOperationException("the leaderboard is empty: no trial has finished");

    private static readonly string[] Columns = ["rank", "candidate", "family", "round", "metric", "score", "iterations", "train_s", "infer_ms", "params_M", "model_MiB"];

    private static string[] Cells(TrialResult t, int rank) =>
    [
        rank.ToString(CultureInfo.InvariantCulture), t.Candidate, t.Family, t.Round.ToString(CultureInfo.InvariantCulture), t.Metric,
        (t.Score * 100).ToString("F1", CultureInfo.InvariantCulture), t.TotalIterations.ToString(CultureInfo.InvariantCulture),
        t.TrainingSeconds.ToString("F0", CultureInfo.InvariantCulture), t.InferenceMilliseconds.ToString("F1", CultureInfo.InvariantCulture),
        (t.Parameters / 1e6).ToString("F2", CultureInfo.InvariantCulture), (t.ModelBytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture),
    ];

    /// <summary>A fixed-width text table (score in percent, as COCO tables print AP).</summary>
    public string ToTable()
    {
        var rows = Rows.Select((t, i) => Cells(t, i + 1)).Prepend(Columns).ToArray();
        var widths = Columns.Select((_, c) => rows.Max(r => r[c].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in rows)
            text.AppendLine(string.Join("  ", row.Select((cell, c) => c is 1 or 2 or 4 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]))).TrimEnd());
        return text.ToString();
    }

    /// <inheritdoc/>
    public override string ToString() => ToTable();

    /// <summary>The table as CSV (score as a fraction, times in seconds and milliseconds), one row per candidate.</summary>
    public string ToCsv()
    {
        var text = new StringBuilder("rank,candidate,family,round,metric,score,iterations,train_seconds,wall_seconds,inference_ms,parameters,model_bytes,model_path\n");
        for (int i = 0; i < Rows.Count; i++)
        {
            var t = Rows[i];
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{i + 1},{Csv(t.Candidate)},{t.Family},{t.Round},{t.Metric},{t.Score:R},{t.TotalIterations},{t.TrainingSeconds:F1},{t.WallSeconds:F1},{t.InferenceMilliseconds:F2},{t.Parameters},{t.ModelBytes},{Csv(t.ModelPath)}"));
        }
        return text.ToString();
    }

    /// <summary>Writes leaderboard.csv and leaderboard.json (rows and every trial) into <paramref name="directory"/>, atomically.</summary>
    public void Write(string directory)
    {
        AtomicFile.WriteAllText(Path.Combine(directory, "leaderboard.csv"), ToCsv(), createDirectory: true);
        AtomicFile.WriteAllText(Path.Combine(directory, "leaderboard.json"),
            JsonSerializer.Serialize(new { rows = Rows, trials = Trials }, new JsonSerializerOptions { WriteIndented = true }), createDirectory: true);
    }

    private static string Csv(string value) => value.Contains(',') || value.Contains('"') ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;
}
