using System.Text;
using System.Text.Json;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Data.Coco;

/// <summary>
/// A COCO dataset json (images, categories, annotations), validated on construction: duplicate
/// ids, dangling image/category references, malformed boxes, segmentation sizes that disagree with
/// their image, negative sizes and keypoint lists that disagree with their category all raise a
/// <see cref="CocoFormatException"/> naming the file, the ids and the field.
/// </summary>
public sealed class CocoDataset
{
    private readonly Dictionary<long, CocoImage> _imagesById;
    private readonly Dictionary<long, CocoCategory> _categoriesById;

    /// <summary>Builds a dataset from entries already in memory and validates it like a loaded file.</summary>
    /// <param name="images">The "images" list.</param>
    /// <param name="categories">The "categories" list.</param>
    /// <param name="annotations">The "annotations" list, in the order evaluation should see them.</param>
    /// <param name="source">A name for error messages, e.g. the file the dataset will be saved to.</param>
    /// <param name="info">The "info" object to write back verbatim, or null to omit it.</param>
    /// <param name="licenses">The "licenses" list to write back verbatim, or null to omit it.</param>
    /// <exception cref="CocoFormatException">An id is duplicated, an image or category reference dangles, or a field is invalid (see <see cref="CocoDataset"/>).</exception>
    public CocoDataset(
        IEnumerable<CocoImage> images,
        IEnumerable<CocoCategory> categories,
        IEnumerable<CocoAnnotation> annotations,
        string source = "<memory>",
        JsonElement? info = null,
        JsonElement? licenses = null)
    {
        Source = source;
        Images = images.ToList();
        Categories = categories.ToList();
        Annotations = annotations.ToList();
        Info = info;
        Licenses = licenses;
        _imagesById = IndexImages();
        _categoriesById = IndexCategories();
        ValidateAnnotations();
    }

    /// <summary>The file the dataset came from (used in error messages), or a placeholder.</summary>
    public string Source { get; }

    /// <summary>The images in file order.</summary>
    public IReadOnlyList<CocoImage> Images { get; }

    /// <summary>The categories in file order (empty when the file has no "categories" list).</summary>
    public IReadOnlyList<CocoCategory> Categories { get; }

    /// <summary>Annotations in file order (evaluation depends on that order for ties).</summary>
    public IReadOnlyList<CocoAnnotation> Annotations { get; }

    /// <summary>The "info" object, kept verbatim for round trips.</summary>
    public JsonElement? Info { get; }

    /// <summary>The "licenses" list, kept verbatim for round trips.</summary>
    public JsonElement? Licenses { get; }

    /// <summary>Looks up an image by its id.</summary>
    /// <param name="id">The <see cref="CocoImage.Id"/>.</param>
    /// <param name="image">The image, when found.</param>
    /// <returns>Whether the dataset has an image with that id.</returns>
    public bool TryGetImage(long id, out CocoImage image) => _imagesById.TryGetValue(id, out image!);

    /// <summary>Looks up a category by its id.</summary>
    /// <param name="id">The <see cref="CocoCategory.Id"/>.</param>
    /// <param name="category">The category, when found.</param>
    /// <returns>Whether the dataset has a category with that id.</returns>
    public bool TryGetCategory(long id, out CocoCategory category) => _categoriesById.TryGetValue(id, out category!);

    /// <summary>The image with the given id.</summary>
    /// <param name="id">The <see cref="CocoImage.Id"/>.</param>
    /// <exception cref="KeyNotFoundException">No image has that id.</exception>
    public CocoImage GetImage(long id) =>
        _imagesById.TryGetValue(id, out var image) ? image : throw new KeyNotFoundException($"{Source}: no image with id {id}");

    /// <summary>The category with the given id.</summary>
    /// <param name="id">The <see cref="CocoCategory.Id"/>.</param>
    /// <exception cref="KeyNotFoundException">No category has that id.</exception>
    public CocoCategory GetCategory(long id) =>
        _categoriesById.TryGetValue(id, out var c) ? c : throw new KeyNotFoundException($"{Source}: no category with id {id}");

    /// <summary>
    /// The mask of an annotation as an RLE, as pycocotools' <c>COCO.annToRLE</c> makes it: polygons are
    /// rasterised at the size of the annotation's image and merged; RLEs keep their own size.
    /// </summary>
    /// <param name="annotation">An annotation of this dataset (its image must be in <see cref="Images"/>).</param>
    /// <returns>The mask.</returns>
    /// <exception cref="CocoFormatException">The annotation has no segmentation, or it cannot be converted
    /// (an empty polygon list, a first polygon of fewer than 4 numbers, boxes that are not 4 numbers,
    /// coordinates out of range, a corrupt RLE string); the message names the file and the annotation.</exception>
    public Rle AnnotationToRle(CocoAnnotation annotation)
    {
        ArgumentNullException.ThrowIfNull(annotation);
        string where = $"{Source}: annotation {annotation.Id} (image {annotation.ImageId})";
        var segmentation = annotation.Segmentation ?? throw new CocoFormatException($"{where}: 'segmentation' is missing");
        if (!_imagesById.TryGetValue(annotation.ImageId, out var image))
            throw new CocoFormatException($"{where}: no image with id {annotation.ImageId}");
        return segmentation.ToRle(image.Height, image.Width, where);
    }

    /// <summary>
    /// Reads and validates a COCO dataset json file (instances_*.json, person_keypoints_*.json). "images" is
    /// required; "categories" and "annotations" may be absent (empty), as in an image-info test file.
    /// </summary>
    /// <param name="path">The json file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CocoFormatException">The json is malformed, is not a dataset object (e.g. a results list), or fails validation.</exception>
    public static CocoDataset Load(string path)
    {
        byte[] bytes = CocoJsonFile.ReadAllBytes(path);
        return Parse(bytes, path);
    }

    /// <summary>Parses and validates a dataset held in a string; see <see cref="Load(string)"/>.</summary>
    /// <param name="json">The json text of a dataset object.</param>
    /// <param name="source">A name for error messages.</param>
    /// <exception cref="CocoFormatException">The json is malformed, is not a dataset object, or fails validation.</exception>
    public static CocoDataset Parse(string json, string source = "<string>") => Parse(Encoding.UTF8.GetBytes(json), source);

    /// <summary>Parses and validates a dataset from UTF-8 bytes; see <see cref="Load(string)"/>.</summary>
    /// <param name="utf8Json">The json of a dataset object, UTF-8 encoded.</param>
    /// <param name="source">A name for error messages, usually the file name.</param>
    /// <exception cref="CocoFormatException">The json is malformed, is not a dataset object, or fails validation.</exception>
    public static CocoDataset Parse(ReadOnlyMemory<byte> utf8Json, string source)
    {
        using var doc = CocoJsonFile.Parse(utf8Json, source);
        var root = doc.RootElement;
        if (root.ValueKind == JsonValueKind.Array)
            throw new CocoFormatException($"{source}: expected a COCO dataset object with 'images', got a list (is this a results file?)");
        if (root.ValueKind != JsonValueKind.Object)
            throw new CocoFormatException($"{source}: expected a COCO dataset object with 'images', got {CocoJsonObject.Describe(root)}");

        var images = ReadList(root, "images", source, required: true, ReadImage);
        var categories = ReadList(root, "categories", source, required: false, ReadCategory);
        var annotations = ReadList(root, "annotations", source, required: false, ReadAnnotation);
        JsonElement? info = root.TryGetProperty("info", out var i) ? i.Clone() : null;
        JsonElement? licenses = root.TryGetProperty("licenses", out var l) ? l.Clone() : null;
        return new CocoDataset(images, categories, annotations, source, info, licenses);
    }

    /// <summary>
    /// Writes the dataset as COCO json (info, licenses, images, categories, annotations; optional fields that
    /// are null are omitted). The file is written to a temporary name and renamed, so a failed save leaves no partial file.
    /// </summary>
    /// <param name="path">The file to create or overwrite.</param>
    public void Save(string path) => CocoJsonFile.WriteAtomically(path, WriteTo);

    /// <summary>The dataset as the json text <see cref="Save(string)"/> writes.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, CocoJsonFile.WriterOptions)) WriteTo(writer);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static List<T> ReadList<T>(JsonElement root, string name, string source, bool required, Func<CocoJsonObject, T> read)
    {
        if (!root.TryGetProperty(name, out var list) || list.ValueKind == JsonValueKind.Null)
            return required ? throw new CocoFormatException($"{source}: missing '{name}' list") : [];
        if (list.ValueKind != JsonValueKind.Array)
            throw new CocoFormatException($"{source}: '{name}' must be a list, got {CocoJsonObject.Describe(list)}");
        var items = new List<T>(list.GetArrayLength());
        foreach (var element in list.EnumerateArray())
        {
            if (element.ValueKind != JsonValueKind.Object)
                throw new CocoFormatException($"{source}: {name}[{items.Count}] must be an object, got {CocoJsonObject.Describe(element)}");
            items.Add(read(new CocoJsonObject(element, source, name, items.Count)));
        }
        return items;
    }

    private static CocoImage ReadImage(CocoJsonObject o)
    {
        long id = o.RequiredInt64("id");
        o = o.Identified("image", id);
        return new CocoImage
        {
            Id = id,
            Width = o.RequiredPositiveInt32("width"),
            Height = o.RequiredPositiveInt32("height"),
            FileName = o.OptionalString("file_name"),
        };
    }

    private static CocoCategory ReadCategory(CocoJsonObject o)
    {
        long id = o.RequiredInt64("id");
        o = o.Identified("category", id);
        return new CocoCategory
        {
            Id = id,
            Name = o.OptionalString("name") ?? throw o.Error("name", "is missing"),
            Supercategory = o.OptionalString("supercategory"),
            Keypoints = o.OptionalStrings("keypoints"),
            Skeleton = o.OptionalIntPairs("skeleton"),
        };
    }

    private static CocoAnnotation ReadAnnotation(CocoJsonObject o)
    {
        long id = o.RequiredInt64("id");
        o = o.Identified("annotation", id);
        long imageId = o.RequiredInt64("image_id");
        o = o.OnImage(imageId);
        long? numKeypoints = o.OptionalInt64("num_keypoints");
        if (numKeypoints is < 0 or > int.MaxValue) throw o.Error("num_keypoints", $"must be a non-negative integer, got {numKeypoints}");
        return new CocoAnnotation
        {
            Id = id,
            ImageId = imageId,
            CategoryId = o.RequiredInt64("category_id"),
            Bbox = o.OptionalNumbers("bbox"),
            Area = o.OptionalNumber("area"),
            IsCrowd = o.OptionalFlag("iscrowd"),
            Segmentation = o.OptionalSegmentation("segmentation"),
            Keypoints = o.OptionalNumbers("keypoints"),
            NumKeypoints = (int?)numKeypoints,
        };
    }

    private Dictionary<long, CocoImage> IndexImages()
    {
        var byId = new Dictionary<long, CocoImage>(Images.Count);
        foreach (var image in Images)
        {
            if (!byId.TryAdd(image.Id, image))
                throw new CocoFormatException($"{Source}: duplicate image id {image.Id}");
            if (image.Width <= 0 || image.Height <= 0)
                throw new CocoFormatException($"{Source}: image {image.Id}: 'width' and 'height' must be positive, got {image.Width}x{image.Height}");
        }
        return byId;
    }

    private Dictionary<long, CocoCategory> IndexCategories()
    {
        var byId = new Dictionary<long, CocoCategory>(Categories.Count);
        foreach (var category in Categories)
        {
            if (!byId.TryAdd(category.Id, category))
                throw new CocoFormatException($"{Source}: duplicate category id {category.Id}");
            int count = category.Keypoints?.Count ?? 0;
            foreach (var edge in category.Skeleton ?? [])
            {
                if (edge.Length != 2 || edge[0] < 1 || edge[0] > count || edge[1] < 1 || edge[1] > count)
                    throw new CocoFormatException(
                        $"{Source}: category {category.Id}: 'skeleton' edge [{string.Join(", ", edge)}] must join two 1-based keypoint indices in 1..{count}");
            }
        }
        return byId;
    }

    private void ValidateAnnotations()
    {
        var seen = new HashSet<long>(Annotations.Count);
        foreach (var ann in Annotations)
        {
            if (!seen.Add(ann.Id))
                throw new CocoFormatException($"{Source}: duplicate annotation id {ann.Id}");
            string? problem;
            if (!_imagesById.TryGetValue(ann.ImageId, out var image))
                problem = $"'image_id' {ann.ImageId} does not match any image";
            else if (!_categoriesById.TryGetValue(ann.CategoryId, out var category))
                problem = $"'category_id' {ann.CategoryId} does not match any category";
            else
                problem = CocoValidation.BoxProblem(ann.Bbox)
                    ?? (ann.Area is double area && !(area >= 0 && double.IsFinite(area)) ? $"'area' must be a non-negative number, got {area}" : null)
                    ?? CocoValidation.SegmentationSizeProblem(ann.Segmentation, image)
                    ?? KeypointsProblem(ann, category);
            if (problem is not null)
                throw new CocoFormatException($"{Source}: annotation {ann.Id} (image {ann.ImageId}): {problem}");
        }
    }

    private static string? KeypointsProblem(CocoAnnotation ann, CocoCategory category)
    {
        if (ann.NumKeypoints is < 0) return $"'num_keypoints' must be non-negative, got {ann.NumKeypoints}";
        if (ann.Keypoints is not { } kp) return null;
        if (CocoValidation.KeypointTripletsProblem(kp) is { } triplets) return triplets;
        if (category.Keypoints is { } names && kp.Length != 3 * names.Count)
            return $"'keypoints' must have {3 * names.Count} numbers ({names.Count} keypoints of category {category.Id} × (x, y, v)), got {kp.Length}";
        for (int i = 2; i < kp.Length; i += 3)
        {
            if (kp[i] is not (0 or 1 or 2))
                return $"'keypoints' visibility of keypoint {i / 3} must be 0, 1 or 2, got {kp[i]}";
        }
        return null;
    }

    private void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        if (Info is { } info) { w.WritePropertyName("info"); info.WriteTo(w); }
        if (Licenses is { } licenses) { w.WritePropertyName("licenses"); licenses.WriteTo(w); }
        w.WriteStartArray("images");
        foreach (var image in Images)
        {
            w.WriteStartObject();
            w.WriteNumber("id", image.Id);
            if (image.FileName is { } name) w.WriteString("file_name", name);
            w.WriteNumber("width", image.Width);
            w.WriteNumber("height", image.Height);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("categories");
        foreach (var c in Categories)
        {
            w.WriteStartObject();
            w.WriteNumber("id", c.Id);
            w.WriteString("name", c.Name);
            if (c.Supercategory is { } super) w.WriteString("supercategory", super);
            if (c.Keypoints is { } names)
            {
                w.WriteStartArray("keypoints");
                foreach (var n in names) w.WriteStringValue(n);
                w.WriteEndArray();
            }
            if (c.Skeleton is { } skeleton)
            {
                w.WriteStartArray("skeleton");
                foreach (var e in skeleton) { w.WriteStartArray(); w.WriteNumberValue(e[0]); w.WriteNumberValue(e[1]); w.WriteEndArray(); }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("annotations");
        foreach (var a in Annotations)
        {
            w.WriteStartObject();
            w.WriteNumber("id", a.Id);
            w.WriteNumber("image_id", a.ImageId);
            w.WriteNumber("category_id", a.CategoryId);
            if (a.Bbox is { } box) CocoValidation.WriteNumbers(w, "bbox", box);
            if (a.Area is { } area) w.WriteNumber("area", area);
            w.WriteNumber("iscrowd", a.IsCrowd ? 1 : 0);
            if (a.Segmentation is { } seg) { w.WritePropertyName("segmentation"); seg.WriteTo(w); }
            if (a.Keypoints is { } kp) CocoValidation.WriteNumbers(w, "keypoints", kp);
            if (a.NumKeypoints is { } nk) w.WriteNumber("num_keypoints", nk);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
