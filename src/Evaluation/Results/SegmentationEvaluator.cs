using System.Globalization;
using MLNetSeg.Data.Coco;
using MLNetSeg.Evaluation.Coco;
using MLNetSeg.Evaluation.Panoptic;
using MLNetSeg.Evaluation.Semantic;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Evaluation;

/// <summary>
/// From model results to every metric, in memory: one <see cref="SegmentationResult"/> per image is
/// scored on the tasks asked for (usually what the model family declares):
/// <list type="bullet">
/// <item><see cref="SegmentationTasks.Boxes"/>, <see cref="SegmentationTasks.Masks"/>, <see cref="SegmentationTasks.Keypoints"/>:
/// COCO bbox / segm / keypoints AP, pycocotools-exact, straight from the instances (no results file, no
/// RLE strings; see <see cref="CocoEvaluator(CocoDataset, IReadOnlyList{Instances}, IReadOnlyList{long}, IReadOnlyList{int}, CocoIouType, CocoEvalOptions?)"/>).
/// Keypoint AP is over the categories that define keypoints (all, if none does) unless
/// <see cref="CocoEvalOptions.CategoryIds"/> is given.</item>
/// <item><see cref="SegmentationTasks.Semantic"/>: mIoU, fwIoU, mACC, pACC and Boundary IoU of the
/// semantic maps over <c>labelToCategoryId.Count</c> classes (background included), detectron2's
/// SemSegEvaluator semantics;</item>
/// <item><see cref="SegmentationTasks.Panoptic"/>: PQ, SQ, RQ with panopticapi's semantics, the
/// predicted segments' labels mapped to COCO category ids.</item>
/// </list>
/// Labels are the model's contiguous labels (0 = background, 1..K), <c>labelToCategoryId</c> giving the
/// COCO category id of each (e.g. <c>ModelFileInfo.LabelToCategoryId</c>).
/// </summary>
public static class SegmentationEvaluator
{
    /// <summary>Scores <paramref name="results"/> against a COCO instance dataset (semantic and panoptic
    /// ground truth derived from its annotations; see <see cref="CocoGroundTruthMaps"/>).</summary>
    public static SegmentationEvaluation Evaluate(CocoDataset groundTruth, IReadOnlyList<SegmentationResult> results,
        IReadOnlyList<long> imageIds, IReadOnlyList<int> labelToCategoryId, SegmentationTasks tasks, SegmentationEvaluationOptions? options = null) =>
        Evaluate(SegmentationGroundTruth.FromCoco(groundTruth), results, imageIds, labelToCategoryId, tasks, options);

    /// <summary>Scores <paramref name="results"/> on <paramref name="tasks"/>.</summary>
    /// <param name="groundTruth">The COCO dataset and/or the semantic and panoptic maps.</param>
    /// <param name="results">One result per image, aligned with <paramref name="imageIds"/>.</param>
    /// <param name="imageIds">The image id of each result (unique).</param>
    /// <param name="labelToCategoryId">COCO category id per contiguous label, entry 0 the background.</param>
    /// <param name="tasks">What to evaluate; every evaluated result must carry what each task needs.</param>
    /// <param name="options">Image subset, COCO options, Boundary IoU and class names; null means the defaults of <see cref="SegmentationEvaluationOptions"/>.</param>
    /// <exception cref="ArgumentException">Inconsistent input; the message names the image.</exception>
    public static SegmentationEvaluation Evaluate(SegmentationGroundTruth groundTruth, IReadOnlyList<SegmentationResult> results,
        IReadOnlyList<long> imageIds, IReadOnlyList<int> labelToCategoryId, SegmentationTasks tasks, SegmentationEvaluationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(groundTruth);
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(imageIds);
        ArgumentNullException.ThrowIfNull(labelToCategoryId);
        options ??= new SegmentationEvaluationOptions();
        const SegmentationTasks all = SegmentationTasks.Boxes | SegmentationTasks.Masks | SegmentationTasks.Keypoints
                                    | SegmentationTasks.Semantic | SegmentationTasks.Panoptic;
        if (tasks == SegmentationTasks.None) throw new ArgumentException("no task to evaluate (tasks is None)", nameof(tasks));
        if ((tasks & ~all) != 0) throw new ArgumentException($"unknown task flags {(int)(tasks & ~all)}", nameof(tasks));
        if (results.Count != imageIds.Count)
            throw new ArgumentException($"{results.Count} results but {imageIds.Count} image ids; give one image id per result", nameof(imageIds));
        if (labelToCategoryId.Count == 0)
            throw new ArgumentException("labelToCategoryId is empty; it needs one entry per label, the background (label 0) included", nameof(labelToCategoryId));
        if (options.Coco?.ImageIds is not null)
            throw new ArgumentException("SegmentationEvaluationOptions.Coco.ImageIds must be null; restrict the images with SegmentationEvaluationOptions.ImageIds", nameof(options));

        var coco = groundTruth.Coco;
        var selected = SelectImages(results, imageIds, options.ImageIds);
        foreach (int i in selected) CheckResult(results[i], i, imageIds[i], tasks, coco, labelToCategoryId.Count);

        var warnings = new List<string>();
        var instanceTasks = tasks & (SegmentationTasks.Boxes | SegmentationTasks.Masks | SegmentationTasks.Keypoints);
        CocoEvalResult? bbox = null, segm = null, keypoints = null;
        if (instanceTasks != 0)
        {
            if (coco is null)
                throw new ArgumentException($"the {instanceTasks} evaluation is COCO's and needs SegmentationGroundTruth.Coco", nameof(groundTruth));
            var instances = selected.Select(i => results[i].Instances!).ToArray();
            var ids = selected.Select(i => imageIds[i]).ToArray();
            var cocoOptions = new CocoEvalOptions
            {
                ImageIds = ids,
                CategoryIds = options.Coco?.CategoryIds,
                KeypointSigmas = options.Coco?.KeypointSigmas,
                MaxDegreeOfParallelism = options.Coco?.MaxDegreeOfParallelism,
            };
            CocoEvalResult Run(CocoIouType type, CocoEvalOptions o) => CocoEvaluator.Evaluate(coco, instances, ids, labelToCategoryId, type, o);
            if ((tasks & SegmentationTasks.Boxes) != 0) bbox = Run(CocoIouType.Bbox, cocoOptions);
            if ((tasks & SegmentationTasks.Masks) != 0) segm = Run(CocoIouType.Segm, cocoOptions);
            if ((tasks & SegmentationTasks.Keypoints) != 0)
            {
                // Keypoint AP is over the categories that have keypoints (a dataset may also hold
                // categories without), unless the caller chose the categories.
                var keypointCategories = coco.Categories.Where(c => c.Keypoints is not null).Select(c => c.Id).ToArray();
                var keypointOptions = cocoOptions.CategoryIds is null && keypointCategories.Length > 0
                    ? new CocoEvalOptions
                    {
                        ImageIds = cocoOptions.ImageIds, CategoryIds = keypointCategories,
                        KeypointSigmas = cocoOptions.KeypointSigmas, MaxDegreeOfParallelism = cocoOptions.MaxDegreeOfParallelism,
                    }
                    : cocoOptions;
                keypoints = Run(CocoIouType.Keypoints, keypointOptions);
            }
        }

        CocoGroundTruthMaps? derived = null;
        CocoGroundTruthMaps Derived(string what) => derived ??= new CocoGroundTruthMaps(
            coco ?? throw new ArgumentException($"the {what} evaluation needs ground-truth maps or SegmentationGroundTruth.Coco to derive them from", nameof(groundTruth)),
            labelToCategoryId);

        SemanticSegmentationMetrics? semantic = null;
        if ((tasks & SegmentationTasks.Semantic) != 0)
            semantic = EvaluateSemantic(groundTruth, results, imageIds, selected, labelToCategoryId, options, () => Derived("semantic"));

        PanopticQualityResult? panoptic = null;
        if ((tasks & SegmentationTasks.Panoptic) != 0)
            panoptic = EvaluatePanoptic(groundTruth, results, imageIds, selected, labelToCategoryId, options, () => Derived("panoptic"));

        if (derived is not null) warnings.AddRange(derived.Warnings);
        return new SegmentationEvaluation(bbox, segm, keypoints, semantic, panoptic, warnings, selected.Length);
    }

    /// <summary>Indices of the results to evaluate, in the order given.</summary>
    private static int[] SelectImages(IReadOnlyList<SegmentationResult> results, IReadOnlyList<long> imageIds, IReadOnlyCollection<long>? restrictTo)
    {
        var indexById = new Dictionary<long, int>(imageIds.Count);
        for (int i = 0; i < imageIds.Count; i++)
        {
            if (!indexById.TryAdd(imageIds[i], i))
                throw new ArgumentException($"image {imageIds[i]} has two results ({indexById[imageIds[i]]} and {i}); give one result per image", nameof(imageIds));
        }
        if (restrictTo is null) return Enumerable.Range(0, results.Count).ToArray();
        var wanted = new HashSet<long>();
        foreach (var id in restrictTo)
        {
            if (!indexById.ContainsKey(id))
                throw new ArgumentException($"image {id} is in SegmentationEvaluationOptions.ImageIds but has no result", nameof(restrictTo));
            wanted.Add(id);
        }
        return Enumerable.Range(0, results.Count).Where(i => wanted.Contains(imageIds[i])).ToArray();
    }

    private static string Where(int index, long imageId) => $"image {imageId.ToString(CultureInfo.InvariantCulture)} (result {index})";

    /// <summary>The result carries what every task needs and has its image's size.</summary>
    private static void CheckResult(SegmentationResult? result, int index, long imageId, SegmentationTasks tasks, CocoDataset? coco, int labelCount)
    {
        string where = Where(index, imageId);
        if (result is null) throw new ArgumentException($"{where}: the result is null");
        if (coco is not null)
        {
            if (!coco.TryGetImage(imageId, out var image))
                throw new ArgumentException($"{where}: image {imageId} is not an image of {coco.Source}");
            if (result.ImageHeight != image.Height || result.ImageWidth != image.Width)
                throw new ArgumentException(
                    $"{where}: the result is {result.ImageHeight}x{result.ImageWidth} but {coco.Source} gives the image as {image.Height}x{image.Width}; results must be in the image's own pixels");
        }
        string Missing(string what, SegmentationTasks task) =>
            $"{where}: the result has no {what}, but {task} is evaluated (evaluate only the tasks the model declares, and give every image a full result)";
        var instanceTasks = tasks & (SegmentationTasks.Boxes | SegmentationTasks.Masks | SegmentationTasks.Keypoints);
        if (instanceTasks != 0 && result.Instances is null) throw new ArgumentException(Missing("instances", instanceTasks));
        // An image without detections needs no masks or keypoints (Instances.Empty has neither).
        if ((tasks & SegmentationTasks.Masks) != 0 && result.Instances!.Count > 0 && result.Instances.Masks is null)
            throw new ArgumentException(Missing("instance masks", SegmentationTasks.Masks));
        if ((tasks & SegmentationTasks.Keypoints) != 0 && result.Instances!.Count > 0 && result.Instances.Keypoints is null)
            throw new ArgumentException(Missing("instance keypoints", SegmentationTasks.Keypoints));
        if (instanceTasks != 0)
        {
            var instances = result.Instances!;
            if (instances.Count > 0 && instances.Scores is null)
                throw new ArgumentException($"{where}: the instances have no scores; COCO evaluation ranks detections by score");
            for (int j = 0; j < instances.Count; j++)
            {
                int label = instances.Labels[j];
                if ((uint)label >= (uint)labelCount)
                    throw new ArgumentException($"{where}: instance {j} has label {label}, outside the {labelCount} labels mapped to category ids");
            }
        }
        if ((tasks & SegmentationTasks.Semantic) != 0 && result.Semantic is null) throw new ArgumentException(Missing("semantic map", SegmentationTasks.Semantic));
        if ((tasks & SegmentationTasks.Panoptic) != 0 && result.Panoptic is null) throw new ArgumentException(Missing("panoptic map", SegmentationTasks.Panoptic));
    }

    private static SemanticSegmentationMetrics EvaluateSemantic(SegmentationGroundTruth groundTruth, IReadOnlyList<SegmentationResult> results,
        IReadOnlyList<long> imageIds, int[] selected, IReadOnlyList<int> labelToCategoryId, SegmentationEvaluationOptions options,
        Func<CocoGroundTruthMaps> derived)
    {
        int classes = labelToCategoryId.Count;
        if (classes > SemanticLabelMap.IgnoreLabel)
            throw new ArgumentException(
                $"{classes} labels: semantic evaluation supports at most {SemanticLabelMap.IgnoreLabel} classes (label {SemanticLabelMap.IgnoreLabel} is the ignore label)",
                nameof(labelToCategoryId));
        var names = ClassNames(options.ClassNames, labelToCategoryId, groundTruth.Coco);
        var evaluator = new SemanticSegmentationEvaluator(classes, names, SemanticLabelMap.IgnoreLabel, options.ComputeBoundaryIou, options.BoundaryDilationRatio);
        var provider = groundTruth.SemanticMaps;
        var maps = provider is null ? derived() : null;
        // Ground truth is rasterised in parallel a batch at a time; the evaluator adds in image order.
        foreach (var batch in selected.Chunk(Math.Max(1, Environment.ProcessorCount * 2)))
        {
            var truths = new SemanticLabelMap[batch.Length];
            Parallelism.For(batch.Length, null, b =>
            {
                long id = imageIds[batch[b]];
                truths[b] = provider is not null
                    ? provider(id) ?? throw new ArgumentException($"{Where(batch[b], id)}: SegmentationGroundTruth.SemanticMaps returned null")
                    : maps!.Semantic(id);
            });
            for (int b = 0; b < batch.Length; b++)
            {
                int i = batch[b];
                var prediction = results[i].Semantic!;
                var truth = truths[b];
                if (truth.Height != prediction.Height || truth.Width != prediction.Width)
                    throw new ArgumentException(
                        $"{Where(i, imageIds[i])}: the semantic map is {prediction.Height}x{prediction.Width} but its ground truth is {truth.Height}x{truth.Width}");
                evaluator.Add(prediction, truth, Where(i, imageIds[i]));
            }
        }
        return evaluator.Compute();
    }

    private static string[] ClassNames(IReadOnlyList<string>? given, IReadOnlyList<int> labelToCategoryId, CocoDataset? coco)
    {
        if (given is not null)
        {
            if (given.Count != labelToCategoryId.Count)
                throw new ArgumentException($"SegmentationEvaluationOptions.ClassNames has {given.Count} names for {labelToCategoryId.Count} labels (names include the background, label 0)");
            return given.ToArray();
        }
        var names = new string[labelToCategoryId.Count];
        names[0] = "__background__";
        for (int label = 1; label < names.Length; label++)
        {
            names[label] = coco is not null && coco.TryGetCategory(labelToCategoryId[label], out var category)
                ? category.Name
                : label.ToString(CultureInfo.InvariantCulture);
        }
        return names;
    }

    private static PanopticQualityResult EvaluatePanoptic(SegmentationGroundTruth groundTruth, IReadOnlyList<SegmentationResult> results,
        IReadOnlyList<long> imageIds, int[] selected, IReadOnlyList<int> labelToCategoryId, SegmentationEvaluationOptions options,
        Func<CocoGroundTruthMaps> derived)
    {
        var coco = groundTruth.Coco;
        var categories = groundTruth.PanopticCategories?.ToList() ?? coco?.Categories.Select(c => new PanopticCategory(
                c.Id is >= int.MinValue and <= int.MaxValue ? (int)c.Id : throw new ArgumentException($"{coco.Source}: category id {c.Id} does not fit a panoptic category id (int)"),
                c.Name, IsThing: true)).ToList()
            ?? throw new ArgumentException("the panoptic evaluation needs SegmentationGroundTruth.PanopticCategories or .Coco", nameof(groundTruth));
        var provider = groundTruth.PanopticMaps;
        var maps = provider is null ? derived() : null;
        var unscored = new List<int>();
        if (maps is not null && !options.PanopticUnlabelledAsVoid)
        {
            if (categories.Any(c => c.Id == CocoGroundTruthMaps.UnlabelledCategoryId))
                throw new ArgumentException($"category id {CocoGroundTruthMaps.UnlabelledCategoryId} is taken; it marks unlabelled pixels of derived panoptic ground truth (set PanopticUnlabelledAsVoid to do without)");
            categories.Add(new PanopticCategory(CocoGroundTruthMaps.UnlabelledCategoryId, "unlabelled", IsThing: false));
            unscored.Add(CocoGroundTruthMaps.UnlabelledCategoryId);
        }
        var categoryIds = categories.Select(c => c.Id).ToHashSet();
        var evaluator = new PanopticQualityEvaluator(categories, unscored);
        foreach (var batch in selected.Chunk(Math.Max(1, Environment.ProcessorCount * 2)))
        {
            var truths = new PanopticSegmentation[batch.Length];
            var predictions = new PanopticSegmentation[batch.Length];
            Parallelism.For(batch.Length, null, b =>
            {
                int i = batch[b];
                long id = imageIds[i];
                truths[b] = provider is not null
                    ? provider(id) ?? throw new ArgumentException($"{Where(i, id)}: SegmentationGroundTruth.PanopticMaps returned null")
                    : maps!.Panoptic(id, options.PanopticUnlabelledAsVoid);
                predictions[b] = ToCategoryIds(results[i].Panoptic!, labelToCategoryId, categoryIds, Where(i, id));
            });
            for (int b = 0; b < batch.Length; b++)
            {
                int i = batch[b];
                var prediction = predictions[b];
                var truth = truths[b];
                if (truth.Height != prediction.Height || truth.Width != prediction.Width)
                    throw new ArgumentException(
                        $"{Where(i, imageIds[i])}: the panoptic map is {prediction.Height}x{prediction.Width} but its ground truth is {truth.Height}x{truth.Width}");
                evaluator.Add(truth, prediction, Where(i, imageIds[i]));
            }
        }
        return evaluator.Compute();
    }

    /// <summary>
    /// The predicted segmentation with each segment's label replaced by its COCO category id; segments
    /// labelled 0 (background) become void, since background is no panoptic category.
    /// </summary>
    private static PanopticSegmentation ToCategoryIds(PanopticSegmentation prediction, IReadOnlyList<int> labelToCategoryId, HashSet<int> categoryIds, string where)
    {
        var segments = new List<PanopticSegment>(prediction.Segments.Count);
        HashSet<int>? background = null;
        foreach (var s in prediction.Segments)
        {
            if ((uint)s.CategoryId >= (uint)labelToCategoryId.Count)
                throw new ArgumentException($"{where}: panoptic segment {s.Id} has label {s.CategoryId}, outside the {labelToCategoryId.Count} labels mapped to category ids");
            if (s.CategoryId == 0)
            {
                (background ??= []).Add(s.Id);
                continue;
            }
            int categoryId = labelToCategoryId[s.CategoryId];
            if (!categoryIds.Contains(categoryId))
                throw new ArgumentException($"{where}: panoptic segment {s.Id} has label {s.CategoryId}, category {categoryId}, which is not a panoptic category of the ground truth");
            segments.Add(s with { CategoryId = categoryId, IsCrowd = false });
        }
        var ids = prediction.Ids.ToArray();
        if (background is not null)
        {
            for (int p = 0; p < ids.Length; p++)
                if (background.Contains(ids[p])) ids[p] = 0;
        }
        return new PanopticSegmentation(prediction.Height, prediction.Width, ids, segments, where);
    }
}
