using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.DotNet.Interactive.Formatting;
using MLNetSeg.Evaluation;
using MLNetSeg.Reporting;
using MLNetSeg.Training.Comparison;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Interactive;

/// <summary>
/// Makes our types display themselves in Polyglot / .NET Interactive notebooks: images, <see cref="Overlay"/>s and
/// <see cref="Instances"/> as pictures, evaluations and leaderboards as tables, ScottPlot plots as SVG. Call
/// <see cref="Register"/> once, in the notebook's first cell, after <c>#r</c> of this assembly.
/// </summary>
public static class NotebookFormatters
{
    private const string Html = "text/html";

    /// <summary>Registers the formatters with the notebook's formatter registry (idempotent: a later call replaces them).</summary>
    public static void Register()
    {
        Formatter.Register<Image>((image, writer) => writer.Write(ToHtml(image)), Html);
        Formatter.Register<Overlay>((overlay, writer) => writer.Write(ToHtml(overlay)), Html);
        Formatter.Register<Instances>((instances, writer) => writer.Write(ToHtml(instances)), Html);
        Formatter.Register<SegmentationEvaluation>((evaluation, writer) => writer.Write(ToHtml(evaluation)), Html);
        Formatter.Register<Leaderboard>((board, writer) => writer.Write(ToHtml(board)), Html);
        Formatter.Register<ComparisonResult>((result, writer) => writer.Write(ToHtml(result)), Html);
        Formatter.Register<ScottPlot.Plot>((plot, writer) => writer.Write(ToHtml(plot)), Html);
    }

    /// <summary>An &lt;img&gt; with the PNG inline.</summary>
    public static string ToHtml(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return $"<img alt=\"image {image.Width}×{image.Height}\" width=\"{image.Width}\" height=\"{image.Height}\" style=\"image-rendering:pixelated\" " +
               $"src=\"data:image/png;base64,{Convert.ToBase64String(ImageIO.EncodePng(image))}\">";
    }

    /// <summary>The overlay's picture, with its caption under it.</summary>
    public static string ToHtml(Overlay overlay)
    {
        ArgumentNullException.ThrowIfNull(overlay);
        string picture = ToHtml(overlay.Render());
        return overlay.Caption is null ? picture : $"<figure style=\"display:inline-block;margin:4px\">{picture}<figcaption>{E(overlay.Caption)}</figcaption></figure>";
    }

    /// <summary>The instances drawn on a grey canvas, and one table row per instance (label, score, box).</summary>
    public static string ToHtml(Instances instances)
    {
        ArgumentNullException.ThrowIfNull(instances);
        var html = new StringBuilder(ToHtml(Overlay.Of(instances)));
        html.Append(CultureInfo.InvariantCulture, $"<div>{instances.Count} instances on a {instances.ImageWidth}×{instances.ImageHeight} image</div>");
        if (instances.Count == 0) return html.ToString();
        html.Append("<table><thead><tr><th>#</th><th>label</th><th>score</th><th>box x1, y1, x2, y2</th></tr></thead><tbody>");
        for (int i = 0; i < Math.Min(instances.Count, 50); i++)
        {
            var b = instances.Boxes[i];
            string score = instances.Scores is { } s ? s[i].ToString("F3", CultureInfo.InvariantCulture) : "—";
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{i}</td><td>{instances.Labels[i]}</td><td>{score}</td><td>{b.X1:F1}, {b.Y1:F1}, {b.X2:F1}, {b.Y2:F1}</td></tr>");
        }
        if (instances.Count > 50) html.Append(CultureInfo.InvariantCulture, $"<tr><td colspan=\"4\">… {instances.Count - 50} more</td></tr>");
        return html.Append("</tbody></table>").ToString();
    }

    /// <summary>Every metric of the evaluation, in percent, one row each (−1, pycocotools' "no ground truth", as —).</summary>
    public static string ToHtml(SegmentationEvaluation evaluation)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        var html = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"<table><thead><tr><th>metric ({evaluation.ImageCount} images)</th><th>%</th></tr></thead><tbody>"));
        foreach (var (name, value) in evaluation.Metrics)
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(name)}</td><td style=\"text-align:right\">{(value < 0 || double.IsNaN(value) ? "—" : (100 * value).ToString("F1", CultureInfo.InvariantCulture))}</td></tr>");
        html.Append("</tbody></table>");
        foreach (string warning in evaluation.Warnings) html.Append("<div>⚠ ").Append(E(warning)).Append("</div>");
        return html.ToString();
    }

    /// <summary>One row per candidate, best first (the comparison report's leaderboard table).</summary>
    public static string ToHtml(Leaderboard leaderboard)
    {
        ArgumentNullException.ThrowIfNull(leaderboard);
        return ComparisonReport.TableHtml(leaderboard.Rows, ranked: true, "leaderboard");
    }

    /// <summary>The leaderboard with a line naming the metric, the time taken and the best model.</summary>
    public static string ToHtml(ComparisonResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return string.Create(CultureInfo.InvariantCulture,
            $"<div>ranked by <b>{E(result.Metric)}</b> in {result.Elapsed.TotalSeconds:F0} s; best: <b>{E(result.Leaderboard.Best.Candidate)}</b> ({E(result.BestModelPath)})</div>") +
            ToHtml(result.Leaderboard);
    }

    /// <summary>The plot as inline SVG (800×450).</summary>
    public static string ToHtml(ScottPlot.Plot plot)
    {
        ArgumentNullException.ThrowIfNull(plot);
        return $"<img alt=\"chart\" src=\"data:image/svg+xml;base64,{Convert.ToBase64String(Encoding.UTF8.GetBytes(plot.GetSvgXml(800, 450)))}\">";
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
