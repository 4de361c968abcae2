using System.Globalization;
using System.Text;

namespace MLNetSeg.Data.Synthetic;

/// <summary>Reported while generating: <see cref="Completed"/> of <see cref="Total"/> images of a split are written.</summary>
/// <param name="Split">The split being written, "train" or "val".</param>
/// <param name="Completed">Images of the split written so far.</param>
/// <param name="Total">Images the split will have.</param>
public sealed record SyntheticProgress(string Split, int Completed, int Total);

/// <summary>What one split contains (counted from the annotations written).</summary>
public sealed record SyntheticSplitSummary
{
    /// <summary>The split name, "train" or "val".</summary>
    public required string Split { get; init; }
    /// <summary>Images written.</summary>
    public required int Images { get; init; }
    /// <summary>Non-crowd instances, persons included.</summary>
    public required int Instances { get; init; }
    /// <summary>Crowd annotations (iscrowd 1), not counted in <see cref="Instances"/>.</summary>
    public required int CrowdRegions { get; init; }
    /// <summary>Non-crowd instances by COCO area range (area &lt; 32², 32²…96², &gt; 96²).</summary>
    public required int Small { get; init; }
    /// <summary>Non-crowd instances with 32² &lt; area &lt; 96².</summary>
    public required int Medium { get; init; }
    /// <summary>Non-crowd instances with area &gt; 96².</summary>
    public required int Large { get; init; }
    /// <summary>Instances stored as polygons (unoccluded, inside the frame); the rest of the non-crowd ones are compressed RLE.</summary>
    public required int PolygonSegmentations { get; init; }
    /// <summary>Objects that later objects covered completely, left out of the annotations.</summary>
    public required int FullyOccludedDropped { get; init; }
    /// <summary>Non-crowd instances per thing class, keyed by class name (<see cref="SyntheticClass.Name"/>).</summary>
    public required IReadOnlyDictionary<string, int> InstancesByCategory { get; init; }
    /// <summary>Non-crowd instances whose box overlaps that of another instance of their class in the image
    /// (<see cref="Coco.SameClassOverlap"/>): where direction features (MaskLab) should help.</summary>
    public required int OverlappingSameClassInstances { get; init; }
    /// <summary>Images holding at least one pair of same-class instances with overlapping boxes.</summary>
    public required int ImagesWithOverlappingSameClass { get; init; }
    /// <summary>Person annotations in person_keypoints_{split}.json.</summary>
    public required int Persons { get; init; }
    /// <summary>Person keypoints by visibility: 2 (visible), 1 (occluded), 0 (outside the image).</summary>
    public required int KeypointsVisible { get; init; }
    /// <summary>Person keypoints with visibility 1: inside the image but covered by a later object.</summary>
    public required int KeypointsOccluded { get; init; }
    /// <summary>Person keypoints with visibility 0: outside the image, stored as (0, 0, 0).</summary>
    public required int KeypointsOutside { get; init; }
}

/// <summary>What <see cref="SyntheticDatasetGenerator.Generate"/> wrote.</summary>
/// <param name="OutputDirectory">The dataset's root folder.</param>
/// <param name="Options">The options it was generated with.</param>
/// <param name="Splits">One summary per split, train then val.</param>
public sealed record SyntheticDatasetSummary(string OutputDirectory, SyntheticOptions Options, IReadOnlyList<SyntheticSplitSummary> Splits)
{
    /// <summary>A small table: images, instances by area range and category, crowd regions, keypoint visibility.</summary>
    public string ToText()
    {
        var inv = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.AppendLine(inv, $"synthetic dataset '{Options.Name}' (seed {Options.Seed}, {Options.Width}x{Options.Height}) in {OutputDirectory}");
        s.AppendLine("split   images  instances   small  medium   large   crowd  dropped  polygons  persons  kp v2/v1/v0");
        foreach (var x in Splits)
            s.AppendLine(inv,
                $"{x.Split,-7} {x.Images,6} {x.Instances,10} {x.Small,7} {x.Medium,7} {x.Large,7} {x.CrowdRegions,7} {x.FullyOccludedDropped,8} {x.PolygonSegmentations,9} {x.Persons,8}  {x.KeypointsVisible}/{x.KeypointsOccluded}/{x.KeypointsOutside}");
        foreach (var x in Splits)
            s.AppendLine(inv, $"{x.Split} overlapping same-class: {x.OverlappingSameClassInstances} instances in {x.ImagesWithOverlappingSameClass} images");
        foreach (var x in Splits)
            s.AppendLine(inv, $"{x.Split} instances by category: {string.Join(", ", x.InstancesByCategory.Select(kv => $"{kv.Key} {kv.Value}"))}");
        return s.ToString();
    }
}
