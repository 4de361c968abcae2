namespace MLNetSeg.Reliability.Tests.Load;

/// <summary>The flatness judge on made-up series: it must pass allocator noise and catch slow leaks.</summary>
[TestClass]
public sealed class MemorySamplerTests
{
    private const long MiB = 1 << 20;

    private static MemorySampler Series(Func<int, long> rss, Func<int, long> tensors)
    {
        var sampler = new MemorySampler();
        for (int i = 0; i < 50; i++) sampler.Add(new MemorySample(100 * (i + 1), rss(i), tensors(i), 0));
        return sampler;
    }

    [TestMethod]
    public void GarbageCollectorSwingsAndAWarmUpAreFlat()
    {
        // Warm-up growth in the first fifth, then ±30 MiB swings (a collection every few samples).
        var sampler = Series(i => (i < 10 ? 300 + 10 * i : 400 + (i % 4 == 0 ? 30 : 0) - (i % 7 == 0 ? 25 : 0)) * MiB, i => i < 10 ? 150 + i : 194);
        Assert.IsNull(sampler.Judge(tensors: true));
    }

    [TestMethod]
    public void ASlowResidentLeakIsCaught()
    {
        // 1 MiB per sample: 25 MiB over the second half, hidden inside the same swings.
        var sampler = Series(i => (400 + i + (i % 4 == 0 ? 30 : 0)) * MiB, _ => 194);
        StringAssert.Contains(sampler.Judge(tensors: true), "resident memory trends up");
    }

    [TestMethod]
    public void OneLeakedTensorIsCaught()
    {
        var sampler = Series(_ => 400 * MiB, i => i < 40 ? 194 : 195);
        StringAssert.Contains(sampler.Judge(tensors: true), "live tensors grew from 194");
        Assert.IsNull(sampler.Judge(tensors: false), "tensor counts are ignored for a predictor that does not run on libtorch");
    }
}
