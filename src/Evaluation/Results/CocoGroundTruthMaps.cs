using System.Globalization;
using MLNetSeg.Data.Coco;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Evaluation;

/// <summary>
/// Semantic and panoptic ground truth derived from a COCO instance dataset, image by image, by
/// rasterising each annotation (polygons or RLE, as pycocotools' <c>annToRLE</c> does).
/// </summary>
/// <remarks>
/// <para><b>Overlaps.</b> Regular (non-crowd) annotations are painted in file order and the later
/// one wins where they overlap. This is what cocostuffapi's <c>cocoSegmentationToSegmentationMap</c>
/// does (and what painting into a panoptic PNG in annotation order gives); it needs no heuristic,
/// and COCO's own instance annotations overlap little. Crowd regions (<c>iscrowd</c> = 1) are
/// painted after all regular annotations and only on pixels no regular annotation covers: an
/// individually annotated object inside a crowd is known, the rest of a crowd's coarse region is
/// not.</para>
/// <para><b>Semantic maps</b> use the model's contiguous labels: a category's pixels get the label
/// <c>labelToCategoryId</c> maps to it, pixels no annotation covers get 0 (background), crowd pixels
/// get 255 (<see cref="SemanticLabelMap.IgnoreLabel"/>). Annotations of categories no label maps to
/// also get 255, with a warning: the model cannot name them, so they are left out rather than
/// counted as background.</para>
/// <para><b>Panoptic maps</b> use COCO category ids, as COCO panoptic ground truth does: each
/// regular annotation is one segment; the crowd annotations of one category are merged into one
/// crowd segment (panopticapi looks at one crowd segment per category). An annotation left without
/// pixels by later ones is dropped, with a warning. Pixels no annotation covers are, by default,
/// one segment of the unscored category <see cref="UnlabelledCategoryId"/>: in an instance dataset
/// they are known background, so a predicted segment lying there is a false positive and a segment
/// spilling onto them loses IoU, while the unlabelled segment itself is never scored (see
/// <see cref="Panoptic.PanopticQualityEvaluator"/>'s unscored categories). Asked to, they are
/// instead void (id 0), which panopticapi leaves out of unions and under which an unmatched
/// prediction lying more than half on void is no false positive — the COCO panoptic meaning of
/// void, which there covers little because stuff is annotated too.</para>
/// </remarks>
public sealed class CocoGroundTruthMaps
{
    /// <summary>Category id of the segment covering unannotated pixels in <see cref="Panoptic"/>'s maps.</summary>
    public const int UnlabelledCategoryId = -1;

    private readonly CocoDataset _dataset;
    private readonly Dictionary<long, List<CocoAnnotation>> _byImage = new();
    private readonly Dictionary<long, int>? _labelByCategory;
    private readonly object _lock = new();
    private readonly SortedDictionary<long, int> _unmapped = new();
    private int _droppedSegments;

    /// <summary>Indexes the annotations by image; maps are rasterised on demand, one image per call.</summary>
    /// <param name="dataset">The annotations; every image asked for must be one of its images.</param>
    /// <param name="labelToCategoryId">COCO category id per contiguous label (entry 0, the background, is not a
    /// category); needed for <see cref="Semantic"/> only.</param>
    /// <exception cref="ArgumentException">Two labels map to the same category id.</exception>
    public CocoGroundTruthMaps(CocoDataset dataset, IReadOnlyList<int>? labelToCategoryId = null)
    {
        _dataset = dataset ?? throw new ArgumentNullException(nameof(dataset));
        foreach (var ann in dataset.Annotations)
        {
            if (!_byImage.TryGetValue(ann.ImageId, out var list)) _byImage[ann.ImageId] = list = [];
            list.Add(ann);
        }
        if (labelToCategoryId is not null)
        {
            _labelByCategory = new Dictionary<long, int>();
            for (int label = 1; label < labelToCategoryId.Count; label++)
            {
                if (!_labelByCategory.TryAdd(labelToCategoryId[label], label))
                    throw new ArgumentException(
                        $"labels {_labelByCategory[labelToCategoryId[label]]} and {label} both map to category {labelToCategoryId[label]}; a ground-truth pixel needs one label",
                        nameof(labelToCategoryId));
            }
        }
    }

    /// <summary>The instance dataset the maps are derived from.</summary>
    public CocoDataset Dataset => _dataset;

    /// <summary>What the maps made so far left out: annotations of categories without a label, annotations hidden by later ones.</summary>
    public IReadOnlyList<string> Warnings
    {
        get
        {
            lock (_lock)
            {
                var warnings = new List<string>();
                if (_unmapped.Count > 0)
                {
                    warnings.Add($"{_dataset.Source}: {_unmapped.Values.Sum()} annotation(s) of categories no label maps to " +
                                 $"({string.Join(", ", _unmapped.Keys.Take(10))}{(_unmapped.Count > 10 ? ", …" : "")}) are ignored (255) in the semantic ground truth");
                }
                if (_droppedSegments > 0)
                {
                    warnings.Add($"{_dataset.Source}: {_droppedSegments} annotation(s) have no pixels left (empty, or entirely covered by later annotations) and are left out of the panoptic ground truth");
                }
                return warnings;
            }
        }
    }

    /// <summary>The semantic ground truth of one image (contiguous labels, 0 = background, 255 = crowd or unmapped).</summary>
    public SemanticLabelMap Semantic(long imageId)
    {
        var labelByCategory = _labelByCategory ?? throw new InvalidOperationException(
            "semantic maps need labelToCategoryId: give it to the CocoGroundTruthMaps constructor");
        var image = Image(imageId);
        var labels = new int[image.Height * image.Width];
        var covered = new bool[labels.Length];
        var anns = Annotations(imageId);
        Dictionary<long, int>? unmapped = null;
        foreach (var ann in anns)
        {
            if (ann.IsCrowd) continue;
            int label;
            if (!labelByCategory.TryGetValue(ann.CategoryId, out label))
            {
                label = SemanticLabelMap.IgnoreLabel;
                unmapped ??= new();
                unmapped[ann.CategoryId] = unmapped.GetValueOrDefault(ann.CategoryId) + 1;
            }
            Paint(Mask(ann, image, "a semantic map"), labels, covered, label, onlyUncovered: false);
        }
        foreach (var ann in anns)
        {
            if (ann.IsCrowd) Paint(Mask(ann, image, "a semantic map"), labels, covered, SemanticLabelMap.IgnoreLabel, onlyUncovered: true);
        }
        if (unmapped is not null)
        {
            lock (_lock)
                foreach (var (category, count) in unmapped) _unmapped[category] = _unmapped.GetValueOrDefault(category) + count;
        }
        return new SemanticLabelMap(image.Height, image.Width, labels);
    }

    /// <summary>The panoptic ground truth of one image (segment categories are COCO category ids).</summary>
    /// <param name="imageId">A <see cref="CocoImage.Id"/> of <see cref="Dataset"/>.</param>
    /// <param name="unlabelledAsVoid">Leave unannotated pixels void (id 0) instead of one <see cref="UnlabelledCategoryId"/> segment.</param>
    public PanopticSegmentation Panoptic(long imageId, bool unlabelledAsVoid = false)
    {
        var image = Image(imageId);
        var ids = new int[image.Height * image.Width];
        var covered = new bool[ids.Length];
        var anns = Annotations(imageId);
        var segments = new List<PanopticSegment>();
        int nextId = 1;
        foreach (var ann in anns)
        {
            if (ann.IsCrowd) continue;
            var segment = new PanopticSegment(nextId++, CategoryId(ann, "a panoptic segment"));
            Paint(Mask(ann, image, "a panoptic map"), ids, covered, segment.Id, onlyUncovered: false);
            segments.Add(segment);
        }
        var crowdByCategory = new Dictionary<long, PanopticSegment>();
        foreach (var ann in anns)
        {
            if (!ann.IsCrowd) continue;
            if (!crowdByCategory.TryGetValue(ann.CategoryId, out var segment))
            {
                crowdByCategory[ann.CategoryId] = segment = new PanopticSegment(nextId++, CategoryId(ann, "a panoptic segment"), IsCrowd: true);
                segments.Add(segment);
            }
            Paint(Mask(ann, image, "a panoptic map"), ids, covered, segment.Id, onlyUncovered: true);
        }
        if (!unlabelledAsVoid)
        {
            int unlabelled = nextId++;
            bool any = false;
            for (int i = 0; i < ids.Length; i++)
            {
                if (ids[i] != 0) continue; // painted by a regular or a crowd annotation
                ids[i] = unlabelled;
                any = true;
            }
            if (any) segments.Add(new PanopticSegment(unlabelled, UnlabelledCategoryId));
        }
        // Segments left without pixels (hidden by later annotations, or empty to begin with) cannot
        // be matched by anything; panopticapi's ground truth never lists such segments.
        var present = new HashSet<int>(ids);
        int dropped = segments.RemoveAll(s => !present.Contains(s.Id) && !s.IsCrowd);
        segments.RemoveAll(s => !present.Contains(s.Id));
        if (dropped > 0)
            lock (_lock) _droppedSegments += dropped;
        return new PanopticSegmentation(image.Height, image.Width, ids, segments, $"image {imageId}");
    }

    private CocoImage Image(long imageId) =>
        _dataset.TryGetImage(imageId, out var image) ? image : throw new ArgumentException($"image {imageId} is not an image of {_dataset.Source}");

    private IReadOnlyList<CocoAnnotation> Annotations(long imageId) =>
        _byImage.TryGetValue(imageId, out var list) ? list : [];

    private int CategoryId(CocoAnnotation ann, string what) =>
        ann.CategoryId is >= int.MinValue + 1 and <= int.MaxValue and not UnlabelledCategoryId
            ? (int)ann.CategoryId
            : throw new ArgumentException(
                $"{_dataset.Source}: annotation {ann.Id} (image {ann.ImageId}) has category id {ann.CategoryId.ToString(CultureInfo.InvariantCulture)}, which cannot be {what}'s category " +
                $"(it must fit in an int and not be {UnlabelledCategoryId}, the unlabelled category)");

    private Rle Mask(CocoAnnotation ann, CocoImage image, string what)
    {
        var segmentation = ann.Segmentation ?? throw new ArgumentException(
            $"{_dataset.Source}: annotation {ann.Id} (image {ann.ImageId}) has no 'segmentation'; {what} cannot be derived from it");
        try
        {
            return segmentation.ToRle(image.Height, image.Width);
        }
        catch (Exception e) when (e is not CocoFormatException)
        {
            throw new CocoFormatException($"{_dataset.Source}: annotation {ann.Id} (image {ann.ImageId}): 'segmentation' cannot be converted to a mask: {e.Message}", e);
        }
    }

    /// <summary>Writes <paramref name="value"/> on the mask's pixels (RLE runs are column-major).</summary>
    private static void Paint(Rle mask, int[] target, bool[] covered, int value, bool onlyUncovered)
    {
        int h = mask.Height, w = mask.Width;
        var counts = mask.Counts;
        long position = 0;
        for (int r = 0; r < counts.Count; r++)
        {
            long run = counts[r];
            if (r % 2 == 1)
            {
                for (long p = position; p < position + run; p++)
                {
                    int x = (int)(p / h), y = (int)(p - (long)x * h);
                    int i = y * w + x;
                    if (onlyUncovered && covered[i]) continue;
                    target[i] = value;
                    if (!onlyUncovered) covered[i] = true;
                }
            }
            position += run;
        }
    }
}
