using System.Text.Json;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Tests;

/// <summary>
/// The C# generator against values written by tools/fixtures/deterministic_weights.py
/// (fixtures/models/backbones/deterministic_weights.json, from gen_backbones.py). Both sides do
/// the same integer and IEEE double arithmetic, so the comparison is exact (no tolerance).
/// </summary>
[TestClass]
public class DeterministicWeightsTests
{
    private static JsonElement Fixture()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "backbones", "deterministic_weights.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return doc.RootElement.Clone();
    }

    [TestMethod]
    public void HashesEqualPython()
    {
        int cases = 0;
        foreach (var e in Fixture().GetProperty("fnv1a64").EnumerateArray())
        {
            var name = e.GetProperty("name").GetString()!;
            Assert.AreEqual(ulong.Parse(e.GetProperty("hash").GetString()!), DeterministicWeights.Fnv1a64(name), $"FNV-1a of '{name}'");
            cases++;
        }
        Assert.IsTrue(cases > 0, "deterministic_weights.json: no fnv1a64 cases");
    }

    [TestMethod]
    public void EntryValuesEqualPythonExactly()
    {
        int cases = 0;
        foreach (var e in Fixture().GetProperty("entries").EnumerateArray())
        {
            cases++;
            var name = e.GetProperty("name").GetString()!;
            var shape = e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            var values = DeterministicWeights.Values(name, shape);
            var indices = e.GetProperty("indices").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            var expected = e.GetProperty("values").EnumerateArray().Select(x => x.GetDouble()).ToArray();
            var expected32 = e.GetProperty("float32").EnumerateArray().Select(x => x.GetDouble()).ToArray();
            Assert.IsTrue(indices.Length > 0 && expected.Length == indices.Length && expected32.Length == indices.Length,
                $"{name}: {indices.Length} indices, {expected.Length} values, {expected32.Length} float32 values in the fixture");
            for (int k = 0; k < indices.Length; k++)
            {
                Assert.AreEqual(expected[k], values[indices[k]], 0.0, $"{name}[{indices[k]}]");
                Assert.AreEqual((float)expected32[k], (float)values[indices[k]], 0f, $"{name}[{indices[k]}] as float32");
            }
        }
        Assert.IsTrue(cases > 0, "deterministic_weights.json: no entries");
    }

    [TestMethod]
    public void UniformStreamEqualsPythonAcrossItsJumpAheadBlocks()
    {
        // Python steps the first 1024 states one by one and doubles the rest with jump-ahead;
        // indices around 1024 and 2048 check that seam.
        var u = Fixture().GetProperty("uniform");
        var stream = DeterministicWeights.UniformStream(u.GetProperty("name").GetString()!, u.GetProperty("count").GetInt64());
        var indices = u.GetProperty("indices").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var expected = u.GetProperty("values").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        Assert.IsTrue(indices.Length > 0 && expected.Length == indices.Length, $"fixture: {indices.Length} indices, {expected.Length} values");
        for (int k = 0; k < indices.Length; k++)
            Assert.AreEqual(expected[k], stream[indices[k]], 0.0, $"u[{indices[k]}]");
    }

    [TestMethod]
    public void ApplyFillsEveryEntryWithItsOwnDtype()
    {
        using var scope = DisposeScope.Enter();
        using var bn = new BatchNorm2d(3);
        DeterministicWeights.Apply(bn);
        Assert.AreEqual(DType.Int64, bn.NumBatchesTracked!.DType);
        Assert.AreEqual(0L, bn.NumBatchesTracked.ItemLong());
        var expectedVar = DeterministicWeights.Values("running_var", new long[] { 3 }).Select(v => (float)v).ToArray();
        CollectionAssert.AreEqual(expectedVar, bn.RunningVar!.ToArray<float>());
        var expectedWeight = DeterministicWeights.Values("weight", new long[] { 3 }).Select(v => (float)v).ToArray();
        CollectionAssert.AreEqual(expectedWeight, bn.Weight!.ToArray<float>());
        Assert.IsTrue(expectedWeight.All(w => w is >= 0.9f and <= 1.1f), "1-d weights follow the norm rule 1 + 0.1 r");
    }

    [TestMethod]
    public void UnknownEntryKindIsNamed()
    {
        var e = Assert.ThrowsException<ArgumentException>(() => DeterministicWeights.Values("head.scale", new long[] { 2 }));
        StringAssert.Contains(e.Message, "'head.scale'");
    }
}
