using MLNetSeg.Training;
using MLNetSeg.Training.Comparison;
using ScottPlot;

namespace MLNetSeg.Reporting;

/// <summary>The comparison report's charts, drawn with ScottPlot as SVG (text stays text, sharp at any zoom).</summary>
public static class ComparisonCharts
{
    private const int Width = 760, Height = 420;

    /// <summary>
    /// One candidate's training curve: the total training loss of every logged step of its trials, its rounds joined end to
    /// end (a later round continues from the earlier round's weights, so its iterations are counted on from there).
    /// </summary>
    public static IReadOnlyList<(double Iteration, double Loss)> TrainingLoss(IEnumerable<TrialResult> candidateTrials)
    {
        ArgumentNullException.ThrowIfNull(candidateTrials);
        var points = new List<(double, double)>();
        foreach (var trial in candidateTrials.OrderBy(t => t.Round))
        {
            string log = Path.Combine(Path.GetDirectoryName(trial.ModelPath)!, MetricsLog.FileName);
            if (!File.Exists(log)) continue;  // a trial folder moved or pruned: its curve is left out, not invented
            long offset = trial.TotalIterations - trial.Iterations;
            foreach (var record in MetricsLog.Read(log))
                if (record.Get(MetricsRecord.TotalLossKey) is double loss && double.IsFinite(loss))
                    points.Add((offset + record.Iteration, loss));
        }
        return points;
    }

    /// <summary>Training loss against iteration, one line per candidate (log-scaled loss).</summary>
    public static string LossSvg(IReadOnlyList<(string Candidate, IReadOnlyList<(double Iteration, double Loss)> Points)> curves)
    {
        var plot = NewPlot("Training loss", "iteration", "total loss (log10)");
        foreach (var (candidate, points) in curves)
        {
            var kept = points.Where(p => p.Loss > 0).ToArray();
            if (kept.Length == 0) continue;
            var line = plot.Add.Scatter(kept.Select(p => p.Iteration).ToArray(), kept.Select(p => Math.Log10(p.Loss)).ToArray());
            line.LegendText = candidate;
            line.MarkerSize = 0;
            line.LineWidth = 1.5f;
        }
        return Finish(plot);
    }

    /// <summary>Each trial's validation score (in %) at the total iterations its model had, joined per candidate.</summary>
    public static string ScoresSvg(Leaderboard leaderboard, string metric)
    {
        ArgumentNullException.ThrowIfNull(leaderboard);
        var plot = NewPlot($"Validation {metric} after each round", "iteration", metric + " (%)");
        foreach (var group in leaderboard.Trials.GroupBy(t => t.Candidate, StringComparer.Ordinal))
        {
            var trials = group.OrderBy(t => t.Round).ToArray();
            var line = plot.Add.Scatter(trials.Select(t => (double)t.TotalIterations).ToArray(), trials.Select(t => 100 * t.Score).ToArray());
            line.LegendText = group.Key;
            line.MarkerSize = 8;
        }
        return Finish(plot);
    }

    /// <summary>Precision against recall, one line per candidate, legend with its AP at that threshold.</summary>
    public static string PrecisionRecallSvg(IReadOnlyList<(string Candidate, PrecisionRecallCurve Curve)> curves)
    {
        string title = curves.Count > 0 ? $"Precision–recall ({curves[0].Curve.Evaluation}, IoU {curves[0].Curve.IouThreshold:0.00})" : "Precision–recall";
        var plot = NewPlot(title, "recall", "precision");
        foreach (var (candidate, curve) in curves)
        {
            var line = plot.Add.Scatter(curve.Recall.ToArray(), curve.Precision.ToArray());
            line.LegendText = $"{candidate} (AP {100 * curve.AveragePrecision:F1})";
            line.MarkerSize = 0;
            line.LineWidth = 2;
        }
        plot.Axes.SetLimits(0, 1, 0, 1.02);
        return Finish(plot);
    }

    private static Plot NewPlot(string title, string x, string y)
    {
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel(x);
        plot.YLabel(y);
        return plot;
    }

    private static string Finish(Plot plot)
    {
        plot.ShowLegend(Alignment.UpperRight);
        return plot.GetSvgXml(Width, Height);
    }
}
