using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models.Panoptic;

/// <summary>
/// Panoptic FPN's heuristic that combines instances and a semantic map into one panoptic segmentation (detectron2's
/// combine_semantic_and_instance_outputs): instances by descending score, each kept when its score is at least
/// <c>instanceScore</c> and at most <c>overlap</c> of its mask is already taken (it gets the free part of its mask); then each
/// stuff class of the semantic map gets the free pixels it labels, when they are at least <c>stuffArea</c>. Segment ids count from
/// 1 in that order; a segment's category is its semantic class index (things through the detector → semantic class map), so
/// predictions and ground truth share the label map's class list. Pixels left over are void (0).
/// </summary>
public static class PanopticMerge
{
    /// <param name="instances">Detections with scores and masks, in the image's pixels.</param>
    /// <param name="semantic">The semantic map of the same image (255 = unlabelled).</param>
    /// <param name="thingSemanticLabels">Semantic class of each detector class 1..K (entry k − 1).</param>
    /// <param name="instanceScore">Minimum instance score.</param>
    /// <param name="overlap">Largest fraction of an instance's mask that may already be taken.</param>
    /// <param name="stuffArea">Minimum free area of a stuff region, in pixels.</param>
    /// <exception cref="ArgumentException">The sizes differ, the instances have no masks or scores, or a label has no semantic class.</exception>
    public static PanopticSegmentation Combine(Instances instances, SemanticLabelMap semantic, IReadOnlyList<int> thingSemanticLabels,
        double instanceScore = 0.5, double overlap = 0.5, int stuffArea = 4096)
    {
        ArgumentNullException.ThrowIfNull(instances);
        ArgumentNullException.ThrowIfNull(semantic);
        ArgumentNullException.ThrowIfNull(thingSemanticLabels);
        int h = semantic.Height, w = semantic.Width;
        if (instances.ImageHeight != h || instances.ImageWidth != w)
            throw new ArgumentException($"PanopticMerge: the instances are for a {instances.ImageHeight}x{instances.ImageWidth} image, the semantic map is {h}x{w}");
        if (instances.Count > 0 && (instances.Masks is null || instances.Scores is null))
            throw new ArgumentException("PanopticMerge: the instances need masks and scores");
        var ids = new int[h * w];
        var segments = new List<PanopticSegment>();
        var things = new HashSet<int>(thingSemanticLabels);

        var order = Enumerable.Range(0, instances.Count).OrderByDescending(i => instances.Scores![i]).ToArray();
        foreach (int i in order)
        {
            if (instances.Scores![i] < instanceScore) break;
            int label = instances.Labels[i];
            if (label < 1 || label > thingSemanticLabels.Count)
                throw new ArgumentException($"PanopticMerge: instance {i} has class {label}, outside the {thingSemanticLabels.Count} detector classes");
            var mask = instances.Masks![i].Decode().Pixels;
            long area = 0, taken = 0;
            for (int p = 0; p < mask.Length; p++)
            {
                if (mask[p] == 0) continue;
                area++;
                if (ids[p] != 0) taken++;
            }
            if (area == 0 || taken > overlap * area) continue;
            int id = segments.Count + 1;
            for (int p = 0; p < mask.Length; p++)
                if (mask[p] != 0 && ids[p] == 0) ids[p] = id;
            segments.Add(new PanopticSegment(id, thingSemanticLabels[label - 1]));
        }

        var labels = semantic.Labels;
        var free = new long[256];
        for (int p = 0; p < labels.Length; p++)
            if (ids[p] == 0 && labels[p] is >= 0 and < 255) free[labels[p]]++;
        for (int c = 0; c < 255; c++)
        {
            if (things.Contains(c) || free[c] == 0 || free[c] < stuffArea) continue;
            int id = segments.Count + 1;
            for (int p = 0; p < labels.Length; p++)
                if (ids[p] == 0 && labels[p] == c) ids[p] = id;
            segments.Add(new PanopticSegment(id, c));
        }
        return new PanopticSegmentation(h, w, ids, segments);
    }
}
