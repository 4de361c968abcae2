namespace MLNetSeg.Evaluation.Coco;

/// <summary>AP of one category: mean precision over IoU thresholds and recall points, area "all", the largest maxDets.</summary>
/// <param name="CategoryId">The COCO category id.</param>
/// <param name="Name">The category name from the ground truth.</param>
/// <param name="Ap">AP in [0, 1], or −1 when the category has no (non-ignored) ground truth.</param>
public sealed record CocoCategoryAp(long CategoryId, string Name, double Ap);

/// <summary>
/// The outcome of a COCO evaluation: pycocotools' <c>eval['precision']</c> and <c>eval['recall']</c>
/// arrays, the summary stats in <c>COCOeval.stats</c> order, per-category AP and the summary table.
/// −1 marks settings without (non-ignored) ground truth, as in pycocotools.
/// </summary>
public sealed class CocoEvalResult
{
    internal CocoEvalResult(CocoEvalParams p, long[] imageIds, long[] categoryIds, string[] categoryNames,
                            double[,,,,] precision, double[,,,] recall, IReadOnlyList<string> warnings, TimeSpan elapsed)
    {
        Params = p;
        ImageIds = imageIds;
        CategoryIds = categoryIds;
        Precision = precision;
        Recall = recall;
        Warnings = warnings;
        Elapsed = elapsed;
        var summary = CocoSummary.Summarize(p, precision, recall);
        Stats = summary.Stats;
        StatNames = summary.Names;
        SummaryText = summary.Text;
        var perCategory = new CocoCategoryAp[categoryIds.Length];
        for (int k = 0; k < categoryIds.Length; k++)
            perCategory[k] = new CocoCategoryAp(categoryIds[k], categoryNames[k], CocoSummary.CategoryAp(precision, k));
        PerCategoryAp = perCategory;
    }

    /// <summary>The thresholds, area ranges and detection limits the arrays are indexed by.</summary>
    public CocoEvalParams Params { get; }

    /// <summary>What was evaluated (<see cref="CocoEvalParams.IouType"/> of <see cref="Params"/>).</summary>
    public CocoIouType IouType => Params.IouType;

    /// <summary>Evaluated image ids, ascending (the K axis order of the arrays is <see cref="CategoryIds"/>).</summary>
    public IReadOnlyList<long> ImageIds { get; }

    /// <summary>Evaluated category ids, ascending: index k of the precision and recall arrays.</summary>
    public IReadOnlyList<long> CategoryIds { get; }

    /// <summary>[T, R, K, A, M]: IoU threshold, recall point, category, area range, maxDets.</summary>
    public double[,,,,] Precision { get; }

    /// <summary>[T, K, A, M].</summary>
    public double[,,,] Recall { get; }

    /// <summary>The 12 detection stats (10 for keypoints) in pycocotools' order.</summary>
    public IReadOnlyList<double> Stats { get; }

    /// <summary>Short names of <see cref="Stats"/>: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl (keypoints: AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl).</summary>
    public IReadOnlyList<string> StatNames { get; }

    /// <summary>AP of each evaluated category, in <see cref="CategoryIds"/> order.</summary>
    public IReadOnlyList<CocoCategoryAp> PerCategoryAp { get; }

    /// <summary>The table pycocotools' summarize() prints, one line per stat.</summary>
    public string SummaryText { get; }

    /// <summary>Things that did not stop the evaluation but change what it means (e.g. detections of unknown categories).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Wall time of <see cref="CocoEvaluator.Evaluate()"/> (preparation, matching, accumulation).</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>The <see cref="SummaryText"/> table.</summary>
    public override string ToString() => SummaryText;
}
