using MLNetSeg.Data.Loading;
using MLNetSeg.Evaluation;
using MLNetSeg.Evaluation.Panoptic;
using MLNetSeg.Models;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Training;

/// <summary>
/// Semantic and panoptic scores of a model with its own semantic label space (<see cref="ISemanticLabelSpace"/>) against a dataset
/// loaded with its label maps (<see cref="DetectionDatasetOptions.SemanticDirectory"/>): mIoU, fwIoU, mAcc, pAcc and Boundary IoU
/// over the semantic classes; PQ against panoptic ground truth made of the annotated instances (things, category = their semantic
/// class) and, on the pixels no instance covers, one segment per stuff class of the label map (unlabelled and uncovered thing pixels
/// are void).
/// </summary>
internal static class SemanticEvaluation
{
    public static SegmentationEvaluation Score(DetectionDataset dataset, IReadOnlyList<SegmentationResult> results, IReadOnlyList<long> imageIds,
        ISemanticLabelSpace space, SegmentationTasks tasks, SegmentationEvaluationOptions options)
    {
        if (!dataset.Options.HasSemanticMaps)
            throw new ArgumentException("the semantic and panoptic evaluations need the dataset's label maps: load it with DetectionDatasetOptions.SemanticDirectory");
        var indexOf = Enumerable.Range(0, dataset.Count).ToDictionary(i => dataset.ImageInfo(i).Id);
        int Index(long id) => indexOf.TryGetValue(id, out int i) ? i : throw new ArgumentException($"image {id} is not in the dataset");
        int classes = space.SemanticClasses.Count;
        var things = space.ThingSemanticLabels;
        MLNetSeg.Evaluation.Semantic.SemanticSegmentationMetrics? semantic = null;
        PanopticQualityResult? panoptic = null;

        SemanticLabelMap Truth(long id) => dataset.GetTarget(Index(id)).Semantic!;
        if ((tasks & SegmentationTasks.Semantic) != 0)
        {
            var semanticTruth = new SegmentationGroundTruth { SemanticMaps = Truth };
            semantic = SegmentationEvaluator.Evaluate(semanticTruth, results, imageIds, Enumerable.Range(0, classes).ToArray(),
                SegmentationTasks.Semantic, options with { ClassNames = space.SemanticClasses }).Semantic;
        }
        if ((tasks & SegmentationTasks.Panoptic) != 0)
        {
            // Panoptic category ids are semantic class + 1: the evaluator reads label 0 as background.
            var thingSet = things.ToHashSet();
            var categories = space.SemanticClasses.Select((name, c) => new PanopticCategory(c + 1, name, thingSet.Contains(c))).ToArray();
            var panopticTruth = new SegmentationGroundTruth
            {
                PanopticMaps = id => PanopticTruth(dataset.GetTarget(Index(id)), things),
                PanopticCategories = categories,
            };
            var shifted = results.Select(r => r.Panoptic is null ? r : new SegmentationResult(r.Instances, r.Semantic, Shift(r.Panoptic))).ToArray();
            panoptic = SegmentationEvaluator.Evaluate(panopticTruth, shifted, imageIds, Enumerable.Range(0, classes + 1).ToArray(),
                SegmentationTasks.Panoptic, options with { ClassNames = null }).Panoptic;
        }
        return new SegmentationEvaluation(semantic: semantic, panoptic: panoptic, imageCount: results.Count);
    }

    /// <summary>The ground-truth panoptic map of one image: its instances in order (each on the pixels no earlier one took), then one
    /// segment per stuff class on the label map's remaining pixels. Category ids are semantic class + 1.</summary>
    internal static PanopticSegmentation PanopticTruth(DetectionTarget target, IReadOnlyList<int> thingSemanticLabels)
    {
        var map = target.Semantic ?? throw new ArgumentException("the target has no semantic map");
        var masks = target.Masks ?? throw new ArgumentException("the target has no instance masks");
        var ids = new int[map.Height * map.Width];
        var segments = new List<PanopticSegment>();
        for (int n = 0; n < target.Count; n++)
        {
            var pixels = masks[n].Pixels;
            int id = segments.Count + 1;
            bool any = false;
            for (int p = 0; p < pixels.Length; p++)
                if (pixels[p] != 0 && ids[p] == 0) { ids[p] = id; any = true; }
            if (any) segments.Add(new PanopticSegment(id, thingSemanticLabels[target.Labels[n] - 1] + 1, target.IsCrowd[n]));
        }
        var things = thingSemanticLabels.ToHashSet();
        var stuffId = new Dictionary<int, int>();
        var labels = map.Labels;
        for (int p = 0; p < labels.Length; p++)
        {
            int c = labels[p];
            if (ids[p] != 0 || c == SemanticLabelMap.IgnoreLabel || things.Contains(c)) continue;
            if (!stuffId.TryGetValue(c, out int id))
            {
                id = segments.Count + 1;
                stuffId[c] = id;
                segments.Add(new PanopticSegment(id, c + 1));
            }
            ids[p] = id;
        }
        return new PanopticSegmentation(map.Height, map.Width, ids, segments);
    }

    private static PanopticSegmentation Shift(PanopticSegmentation p) =>
        new(p.Height, p.Width, p.Ids.ToArray(), p.Segments.Select(s => s with { CategoryId = s.CategoryId + 1 }).ToArray(), p.Name);
}
