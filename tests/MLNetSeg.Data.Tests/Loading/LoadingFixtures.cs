using System.Text.Json;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Data.Loading;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Data.Tests.Loading;

/// <summary>Reads tests/fixtures/loading/*.json (written by tools/fixtures/gen_loading.py) and builds samples from them.</summary>
internal static class LoadingFixtures
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "loading");

    public static JsonElement Load(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, name)));
        return doc.RootElement.Clone();
    }

    public static long[] Shape(JsonElement tensor) => tensor.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray();

    public static float[] Floats(JsonElement tensor) => tensor.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();

    public static byte[] Bytes(JsonElement tensor) => tensor.GetProperty("data").EnumerateArray().Select(v => v.GetByte()).ToArray();

    public static Tensor FloatTensor(JsonElement tensor) => Tensor.FromArray(Floats(tensor), Shape(tensor));

    /// <summary>A [N, H, W] uint8 fixture tensor as N masks.</summary>
    public static BitMask[] Masks(JsonElement tensor)
    {
        var shape = Shape(tensor);
        var bytes = Bytes(tensor);
        int n = (int)shape[0], h = (int)shape[1], w = (int)shape[2];
        return Enumerable.Range(0, n).Select(i => BitMask.FromRowMajor(h, w, bytes.AsSpan(i * h * w, h * w))).ToArray();
    }

    /// <summary>A sample with the fixture's image, boxes, masks and [N, 17, 3] keypoints (labels 1, crowd false).</summary>
    public static DetectionSample Sample(JsonElement image, JsonElement boxes, JsonElement masks, JsonElement keypoints)
    {
        var shape = Shape(image);
        var b = Boxes.FromXyxy(Floats(boxes));
        int n = b.Count;
        var target = new DetectionTarget(b, Enumerable.Repeat(1, n).ToArray(), new bool[n], Enumerable.Range(1, n).Select(i => (long)i).ToArray(),
            new float[n], Masks(masks), new Keypoints(n, 17, Floats(keypoints)));
        return new DetectionSample(0, 1, "fixture", new ImageSize((int)shape[1], (int)shape[2]), FloatTensor(image), target);
    }

    /// <summary>Asserts the tensor has the fixture's shape and exactly its values.</summary>
    public static void AssertExact(JsonElement expected, Tensor actual, string what)
    {
        CollectionAssert.AreEqual(Shape(expected), actual.Shape, $"{what}: shape");
        AssertExact(Floats(expected), actual.Contiguous().ToArray<float>(), what);
    }

    public static void AssertExact(float[] expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, $"{what}: length");
        for (int i = 0; i < expected.Length; i++)
        {
            // Bitwise equality (NaN-safe): the same libtorch kernels / float32 formulas as the reference.
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: element {i} is {actual[i]:R}, torchvision gives {expected[i]:R}");
        }
    }

    public static void AssertMasks(JsonElement expected, IReadOnlyList<BitMask> actual, string what)
    {
        var e = Masks(expected);
        Assert.AreEqual(e.Length, actual.Count, $"{what}: mask count");
        for (int i = 0; i < e.Length; i++)
        {
            Assert.AreEqual(e[i].Height, actual[i].Height, $"{what}: mask {i} height");
            Assert.AreEqual(e[i].Width, actual[i].Width, $"{what}: mask {i} width");
            CollectionAssert.AreEqual(e[i].ToRowMajorBytes(), actual[i].ToRowMajorBytes(), $"{what}: mask {i} pixels");
        }
    }
}
