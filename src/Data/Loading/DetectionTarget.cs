using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Data.Loading;

/// <summary>
/// The ground truth of one training image, one row per instance across every field, in the
/// coordinates of the image it travels with (transforms keep the two in step). This is
/// torchvision's detection target dict (<c>boxes</c>, <c>labels</c>, <c>masks</c>,
/// <c>keypoints</c>, <c>iscrowd</c>, <c>area</c>) as plain .NET data: no native memory, nothing to
/// dispose. Immutable; the <c>With…</c>/<see cref="Select"/> methods return new targets.
/// </summary>
public sealed class DetectionTarget
{
    private readonly int[] _labels;
    private readonly bool[] _isCrowd;
    private readonly long[] _annotationIds;
    private readonly float[] _areas;
    private readonly BitMask[]? _masks;

    /// <summary>Creates a target; every per-instance argument must have one entry per box. The arrays are copied.</summary>
    /// <param name="boxes">Boxes, xyxy, in image pixels.</param>
    /// <param name="labels">Contiguous class per instance, 1..K (see <see cref="CategoryMapping"/>).</param>
    /// <param name="isCrowd">COCO <c>iscrowd</c> per instance (all false unless crowd annotations are kept).</param>
    /// <param name="annotationIds">COCO annotation id per instance (for error messages and evaluation).</param>
    /// <param name="areas">COCO <c>area</c> per instance as written in the file (NaN where absent); not rescaled by transforms, like torchvision.</param>
    /// <param name="masks">One image-sized mask per instance, or null when masks are not loaded.</param>
    /// <param name="keypoints">[N, K, 3] keypoints, or null when the dataset has none.</param>
    /// <param name="semantic">The image's per-pixel class map (stuff and things), or null when the dataset has none.</param>
    /// <exception cref="ArgumentException">A field's count differs from the number of boxes, or the masks or the semantic map differ in size.</exception>
    public DetectionTarget(
        Boxes boxes,
        int[] labels,
        bool[] isCrowd,
        long[] annotationIds,
        float[] areas,
        IReadOnlyList<BitMask>? masks = null,
        Keypoints? keypoints = null,
        SemanticLabelMap? semantic = null)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(isCrowd);
        ArgumentNullException.ThrowIfNull(annotationIds);
        ArgumentNullException.ThrowIfNull(areas);
        int n = boxes.Count;
        RequireCount(nameof(Labels), labels.Length, n);
        RequireCount(nameof(IsCrowd), isCrowd.Length, n);
        RequireCount(nameof(AnnotationIds), annotationIds.Length, n);
        RequireCount(nameof(Areas), areas.Length, n);
        if (masks is not null)
        {
            RequireCount(nameof(Masks), masks.Count, n);
            for (int i = 0; i < masks.Count; i++)
            {
                var m = masks[i] ?? throw new ArgumentException($"DetectionTarget: Masks[{i}] is null.", nameof(masks));
                if (m.Height != masks[0].Height || m.Width != masks[0].Width)
                    throw new ArgumentException(
                        $"DetectionTarget: Masks[{i}] is {m.Height}x{m.Width} but Masks[0] is {masks[0].Height}x{masks[0].Width}.", nameof(masks));
            }
        }
        if (keypoints is not null) RequireCount(nameof(Keypoints), keypoints.Count, n);
        if (semantic is not null && masks is { Count: > 0 } && (semantic.Height != masks[0].Height || semantic.Width != masks[0].Width))
            throw new ArgumentException(
                $"DetectionTarget: the semantic map is {semantic.Height}x{semantic.Width} but Masks[0] is {masks[0].Height}x{masks[0].Width}.", nameof(semantic));
        Boxes = boxes;
        _labels = (int[])labels.Clone();
        _isCrowd = (bool[])isCrowd.Clone();
        _annotationIds = (long[])annotationIds.Clone();
        _areas = (float[])areas.Clone();
        _masks = masks?.ToArray();
        Keypoints = keypoints;
        Semantic = semantic;

        static void RequireCount(string field, int actual, int expected)
        {
            if (actual != expected)
                throw new ArgumentException($"DetectionTarget: {field} has {actual} entries but Boxes has {expected} instances.", field);
        }
    }

    /// <summary>Number of instances.</summary>
    public int Count => Boxes.Count;

    /// <summary>Boxes, xyxy, in the pixels of the image this target travels with.</summary>
    public Boxes Boxes { get; }

    /// <summary>Contiguous class per instance: 1..K, 0 never occurs (it is background).</summary>
    public IReadOnlyList<int> Labels => _labels;

    /// <summary>COCO <c>iscrowd</c> per instance (all false unless the dataset keeps crowd annotations).</summary>
    public IReadOnlyList<bool> IsCrowd => _isCrowd;

    /// <summary>COCO annotation id per instance (for error messages and evaluation).</summary>
    public IReadOnlyList<long> AnnotationIds => _annotationIds;

    /// <summary>The annotation file's <c>area</c> per instance (NaN where absent).</summary>
    public IReadOnlyList<float> Areas => _areas;

    /// <summary>Per-instance masks at the image size, or null when masks are not loaded.</summary>
    public IReadOnlyList<BitMask>? Masks => _masks;

    /// <summary>[N, K, 3] keypoints, or null when the dataset has none.</summary>
    public Keypoints? Keypoints { get; }

    /// <summary>The image's per-pixel class map (0..S-1, <see cref="SemanticLabelMap.IgnoreLabel"/> for unlabelled
    /// pixels), or null when the dataset has none (<see cref="DetectionDatasetOptions.SemanticDirectory"/>).</summary>
    public SemanticLabelMap? Semantic { get; }

    /// <summary>The same instances with new geometry (what a geometric transform produces): every per-pixel field
    /// is given, so a transform cannot forget one.</summary>
    public DetectionTarget WithGeometry(Boxes boxes, IReadOnlyList<BitMask>? masks, Keypoints? keypoints, SemanticLabelMap? semantic) =>
        new(boxes, _labels, _isCrowd, _annotationIds, _areas, masks, keypoints, semantic);

    /// <summary>The instances whose <paramref name="keep"/> flag is set, every field sliced alike.</summary>
    public DetectionTarget Select(bool[] keep)
    {
        ArgumentNullException.ThrowIfNull(keep);
        if (keep.Length != Count)
            throw new ArgumentException($"keep has {keep.Length} flags but there are {Count} instances.", nameof(keep));
        var indices = Enumerable.Range(0, Count).Where(i => keep[i]).ToArray();
        return new DetectionTarget(
            Boxes.Select(indices),
            indices.Select(i => _labels[i]).ToArray(),
            indices.Select(i => _isCrowd[i]).ToArray(),
            indices.Select(i => _annotationIds[i]).ToArray(),
            indices.Select(i => _areas[i]).ToArray(),
            _masks is null ? null : indices.Select(i => _masks[i]).ToArray(),
            Keypoints?.Select(indices),
            Semantic);
    }

    /// <summary>
    /// As <see cref="Instances"/> (masks encoded as COCO RLE) for an image of the given size,
    /// e.g. to draw the ground truth or to evaluate against it.
    /// </summary>
    public Instances ToInstances(ImageSize imageSize) =>
        new(imageSize.Height, imageSize.Width, Boxes, _labels,
            masks: _masks is null ? null : BitMasks.Encode(_masks), keypoints: Keypoints);

    /// <inheritdoc/>
    public override string ToString() =>
        $"DetectionTarget ({Count} instances{(_masks is null ? "" : ", masks")}{(Keypoints is null ? "" : ", keypoints")}{(Semantic is null ? "" : ", semantic map")})";
}
