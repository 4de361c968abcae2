using System.Text.Json;

namespace MLNetSeg.Evaluation.Tests.Semantic;

/// <summary>Reads tests/fixtures/semseg and tests/fixtures/panoptic (written by tools/fixtures/gen_semseg.py
/// from detectron2's SemSegEvaluator, boundary-iou-api's mask_to_boundary and panopticapi).</summary>
internal static class SemanticFixtures
{
    public static JsonElement Load(string area, string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "fixtures", area, name);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Fixture {path} is missing; regenerate it with tools/fixtures/gen_semseg.py.", path);
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.Clone();
    }

    public static string PathOf(string area, string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", area, name);

    /// <summary>base64 row-major uint8 → int labels.</summary>
    public static int[] Bytes(JsonElement e) => Convert.FromBase64String(e.GetString()!).Select(b => (int)b).ToArray();

    /// <summary>base64 little-endian int32 → ints.</summary>
    public static int[] Int32s(JsonElement e)
    {
        var raw = Convert.FromBase64String(e.GetString()!);
        var ids = new int[raw.Length / 4];
        for (int i = 0; i < ids.Length; i++) ids[i] = BitConverter.ToInt32(raw, 4 * i);
        return ids;
    }

    /// <summary>A JSON number, or NaN for null (the generator writes NaN as null).</summary>
    public static double Number(JsonElement e) => e.ValueKind == JsonValueKind.Null ? double.NaN : e.GetDouble();

    public static void AreClose(double expected, double actual, double tolerance, string what)
    {
        if (double.IsNaN(expected) || double.IsNaN(actual))
        {
            Assert.AreEqual(double.IsNaN(expected), double.IsNaN(actual), $"{what}: expected {expected}, got {actual}");
            return;
        }
        Assert.AreEqual(expected, actual, tolerance, what);
    }
}
