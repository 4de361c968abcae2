namespace MLNetSeg.Vision.Structures;

/// <summary>
/// What a segmentation model gives for one image, in the image's own pixels: instances (boxes,
/// contiguous labels, scores, masks, keypoints), and where the model makes them a semantic label
/// map (contiguous labels, 0 = background) and a panoptic segmentation. Every model family returns
/// this one type, so evaluation, drawing and the ML.NET columns need no family-specific code.
/// </summary>
public sealed record SegmentationResult
{
    /// <summary>Bundles one image's outputs; at least one must be given, and all must have the same size.</summary>
    /// <param name="instances">Detected instances, or null for a model that makes none.</param>
    /// <param name="semantic">A per-pixel class map, or null.</param>
    /// <param name="panoptic">A panoptic segmentation, or null.</param>
    /// <exception cref="ArgumentException">Nothing is given, or the parts disagree on the image size.</exception>
    public SegmentationResult(Instances? instances, SemanticLabelMap? semantic = null, PanopticSegmentation? panoptic = null)
    {
        if (instances is null && semantic is null && panoptic is null)
            throw new ArgumentException("a segmentation result needs instances, a semantic map or a panoptic map");
        var sizes = new List<(string What, int Height, int Width)>();
        if (instances is not null) sizes.Add(("instances", instances.ImageHeight, instances.ImageWidth));
        if (semantic is not null) sizes.Add(("semantic map", semantic.Height, semantic.Width));
        if (panoptic is not null) sizes.Add(("panoptic map", panoptic.Height, panoptic.Width));
        foreach (var s in sizes.Skip(1))
            if (s.Height != sizes[0].Height || s.Width != sizes[0].Width)
                throw new ArgumentException($"the {s.What} is {s.Height}x{s.Width} but the {sizes[0].What} is {sizes[0].Height}x{sizes[0].Width}");
        Instances = instances;
        Semantic = semantic;
        Panoptic = panoptic;
        ImageHeight = sizes[0].Height;
        ImageWidth = sizes[0].Width;
    }

    /// <summary>Detected instances (null for a semantic-only model).</summary>
    public Instances? Instances { get; }

    /// <summary>The per-pixel class map (null unless the model makes one).</summary>
    public SemanticLabelMap? Semantic { get; }

    /// <summary>The panoptic segmentation (null unless the model makes one).</summary>
    public PanopticSegmentation? Panoptic { get; }

    /// <summary>Height in pixels of the image the result describes (shared by all its parts).</summary>
    public int ImageHeight { get; }

    /// <summary>Width in pixels of the image the result describes.</summary>
    public int ImageWidth { get; }

    /// <summary>The tasks this result carries output for (masks only when the instances have them, etc.).</summary>
    public SegmentationTasks Tasks =>
        (Instances is null ? SegmentationTasks.None
            : SegmentationTasks.Boxes | (Instances.Masks is null ? 0 : SegmentationTasks.Masks) | (Instances.Keypoints is null ? 0 : SegmentationTasks.Keypoints))
        | (Semantic is null ? 0 : SegmentationTasks.Semantic) | (Panoptic is null ? 0 : SegmentationTasks.Panoptic);

    /// <summary>The size and what the result holds, e.g. "SegmentationResult 480x640: 5 instances, semantic map".</summary>
    public override string ToString() =>
        $"SegmentationResult {ImageHeight}x{ImageWidth}: " + string.Join(", ", new[]
        {
            Instances is null ? null : $"{Instances.Count} instances",
            Semantic is null ? null : "semantic map",
            Panoptic is null ? null : $"panoptic map ({Panoptic.Segments.Count} segments)",
        }.Where(s => s is not null));
}
