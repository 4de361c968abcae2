using System.Diagnostics;
using MLNetSeg.Data.Coco;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Evaluation.Coco;

/// <summary>
/// COCO detection / segmentation / keypoint evaluation with pycocotools' exact semantics
/// (COCOeval.evaluate + accumulate + summarize), parallelised over categories.
/// </summary>
public sealed class CocoEvaluator
{
    private readonly CocoDataset _groundTruth;
    private readonly CocoEvalOptions _options;
    // Prepares the detections once the evaluated images and categories are known: from a results
    // file, or straight from in-memory instances.
    private readonly Func<CocoEvalParams, EvalIndex, List<string>, EvalDetections> _detections;
    private readonly List<string> _keypointWarnings = [];

    /// <summary>Prepares the evaluation of a COCO results file, as pycocotools' <c>COCOeval(gt, gt.loadRes(results), iouType)</c>.</summary>
    /// <param name="groundTruth">The ground-truth dataset.</param>
    /// <param name="results">The detections; those outside the evaluated images and categories are ignored, those of
    /// categories the ground truth lacks with a warning (<see cref="CocoEvalResult.Warnings"/>).</param>
    /// <param name="iouType">What is compared: boxes, masks or keypoints.</param>
    /// <param name="options">Image and category subsets, keypoint sigmas, threads; null means all images and categories.</param>
    /// <exception cref="ArgumentException">The keypoint sigmas are invalid or do not fit a category's keypoint count.</exception>
    public CocoEvaluator(CocoDataset groundTruth, CocoResults results, CocoIouType iouType, CocoEvalOptions? options = null)
        : this(groundTruth, iouType, options)
    {
        ArgumentNullException.ThrowIfNull(results);
        _detections = (p, index, warnings) => EvalDetections.Build(results, _groundTruth, p, index, _options.MaxDegreeOfParallelism, warnings);
    }

    /// <summary>
    /// Evaluates model output held in memory, with no COCO results file or compressed-RLE strings
    /// in between; the numbers are those of the same instances written as COCO results with only
    /// the evaluated field (see remarks).
    /// </summary>
    /// <remarks>
    /// One detection per instance, images in the order given, instances in their order (the order
    /// decides ties between equal scores, as file order does). Scores, box corners and keypoint
    /// coordinates are widened from float exactly. Per IoU type, as a results file holding only that
    /// field would be read by pycocotools' loadRes:
    /// <list type="bullet">
    /// <item>bbox: the box as [x1, y1, x2 − x1, y2 − y1] (the subtraction in float, as torch does), area = w × h;</item>
    /// <item>segm: the mask (each must have its image's size), area = mask area;</item>
    /// <item>keypoints: (x, y, 1) triplets, area and box = the extent of the keypoints.</item>
    /// </list>
    /// </remarks>
    /// <param name="groundTruth">The ground-truth dataset.</param>
    /// <param name="predictions">One <see cref="Instances"/> per image (scores required; masks for segm, keypoints for keypoints).</param>
    /// <param name="imageIds">The ground-truth image id of each prediction.</param>
    /// <param name="labelToCategoryId">The COCO category id of each label; instances whose category is not in the ground
    /// truth (e.g. label 0 or torchvision's "N/A" labels) are left out with a warning, as pycocotools leaves them out.</param>
    /// <param name="iouType">What is compared: boxes, masks or keypoints.</param>
    /// <param name="options">Image and category subsets, keypoint sigmas, threads; null means all images and categories.</param>
    /// <exception cref="ArgumentException">The counts of predictions and image ids differ, or the keypoint sigmas are invalid.</exception>
    public CocoEvaluator(CocoDataset groundTruth, IReadOnlyList<Instances> predictions, IReadOnlyList<long> imageIds,
                         IReadOnlyList<int> labelToCategoryId, CocoIouType iouType, CocoEvalOptions? options = null)
        : this(groundTruth, iouType, options)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(imageIds);
        ArgumentNullException.ThrowIfNull(labelToCategoryId);
        if (predictions.Count != imageIds.Count)
            throw new ArgumentException($"{predictions.Count} predictions but {imageIds.Count} image ids; give one image id per prediction", nameof(imageIds));
        _detections = (p, index, warnings) => EvalDetections.FromInstances(
            predictions, imageIds, labelToCategoryId, _groundTruth, p, index, _options.MaxDegreeOfParallelism, warnings);
    }

    private CocoEvaluator(CocoDataset groundTruth, CocoIouType iouType, CocoEvalOptions? options)
    {
        _detections = null!; // set by the public constructor that chains here
        _groundTruth = groundTruth ?? throw new ArgumentNullException(nameof(groundTruth));
        _options = options ?? new CocoEvalOptions();
        if (_options.KeypointSigmas is { } sigmas && CocoOks.SigmasProblem(sigmas) is { } problem)
            throw new ArgumentException($"CocoEvalOptions.KeypointSigmas: {problem}", nameof(options));
        Params = CocoEvalParams.For(iouType, _options.KeypointSigmas);
        if (iouType == CocoIouType.Keypoints) CheckKeypointCounts();
    }

    /// <summary>pycocotools' <c>Params</c> for the iou type (and the keypoint sigmas in use).</summary>
    public CocoEvalParams Params { get; }

    /// <summary>Evaluates <paramref name="results"/> against <paramref name="groundTruth"/> in one call.</summary>
    public static CocoEvalResult Evaluate(CocoDataset groundTruth, CocoResults results, CocoIouType iouType, CocoEvalOptions? options = null) =>
        new CocoEvaluator(groundTruth, results, iouType, options).Evaluate();

    /// <summary>Evaluates in-memory <paramref name="predictions"/> in one call (see the matching constructor).</summary>
    public static CocoEvalResult Evaluate(CocoDataset groundTruth, IReadOnlyList<Instances> predictions, IReadOnlyList<long> imageIds,
                                          IReadOnlyList<int> labelToCategoryId, CocoIouType iouType, CocoEvalOptions? options = null) =>
        new CocoEvaluator(groundTruth, predictions, imageIds, labelToCategoryId, iouType, options).Evaluate();

    /// <summary>
    /// Runs pycocotools' <c>evaluate()</c>, <c>accumulate()</c> and <c>summarize()</c>: matches detections to
    /// ground truth per image and category, then builds the precision / recall arrays and the summary stats.
    /// </summary>
    /// <returns>The arrays, stats and per-category AP.</returns>
    /// <exception cref="CocoFormatException">A result names an image the ground truth lacks, or lacks the field
    /// (bbox, segmentation, keypoints) the evaluation reads, or has a mask of the wrong size.</exception>
    public CocoEvalResult Evaluate()
    {
        var clock = Stopwatch.StartNew();
        var p = Params;
        var warnings = new List<string>(_keypointWarnings);
        int? dop = _options.MaxDegreeOfParallelism;
        var index = EvalIndex.Create(_groundTruth, _options);
        var gt = EvalGroundTruth.Build(_groundTruth, p, index, dop, warnings);
        var dt = _detections(p, index, warnings);

        int kCount = index.CategoryIds.Length;
        var cellsByCategory = BuildCells(gt, dt, index.ImageIds.Length, kCount);
        var oks = p.IouType == CocoIouType.Keypoints ? new CocoOks(p.KeypointSigmas!) : null;
        int maxDetsLast = p.MaxDetections.Max();

        var precision = new double[p.IouThresholds.Count, p.RecallThresholds.Count, kCount, p.AreaRanges.Count, p.MaxDetections.Count];
        var recall = new double[p.IouThresholds.Count, kCount, p.AreaRanges.Count, p.MaxDetections.Count];
        Fill(precision, -1);
        Fill(recall, -1);

        // evaluateImg over all (image, category) cells, then accumulate per category: two parallel
        // phases, so a single-category evaluation (keypoints) still uses every core.
        var allCells = cellsByCategory.SelectMany(c => c).ToArray();
        Parallelism.For(allCells.Length, dop, i =>
        {
            var cell = allCells[i];
            cell.SortAndTruncate(dt.Score, maxDetsLast);
            cell.Match(ComputeIous(cell, gt, dt, oks), gt, dt.Area, p.AreaRanges, p.IouThresholds);
        });
        Parallelism.For(kCount, dop, k => CategoryAccumulator.Accumulate(k, cellsByCategory[k], dt.Score, p, precision, recall));

        var names = index.CategoryIds.Select(id => _groundTruth.GetCategory(id).Name).ToArray();
        return new CocoEvalResult(p, index.ImageIds, index.CategoryIds, names, precision, recall, warnings, clock.Elapsed);
    }

    /// <summary>
    /// The sigmas must fit every evaluated category that names its keypoints (categories that do
    /// not are checked annotation by annotation). Without user sigmas the 17 COCO person sigmas
    /// are used, which pycocotools would broadcast against another keypoint count and fail with a
    /// numpy shape error in computeOks; here that is a clear error up front.
    /// </summary>
    private void CheckKeypointCounts()
    {
        var sigmas = _options.KeypointSigmas;
        var person = KeypointSchema.CocoPerson;
        var ids = _options.CategoryIds is { } chosen ? chosen.ToHashSet() : null;
        foreach (var c in _groundTruth.Categories)
        {
            if (ids is not null && !ids.Contains(c.Id)) continue;
            if (c.Keypoints is not { Count: > 0 } names) continue;
            string what = $"category {c.Id} ('{c.Name}') of {_groundTruth.Source}";
            if (sigmas is not null)
            {
                if (sigmas.Count != names.Count)
                    throw new ArgumentException(
                        $"CocoEvalOptions.KeypointSigmas has {sigmas.Count} sigmas but {what} has {names.Count} keypoints; give one sigma per keypoint", "options");
            }
            else if (names.Count != person.Count)
            {
                throw new ArgumentException(
                    $"{what} has {names.Count} keypoints but no OKS sigmas are given, and the default (COCO person) sigmas are for {person.Count}; " +
                    $"give {names.Count} per-keypoint sigmas in CocoEvalOptions.KeypointSigmas (pycocotools' kpt_oks_sigmas units: the COCO person ones are 0.025 to 0.107)",
                    "options");
            }
            else if (!names.SequenceEqual(person.Names, StringComparer.OrdinalIgnoreCase))
            {
                _keypointWarnings.Add(
                    $"{what} has 17 keypoints that are not the COCO person ones ({string.Join(", ", names)}); " +
                    "they are scored with the COCO person OKS sigmas (set CocoEvalOptions.KeypointSigmas for their own)");
            }
        }
    }

    /// <summary>
    /// Groups ground truths and detections by (category, image), keeping file order inside each
    /// group, with one list of cells per category in ascending image order.
    /// </summary>
    private static List<EvalCell>[] BuildCells(EvalGroundTruth gt, EvalDetections dt, int imageCount, int categoryCount)
    {
        long[] gtKeys = SortedKeys(gt.CategoryIndex, gt.ImageIndex, imageCount);
        long[] dtKeys = SortedKeys(dt.CategoryIndex, dt.ImageIndex, imageCount);
        long gtN = gt.Count, dtN = dt.Count;
        var byCategory = new List<EvalCell>[categoryCount];
        for (int k = 0; k < categoryCount; k++) byCategory[k] = [];

        int gi = 0, di = 0;
        while (gi < gtKeys.Length || di < dtKeys.Length)
        {
            long gKey = gi < gtKeys.Length ? gtKeys[gi] / Math.Max(gtN, 1) : long.MaxValue;
            long dKey = di < dtKeys.Length ? dtKeys[di] / Math.Max(dtN, 1) : long.MaxValue;
            long key = Math.Min(gKey, dKey);
            int gStart = gi, dStart = di;
            while (gi < gtKeys.Length && gtKeys[gi] / gtN == key) gi++;
            while (di < dtKeys.Length && dtKeys[di] / dtN == key) di++;
            var gts = new int[gi - gStart];
            for (int i = 0; i < gts.Length; i++) gts[i] = (int)(gtKeys[gStart + i] % gtN);
            var dts = new int[di - dStart];
            for (int i = 0; i < dts.Length; i++) dts[i] = (int)(dtKeys[dStart + i] % dtN);
            byCategory[key / imageCount].Add(new EvalCell((int)(key % imageCount), gts, dts));
        }
        return byCategory;
    }

    // Composite key (category, image, file index) so one sort yields groups in file order.
    private static long[] SortedKeys(int[] category, int[] image, int imageCount)
    {
        long n = category.Length;
        var keys = new long[n];
        for (int i = 0; i < n; i++) keys[i] = ((long)category[i] * imageCount + image[i]) * n + i;
        Array.Sort(keys);
        return keys;
    }

    private static double[,]? ComputeIous(EvalCell cell, EvalGroundTruth gt, EvalDetections dt, CocoOks? oks)
    {
        int gCount = cell.GroundTruths.Length, dCount = cell.Detections.Length;
        if (gCount == 0 || dCount == 0) return null;
        if (oks is not null)
        {
            var dk = new double[dCount][];
            for (int i = 0; i < dCount; i++) dk[i] = dt.Keypoints[cell.Detections[i]];
            var gk = new double[gCount][];
            var gb = new double[gCount][];
            var ga = new double[gCount];
            for (int j = 0; j < gCount; j++)
            {
                int g = cell.GroundTruths[j];
                gk[j] = gt.Keypoints[g];
                gb[j] = gt.Boxes[g];
                ga[j] = gt.Area[g];
            }
            return oks.ComputeMatrix(dk, gk, gb, ga);
        }
        var crowd = new bool[gCount];
        for (int j = 0; j < gCount; j++) crowd[j] = gt.IsCrowd[cell.GroundTruths[j]];
        if (gt.Masks.Length > 0)
        {
            var dm = new Rle[dCount];
            for (int i = 0; i < dCount; i++) dm[i] = dt.Masks[cell.Detections[i]];
            var gm = new Rle[gCount];
            for (int j = 0; j < gCount; j++) gm[j] = gt.Masks[cell.GroundTruths[j]];
            return Rle.Iou(dm, gm, crowd);
        }
        var db = new double[dCount][];
        for (int i = 0; i < dCount; i++) db[i] = dt.Boxes[cell.Detections[i]];
        var gbox = new double[gCount][];
        for (int j = 0; j < gCount; j++) gbox[j] = gt.Boxes[cell.GroundTruths[j]];
        return Rle.BoxIou(db, gbox, crowd);
    }

    private static unsafe void Fill(Array array, double value)
    {
        switch (array)
        {
            case double[,,,,] a5: fixed (double* ptr = a5) new Span<double>(ptr, a5.Length).Fill(value); break;
            case double[,,,] a4: fixed (double* ptr = a4) new Span<double>(ptr, a4.Length).Fill(value); break;
        }
    }
}
