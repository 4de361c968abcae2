using MLNetSeg.Torch;
using MLNetSeg.Vision.Geometry;

namespace MLNetSeg.Vision.Tests.Geometry;

/// <summary>BoxCoder, Matcher, sampler and anchors against torchvision's detection utilities.</summary>
[TestClass]
public class GeometryTests
{
    [TestMethod]
    public void BoxCoderEncodesAndDecodesLikeTorchvision()
    {
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load("box_coder");
        var w = f.Doubles("weights");
        var coder = new BoxCoder((w[0], w[1], w[2], w[3]));
        Assert.AreEqual(f.Double("bbox_xform_clip"), coder.BboxXformClip, 0.0, "default clip is log(1000/16)");
        var proposals = new[] { f.Input("proposals0"), f.Input("proposals1") };
        var targets = coder.Encode(new[] { f.Input("gt0"), f.Input("gt1") }, proposals);
        Assert.AreEqual(2, targets.Length);
        // float32 log/exp and divisions: 1e-5.
        Expect.Close(f.Output("targets0"), targets[0], "targets of image 0");
        Expect.Close(f.Output("targets1"), targets[1], "targets of image 1");
        // Codes include dw = 30 / 5 beyond the clip: decoding must clamp before exp.
        Expect.Close(f.Output("decoded"), coder.Decode(f.Input("codes"), proposals), "decoded boxes");
    }

    [TestMethod]
    [DataRow("matcher_strict")]
    [DataRow("matcher_low_quality")]
    public void MatcherAssignsLikeTorchvision(string name)
    {
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load(name);
        var matcher = new Matcher(f.Double("high"), f.Double("low"), f.Bool("allow_low_quality_matches"));
        var matches = matcher.Match(f.Input("quality"));
        Expect.Exact(f.Output("matches"), matches, $"{name} matches");
        // The fixture must exercise both negative codes.
        var values = matches.ToArray<long>();
        CollectionAssert.Contains(values, Matcher.BelowLowThreshold);
        CollectionAssert.Contains(values, Matcher.BetweenThresholds);
    }

    [TestMethod]
    public void MatcherRejectsAnEmptyMatrix()
    {
        using var scope = DisposeScope.Enter();
        var e = Assert.ThrowsException<ArgumentException>(() => new Matcher(0.7, 0.3).Match(Tensor.Zeros(new long[] { 0, 5 })));
        StringAssert.Contains(e.Message, "no ground-truth boxes");
    }

    [TestMethod]
    public void SamplerPicksTorchvisionsElementsForTheSameSeed()
    {
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load("sampler");
        var labels = new[] { f.Input("labels0"), f.Input("labels1"), f.Input("labels2") };
        var sampler = new BalancedPositiveNegativeSampler(f.Int("batch_size_per_image"), f.Double("positive_fraction"));
        TorchRuntime.ManualSeed((ulong)f.Int("seed"));
        var (pos, neg) = sampler.Sample(labels);
        for (int i = 0; i < 3; i++)
        {
            Expect.Exact(f.Output($"pos{i}"), pos[i], $"positives of image {i}");
            Expect.Exact(f.Output($"neg{i}"), neg[i], $"negatives of image {i}");
        }
    }

    [TestMethod]
    [DataRow("anchors_fpn2")]
    [DataRow("anchors_fpn2_uneven")]
    public void AnchorsMatchTorchvisionForATwoLevelFpn(string name)
    {
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load(name);
        var sizes = f.Param("sizes").EnumerateArray().Select(l => (IReadOnlyList<double>)l.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        var ratios = f.Param("aspect_ratios").EnumerateArray().Select(l => (IReadOnlyList<double>)l.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        var image = f.Longs("image_size");
        var grids = f.Param("grid_sizes").EnumerateArray().Select(g => (g[0].GetInt64(), g[1].GetInt64())).ToArray();
        var generator = new AnchorGenerator(sizes, ratios);
        CollectionAssert.AreEqual(new[] { 3, 3 }, generator.NumAnchorsPerLocation);
        // Rounded base anchors plus integer shifts: exact.
        Expect.Exact(f.Output("anchors"), generator.Generate(image[0], image[1], grids), name);
    }

    [TestMethod]
    public void CellAnchorsRoundLikeTorchvision()
    {
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load("cell_anchors_multi");
        var anchors = AnchorGenerator.GenerateCellAnchors(f.Doubles("sizes"), f.Doubles("aspect_ratios"));
        Expect.Exact(f.Output("anchors"), anchors, "cell anchors");
    }
}
