using System.Globalization;
using System.Text;
using MLNetSeg.Evaluation.Coco;

namespace MLNetSeg.Training;

/// <summary>The COCO evaluations of one set of detections: boxes always, masks and keypoints when asked for.</summary>
public sealed class DetectionEvaluation
{
    /// <summary>The columns of <see cref="ToTable"/>, as detectron2's COCOEvaluator tabulates them.</summary>
    public static IReadOnlyList<string> TableMetrics { get; } = new[] { "AP", "AP50", "AP75", "APs", "APm", "APl" };

    public DetectionEvaluation(CocoEvalResult bbox, CocoEvalResult? segm = null, CocoEvalResult? keypoints = null)
    {
        Bbox = bbox ?? throw new ArgumentNullException(nameof(bbox));
        Segm = segm;
        Keypoints = keypoints;
    }

    public CocoEvalResult Bbox { get; }
    public CocoEvalResult? Segm { get; }
    public CocoEvalResult? Keypoints { get; }

    /// <summary>The evaluations done, in the order bbox, segm, keypoints.</summary>
    public IEnumerable<CocoEvalResult> Results => new[] { Bbox, Segm, Keypoints }.Where(r => r is not null)!;

    /// <summary>Every evaluation's warnings (e.g. detections of unknown categories), each once.</summary>
    /// <summary>"bbox/AP", "segm/AP50", ... for every stat of every evaluation (fractions; −1 where there is no ground truth).</summary>
    public IReadOnlyDictionary<string, double> Metrics
    {
        get
        {
            var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var r in Results)
            {
                string type = r.IouType.ToString().ToLowerInvariant();
                for (int i = 0; i < r.Stats.Count; i++) metrics[$"{type}/{r.StatNames[i]}"] = r.Stats[i];
            }
            return metrics;
        }
    }

    public IReadOnlyList<string> Warnings => Results.SelectMany(r => r.Warnings).Distinct().ToArray();

    /// <summary>
    /// One row per evaluation, columns AP, AP50, AP75, APs, APm, APl as percentages with one
    /// decimal; "nan" where pycocotools reports −1 (no ground truth in that setting, as detectron2
    /// prints it) and "-" where the evaluation has no such number (keypoints have no APs).
    /// </summary>
    public string ToTable()
    {
        var rows = Results.Select(r => new[] { r.IouType.ToString().ToLowerInvariant() }
            .Concat(TableMetrics.Select(m => Cell(r, m))).ToArray()).ToList();
        var header = new[] { "iou type" }.Concat(TableMetrics).ToArray();
        var widths = header.Select((h, c) => Math.Max(h.Length, rows.Max(row => row[c].Length))).ToArray();
        var text = new StringBuilder();
        void Line(IReadOnlyList<string> cells) =>
            text.Append("| ").AppendJoin(" | ", cells.Select((s, c) => c == 0 ? s.PadRight(widths[c]) : s.PadLeft(widths[c]))).Append(" |\n");
        Line(header);
        text.Append('|').AppendJoin('|', widths.Select((w, c) => c == 0 ? new string('-', w + 2) : new string('-', w + 1) + ":")).Append("|\n");
        foreach (var row in rows) Line(row);
        return text.ToString();
    }

    public override string ToString() => ToTable();

    private static string Cell(CocoEvalResult result, string metric)
    {
        int i = result.StatNames.ToList().IndexOf(metric);
        if (i < 0) return "-";
        double v = result.Stats[i];
        return v < 0 ? "nan" : (100 * v).ToString("F1", CultureInfo.InvariantCulture);
    }
}
