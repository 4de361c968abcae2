using System.Text;
using System.Text.Json;

namespace MLNetSeg.Data.Coco;

/// <summary>
/// A COCO results file: a json list of {image_id, category_id, bbox | segmentation | keypoints, score}.
/// Results are kept in file order, which decides ties between equal scores during evaluation.
/// </summary>
public sealed class CocoResults
{
    public CocoResults(IEnumerable<CocoResult> items, string source = "<memory>")
    {
        Items = items.ToList();
        Source = source;
        for (int i = 0; i < Items.Count; i++) Validate(Items[i], source, i);
    }

    /// <summary>The file the results came from (used in error messages), or a placeholder.</summary>
    public string Source { get; }

    public IReadOnlyList<CocoResult> Items { get; }

    public static CocoResults Load(string path) => Parse(CocoJsonFile.ReadAllBytes(path), path);

    public static CocoResults Parse(string json, string source = "<string>") => Parse(Encoding.UTF8.GetBytes(json), source);

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

    public void Save(string path) => CocoJsonFile.WriteAtomically(path, WriteTo);

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
