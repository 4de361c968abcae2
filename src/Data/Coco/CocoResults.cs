using System.Text;
using System.Text.Json;

namespace MLNetSeg.Data.Coco;

/// <summary>
/// A COCO results file: a json list of {image_id, category_id, bbox | segmentation | keypoints, score}.
/// Results are kept in file order, which decides ties between equal scores during evaluation.
/// </summary>
public sealed class CocoResults
{
    /// <summary>Wraps results already in memory, validating each one.</summary>
    /// <param name="items">The results, in the order that decides ties between equal scores.</param>
    /// <param name="source">A name for error messages, e.g. the file the results will be saved to.</param>
    /// <exception cref="CocoFormatException">A result has a non-finite score, none of bbox / segmentation / keypoints,
    /// a box that is not 4 finite numbers with non-negative size, keypoints that are not (x, y, v) triplets, or an RLE
    /// segmentation that does not decode (a corrupt counts string, counts not adding up to its size).</exception>
    public CocoResults(IEnumerable<CocoResult> items, string source = "<memory>")
    {
        Items = items.ToList();
        Source = source;
        for (int i = 0; i < Items.Count; i++) Validate(Items[i], source, i);
    }

    /// <summary>The file the results came from (used in error messages), or a placeholder.</summary>
    public string Source { get; }

    /// <summary>The results in file order.</summary>
    public IReadOnlyList<CocoResult> Items { get; }

    /// <summary>Reads and validates a results json file (the list pycocotools' <c>COCO.loadRes</c> reads).</summary>
    /// <param name="path">The json file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CocoFormatException">The json is malformed, is not a list (e.g. a dataset file), or a result is invalid.</exception>
    public static CocoResults Load(string path) => Parse(CocoJsonFile.ReadAllBytes(path), path);

    /// <summary>Parses and validates results json held in a string; see <see cref="Load(string)"/>.</summary>
    /// <param name="json">The json text: a list of result objects.</param>
    /// <param name="source">A name for error messages.</param>
    /// <exception cref="CocoFormatException">The json is malformed, is not a list, or a result is invalid.</exception>
    public static CocoResults Parse(string json, string source = "<string>") => Parse(Encoding.UTF8.GetBytes(json), source);

    /// <summary>Parses and validates results json from UTF-8 bytes; see <see cref="Load(string)"/>.</summary>
    /// <param name="utf8Json">The json, UTF-8 encoded: a list of result objects.</param>
    /// <param name="source">A name for error messages, usually the file name.</param>
    /// <exception cref="CocoFormatException">The json is malformed, is not a list, or a result is invalid.</exception>
    public static CocoResults Parse(ReadOnlyMemory<byte> utf8Json, string source)
    {
        using var doc = CocoJsonFile.Parse(utf8Json, source);
        var root = doc.RootElement;
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("annotations", out _))
            throw new CocoFormatException($"{source}: expected a list of results, got a dataset object with 'annotations' (is this a ground-truth file?)");
        if (root.ValueKind != JsonValueKind.Array)
            throw new CocoFormatException($"{source}: expected a list of results, got {CocoJsonObject.Describe(root)}");
        var items = new List<CocoResult>(root.GetArrayLength());
        foreach (var element in root.EnumerateArray())
        {
            if (element.ValueKind != JsonValueKind.Object)
                throw new CocoFormatException($"{source}: result {items.Count} must be an object, got {CocoJsonObject.Describe(element)}");
            items.Add(Read(new CocoJsonObject(element, source, "result", items.Count)));
        }
        return new CocoResults(items, source);
    }

    /// <summary>
    /// Writes the results as a json list in the format pycocotools reads (fields absent from a result are
    /// omitted). The file is written to a temporary name and renamed, so a failed save leaves no partial file.
    /// </summary>
    /// <param name="path">The file to create or overwrite.</param>
    public void Save(string path) => CocoJsonFile.WriteAtomically(path, WriteTo);

    /// <summary>The results as the json text <see cref="Save(string)"/> writes.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, CocoJsonFile.WriterOptions)) WriteTo(writer);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static CocoResult Read(CocoJsonObject o)
    {
        long imageId = o.RequiredInt64("image_id");
        o = o.OnImage(imageId);
        return new CocoResult
        {
            ImageId = imageId,
            CategoryId = o.RequiredInt64("category_id"),
            Score = o.RequiredNumber("score"),
            Bbox = o.OptionalNumbers("bbox"),
            Segmentation = o.OptionalSegmentation("segmentation"),
            Keypoints = o.OptionalNumbers("keypoints"),
        };
    }

    private static void Validate(CocoResult r, string source, int index)
    {
        string? problem =
            !double.IsFinite(r.Score) ? $"'score' must be a finite number, got {r.Score}"
            : r.Bbox is null && r.Segmentation is null && r.Keypoints is null ? "needs one of 'bbox', 'segmentation' or 'keypoints'"
            // An empty "bbox" list is legal in pycocotools (it then looks at the other fields).
            : r.Bbox is { Length: > 0 } ? CocoValidation.BoxProblem(r.Bbox) : null;
        problem ??= r.Keypoints is { Length: 0 } ? "'keypoints' is empty" : CocoValidation.KeypointTripletsProblem(r.Keypoints);
        if (problem is not null)
            throw new CocoFormatException($"{source}: result {index} (image {r.ImageId}): {problem}");
        // pycocotools' loadRes decodes every RLE (for its area) on load: a corrupt counts string is a load error
        // here too, not a surprise at evaluation. Polygons need the image's size and are rasterised then.
        if (r.Segmentation is CocoCompressedRle or CocoUncompressedRle)
            r.Segmentation.ToRle(0, 0, $"{source}: result {index} (image {r.ImageId})");
    }

    private void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartArray();
        foreach (var r in Items)
        {
            w.WriteStartObject();
            w.WriteNumber("image_id", r.ImageId);
            w.WriteNumber("category_id", r.CategoryId);
            if (r.Bbox is { } box) CocoValidation.WriteNumbers(w, "bbox", box);
            if (r.Segmentation is { } seg) { w.WritePropertyName("segmentation"); seg.WriteTo(w); }
            if (r.Keypoints is { } kp) CocoValidation.WriteNumbers(w, "keypoints", kp);
            w.WriteNumber("score", r.Score);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
