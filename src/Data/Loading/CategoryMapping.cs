using MLNetSeg.Data.Coco;

namespace MLNetSeg.Data.Loading;

/// <summary>
/// Maps COCO category ids (sparse: 1..90 for COCO) to contiguous training labels 1..K, with
/// label 0 reserved for background (torchvision's detection heads take K + 1 classes). Labels
/// follow ascending category id, as detectron2's <c>thing_dataset_id_to_contiguous_id</c> does
/// (detectron2 counts from 0 because its heads add background themselves).
/// </summary>
public sealed class CategoryMapping
{
    private readonly long[] _categoryIds;
    private readonly string[] _names;
    private readonly Dictionary<long, int> _labelById;

    /// <summary>Numbers the categories 1..K in ascending id order.</summary>
    /// <param name="categories">The dataset's categories, in any order (usually <see cref="CocoDataset.Categories"/>).</param>
    /// <exception cref="ArgumentException">Two categories share an id.</exception>
    public CategoryMapping(IEnumerable<CocoCategory> categories)
    {
        ArgumentNullException.ThrowIfNull(categories);
        var sorted = categories.OrderBy(c => c.Id).ToArray();
        _categoryIds = sorted.Select(c => c.Id).ToArray();
        _names = sorted.Select(c => c.Name).ToArray();
        _labelById = new Dictionary<long, int>(sorted.Length);
        for (int i = 0; i < sorted.Length; i++)
        {
            if (!_labelById.TryAdd(sorted[i].Id, i + 1))
                throw new ArgumentException($"category id {sorted[i].Id} appears twice", nameof(categories));
        }
    }

    /// <summary>The background label.</summary>
    public const int Background = 0;

    /// <summary>K, the number of object classes (without background).</summary>
    public int Count => _categoryIds.Length;

    /// <summary>K + 1: what a torchvision-style classifier head's <c>num_classes</c> must be.</summary>
    public int CountWithBackground => _categoryIds.Length + 1;

    /// <summary>COCO category id of label 1, 2, … K, at index label − 1.</summary>
    public IReadOnlyList<long> CategoryIds => _categoryIds;

    /// <summary>Category name of label 1, 2, … K, at index label − 1.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>Looks up the label (1..K) of a COCO category id.</summary>
    /// <param name="categoryId">The <see cref="CocoCategory.Id"/>.</param>
    /// <param name="label">The label, when the id is one of the categories; otherwise 0.</param>
    /// <returns>Whether the id is one of the categories.</returns>
    public bool TryGetLabel(long categoryId, out int label) => _labelById.TryGetValue(categoryId, out label);

    /// <summary>The label (1..K) of a COCO category id.</summary>
    /// <exception cref="KeyNotFoundException">The id is not one of the categories.</exception>
    public int LabelOf(long categoryId) =>
        _labelById.TryGetValue(categoryId, out int label)
            ? label
            : throw new KeyNotFoundException($"category id {categoryId} is not one of the {Count} categories ({string.Join(", ", _categoryIds)})");

    /// <summary>The COCO category id of a label (1..K).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The label is background (0) or greater than K.</exception>
    public long CategoryIdOf(int label) =>
        label >= 1 && label <= Count
            ? _categoryIds[label - 1]
            : throw new ArgumentOutOfRangeException(nameof(label), $"label {label} is not an object class (1..{Count}; 0 is background)");

    /// <summary>Name of a label; "__background__" for 0 (torchvision's convention).</summary>
    public string NameOf(int label)
    {
        if (label == Background) return "__background__";
        CategoryIdOf(label); // validates the range
        return _names[label - 1];
    }
}
