using System.Globalization;
using System.Net;
using System.Text;
using MLNetSeg.Data.Loading;
using MLNetSeg.Torch.IO;
using MLNetSeg.Training;
using MLNetSeg.Training.Comparison;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Reporting;

/// <summary>
/// The model comparison as one self-contained HTML page (no script, no external file: charts are inline SVG, images are
/// PNG data URIs): the leaderboard, every trial, training-loss and validation-score curves, precision–recall curves, and
/// the first validation images overlaid by each candidate side by side with the ground truth.
/// </summary>
/// <remarks>
/// Each candidate's final model is loaded and run on the validation images once, then disposed, so the page's curves and
/// overlays come from the same files the leaderboard ranks. Precision–recall curves use the COCO evaluation the metric
/// ranks by (segm for segm/..., else bbox, else keypoints) at IoU 0.5; a candidate without instances (a semantic-only
/// model) shows its semantic map instead and has no curve.
/// </remarks>
public static class ComparisonReport
{
    /// <summary>The report's file name in the comparison folder.</summary>
    public const string FileName = "report.html";

    /// <summary>Writes <see cref="FileName"/> into the comparison's folder and returns its path.</summary>
    /// <param name="comparison">A finished comparison (its leaderboard and folder).</param>
    /// <param name="validation">The validation set the comparison ranked on (its images and ground truth are drawn).</param>
    /// <param name="options">What to show; defaults when null.</param>
    /// <param name="cancellationToken">Stops between images.</param>
    /// <exception cref="ArgumentException">The leaderboard is empty or the validation set has no images.</exception>
    public static string Write(ComparisonResult comparison, DetectionDataset validation, ComparisonReportOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        string path = Path.Combine(comparison.Directory, FileName);
        AtomicFile.WriteAllText(path, Render(comparison, validation, options, cancellationToken), createDirectory: true);
        return path;
    }

    /// <summary>The page's HTML (what <see cref="Write"/> saves).</summary>
    /// <inheritdoc cref="Write" path="/param"/>
    public static string Render(ComparisonResult comparison, DetectionDataset validation, ComparisonReportOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        ArgumentNullException.ThrowIfNull(validation);
        options ??= new ComparisonReportOptions();
        options.Validate();
        var leaderboard = comparison.Leaderboard;
        if (leaderboard.Rows.Count == 0) throw new ArgumentException("the comparison has no finished trial to report", nameof(comparison));
        if (validation.Count == 0) throw new ArgumentException("the validation set has no images", nameof(validation));

        int overlayCount = Math.Min(options.OverlayImages, validation.Count);
        int curveCount = Math.Min(options.CurveImages ?? validation.Count, validation.Count);
        var images = Enumerable.Range(0, overlayCount).Select(validation.LoadImage).ToArray();
        var views = leaderboard.Rows.Select(row =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            options.Log?.Invoke($"report: running {row.Candidate} on {Math.Max(curveCount, overlayCount)} validation images");
            return CandidateView.Run(row, validation, comparison.Metric, images, curveCount, options.OverlayScoreThreshold, cancellationToken);
        }).ToArray();

        var html = new StringBuilder();
        string title = options.Title ?? $"Model comparison — {Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(comparison.Directory)))}";
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(title)).Append("</title>\n<style>")
            .Append(Style).Append("</style></head><body>\n<h1>").Append(E(title)).Append("</h1>\n");
        html.Append(CultureInfo.InvariantCulture,
            $"<p class=\"lede\">{leaderboard.Rows.Count} candidates ranked by <b>{E(comparison.Metric)}</b> on {validation.Count} validation images; " +
            $"{leaderboard.Trials.Count} trials in {comparison.Elapsed.TotalMinutes:F1} min of wall time. Best: <b>{E(leaderboard.Best.Candidate)}</b> " +
            $"({E(leaderboard.Best.Family)}, {100 * leaderboard.Best.Score:F1}).</p>\n");

        html.Append("<h2>Leaderboard</h2>\n");
        html.Append(TableHtml(leaderboard.Rows, ranked: true, "leaderboard"));
        html.Append("<h2>Every trial</h2>\n<p>Successive halving: every candidate trains in round 1; the best continue from their weights in the next round.</p>\n");
        html.Append(TableHtml(leaderboard.Trials.OrderBy(t => t.Round).ThenByDescending(t => t.Score).ToArray(), ranked: false, "trials"));

        html.Append("<h2>Training</h2>\n<div class=\"charts\">")
            .Append(Figure("loss", ComparisonCharts.LossSvg(leaderboard.Rows
                .Select(r => (r.Candidate, ComparisonCharts.TrainingLoss(leaderboard.Trials.Where(t => t.Candidate == r.Candidate)))).ToArray())))
            .Append(Figure("scores", ComparisonCharts.ScoresSvg(leaderboard, comparison.Metric)))
            .Append("</div>\n");

        var curves = views.Where(v => v.Curve is not null).Select(v => (v.Trial.Candidate, v.Curve!)).ToArray();
        html.Append("<h2>Precision and recall</h2>\n");
        if (curves.Length > 0)
            html.Append(CultureInfo.InvariantCulture, $"<p>On the first {curveCount} validation images, all detections, averaged over the classes.</p>\n")
                .Append("<div class=\"charts\">").Append(Figure("pr", ComparisonCharts.PrecisionRecallSvg(curves))).Append("</div>\n");
        else
            html.Append("<p>No candidate predicts instances, so there is no precision–recall curve.</p>\n");

        html.Append(CultureInfo.InvariantCulture,
            $"<h2>The same images, every model</h2>\n<p>Ground truth, then each candidate in leaderboard order (instances scoring at least {options.OverlayScoreThreshold:0.##}).</p>\n");
        AppendOverlays(html, validation, images, views);
        html.Append("</body></html>\n");
        return html.ToString();
    }

    /// <summary>An HTML table of <paramref name="trials"/>: rank (or round), candidate, family, score, the headline metrics
    /// (AP and AP50 of each COCO evaluation, mIoU, PQ) in %, iterations, training seconds, inference ms/image, parameters, size.
    /// The report's tables; notebooks show a <see cref="Leaderboard"/> with it too.</summary>
    public static string TableHtml(IReadOnlyList<TrialResult> trials, bool ranked, string id)
    {
        ArgumentNullException.ThrowIfNull(trials);
        var html = new StringBuilder();
        var metrics = trials.SelectMany(t => t.Metrics.Keys).Distinct(StringComparer.Ordinal).Where(IsHeadline).Order(StringComparer.Ordinal).ToArray();
        html.Append(CultureInfo.InvariantCulture, $"<table id=\"{id}\"><thead><tr>");
        foreach (string h in (ranked ? new[] { "rank" } : new[] { "round" }).Concat(new[] { "candidate", "family", "score" }).Concat(metrics)
                     .Concat(new[] { "iterations", "training s", "inference ms/image", "parameters (M)", "model MiB" }))
            html.Append("<th>").Append(E(h)).Append("</th>");
        html.Append("</tr></thead><tbody>\n");
        for (int i = 0; i < trials.Count; i++)
        {
            var t = trials[i];
            html.Append(i == 0 && ranked ? "<tr class=\"best\">" : "<tr>")
                .Append(Cell(ranked ? i + 1 : t.Round + 1)).Append("<td>").Append(E(t.Candidate)).Append("</td><td>").Append(E(t.Family)).Append("</td>")
                .Append(Cell(100 * t.Score, "F1"));
            foreach (string m in metrics) html.Append(t.Metrics.TryGetValue(m, out double v) && v >= 0 ? Cell(100 * v, "F1") : "<td class=\"na\">—</td>");
            html.Append(Cell(t.TotalIterations)).Append(Cell(t.TrainingSeconds, "F0")).Append(Cell(t.InferenceMilliseconds, "F1"))
                .Append(Cell(t.Parameters / 1e6, "F2")).Append(Cell(t.ModelBytes / 1048576.0, "F1")).Append("</tr>\n");
        }
        return html.Append("</tbody></table>\n").ToString();
    }

    /// <summary>The metrics worth a column: the AP of each COCO evaluation, AP50, and the semantic/panoptic headline numbers.</summary>
    private static bool IsHeadline(string metric) => metric.EndsWith("/AP", StringComparison.Ordinal) || metric.EndsWith("/AP50", StringComparison.Ordinal)
        || metric is "sem_seg/mIoU" or "panoptic_seg/PQ";

    private static void AppendOverlays(StringBuilder html, DetectionDataset validation, Image[] images, CandidateView[] views)
    {
        if (images.Length == 0) return;
        IReadOnlyList<string>? names = views.Select(v => v.ClassNames).FirstOrDefault(n => n is not null);
        html.Append("<table id=\"overlays\"><thead><tr><th>image</th><th>ground truth</th>");
        foreach (var v in views) html.Append("<th>").Append(E(v.Trial.Candidate)).Append("</th>");
        html.Append("</tr></thead><tbody>\n");
        for (int i = 0; i < images.Length; i++)
        {
            var truth = validation.GetTarget(i).ToInstances(new ImageSize(images[i].Height, images[i].Width));
            html.Append("<tr><td>").Append(E(validation.ImageInfo(i).FileName ?? "")).Append("</td>")
                .Append(Picture(Visualizer.Draw(images[i], truth, names, new VisualizerOptions { ShowScores = false }), "ground truth"));
            foreach (var v in views) html.Append(Picture(v.Overlays[i], v.Trial.Candidate));
            html.Append("</tr>\n");
        }
        html.Append("</tbody></table>\n");
    }

    private static string Picture(Image image, string alt) =>
        $"<td><img class=\"overlay\" alt=\"{E(alt)}\" width=\"{image.Width}\" height=\"{image.Height}\" src=\"data:image/png;base64,{Convert.ToBase64String(ImageIO.EncodePng(image))}\"></td>";

    private static string Figure(string id, string svg) =>
        $"<figure><img class=\"chart\" id=\"chart-{id}\" alt=\"{id} chart\" src=\"data:image/svg+xml;base64,{Convert.ToBase64String(Encoding.UTF8.GetBytes(svg))}\"></figure>";

    private static string Cell(double value, string format) => "<td class=\"num\">" + value.ToString(format, CultureInfo.InvariantCulture) + "</td>";

    private static string Cell(long value) => "<td class=\"num\">" + value.ToString(CultureInfo.InvariantCulture) + "</td>";

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private const string Style =
        "body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:24px 32px;color:#1f2937;background:#fff}" +
        "h1{font-size:1.5rem;margin-bottom:4px}h2{font-size:1.15rem;margin-top:28px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}" +
        ".lede{color:#4b5563}table{border-collapse:collapse;font-size:.9rem;margin:8px 0}th,td{padding:4px 10px;border-bottom:1px solid #e5e7eb;text-align:left}" +
        "th{background:#f9fafb;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}td.na{color:#9ca3af;text-align:center}" +
        "tr.best td{background:#ecfdf5;font-weight:600}.charts{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0}img.chart{width:760px;max-width:100%}" +
        "#overlays td{vertical-align:top}img.overlay{display:block;image-rendering:pixelated}";
}
