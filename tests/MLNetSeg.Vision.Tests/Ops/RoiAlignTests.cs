using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Vision.Tests.Ops;

/// <summary>
/// RoIAlign forward and input gradient against torchvision.ops.roi_align, on both backends.
/// Tolerances: float32 1e-5 (rtol and atol; the composed path sums the same bilinear taps in
/// another order), float64 1e-10.
/// </summary>
[TestClass]
public class RoiAlignTests
{
    public static IEnumerable<object[]> Cases()
    {
        foreach (var name in new[] { "roi_align_legacy_sr2", "roi_align_legacy_sr0", "roi_align_aligned_sr2", "roi_align_aligned_sr0", "roi_align_aligned_sr0_f64" })
            foreach (var backend in new[] { VisionOpsBackend.Native, VisionOpsBackend.Composed })
                yield return new object[] { name, backend };
    }

    [TestMethod]
    [DynamicData(nameof(Cases), DynamicDataSourceType.Method)]
    public void ForwardAndInputGradientMatchTorchvision(string name, VisionOpsBackend backend)
    {
        Expect.BackendAvailable(backend);
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load(name);
        var input = f.Input("input").RequiresGrad_();
        var size = f.Longs("output_size");
        var output = VisionOps.RoiAlign(input, f.Input("rois"), ((int)size[0], (int)size[1]), f.Double("spatial_scale"),
            f.Int("sampling_ratio"), f.Bool("aligned"), backend);
        Expect.Close(f.Output("out"), output, $"{name} ({backend}) forward");
        output.Backward(f.GradOutput("out"));
        Expect.Close(f.Grad("input"), input.Grad!, $"{name} ({backend}) d input");
    }

    [TestMethod]
    [DataRow("roi_align_aligned_sr0")]
    [DataRow("roi_align_legacy_sr2")]
    public void ComposedPathGivesTheSameResultInSmallChunks(string name)
    {
        // A budget of a few RoIs' taps forces many chunks, with per-chunk adaptive grids.
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load(name);
        var saved = VisionOps.ComposedRoiAlignTapBudget;
        try
        {
            VisionOps.ComposedRoiAlignTapBudget = 1500;
            var input = f.Input("input").RequiresGrad_();
            var output = VisionOps.RoiAlign(input, f.Input("rois"), (5, 4), f.Double("spatial_scale"), f.Int("sampling_ratio"), f.Bool("aligned"), VisionOpsBackend.Composed);
            Expect.Close(f.Output("out"), output, $"{name} chunked forward");
            output.Backward(f.GradOutput("out"));
            Expect.Close(f.Grad("input"), input.Grad!, $"{name} chunked d input");
        }
        finally
        {
            VisionOps.ComposedRoiAlignTapBudget = saved;
        }
    }

    [TestMethod]
    [DataRow(VisionOpsBackend.Native)]
    [DataRow(VisionOpsBackend.Composed)]
    public void PerImageBoxListsMatchTorchvision(VisionOpsBackend backend)
    {
        Expect.BackendAvailable(backend);
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load("roi_align_box_lists");
        var boxes = new[] { f.Input("boxes0"), f.Input("boxes1"), f.Input("boxes2") };
        var output = VisionOps.RoiAlign(f.Input("input"), boxes, (3, 3), f.Double("spatial_scale"), f.Int("sampling_ratio"), f.Bool("aligned"), backend);
        Expect.Close(f.Output("out"), output, $"roi_align_box_lists ({backend})");
    }

    [TestMethod]
    [DataRow(VisionOpsBackend.Native)]
    [DataRow(VisionOpsBackend.Composed)]
    public void MultiScaleRoiAlignMatchesTorchvision(VisionOpsBackend backend)
    {
        Expect.BackendAvailable(backend);
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load("multiscale_roi_align");
        var shapes = f.Param("image_shapes").EnumerateArray().Select(s => (s[0].GetInt32(), s[1].GetInt32())).ToArray();
        var pooler = new MultiScaleRoiAlign((3, 3), f.Int("sampling_ratio"), canonicalScale: f.Int("canonical_scale"),
            canonicalLevel: f.Int("canonical_level"), backend: backend);
        var boxes = new[] { f.Input("boxes0"), f.Input("boxes1") };
        var output = pooler.Forward(new[] { f.Input("p2"), f.Input("p3") }, boxes, shapes);
        CollectionAssert.AreEqual(f.Doubles("scales"), pooler.Scales!.ToArray(), "inferred scales");
        Expect.Exact(f.Output("levels"), pooler.Mapper!.Map(boxes), "levels");
        Expect.Close(f.Output("out"), output, $"multiscale ({backend})");
    }

    [TestMethod]
    public void LevelMapperMatchesTorchvisionAtTheBoundaries()
    {
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load("level_mapper");
        var mapper = new LevelMapper(f.Int("k_min"), f.Int("k_max"));
        Expect.Exact(f.Output("levels"), mapper.Map(new[] { f.Input("boxes") }), "levels");
        var d2 = LevelMapper.Detectron2(f.Int("k_min"), f.Int("k_max"));
        Expect.Exact(f.Output("levels_d2"), d2.Map(new[] { f.Input("boxes") }), "detectron2 levels");
    }

    [TestMethod]
    public void TorchvisionsLibraryLoadsWhereSetupInstalledIt()
    {
        // The native-backend cases skip on machines without torchvision's library; where Debian's
        // python3-torchvision is installed (tools/setup.sh installs it, so on CI) it must load, so
        // those skips can never hide a broken load.
        bool installed = Directory.Exists(TorchvisionNative.DebianDirectory) &&
            Directory.EnumerateFiles(TorchvisionNative.DebianDirectory, "_C*.so").Any();
        if (Environment.GetEnvironmentVariable(TorchvisionNative.EnvironmentVariable) is { Length: > 0 } || !installed)
            Assert.Inconclusive("no Debian torchvision library on this machine (or an explicit override is set)");
        Assert.IsTrue(TorchvisionNative.IsAvailable, $"torchvision's library is installed but did not load: {TorchvisionNative.Unavailable}");
    }

    [TestMethod]
    public void TorchvisionsLibraryLoadsWithoutLibpython()
    {
        Expect.BackendAvailable(VisionOpsBackend.Native);
        var mapped = File.ReadLines("/proc/self/maps").Where(l => l.Contains("libpython")).ToArray();
        Assert.AreEqual(0, mapped.Length, $"libpython was mapped: {string.Join("; ", mapped)}");
        StringAssert.Contains(TorchvisionNative.LoadedPath, "torchvision");
    }

    [TestMethod]
    public void DefaultBackendRunsWithoutNamingOne()
    {
        // Auto must pick a working implementation and agree with the reference.
        using var scope = DisposeScope.Enter();
        var f = VisionFixture.Load("roi_align_legacy_sr2");
        var output = VisionOps.RoiAlign(f.Input("input"), f.Input("rois"), (5, 4), f.Double("spatial_scale"), f.Int("sampling_ratio"), f.Bool("aligned"));
        Expect.Close(f.Output("out"), output, "auto backend");
    }

    [TestMethod]
    public void EmptyRoisGiveAnEmptyBatch()
    {
        using var scope = DisposeScope.Enter();
        var input = Tensor.Ones(new long[] { 1, 3, 8, 8 });
        var output = VisionOps.RoiAlign(input, Tensor.Zeros(new long[] { 0, 5 }), (2, 2), backend: VisionOpsBackend.Composed);
        CollectionAssert.AreEqual(new long[] { 0, 3, 2, 2 }, output.Shape);
    }

    [TestMethod]
    public void MalformedRoisAreRejected()
    {
        using var scope = DisposeScope.Enter();
        var input = Tensor.Ones(new long[] { 1, 3, 8, 8 });
        var e = Assert.ThrowsException<ArgumentException>(() => VisionOps.RoiAlign(input, Tensor.Zeros(new long[] { 2, 4 }), 2));
        StringAssert.Contains(e.Message, "rois must be a [N, 5] tensor, got [2, 4]");
        var e2 = Assert.ThrowsException<ArgumentException>(() => VisionOps.RoiAlign(Tensor.Ones(new long[] { 3, 8, 8 }), Tensor.Zeros(new long[] { 2, 5 }), 2));
        StringAssert.Contains(e2.Message, "input must be [N, C, H, W]");
        var badBatch = Tensor.FromArray(new float[] { 1, 0, 0, 4, 4 }, 1, 5);
        var e3 = Assert.ThrowsException<ArgumentException>(() => VisionOps.RoiAlign(input, badBatch, 2));
        StringAssert.Contains(e3.Message, "batch indices in [1, 1] but the input has 1 image(s)");
    }
}
