using MLNetSeg.Data.Coco;
using MLNetSeg.Evaluation.Panoptic;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Evaluation;

/// <summary>
/// What <see cref="SegmentationEvaluator"/> scores results against: a COCO instance dataset, and
/// for the semantic and panoptic evaluations either maps given per image or maps derived from that
/// dataset's annotations (<see cref="CocoGroundTruthMaps"/>). The map providers are called once per
/// evaluated image, from several threads at once.
/// </summary>
public sealed record SegmentationGroundTruth
{
    /// <summary>The COCO annotations: needed for the bbox, segm and keypoints evaluations, for image
    /// sizes, and to derive semantic / panoptic maps that are not given.</summary>
    public CocoDataset? Coco { get; init; }

    /// <summary>The semantic ground truth by image id, in the model's contiguous labels (0 =
    /// background, 255 = ignore); null derives it from <see cref="Coco"/>.</summary>
    public Func<long, SemanticLabelMap>? SemanticMaps { get; init; }

    /// <summary>The panoptic ground truth by image id, its segments' categories being COCO category
    /// ids (as in COCO panoptic's <c>segments_info</c>); null derives it from <see cref="Coco"/>.</summary>
    public Func<long, PanopticSegmentation>? PanopticMaps { get; init; }

    /// <summary>The panoptic categories (COCO ids, things and stuff); null means
    /// <see cref="Coco"/>'s categories, all things.</summary>
    public IReadOnlyList<PanopticCategory>? PanopticCategories { get; init; }

    /// <summary>Everything from a COCO instance dataset.</summary>
    public static SegmentationGroundTruth FromCoco(CocoDataset coco) =>
        new() { Coco = coco ?? throw new ArgumentNullException(nameof(coco)) };
}
