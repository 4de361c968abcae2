using MLNetSeg.Models;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Models.TensorMask;
using MLNetSeg.Onnx.Export;
using MLNetSeg.Onnx.Runtime;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Ops;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Onnx.Tests.Export;

/// <summary>
/// TensorMask exported and run on ONNX Runtime against the libtorch model, same weights and images: every head kind
/// (the bipyramid's swap_align2nat, align2nat, up_align2nat bilinear and nearest, the natural heads) through the in-graph
/// window sampling, windows pasted with detectron2's paste in C#. Same tolerances as <see cref="OnnxParityTests"/>.
/// </summary>
[TestClass]
public sealed class TensorMaskOnnxTests
{
    private static readonly Image[] Pair = { OnnxTestModels.Scene(96, 128, 1), OnnxTestModels.Scene(150, 100, 2) };

    /// <summary>A small TensorMask whose head weights are drawn wide enough (N(0, 0.05)) that masks and scores are decisive.</summary>
    internal static TensorMaskModel Model(ulong seed, TensorMaskHeadKind head, double lambda = 2, WindowInterpolation interpolation = WindowInterpolation.Bilinear)
    {
        TorchRuntime.ManualSeed(seed);
        var options = new TensorMaskOptions
        {
            Backbone = ResNetDepth.ResNet18, Norm = BackboneNorm.BatchNorm, BackboneWidth = 16, FpnChannels = 32,
            ClassTowerChannels = 32, BoxTowerChannels = 32, MaskTowerChannels = 32, TowerConvs = 2, TrainableBackboneLayers = 5,
            Levels = 4, WindowSizes = new[] { 44, 60 }, MinSize = 96, MaxSize = 160, DetectionsPerImage = 40,
            Head = head, UpscaleFactor = lambda, Interpolation = interpolation,
        };
        var model = (TensorMaskModel)TensorMaskFamily.Instance.Create(options, OnnxTestModels.Labels(4));
        using (NoGradScope.Enter())
        {
            foreach (var conv in model.Head.Modules().OfType<Conv2d>()) Init.Normal_(conv.Weight, 0, 0.05);
            model.Head.ClsScore.Bias!.Fill_(0.0);
        }
        return model;
    }

    /// <summary>The libtorch model's instances on 8-bit images (pixels / 255, as the R-CNNs' Predict).</summary>
    private static IReadOnlyList<Instances> Predict(TensorMaskModel model, params Image[] images)
    {
        using var scope = DisposeScope.Enter();
        return model.Predict(images.Select(ModelInput.FromImage).ToArray()).Select(r => r.Instances!).ToArray();
    }

    private static string Export(TensorMaskModel model, string name)
    {
        var dir = Directory.CreateTempSubdirectory("mlnetseg-onnx-tensormask").FullName;
        var path = Path.Combine(dir, name + ".onnx");
        OnnxExporter.Export(model, OnnxTestModels.Labels(model.NumClasses), path);
        return path;
    }

    [TestMethod]
    [DataRow(TensorMaskHeadKind.Bipyramid, 2.0, WindowInterpolation.Bilinear)]
    [DataRow(TensorMaskHeadKind.SimpleAligned, 2.0, WindowInterpolation.Bilinear)]
    [DataRow(TensorMaskHeadKind.SimpleNatural, 2.0, WindowInterpolation.Bilinear)]
    [DataRow(TensorMaskHeadKind.UpscaleAligned, 1.5, WindowInterpolation.Bilinear)]
    [DataRow(TensorMaskHeadKind.UpscaleAligned, 3.0, WindowInterpolation.Nearest)]
    [DataRow(TensorMaskHeadKind.UpscaleNatural, 3.0, WindowInterpolation.Bilinear)]
    public void EveryHeadMatchesTheLibtorchModelOnABatchOfTwoSizes(TensorMaskHeadKind head, double lambda, WindowInterpolation interpolation)
    {
        using var model = Model(11, head, lambda, interpolation);
        var path = Export(model, $"tensormask_{head}_{lambda}_{interpolation}");
        using var predictor = new OnnxSegmentationPredictor(path);
        Assert.IsTrue(predictor.Info.WindowMasks, "a TensorMask graph pastes its masks into windows");
        var expected = Predict(model, Pair);
        Assert.IsTrue(expected.All(r => r.Count >= 1) && expected.Sum(r => r.Masks!.Count(m => m.Area > 0)) >= 6,
            $"the comparison needs detections in every image and several non-empty masks, got {string.Join(", ", expected.Select(r => r.Count))}");
        OnnxParityTests.AssertSame(expected, predictor.Predict(Pair), $"TensorMask {head} λ {lambda} {interpolation}");
        OnnxParityTests.AssertSame(Predict(model, Pair[1]), new[] { predictor.Predict(Pair[1]) }, $"TensorMask {head}, single image");
    }

    [TestMethod]
    public void TheBipyramidsWindowsComeFromSeveralLevelsAndSizesAndKeepTheirOwnSides()
    {
        // The parity above is only as strong as the variety of windows it saw: masks of several sides (levels × window sizes) must
        // come out, each zero beyond its side.
        using var model = Model(11, TensorMaskHeadKind.Bipyramid);
        var path = Export(model, "tensormask_sides");
        using var predictor = new OnnxSegmentationPredictor(path);
        var image = Pair[0];
        var row = new float[3 * image.Height * image.Width];
        OnnxSegmentationPredictor.WritePlanes(image, row);
        var raw = predictor.Run(row, new long[] { image.Height, image.Width });
        var sides = raw.MaskSides!;
        Assert.IsTrue(sides.Distinct().Count() >= 2, $"mask sides {string.Join(", ", sides.Distinct())}");
        Assert.IsTrue(sides.All(s => model.Head.MaskSides.Any(p => Enumerable.Range(0, model.Options.Levels).Any(l => (p << l) == s))),
            $"every side is a window's: {string.Join(", ", sides.Distinct())}");
        int m = raw.MaskSize;
        for (int d = 0; d < sides.Length; d++)
            for (int y = 0; y < m; y++)
                for (int x = 0; x < m; x++)
                    if (y >= sides[d] || x >= sides[d])
                        Assert.AreEqual(0f, raw.Masks![((long)d * m + y) * m + x], $"detection {d} pixel ({y}, {x}) beyond side {sides[d]}");
    }

    [TestMethod]
    public void AWindowMaskGraphWithoutItsPasteMetadataOrSidesIsRefusedByName()
    {
        // Interface 2's outputs and metadata come together: a reader must not paste window masks as torchvision would.
        using var model = Model(11, TensorMaskHeadKind.SimpleAligned);
        var path = Export(model, "tensormask_meta");
        var proto = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        Assert.AreEqual("2", proto.MetadataProps.Single(p => p.Key == OnnxContract.ContractVersionKey).Value);

        var noPaste = proto.Clone();
        noPaste.MetadataProps.Remove(noPaste.MetadataProps.Single(p => p.Key == OnnxContract.MaskPasteKey));
        var e = Assert.ThrowsException<OnnxModelException>(() => OnnxModelInfo.FromMetadata(
            noPaste.MetadataProps.ToDictionary(p => p.Key, p => p.Value), noPaste.Graph.Output.Select(o => o.Name), "no_paste.onnx"));
        StringAssert.Contains(e.Message, OnnxContract.MaskPasteKey);

        var outputs = proto.Graph.Output.Select(o => o.Name).Where(n => n != OnnxContract.MaskSides).ToArray();
        e = Assert.ThrowsException<OnnxModelException>(() => OnnxModelInfo.FromMetadata(
            proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value), outputs, "no_sides.onnx"));
        StringAssert.Contains(e.Message, OnnxContract.MaskSides);
    }
}
