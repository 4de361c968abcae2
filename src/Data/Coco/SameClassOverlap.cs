namespace MLNetSeg.Data.Coco;

/// <summary>
/// Instances that overlap another instance of their own class: non-crowd annotations whose bounding box intersects (with
/// positive area) the box of another non-crowd annotation of the same category in the same image. Such a pair is what a
/// per-box mask head finds hardest: each box holds part of the other object, of the same class. The MaskLab ablation
/// reports mask AP on the images that contain one (docs/masklab.md); the synthetic generator counts them.
/// </summary>
public static class SameClassOverlap
{
    /// <summary>The ids of the annotations that overlap another of their class (see the class summary).</summary>
    public static IReadOnlySet<long> AnnotationIds(IEnumerable<CocoAnnotation> annotations)
    {
        ArgumentNullException.ThrowIfNull(annotations);
        var overlapping = new HashSet<long>();
        foreach (var group in annotations.Where(a => !a.IsCrowd && a.Bbox is { Length: 4 }).GroupBy(a => (a.ImageId, a.CategoryId)))
        {
            var members = group.ToArray();
            for (int i = 0; i < members.Length; i++)
                for (int j = i + 1; j < members.Length; j++)
                    if (Intersect(members[i].Bbox!, members[j].Bbox!))
                    {
                        overlapping.Add(members[i].Id);
                        overlapping.Add(members[j].Id);
                    }
        }
        return overlapping;
    }

    /// <summary>The ids of the images holding at least one such pair.</summary>
    public static IReadOnlySet<long> ImageIds(CocoDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var ids = AnnotationIds(dataset.Annotations);
        return dataset.Annotations.Where(a => ids.Contains(a.Id)).Select(a => a.ImageId).ToHashSet();
    }

    /// <summary>Whether two COCO boxes (x, y, width, height) share an area greater than zero.</summary>
    private static bool Intersect(double[] a, double[] b) =>
        Math.Min(a[0] + a[2], b[0] + b[2]) > Math.Max(a[0], b[0]) && Math.Min(a[1] + a[3], b[1] + b[3]) > Math.Max(a[1], b[1]);
}
