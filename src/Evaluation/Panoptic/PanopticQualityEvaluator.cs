using MLNetSeg.Vision.Structures;
namespace MLNetSeg.Evaluation.Panoptic;

/// <summary>
/// Panoptic Quality (Kirillov et al. 2019) with panopticapi's <c>pq_compute</c> semantics:
/// <list type="bullet">
/// <item>a predicted and a ground-truth segment of the same category match when IoU &gt; 0.5, with
/// the prediction's pixels on void (id 0) left out of the union;</item>
/// <item>crowd ground truth is never matched and never a false negative;</item>
/// <item>an unmatched prediction is not a false positive when more than half of it lies on void
/// plus the crowd region of its category — panopticapi keeps one crowd segment per category,
/// the last one listed, and so does this class;</item>
/// <item>PQ, SQ, RQ are averaged over the categories that have any TP, FP or FN.</item>
/// </list>
/// Categories listed as unscored take part in matching like any other (so a prediction on them is
/// a false positive of its own category) but are left out of <see cref="Compute"/>'s averages and
/// per-category results: the bridge uses one for the unannotated pixels of instance datasets.
/// Where panopticapi would silently continue, this class raises instead: ground-truth ids missing
/// from the segment list, unknown ground-truth categories, size mismatches.
/// </summary>
public sealed class PanopticQualityEvaluator
{
    private const double MatchIou = 0.5;
    private readonly PanopticCategory[] _categories;
    private readonly Dictionary<int, PanopticCategory> _byId;
    private readonly Dictionary<int, Stat> _stats = new();
    private readonly HashSet<int> _unscored;

    private sealed class Stat
    {
        public double Iou;
        public int Tp, Fp, Fn;
    }

    /// <summary>Creates an evaluator with empty statistics.</summary>
    /// <param name="categories">Every category that ground truth or predictions may use.</param>
    /// <param name="unscoredCategoryIds">Categories (among <paramref name="categories"/>) that are matched but not scored.</param>
    /// <exception cref="ArgumentException">A category id is listed twice, or an unscored id is not one of the categories.</exception>
    public PanopticQualityEvaluator(IReadOnlyList<PanopticCategory> categories, IReadOnlyCollection<int>? unscoredCategoryIds = null)
    {
        ArgumentNullException.ThrowIfNull(categories);
        _categories = categories.ToArray();
        _byId = new Dictionary<int, PanopticCategory>();
        foreach (var c in _categories)
        {
            ArgumentNullException.ThrowIfNull(c, nameof(categories));
            if (!_byId.TryAdd(c.Id, c)) throw new ArgumentException($"category id {c.Id} is listed twice", nameof(categories));
        }
        foreach (var c in _categories) _stats[c.Id] = new Stat();
        _unscored = new HashSet<int>(unscoredCategoryIds ?? []);
        foreach (var id in _unscored)
            if (!_byId.ContainsKey(id)) throw new ArgumentException($"unscored category id {id} is not one of the categories", nameof(unscoredCategoryIds));
    }

    /// <summary>The categories, in the order given (the order of <see cref="Compute"/>'s per-category results).</summary>
    public IReadOnlyList<PanopticCategory> Categories => _categories;

    /// <summary>Images added so far.</summary>
    public int ImageCount { get; private set; }

    /// <summary>Scores one image's prediction against its ground truth.</summary>
    /// <param name="groundTruth">The ground-truth segment map and segment list.</param>
    /// <param name="prediction">The predicted segment map and segment list, of the same size.</param>
    /// <param name="imageId">Names the image in error messages.</param>
    /// <exception cref="ArgumentException">The sizes differ, a segment has an unknown category, or a map and its segment list disagree.</exception>
    public void Add(PanopticSegmentation groundTruth, PanopticSegmentation prediction, string? imageId = null)
    {
        ArgumentNullException.ThrowIfNull(groundTruth);
        ArgumentNullException.ThrowIfNull(prediction);
        var image = imageId ?? $"image #{ImageCount}";
        if (groundTruth.Height != prediction.Height || groundTruth.Width != prediction.Width)
            throw new ArgumentException($"{image}: ground truth is {groundTruth.Height}x{groundTruth.Width} but the prediction is {prediction.Height}x{prediction.Width}");

        var gtSegments = groundTruth.Segments.ToDictionary(s => s.Id);
        var predSegments = prediction.Segments.ToDictionary(s => s.Id);
        foreach (var s in groundTruth.Segments)
            if (!_byId.ContainsKey(s.CategoryId))
                throw new ArgumentException($"{image}: ground-truth segment {s.Id} has unknown category id {s.CategoryId}");
        foreach (var s in prediction.Segments)
            if (!_byId.ContainsKey(s.CategoryId))
                throw new ArgumentException($"{image}: predicted segment {s.Id} has unknown category id {s.CategoryId}");

        var gtIds = groundTruth.Ids;
        var predIds = prediction.Ids;
        var gtArea = new Dictionary<int, long>();
        var predArea = new Dictionary<int, long>();
        var pairs = new Dictionary<(int Gt, int Pred), long>();
        for (int i = 0; i < gtIds.Length; i++)
        {
            int g = gtIds[i], p = predIds[i];
            if (g != 0) Increment(gtArea, g);
            if (p != 0) Increment(predArea, p);
            var key = (g, p);
            pairs[key] = pairs.GetValueOrDefault(key) + 1;
        }
        foreach (var id in gtArea.Keys)
            if (!gtSegments.ContainsKey(id))
                throw new ArgumentException($"{image}: ground-truth map contains segment id {id}, which its segment list does not describe");
        foreach (var id in predArea.Keys)
            if (!predSegments.ContainsKey(id))
                throw new ArgumentException($"{image}: predicted map contains segment id {id}, which its segment list does not describe");
        var missing = prediction.Segments.Where(s => !predArea.ContainsKey(s.Id)).Select(s => s.Id).ToArray();
        if (missing.Length > 0)
            throw new ArgumentException($"{image}: predicted segments {string.Join(", ", missing)} are listed but have no pixels in the map");

        // Matching, in panopticapi's order (ascending gt id, then pred id) so IoU sums agree to the last bit.
        var gtMatched = new HashSet<int>();
        var predMatched = new HashSet<int>();
        foreach (var ((g, p), intersection) in pairs.OrderBy(kv => kv.Key.Gt).ThenBy(kv => kv.Key.Pred))
        {
            if (!gtSegments.TryGetValue(g, out var gs) || !predSegments.TryGetValue(p, out var ps)) continue;
            if (gs.IsCrowd || gs.CategoryId != ps.CategoryId) continue;
            long union = predArea[p] + gtArea[g] - intersection - pairs.GetValueOrDefault((0, p));
            double iou = (double)intersection / union;
            if (iou > MatchIou)
            {
                var stat = _stats[gs.CategoryId];
                stat.Tp++;
                stat.Iou += iou;
                gtMatched.Add(g);
                predMatched.Add(p);
            }
        }

        var crowdByCategory = new Dictionary<int, int>();
        foreach (var gs in groundTruth.Segments)
        {
            if (gtMatched.Contains(gs.Id)) continue;
            if (gs.IsCrowd)
            {
                crowdByCategory[gs.CategoryId] = gs.Id; // the last crowd segment of a category wins
                continue;
            }
            _stats[gs.CategoryId].Fn++;
        }

        foreach (var ps in prediction.Segments)
        {
            if (predMatched.Contains(ps.Id)) continue;
            long ignored = pairs.GetValueOrDefault((0, ps.Id));
            if (crowdByCategory.TryGetValue(ps.CategoryId, out int crowdId))
                ignored += pairs.GetValueOrDefault((crowdId, ps.Id));
            if ((double)ignored / predArea[ps.Id] > 0.5) continue;
            _stats[ps.CategoryId].Fp++;
        }
        ImageCount++;
    }

    /// <summary>PQ/SQ/RQ over all categories, things, stuff, and per category (unscored categories left out).</summary>
    public PanopticQualityResult Compute()
    {
        var perClass = new Dictionary<int, PqClassResult>();
        foreach (var c in _categories)
        {
            if (_unscored.Contains(c.Id)) continue;
            var s = _stats[c.Id];
            if (s.Tp + s.Fp + s.Fn == 0)
            {
                perClass[c.Id] = new PqClassResult(0, 0, 0, 0, 0, 0, s.Iou);
                continue;
            }
            double denominator = s.Tp + 0.5 * s.Fp + 0.5 * s.Fn;
            perClass[c.Id] = new PqClassResult(s.Iou / denominator, s.Tp != 0 ? s.Iou / s.Tp : 0, s.Tp / denominator, s.Tp, s.Fp, s.Fn, s.Iou);
        }
        return new PanopticQualityResult(Average(perClass, null), Average(perClass, true), Average(perClass, false), perClass);
    }

    private PqSummary Average(Dictionary<int, PqClassResult> perClass, bool? isThing)
    {
        double pq = 0, sq = 0, rq = 0;
        int n = 0;
        foreach (var c in _categories)
        {
            if (isThing is { } t && c.IsThing != t) continue;
            if (_unscored.Contains(c.Id)) continue;
            var r = perClass[c.Id];
            if (r.Tp + r.Fp + r.Fn == 0) continue;
            n++;
            pq += r.Pq;
            sq += r.Sq;
            rq += r.Rq;
        }
        return n == 0 ? new PqSummary(double.NaN, double.NaN, double.NaN, 0) : new PqSummary(pq / n, sq / n, rq / n, n);
    }

    private static void Increment(Dictionary<int, long> counts, int id) => counts[id] = counts.GetValueOrDefault(id) + 1;
}
