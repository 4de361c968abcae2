using System.Globalization;
using System.Text;
using MLNetSeg.Evaluation.Coco;
using MLNetSeg.Evaluation.Panoptic;
using MLNetSeg.Evaluation.Semantic;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Evaluation;

/// <summary>
/// Every evaluation of one set of segmentation results: COCO bbox / segm / keypoints, semantic
/// segmentation, panoptic quality — those that were asked for — plus one flat dictionary of their
/// numbers for logs, progress reports and model selection.
/// </summary>
public sealed class SegmentationEvaluation
{
    /// <summary>Prefix of the semantic metrics in <see cref="Metrics"/> (detectron2's SemSegEvaluator key).</summary>
    public const string SemanticPrefix = "sem_seg";

    /// <summary>Prefix of the panoptic metrics in <see cref="Metrics"/> (detectron2's COCOPanopticEvaluator key).</summary>
    public const string PanopticPrefix = "panoptic_seg";

    /// <summary>The COCO columns of <see cref="ToTable"/>, as detectron2's COCOEvaluator tabulates them.</summary>
    public static IReadOnlyList<string> TableMetrics { get; } = ["AP", "AP50", "AP75", "APs", "APm", "APl"];

    private static readonly string[] SemanticColumns = ["mIoU", "fwIoU", "mACC", "pACC", "BoundaryIoU"];

    /// <summary>Gathers evaluations already computed; <see cref="Tasks"/> and <see cref="Metrics"/> follow from which are given.</summary>
    /// <param name="bbox">The COCO bbox evaluation, or null.</param>
    /// <param name="segm">The COCO segm evaluation, or null.</param>
    /// <param name="keypoints">The COCO keypoints evaluation, or null.</param>
    /// <param name="semantic">The semantic segmentation metrics, or null.</param>
    /// <param name="panoptic">The panoptic quality, or null.</param>
    /// <param name="warnings">Warnings of the evaluation as a whole; those of the COCO evaluations are added, duplicates removed.</param>
    /// <param name="imageCount">How many images were evaluated.</param>
    /// <exception cref="ArgumentException">A COCO result is of another iou type than its parameter says.</exception>
    public SegmentationEvaluation(
        CocoEvalResult? bbox = null, CocoEvalResult? segm = null, CocoEvalResult? keypoints = null,
        SemanticSegmentationMetrics? semantic = null, PanopticQualityResult? panoptic = null,
        IReadOnlyList<string>? warnings = null, int imageCount = 0)
    {
        if (bbox is not null && bbox.IouType != CocoIouType.Bbox) throw new ArgumentException($"{nameof(bbox)} is a {bbox.IouType} evaluation", nameof(bbox));
        if (segm is not null && segm.IouType != CocoIouType.Segm) throw new ArgumentException($"{nameof(segm)} is a {segm.IouType} evaluation", nameof(segm));
        if (keypoints is not null && keypoints.IouType != CocoIouType.Keypoints)
            throw new ArgumentException($"{nameof(keypoints)} is a {keypoints.IouType} evaluation", nameof(keypoints));
        Bbox = bbox;
        Segm = segm;
        Keypoints = keypoints;
        Semantic = semantic;
        Panoptic = panoptic;
        ImageCount = imageCount;
        Warnings = (warnings ?? []).Concat(CocoEvaluations.SelectMany(r => r.Warnings)).Distinct().ToArray();
        Tasks = (bbox is null ? 0 : SegmentationTasks.Boxes) | (segm is null ? 0 : SegmentationTasks.Masks)
              | (keypoints is null ? 0 : SegmentationTasks.Keypoints) | (semantic is null ? 0 : SegmentationTasks.Semantic)
              | (panoptic is null ? 0 : SegmentationTasks.Panoptic);
        Metrics = BuildMetrics();
    }

    /// <summary>The evaluations present.</summary>
    public SegmentationTasks Tasks { get; }

    /// <summary>COCO box AP (Boxes).</summary>
    public CocoEvalResult? Bbox { get; }

    /// <summary>COCO mask AP (Masks).</summary>
    public CocoEvalResult? Segm { get; }

    /// <summary>COCO keypoint AP (Keypoints).</summary>
    public CocoEvalResult? Keypoints { get; }

    /// <summary>mIoU, fwIoU, mean and pixel accuracy, Boundary IoU (Semantic).</summary>
    public SemanticSegmentationMetrics? Semantic { get; }

    /// <summary>PQ, SQ, RQ over all categories, things, stuff (Panoptic).</summary>
    public PanopticQualityResult? Panoptic { get; }

    /// <summary>How many images were evaluated.</summary>
    public int ImageCount { get; }

    /// <summary>The COCO evaluations done, in the order bbox, segm, keypoints.</summary>
    public IEnumerable<CocoEvalResult> CocoEvaluations => new[] { Bbox, Segm, Keypoints }.Where(r => r is not null)!;

    /// <summary>Things that did not stop the evaluation but change what it means, each once.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>
    /// Every summary number, as a fraction, by "task/metric":
    /// <list type="bullet">
    /// <item>"bbox/…", "segm/…", "keypoints/…": every COCO stat by its <see cref="CocoEvalResult.StatNames"/> name
    /// (AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl; keypoints: AP, AP50, AP75, APm, APl, AR,
    /// AR50, AR75, ARm, ARl), −1 where pycocotools reports −1 (no ground truth);</item>
    /// <item>"sem_seg/mIoU", "sem_seg/fwIoU", "sem_seg/mACC", "sem_seg/pACC" (detectron2's names) and
    /// "sem_seg/BoundaryIoU" (the mean of the per-class Boundary IoU; detectron2 reports only per-class
    /// "BoundaryIoU-name"), the last only when computed;</item>
    /// <item>"panoptic_seg/PQ", "SQ", "RQ" and their "_th" (things) and "_st" (stuff) variants (detectron2's names).</item>
    /// </list>
    /// Numbers that are undefined (no labelled pixel; no category with a TP, FP or FN) are −1, like
    /// pycocotools' −1, so that the dictionary stays plain numbers.
    /// </summary>
    public IReadOnlyDictionary<string, double> Metrics { get; }

    /// <summary>
    /// The key in <see cref="Metrics"/> that ranks models doing <paramref name="tasks"/>: "segm/AP"
    /// with masks, else "keypoints/AP" with keypoints, else "bbox/AP" with boxes, else
    /// "panoptic_seg/PQ" with a panoptic map, else "sem_seg/mIoU". Instance metrics come first because
    /// they are the ones every instance family shares (a Panoptic FPN is then ranked by mask AP, as
    /// Mask R-CNN is); within them the most specific output wins (masks over boxes).
    /// </summary>
    public static string PrimaryMetric(SegmentationTasks tasks)
    {
        if ((tasks & SegmentationTasks.Masks) != 0) return "segm/AP";
        if ((tasks & SegmentationTasks.Keypoints) != 0) return "keypoints/AP";
        if ((tasks & SegmentationTasks.Boxes) != 0) return "bbox/AP";
        if ((tasks & SegmentationTasks.Panoptic) != 0) return PanopticPrefix + "/PQ";
        if ((tasks & SegmentationTasks.Semantic) != 0) return SemanticPrefix + "/mIoU";
        throw new ArgumentException("no task given: a primary metric needs at least one of Boxes, Masks, Keypoints, Semantic, Panoptic", nameof(tasks));
    }

    /// <summary><see cref="PrimaryMetric(SegmentationTasks)"/> of the evaluations present.</summary>
    public string PrimaryMetricName => PrimaryMetric(Tasks);

    /// <summary>The value of <see cref="PrimaryMetricName"/>.</summary>
    public double PrimaryMetricValue => Metrics[PrimaryMetricName];

    private Dictionary<string, double> BuildMetrics()
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var r in CocoEvaluations)
        {
            string type = r.IouType.ToString().ToLowerInvariant();
            for (int i = 0; i < r.Stats.Count; i++) metrics[$"{type}/{r.StatNames[i]}"] = r.Stats[i];
        }
        if (Semantic is { } s)
        {
            metrics[$"{SemanticPrefix}/mIoU"] = Defined(s.MeanIou);
            metrics[$"{SemanticPrefix}/fwIoU"] = Defined(s.FrequencyWeightedIou);
            metrics[$"{SemanticPrefix}/mACC"] = Defined(s.MeanAccuracy);
            metrics[$"{SemanticPrefix}/pACC"] = Defined(s.PixelAccuracy);
            if (s.MeanBoundaryIou is { } b) metrics[$"{SemanticPrefix}/BoundaryIoU"] = Defined(b);
        }
        if (Panoptic is { } p)
        {
            foreach (var (suffix, summary) in new[] { ("", p.All), ("_th", p.Things), ("_st", p.Stuff) })
            {
                metrics[$"{PanopticPrefix}/PQ{suffix}"] = Defined(summary.Pq);
                metrics[$"{PanopticPrefix}/SQ{suffix}"] = Defined(summary.Sq);
                metrics[$"{PanopticPrefix}/RQ{suffix}"] = Defined(summary.Rq);
            }
        }
        return metrics;
    }

    private static double Defined(double value) => double.IsNaN(value) ? -1 : value;

    /// <summary>
    /// Tables of percentages with one decimal ("nan" where undefined, "-" where an evaluation has no
    /// such number, e.g. keypoints' APs): one row per COCO evaluation (AP, AP50, AP75, APs, APm, APl);
    /// a semantic row (mIoU, fwIoU, mACC, pACC, BoundaryIoU); panoptic rows All / Things / Stuff
    /// (PQ, SQ, RQ, #categories), as detectron2 prints them. Tables are separated by a blank line.
    /// </summary>
    public string ToTable()
    {
        var tables = new List<string>();
        if (CocoEvaluations.Any())
        {
            var rows = CocoEvaluations.Select(r => new[] { r.IouType.ToString().ToLowerInvariant() }
                .Concat(TableMetrics.Select(m => CocoCell(r, m))).ToArray()).ToList();
            tables.Add(Table(["iou type", .. TableMetrics], rows));
        }
        if (Semantic is { } s)
        {
            var row = new[] { SemanticPrefix, Percent(s.MeanIou), Percent(s.FrequencyWeightedIou), Percent(s.MeanAccuracy),
                              Percent(s.PixelAccuracy), s.MeanBoundaryIou is { } b ? Percent(b) : "-" };
            tables.Add(Table(["task", .. SemanticColumns], [row]));
        }
        if (Panoptic is { } p)
        {
            var rows = new[] { ("All", p.All), ("Things", p.Things), ("Stuff", p.Stuff) }
                .Select(x => new[] { x.Item1, Percent(x.Item2.Pq), Percent(x.Item2.Sq), Percent(x.Item2.Rq), x.Item2.N.ToString(CultureInfo.InvariantCulture) })
                .ToList();
            tables.Add(Table([PanopticPrefix, "PQ", "SQ", "RQ", "#categories"], rows));
        }
        return string.Join("\n", tables);
    }

    /// <summary>The <see cref="ToTable"/> text.</summary>
    public override string ToString() => ToTable();

    private static string Table(IReadOnlyList<string> header, IReadOnlyList<string[]> rows)
    {
        var widths = header.Select((h, c) => Math.Max(h.Length, rows.Max(row => row[c].Length))).ToArray();
        var text = new StringBuilder();
        void Line(IReadOnlyList<string> cells) =>
            text.Append("| ").AppendJoin(" | ", cells.Select((s, c) => c == 0 ? s.PadRight(widths[c]) : s.PadLeft(widths[c]))).Append(" |\n");
        Line(header);
        text.Append('|').AppendJoin('|', widths.Select((w, c) => c == 0 ? new string('-', w + 2) : new string('-', w + 1) + ":")).Append("|\n");
        foreach (var row in rows) Line(row);
        return text.ToString();
    }

    private static string CocoCell(CocoEvalResult result, string metric)
    {
        int i = result.StatNames.ToList().IndexOf(metric);
        if (i < 0) return "-";
        double v = result.Stats[i];
        return v < 0 ? "nan" : Percent(v);
    }

    private static string Percent(double v) => double.IsNaN(v) ? "nan" : (100 * v).ToString("F1", CultureInfo.InvariantCulture);
}
