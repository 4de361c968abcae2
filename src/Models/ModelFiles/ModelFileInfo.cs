using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models;

/// <summary>
/// Everything a model file says besides the weights. To save, give the class names (and, where
/// the dataset's category ids are not the labels, <see cref="CategoryIds"/>), the keypoint schema
/// of a keypoint model, and any free-form <see cref="Properties"/>; <see cref="ModelFile.Save"/>
/// fills in <see cref="Family"/> from the model and returns the completed record. The same record
/// tells a <see cref="ModelFamily"/> which classes and keypoints to build a model for. <see cref="ModelFile.Load"/> and <see cref="ModelFile.ReadInfo"/> return
/// every field set.
/// </summary>
public sealed record ModelFileInfo
{
    /// <summary>The format this build writes, and the newest it reads. Version 3 stores the model family
    /// and gives each family its own section; version 2 added the R-CNN widths; files of versions 1 and 2
    /// (R-CNN models) still load.</summary>
    public const int CurrentFormatVersion = 3;

    /// <summary>The conventional name of label 0.</summary>
    public const string BackgroundName = "__background__";

    /// <summary>Name per label: index 0 is the background, 1.. the classes the model predicts
    /// (<see cref="Instances.Labels"/> index this list; names may repeat, as torchvision's "N/A").</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>COCO category id per label (entry 0, the background, is not a category and is
    /// stored as 0); null means the label is the category id, as for torchvision's COCO models.</summary>
    public IReadOnlyList<int>? CategoryIds { get; init; }

    /// <summary>Names, skeleton and flip map of a keypoint model's keypoints; null for a mask
    /// model. When saving a 17-keypoint model, null stands for <see cref="KeypointSchema.CocoPerson"/>.</summary>
    public KeypointSchema? Keypoints { get; init; }

    /// <summary>Free-form notes kept with the model (training data, schedule, metrics...).</summary>
    public IReadOnlyDictionary<string, string>? Properties { get; init; }

    /// <summary>The registry name of the model's family (<see cref="ModelFamily.Name"/>); set by load and save
    /// (read off the model); when given to <see cref="ModelFile.Save"/> it must be the model's.</summary>
    public string? Family { get; init; }

    /// <summary>The format version of the file read (save always writes <see cref="CurrentFormatVersion"/>).</summary>
    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>Classes including background.</summary>
    public int NumClasses => ClassNames.Count;

    /// <summary>COCO category id per label (<see cref="CategoryIds"/>, or the labels themselves).</summary>
    public IReadOnlyList<int> LabelToCategoryId => CategoryIds ?? Enumerable.Range(0, ClassNames.Count).ToArray();

    /// <summary>
    /// Classes of a dataset: label 0 the background, then label i + 1 for the i-th of
    /// <paramref name="categories"/> (e.g. a COCO file's categories in id order), with its name and id.
    /// </summary>
    public static ModelFileInfo ForCategories(IEnumerable<(int Id, string Name)> categories, KeypointSchema? keypoints = null)
    {
        ArgumentNullException.ThrowIfNull(categories);
        var list = categories.ToList();
        return new ModelFileInfo
        {
            ClassNames = list.Select(c => c.Name).Prepend(BackgroundName).ToArray(),
            CategoryIds = list.Select(c => c.Id).Prepend(0).ToArray(),
            Keypoints = keypoints,
        };
    }

    /// <summary>The problem with the class fields for a model of <paramref name="numClasses"/> classes, or null.</summary>
    internal string? ClassProblem(int numClasses)
    {
        if (ClassNames is null) return "ClassNames is missing";
        if (ClassNames.Count != numClasses)
            return $"{ClassNames.Count} class names for a model of {numClasses} classes (names include the background at label 0)";
        for (int i = 0; i < ClassNames.Count; i++)
            if (ClassNames[i] is null) return $"class name {i} is null";
        if (CategoryIds is { } ids)
        {
            if (ids.Count != numClasses) return $"{ids.Count} category ids for {numClasses} labels (one per label, 0 for the background)";
            var seen = new Dictionary<int, int>();
            for (int label = 1; label < ids.Count; label++)
                if (!seen.TryAdd(ids[label], label))
                    return $"labels {seen[ids[label]]} and {label} both map to category id {ids[label]}";
        }
        return null;
    }
}
