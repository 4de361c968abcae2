using System.Text.Json;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Vision.Tests.Imaging;

/// <summary>Reads tests/fixtures/imaging (written by tools/fixtures/gen_imaging.py from PIL, OpenCV and torchvision).</summary>
internal static class ImagingFixtures
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "imaging");

    public static string PathOf(string name) => Path.Combine(Dir, name);

    private static readonly Lazy<JsonElement> ExpectedJson = new(() =>
    {
        var path = PathOf("expected.json");
        if (!File.Exists(path))
            throw new FileNotFoundException($"Fixture {path} is missing; regenerate it with tools/fixtures/gen_imaging.py.", path);
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.Clone();
    });

    public static JsonElement Expected => ExpectedJson.Value;

    /// <summary>An {"height","width","channels","pixels": base64 HWC} entry as an Image.</summary>
    public static Image ImageOf(JsonElement e) => new(
        e.GetProperty("height").GetInt32(), e.GetProperty("width").GetInt32(), e.GetProperty("channels").GetInt32(),
        Convert.FromBase64String(e.GetProperty("pixels").GetString()!));

    public static void AssertSamePixels(Image expected, Image actual, string what)
    {
        Assert.AreEqual(expected.Height, actual.Height, $"{what}: height");
        Assert.AreEqual(expected.Width, actual.Width, $"{what}: width");
        Assert.AreEqual(expected.Channels, actual.Channels, $"{what}: channels");
        var e = expected.Pixels; var a = actual.Pixels;
        for (int i = 0; i < e.Length; i++)
        {
            if (e[i] != a[i])
            {
                int px = i / expected.Channels;
                Assert.Fail($"{what}: pixel (y={px / expected.Width}, x={px % expected.Width}, c={i % expected.Channels}) is {a[i]}, expected {e[i]}");
            }
        }
    }
}
