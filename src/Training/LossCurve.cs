using System.Globalization;
using System.Security;
using System.Text;

namespace MLNetSeg.Training;

/// <summary>
/// Draws a training run's <see cref="MetricsLog"/> as a self-contained SVG: the upper panel has the
/// total training loss (thick, dark) and each loss component as lines against the iteration on a
/// log-scale y axis (whole decades; non-positive values cannot be placed there and are left out, the
/// legend says how many), and the total validation loss dashed when the log has it; the lower panel,
/// present when the log has validation metrics, has bbox/AP, segm/AP and keypoints/AP in percent as
/// markers joined by thin lines (−1, pycocotools' "no ground truth", is left out). Every series is one
/// &lt;polyline class="series" data-series="NAME"&gt;; AP markers are &lt;circle class="marker"&gt; with a tooltip.
/// </summary>
public static class LossCurve
{
    /// <summary>The validation metrics drawn in the lower panel, in legend order.</summary>
    public static readonly IReadOnlyList<string> ApKeys = new[] { "bbox/AP", "segm/AP", "keypoints/AP" };

    private const double Width = 960, Left = 78, Right = 230, Top = 66, LossHeight = 340, Gap = 58, ApHeight = 170, Bottom = 56;
    private const string Font = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
    private const string TotalColour = "#1f2937", GridColour = "#e5e7eb", AxisColour = "#9ca3af", TextColour = "#374151";

    // Tableau 10, minus its grey: distinct, soft, readable on white.
    private static readonly string[] ComponentColours = { "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f" };
    private static readonly Dictionary<string, string> ApColours = new(StringComparer.Ordinal)
    {
        ["bbox/AP"] = "#4e79a7", ["segm/AP"] = "#e15759", ["keypoints/AP"] = "#59a14f",
    };

    /// <summary>Writes <see cref="ToSvg"/> to <paramref name="path"/> (UTF-8), creating its folder.</summary>
    public static void WriteSvg(IReadOnlyList<MetricsRecord> records, string path, string title)
    {
        var svg = ToSvg(records, title);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        File.WriteAllText(path, svg, new UTF8Encoding(false));
    }

    /// <summary>The SVG document for <paramref name="records"/> (as read by <see cref="MetricsLog.Read"/>).</summary>
    /// <exception cref="ArgumentException">The records hold no loss and no AP value to draw.</exception>
    public static string ToSvg(IReadOnlyList<MetricsRecord> records, string title)
    {
        ArgumentNullException.ThrowIfNull(records);
        var lossSeries = LossSeries(records);
        var apSeries = ApKeys.Select(key => new Series(key, key, ApColours[key], Dashed: false,
                records.Where(r => !r.IsTraining && r.Get(key) is { } v && double.IsFinite(v) && v >= 0).Select(r => new Point(r.Iteration, r.Get(key)!.Value * 100)).ToArray(), 0))
            .Where(s => s.Points.Count > 0).ToArray();
        if (lossSeries.All(s => s.Points.Count == 0) && apSeries.Length == 0)
            throw new ArgumentException($"nothing to draw: the {records.Count} metrics records hold no loss and no {string.Join("/", ApKeys)} value", nameof(records));

        bool hasLoss = lossSeries.Any(s => s.Points.Count > 0);
        bool hasAp = apSeries.Length > 0;
        double lossTop = Top, apTop = hasLoss ? Top + LossHeight + Gap : Top;
        double height = (hasLoss ? Top + LossHeight : Top - Gap) + (hasAp ? Gap + ApHeight : 0) + Bottom;
        double x0 = Left, x1 = Width - Right;

        long lastIteration = Math.Max(1, records.Max(r => r.Iteration));
        var xTicks = NiceTicks(0, lastIteration, 8, minStep: 1);
        double xMax = Math.Max(xTicks[^1], lastIteration);
        double X(double iteration) => x0 + (x1 - x0) * iteration / xMax;

        var svg = new StringBuilder();
        svg.Append(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"{Font}\" font-size=\"12\" fill=\"{TextColour}\">\n"));
        svg.Append(Invariant($"<rect width=\"{Width}\" height=\"{height}\" fill=\"#ffffff\"/>\n"));
        svg.Append(Invariant($"<text x=\"{Width / 2}\" y=\"28\" text-anchor=\"middle\" font-size=\"17\" font-weight=\"600\">{Escape(title)}</text>\n"));
        int training = records.Count(r => r.IsTraining), validations = records.Count - training;
        svg.Append(Invariant($"<text x=\"{Width / 2}\" y=\"48\" text-anchor=\"middle\" fill=\"#6b7280\">{training} logged iterations (losses: mean over each logging window), {validations} validations</text>\n"));

        if (hasLoss)
        {
            var positive = lossSeries.SelectMany(s => s.Points).Select(p => p.Value).ToArray();
            int lo = (int)Math.Floor(Math.Log10(positive.Min())), hi = (int)Math.Ceiling(Math.Log10(positive.Max()));
            if (hi == lo) hi++;
            double Y(double v) => lossTop + LossHeight * (hi - Math.Log10(v)) / (hi - lo);
            var yTicks = LogTicks(lo, hi);
            DrawFrame(svg, x0, x1, lossTop, LossHeight, xTicks, X, yTicks.Select(t => (Y(t.Value), t.Label)).ToArray(), "loss (log scale)", xLabel: !hasAp);
            foreach (var s in lossSeries.Where(s => s.Points.Count > 0))
                DrawPolyline(svg, s, X, Y, s.Name == MetricsRecord.TotalLossKey ? 2.4 : 1.5);
            DrawLegend(svg, x1 + 24, lossTop + 4, lossSeries, markers: false);
        }
        if (hasAp)
        {
            double maxAp = apSeries.SelectMany(s => s.Points).Max(p => p.Value);
            var apTicks = NiceTicks(0, maxAp > 0 ? maxAp * 1.05 : 1, 5);  // headroom: a marker at the top edge is hard to read
            double apMax = Math.Max(apTicks[^1], maxAp);
            double Y(double v) => apTop + ApHeight * (1 - v / apMax);
            DrawFrame(svg, x0, x1, apTop, ApHeight, xTicks, X, apTicks.Select(t => (Y(t), Number(t))).ToArray(), "validation AP (%)", xLabel: true);
            foreach (var s in apSeries)
            {
                DrawPolyline(svg, s, X, Y, 1.2);
                svg.Append(Invariant($"<g fill=\"{s.Colour}\" stroke=\"#ffffff\" stroke-width=\"1\">\n"));
                foreach (var p in s.Points)
                    svg.Append(Invariant($"  <circle class=\"marker\" data-series=\"{Escape(s.Name)}\" cx=\"{X(p.Iteration):F1}\" cy=\"{Y(p.Value):F1}\" r=\"4\"><title>{Escape(s.Name)} {p.Value:F1}% at iteration {p.Iteration}</title></circle>\n"));
                svg.Append("</g>\n");
            }
            DrawLegend(svg, x1 + 24, apTop + 4, apSeries, markers: true);
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private readonly record struct Point(long Iteration, double Value);

    /// <param name="Name">The metric key the values come from.</param>
    /// <param name="Label">The legend text.</param>
    /// <param name="Colour">The SVG stroke colour.</param>
    /// <param name="Dashed">Whether the line is dashed (validation series).</param>
    /// <param name="Points">The (iteration, value) points drawn.</param>
    /// <param name="Skipped">Values left out (not positive on a log axis).</param>
    private sealed record Series(string Name, string Label, string Colour, bool Dashed, IReadOnlyList<Point> Points, int Skipped);

    /// <summary>"loss" first, then the components by name, then the validation loss.</summary>
    private static List<Series> LossSeries(IReadOnlyList<MetricsRecord> records)
    {
        var names = records.Where(r => r.IsTraining).SelectMany(r => r.Losses.Select(kv => kv.Key)).Distinct()
            .OrderBy(n => n == MetricsRecord.TotalLossKey ? 0 : 1).ThenBy(n => n, StringComparer.Ordinal).ToList();
        var series = new List<Series>();
        int colour = 0;
        foreach (var name in names)
        {
            bool total = name == MetricsRecord.TotalLossKey;
            series.Add(Collect(records.Where(r => r.IsTraining), name, total ? "loss (total)" : name,
                total ? TotalColour : ComponentColours[colour++ % ComponentColours.Length], dashed: false));
        }
        if (records.Any(r => !r.IsTraining && r.Values.ContainsKey(MetricsRecord.ValidationLossKey)))
            series.Add(Collect(records.Where(r => !r.IsTraining), MetricsRecord.ValidationLossKey, "validation loss (total)", TotalColour, dashed: true));
        return series;
    }

    private static Series Collect(IEnumerable<MetricsRecord> records, string key, string label, string colour, bool dashed)
    {
        var points = new List<Point>();
        int skipped = 0;
        foreach (var r in records)
        {
            if (r.Get(key) is not { } v || double.IsNaN(v)) continue;
            if (v > 0 && double.IsFinite(v)) points.Add(new Point(r.Iteration, v));
            else skipped++;
        }
        return new Series(key, label, colour, dashed, points, skipped);
    }

    private static void DrawFrame(StringBuilder svg, double x0, double x1, double top, double height, IReadOnlyList<double> xTicks, Func<double, double> x,
        IReadOnlyList<(double Y, string Label)> yTicks, string yLabel, bool xLabel)
    {
        double bottom = top + height;
        svg.Append(Invariant($"<g stroke=\"{GridColour}\" stroke-width=\"1\">\n"));
        foreach (var (y, _) in yTicks) svg.Append(Invariant($"  <line x1=\"{x0}\" y1=\"{y:F1}\" x2=\"{x1}\" y2=\"{y:F1}\"/>\n"));
        foreach (var t in xTicks) svg.Append(Invariant($"  <line x1=\"{x(t):F1}\" y1=\"{top}\" x2=\"{x(t):F1}\" y2=\"{bottom}\"/>\n"));
        svg.Append("</g>\n");
        svg.Append(Invariant($"<rect x=\"{x0}\" y=\"{top}\" width=\"{x1 - x0}\" height=\"{height}\" fill=\"none\" stroke=\"{AxisColour}\"/>\n"));
        svg.Append("<g class=\"y-ticks\" text-anchor=\"end\">\n");
        foreach (var (y, label) in yTicks) svg.Append(Invariant($"  <text x=\"{x0 - 8}\" y=\"{y + 4:F1}\">{Escape(label)}</text>\n"));
        svg.Append("</g>\n<g class=\"x-ticks\" text-anchor=\"middle\">\n");
        foreach (var t in xTicks) svg.Append(Invariant($"  <text x=\"{x(t):F1}\" y=\"{bottom + 18:F1}\">{IterationLabel(t)}</text>\n"));
        svg.Append("</g>\n");
        svg.Append(Invariant($"<text transform=\"translate({x0 - 56},{top + height / 2:F1}) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">{Escape(yLabel)}</text>\n"));
        if (xLabel) svg.Append(Invariant($"<text x=\"{(x0 + x1) / 2}\" y=\"{bottom + 40:F1}\" text-anchor=\"middle\" font-size=\"13\">iteration</text>\n"));
    }

    private static void DrawPolyline(StringBuilder svg, Series s, Func<double, double> x, Func<double, double> y, double width)
    {
        var points = string.Join(" ", s.Points.Select(p => Invariant($"{x(p.Iteration):F1},{y(p.Value):F1}")));
        var dash = s.Dashed ? " stroke-dasharray=\"7 4\"" : "";
        svg.Append(Invariant($"<polyline class=\"series\" data-series=\"{Escape(s.Name)}\" points=\"{points}\" fill=\"none\" stroke=\"{s.Colour}\" stroke-width=\"{width}\"{dash} stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n"));
        // A single point draws no line: mark it.
        if (s.Points.Count == 1)
            svg.Append(Invariant($"<circle cx=\"{x(s.Points[0].Iteration):F1}\" cy=\"{y(s.Points[0].Value):F1}\" r=\"3\" fill=\"{s.Colour}\"/>\n"));
    }

    private static void DrawLegend(StringBuilder svg, double x, double y, IReadOnlyList<Series> series, bool markers)
    {
        svg.Append("<g class=\"legend\">\n");
        foreach (var s in series)
        {
            double row = y + 10;
            if (markers)
            {
                svg.Append(Invariant($"  <line x1=\"{x}\" y1=\"{row}\" x2=\"{x + 26}\" y2=\"{row}\" stroke=\"{s.Colour}\" stroke-width=\"1.2\"/>\n"));
                svg.Append(Invariant($"  <circle cx=\"{x + 13}\" cy=\"{row}\" r=\"4\" fill=\"{s.Colour}\" stroke=\"#ffffff\"/>\n"));
            }
            else
            {
                var dash = s.Dashed ? " stroke-dasharray=\"7 4\"" : "";
                double width = s.Name == MetricsRecord.TotalLossKey ? 2.4 : 1.5;
                svg.Append(Invariant($"  <line x1=\"{x}\" y1=\"{row}\" x2=\"{x + 26}\" y2=\"{row}\" stroke=\"{s.Colour}\" stroke-width=\"{width}\"{dash}/>\n"));
            }
            var note = s.Points.Count == 0 ? " (no positive value)" : s.Skipped > 0 ? $" ({s.Skipped} ≤ 0 not drawn)" : "";
            svg.Append(Invariant($"  <text x=\"{x + 34}\" y=\"{row + 4}\">{Escape(s.Label + note)}</text>\n"));
            y += 20;
        }
        svg.Append("</g>\n");
    }

    /// <summary>Decades 10^lo … 10^hi; with at most two decades, also 2× and 5× each.</summary>
    private static List<(double Value, string Label)> LogTicks(int lo, int hi)
    {
        var ticks = new List<(double, string)>();
        var multiples = hi - lo <= 2 ? new[] { 1.0, 2.0, 5.0 } : new[] { 1.0 };
        for (int e = lo; e <= hi; e++)
        {
            foreach (var m in multiples)
            {
                double v = m * Math.Pow(10, e);
                if (e == hi && m > 1) break;
                ticks.Add((v, Number(v)));
            }
        }
        return ticks;
    }

    /// <summary>Round ticks (1, 2 or 5 × 10^k apart) from <paramref name="min"/> up to the first at or above <paramref name="max"/>.</summary>
    internal static double[] NiceTicks(double min, double max, int count, double minStep = 0)
    {
        double raw = Math.Max((max - min) / Math.Max(1, count), minStep);
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2.0, 5.0, 10.0 }.Select(m => m * magnitude).First(s => s >= raw * 0.999);
        var ticks = new List<double>();
        for (int i = 0; ; i++)
        {
            double t = min + i * step;
            ticks.Add(Math.Round(t / magnitude) * magnitude);
            if (t >= max - step * 1e-9) break;
        }
        return ticks.ToArray();
    }

    private static string Number(double v) =>
        v == 0 || Math.Abs(v) >= 1e-4 ? v.ToString("0.####", CultureInfo.InvariantCulture) : v.ToString("0.#E+0", CultureInfo.InvariantCulture);

    private static string IterationLabel(double t) =>
        t >= 10_000 && t % 1000 == 0 ? (t / 1000).ToString("0", CultureInfo.InvariantCulture) + "k" : t.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Escape(string text) => SecurityElement.Escape(text);

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
