using System.Text.Json;
using MLNetSeg.Transforms;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Transforms.Tests;

[TestClass]
public sealed class MaskEncodingTests
{
    /// <summary>pycocotools' own strings (tests/fixtures/rle/masks.json) decode to its bitmaps and encode back byte for byte.</summary>
    [TestMethod]
    public void RoundTripsPycocotoolsCountsStrings()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "rle", "masks.json")));
        int n = 0;
        foreach (var c in doc.RootElement.GetProperty("masks").EnumerateArray())
        {
            int h = c.GetProperty("height").GetInt32(), w = c.GetProperty("width").GetInt32();
            var counts = c.GetProperty("counts").GetString()!;
            var packed = Convert.FromBase64String(c.GetProperty("bits").GetString()!);
            var expected = new byte[h * w];
            for (int i = 0; i < expected.Length; i++) expected[i] = (byte)((packed[i >> 3] >> (7 - (i & 7))) & 1);

            var mask = MaskEncoding.DecodeToBitMask(counts, h, w);
            CollectionAssert.AreEqual(expected, mask.Pixels.ToArray(), c.GetProperty("name").GetString());
            Assert.AreEqual(counts, MaskEncoding.Encode(Rle.Encode(mask)));
            n++;
        }
        Assert.IsTrue(n >= 16, "fixture lost its cases");
    }

    [TestMethod]
    public void RejectsBadSizesAndStrings()
    {
        Assert.ThrowsException<ArgumentOutOfRangeException>(() => MaskEncoding.Decode("1", 0, 4));
        var e = Assert.ThrowsException<FormatException>(() => MaskEncoding.Decode("00000000000", 3, 4));
        StringAssert.Contains(e.Message, "RLE string");
    }
}
