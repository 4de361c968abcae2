using System.Text.Json;

namespace MLNetSeg.Vision.Tests.Structures;

/// <summary>Reads the JSON fixtures written by tools/fixtures/gen_rle.py (pycocotools / torchvision outputs).</summary>
internal static class RleFixtures
{
    public static JsonElement Load(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "fixtures", "rle", name);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Fixture {path} is missing; regenerate it with tools/fixtures/gen_rle.py.", path);
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.Clone();
    }

    /// <summary>Unpacks np.packbits output (big-endian bit order, row-major) into 0/1 bytes.</summary>
    public static byte[] UnpackBits(string base64, int count)
    {
        var packed = Convert.FromBase64String(base64);
        var bits = new byte[count];
        for (int i = 0; i < count; i++) bits[i] = (byte)((packed[i >> 3] >> (7 - (i & 7))) & 1);
        return bits;
    }

    public static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    /// <summary>Floats; the generator writes NaN and infinities as the strings "nan", "inf", "-inf".</summary>
    public static float[] Floats(JsonElement e) => e.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String
        ? float.Parse(v.GetString()!, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture)
        : v.GetSingle()).ToArray();

    public static string[] Strings(JsonElement e) => e.EnumerateArray().Select(v => v.GetString()!).ToArray();

    public static double[][] DoubleRows(JsonElement e) => e.EnumerateArray().Select(Doubles).ToArray();

    /// <summary>Row-major flattening of a list of [x1, y1, x2, y2] rows.</summary>
    public static float[] FlatFloats(JsonElement rows) => rows.EnumerateArray().SelectMany(Floats).ToArray();

    public static bool[] Crowd(JsonElement e) => e.EnumerateArray().Select(v => v.GetInt32() != 0).ToArray();
}
