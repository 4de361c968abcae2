using System.Text.Json;
using MLNetSeg.Data.Coco;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Data.Synthetic;

/// <summary>Whether a class is a countable object (instance annotations) or amorphous background.</summary>
public enum SyntheticClassKind
{
    /// <summary>A countable object: it has a COCO category and instance annotations (person and the shapes).</summary>
    Thing,

    /// <summary>Amorphous background (sky, grass, water, sand): semantic label maps only.</summary>
    Stuff,
}

/// <summary>
/// One class of the synthetic dataset. <see cref="SemanticLabel"/> is the pixel value in the
/// semantic PNGs; <see cref="CategoryId"/> is the COCO category id (things only).
/// </summary>
/// <param name="SemanticLabel">The pixel value of the class in the semantic label maps.</param>
/// <param name="Name">The class name, also the COCO category "name".</param>
/// <param name="Kind">Thing or stuff.</param>
/// <param name="CategoryId">The COCO category id for things; null for stuff.</param>
public sealed record SyntheticClass(int SemanticLabel, string Name, SyntheticClassKind Kind, int? CategoryId);

/// <summary>
/// The class list of the synthetic dataset.
/// <list type="table">
/// <listheader><term>semantic label</term><description>class (COCO category id)</description></listheader>
/// <item><term>0</term><description>person (1): stick figure, 17 COCO keypoints</description></item>
/// <item><term>1</term><description>circle (2)</description></item>
/// <item><term>2</term><description>square (3)</description></item>
/// <item><term>3</term><description>triangle (4)</description></item>
/// <item><term>4</term><description>star (5): five-pointed</description></item>
/// <item><term>5</term><description>ellipse (6)</description></item>
/// <item><term>6</term><description>sky (stuff)</description></item>
/// <item><term>7</term><description>grass (stuff)</description></item>
/// <item><term>8</term><description>water (stuff)</description></item>
/// <item><term>9</term><description>sand (stuff)</description></item>
/// <item><term>255</term><description>ignore: "clutter" patches that belong to no class</description></item>
/// </list>
/// Things come first so that semantic label = category id − 1 for every thing. The list is also
/// written next to the label maps as <c>semantic/labels.json</c>.
/// </summary>
public static class SyntheticClasses
{
    /// <summary>COCO category id of person (stick figures with the 17 COCO keypoints); semantic label 0.</summary>
    public const int PersonCategoryId = 1;
    /// <summary>COCO category id of circle; semantic label 1.</summary>
    public const int CircleCategoryId = 2;
    /// <summary>COCO category id of square; semantic label 2.</summary>
    public const int SquareCategoryId = 3;
    /// <summary>COCO category id of triangle; semantic label 3.</summary>
    public const int TriangleCategoryId = 4;
    /// <summary>COCO category id of the five-pointed star; semantic label 4.</summary>
    public const int StarCategoryId = 5;
    /// <summary>COCO category id of ellipse; semantic label 5.</summary>
    public const int EllipseCategoryId = 6;

    /// <summary>Semantic label of the sky stuff class.</summary>
    public const int Sky = 6;
    /// <summary>Semantic label of the grass stuff class.</summary>
    public const int Grass = 7;
    /// <summary>Semantic label of the water stuff class.</summary>
    public const int Water = 8;
    /// <summary>Semantic label of the sand stuff class.</summary>
    public const int Sand = 9;

    /// <summary>Pixels of "clutter" patches that belong to no class (<see cref="SemanticLabelMap.IgnoreLabel"/>).</summary>
    public const int Ignore = SemanticLabelMap.IgnoreLabel;

    /// <summary>Every class, indexed by semantic label.</summary>
    public static IReadOnlyList<SyntheticClass> All { get; } =
    [
        new(0, "person", SyntheticClassKind.Thing, PersonCategoryId),
        new(1, "circle", SyntheticClassKind.Thing, CircleCategoryId),
        new(2, "square", SyntheticClassKind.Thing, SquareCategoryId),
        new(3, "triangle", SyntheticClassKind.Thing, TriangleCategoryId),
        new(4, "star", SyntheticClassKind.Thing, StarCategoryId),
        new(5, "ellipse", SyntheticClassKind.Thing, EllipseCategoryId),
        new(Sky, "sky", SyntheticClassKind.Stuff, null),
        new(Grass, "grass", SyntheticClassKind.Stuff, null),
        new(Water, "water", SyntheticClassKind.Stuff, null),
        new(Sand, "sand", SyntheticClassKind.Stuff, null),
    ];

    /// <summary>The thing classes (person and the five shapes), in category-id order.</summary>
    public static IReadOnlyList<SyntheticClass> Things { get; } = All.Where(c => c.Kind == SyntheticClassKind.Thing).ToArray();

    /// <summary>The stuff classes (sky, grass, water, sand), in semantic-label order.</summary>
    public static IReadOnlyList<SyntheticClass> Stuff { get; } = All.Where(c => c.Kind == SyntheticClassKind.Stuff).ToArray();

    /// <summary>Number of semantic classes (labels 0 … Count − 1; 255 is ignore).</summary>
    public static int SemanticClassCount => All.Count;

    /// <summary>The shape classes (every thing but person), in category-id order.</summary>
    internal static IReadOnlyList<int> ShapeCategoryIds { get; } = [CircleCategoryId, SquareCategoryId, TriangleCategoryId, StarCategoryId, EllipseCategoryId];

    /// <summary>The semantic label of a thing's COCO category id (category id − 1).</summary>
    /// <param name="categoryId">A category id of <see cref="Things"/>, 1..6.</param>
    /// <exception cref="ArgumentOutOfRangeException">The id is not a category of the synthetic dataset.</exception>
    public static int SemanticLabelOfCategory(long categoryId) =>
        categoryId is >= PersonCategoryId and <= EllipseCategoryId
            ? (int)categoryId - 1
            : throw new ArgumentOutOfRangeException(nameof(categoryId), $"the synthetic dataset has no category {categoryId}");

    /// <summary>The COCO "categories" of instances_{split}.json.</summary>
    public static IReadOnlyList<CocoCategory> InstanceCategories() =>
        Things.Select(c => new CocoCategory
        {
            Id = c.CategoryId!.Value,
            Name = c.Name,
            Supercategory = c.CategoryId == PersonCategoryId ? "person" : "shape",
        }).ToArray();

    /// <summary>The COCO "categories" of person_keypoints_{split}.json: person with the 17 COCO keypoints and skeleton (1-based).</summary>
    public static IReadOnlyList<CocoCategory> KeypointCategories()
    {
        var schema = KeypointSchema.CocoPerson;
        return
        [
            new CocoCategory
            {
                Id = PersonCategoryId,
                Name = "person",
                Supercategory = "person",
                Keypoints = schema.Names,
                Skeleton = schema.Skeleton.Select(e => new[] { e.From + 1, e.To + 1 }).ToArray(),
            },
        ];
    }

    /// <summary>The json written to <c>semantic/labels.json</c>.</summary>
    internal static byte[] LabelsJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("ignore_label", Ignore);
            w.WriteString("ignore_meaning", "clutter patches that belong to no class");
            w.WriteStartArray("classes");
            foreach (var c in All)
            {
                w.WriteStartObject();
                w.WriteNumber("label", c.SemanticLabel);
                w.WriteString("name", c.Name);
                w.WriteString("kind", c.Kind == SyntheticClassKind.Thing ? "thing" : "stuff");
                if (c.CategoryId is { } id) w.WriteNumber("category_id", id);
                else w.WriteNull("category_id");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return stream.ToArray();
    }
}
