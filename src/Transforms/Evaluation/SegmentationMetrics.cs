using System.Globalization;
using System.Text;
using MLNetSeg.Evaluation;
using MLNetSeg.Evaluation.Coco;
using MLNetSeg.Evaluation.Semantic;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Transforms;

/// <summary>
/// What <c>mlContext.Segmentation().Evaluate(...)</c> returns: the COCO box / mask / keypoint
/// metrics, the semantic metrics, and the <see cref="SegmentationEvaluation"/> they come from
/// (MLNetSeg's pycocotools-exact engine). Every number is a fraction in [0, 1]; −1 marks a number
/// pycocotools reports as −1 (no ground truth in that setting).
/// </summary>
public sealed class SegmentationMetrics
{
    internal SegmentationMetrics(SegmentationEvaluation evaluation, IReadOnlyList<string> classNames)
    {
        Evaluation = evaluation;
        ClassNames = classNames;
        Box = evaluation.Bbox is { } b ? new CocoMetrics(b) : null;
        Mask = evaluation.Segm is { } s ? new CocoMetrics(s) : null;
        Keypoints = evaluation.Keypoints is { } k ? new CocoMetrics(k) : null;
    }

    /// <summary>The full evaluation: pycocotools' precision / recall arrays, semantic confusion-derived metrics, warnings.</summary>
    public SegmentationEvaluation Evaluation { get; }

    /// <summary>The evaluations done.</summary>
    public SegmentationTasks Tasks => Evaluation.Tasks;

    /// <summary>How many images (rows) were evaluated.</summary>
    public int ImageCount => Evaluation.ImageCount;

    /// <summary>The instance classes by key: entry k − 1 names key k of the <c>Label</c> column (its KeyValues, or "k" without them). Empty without instance columns.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>COCO box AP ("bbox"); null unless boxes were evaluated.</summary>
    public CocoMetrics? Box { get; }

    /// <summary>COCO mask AP ("segm"); null unless masks were evaluated.</summary>
    public CocoMetrics? Mask { get; }

    /// <summary>COCO keypoint AP (OKS); null unless keypoints were evaluated.</summary>
    public CocoMetrics? Keypoints { get; }

    /// <summary>Semantic metrics (mIoU, fwIoU, mean and pixel accuracy, per-class IoU, Boundary IoU); null unless evaluated.</summary>
    public SemanticSegmentationMetrics? Semantic => Evaluation.Semantic;

    /// <summary>Semantic mean IoU over classes with ground truth or predictions (detectron2's mIoU); null unless evaluated.</summary>
    public double? MeanIou => Semantic?.MeanIou;

    /// <summary>Semantic frequency-weighted IoU; null unless evaluated.</summary>
    public double? FrequencyWeightedIou => Semantic?.FrequencyWeightedIou;

    /// <summary>Semantic mean class accuracy (mAcc); null unless evaluated.</summary>
    public double? MeanAccuracy => Semantic?.MeanAccuracy;

    /// <summary>Semantic mean Boundary IoU; null unless evaluated with boundary IoU on.</summary>
    public double? BoundaryIou => Semantic?.MeanBoundaryIou;

    /// <summary>Every number by "task/metric" (see <see cref="SegmentationEvaluation.Metrics"/>).</summary>
    public IReadOnlyDictionary<string, double> Metrics => Evaluation.Metrics;

    /// <summary>Things that did not stop the evaluation but change what it means.</summary>
    public IReadOnlyList<string> Warnings => Evaluation.Warnings;

    /// <summary>
    /// Text tables, percentages with one decimal: the summary of <see cref="SegmentationEvaluation.ToTable"/>
    /// (one row per COCO evaluation, the semantic row), then the per-class AP of each COCO evaluation
    /// ("-" where a class is not evaluated, "nan" where it has no ground truth).
    /// </summary>
    public string ToTable()
    {
        var text = new StringBuilder(Evaluation.ToTable());
        var coco = new[] { ("bbox AP", Box), ("segm AP", Mask), ("keypoints AP", Keypoints) }.Where(c => c.Item2 is not null).ToArray();
        if (coco.Length > 0 && ClassNames.Count > 0)
        {
            var header = new[] { "class" }.Concat(coco.Select(c => c.Item1)).ToArray();
            var rows = new List<string[]>();
            for (int k = 1; k <= ClassNames.Count; k++)
            {
                var row = new string[header.Length];
                row[0] = ClassNames[k - 1];
                for (int c = 0; c < coco.Length; c++)
                {
                    var ap = coco[c].Item2!.PerClass.FirstOrDefault(p => p.Key == k);
                    row[c + 1] = ap is null ? "-" : ap.AP < 0 ? "nan" : (100 * ap.AP).ToString("F1", CultureInfo.InvariantCulture);
                }
                rows.Add(row);
            }
            text.Append('\n').Append(Table(header, rows));
        }
        return text.ToString();
    }

    /// <summary>The <see cref="ToTable"/> text.</summary>
    public override string ToString() => ToTable();

    private static string Table(IReadOnlyList<string> header, IReadOnlyList<string[]> rows)
    {
        var widths = header.Select((h, c) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(row => row[c].Length))).ToArray();
        var text = new StringBuilder();
        void Line(IReadOnlyList<string> cells) =>
            text.Append("| ").AppendJoin(" | ", cells.Select((s, c) => c == 0 ? s.PadRight(widths[c]) : s.PadLeft(widths[c]))).Append(" |\n");
        Line(header);
        text.Append('|').AppendJoin('|', widths.Select((w, c) => c == 0 ? new string('-', w + 2) : new string('-', w + 1) + ":")).Append("|\n");
        foreach (var row in rows) Line(row);
        return text.ToString();
    }
}

/// <summary>AP of one class: pycocotools' precision averaged over IoU thresholds and recall points (area "all", the largest maxDets), −1 without ground truth.</summary>
/// <param name="Key">The class's key in the <c>Label</c> column (1-based; the COCO category id of the evaluation).</param>
/// <param name="Name">Its name (the key's value).</param>
/// <param name="AP">The AP, a fraction; −1 when the class has no ground truth.</param>
public sealed record ClassAveragePrecision(int Key, string Name, double AP);

/// <summary>
/// One COCO evaluation's summary numbers, named as pycocotools' <c>summarize()</c> prints them.
/// Box and mask evaluations have the 12 detection stats; the keypoint evaluation has 10
/// (no small area range, maxDets 20), so <see cref="APSmall"/>, <see cref="ARSmall"/>,
/// <see cref="AR1"/> and <see cref="AR10"/> are null for it and <see cref="AR50"/> / <see cref="AR75"/>
/// are null for the others.
/// </summary>
public sealed class CocoMetrics
{
    internal CocoMetrics(CocoEvalResult result)
    {
        Result = result;
        var byName = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int i = 0; i < result.Stats.Count; i++) byName[result.StatNames[i]] = result.Stats[i];
        Stats = byName;
        PerClass = result.PerCategoryAp.Select(c => new ClassAveragePrecision((int)c.CategoryId, c.Name, c.Ap)).ToArray();
    }

    /// <summary>The engine's result: precision [T, R, K, A, M] and recall arrays, summary text, warnings.</summary>
    public CocoEvalResult Result { get; }

    /// <summary>"bbox", "segm" or "keypoints".</summary>
    public CocoIouType IouType => Result.IouType;

    /// <summary>Every stat by pycocotools' short name (AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl; keypoints: AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl).</summary>
    public IReadOnlyDictionary<string, double> Stats { get; }

    /// <summary>AP at IoU 0.50:0.95 (COCO's primary metric).</summary>
    public double AP => Stats["AP"];

    /// <summary>AP at IoU 0.50.</summary>
    public double AP50 => Stats["AP50"];

    /// <summary>AP at IoU 0.75.</summary>
    public double AP75 => Stats["AP75"];

    /// <summary>AP of small objects (area &lt; 32²); null for keypoints.</summary>
    public double? APSmall => Get("APs");

    /// <summary>AP of medium objects (32² to 96²).</summary>
    public double APMedium => Stats["APm"];

    /// <summary>AP of large objects (&gt; 96²).</summary>
    public double APLarge => Stats["APl"];

    /// <summary>AR with 1 detection per image; null for keypoints.</summary>
    public double? AR1 => Get("AR1");

    /// <summary>AR with 10 detections per image; null for keypoints.</summary>
    public double? AR10 => Get("AR10");

    /// <summary>AR at the largest maxDets (AR100 for boxes and masks, AR at 20 for keypoints).</summary>
    public double AR => Stats.TryGetValue("AR100", out var v) ? v : Stats["AR"];

    /// <summary>AR at OKS 0.50 (keypoints only).</summary>
    public double? AR50 => Get("AR50");

    /// <summary>AR at OKS 0.75 (keypoints only).</summary>
    public double? AR75 => Get("AR75");

    /// <summary>AR of small objects; null for keypoints.</summary>
    public double? ARSmall => Get("ARs");

    /// <summary>AR of medium objects.</summary>
    public double ARMedium => Stats["ARm"];

    /// <summary>AR of large objects.</summary>
    public double ARLarge => Stats["ARl"];

    /// <summary>AP per evaluated class, in key order (keypoints: the classes that have keypoints).</summary>
    public IReadOnlyList<ClassAveragePrecision> PerClass { get; }

    private double? Get(string name) => Stats.TryGetValue(name, out var v) ? v : null;

    /// <summary>pycocotools' summary table (<see cref="CocoEvalResult.SummaryText"/>).</summary>
    public override string ToString() => Result.SummaryText;
}
