using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Models.Tests.ModelFiles;
using MLNetSeg.Models.TensorMask;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models.Tests.TensorMask;

/// <summary>
/// TensorMask as a registered family: the label assignment on hand-built boxes (containment, scale with its floor,
/// centre offset, ambiguous windows negative), FL* against its formula, the head's mask tensors per head kind (the
/// bipyramid's 2^k-times larger masks), a model-file round trip that changes nothing, inference with masks pasted at
/// image size, and a few training steps on one image that reach every part and lower every loss.
/// </summary>
[TestClass]
public sealed class TensorMaskModelTests
{
    private static TensorMaskOptions Options() => new()
    {
        Backbone = ResNetDepth.ResNet18,
        Norm = BackboneNorm.BatchNorm,
        BackboneWidth = 16,
        FpnChannels = 32,
        ClassTowerChannels = 32,
        BoxTowerChannels = 32,
        MaskTowerChannels = 32,
        TowerConvs = 2,
        TrainableBackboneLayers = 5,
        Levels = 4,
        WindowSizes = new[] { 16, 32 },
        MinSize = 96,
        MaxSize = 160,
        DetectionsPerImage = 20,
    };

    private static TensorMaskModel Create(TensorMaskOptions? options = null, ulong seed = 3)
    {
        TorchRuntime.ManualSeed(seed);
        return (TensorMaskModel)TensorMaskFamily.Instance.Create(options ?? Options(), TinyDetectors.MaskInfo);
    }

    [TestMethod]
    public void TheAssignmentFollowsThePapersRules()
    {
        using var scope = DisposeScope.Enter();
        // Level 0: a 4×4 grid at stride 4 with 16-pixel windows (centres 0, 4, 8, 12); level 1: 2×2 at stride 8, 32-pixel windows.
        using var windows = SlidingWindows.Create(new[] { (4, 4), (2, 2) }, new[] { 16 }, Device.Cpu);
        Assert.AreEqual(16 + 4, windows.Count);
        Assert.AreEqual((1, 1, 0, 0), windows.Locate(16 + 2));
        CollectionAssert.AreEqual(new float[] { -4, 0, 12, 16 }, windows.Boxes.Select(0, 9).ToArray<float>(), "window (y 2, x 1): centre (4, 8), side 16");
        const double minWindow = 12;   // 16 less its unit 4

        // A (centre 6, 6) is contained by the windows centred at 4 and 8 in each axis, each ½ unit away on both axes: 4 positives.
        // B (centre 10, 10): windows centred at 8 and 12. The window centred at (8, 8), index 10, holds both: negative.
        var boxes = Tensor.FromArray(new float[] { 2, 2, 10, 10, 6, 6, 14, 14 }, new long[] { 2, 4 });
        var (matches, positive) = windows.Assign(boxes, minWindow);
        var pos = positive.ToArray<bool>();
        var match = matches.ToArray<long>();
        CollectionAssert.AreEqual(new[] { 5, 6, 9, 11, 14, 15 }, Enumerable.Range(0, pos.Length).Where(i => pos[i]).ToArray());
        CollectionAssert.AreEqual(new long[] { 0, 0, 0, 1, 1, 1 }, new[] { 5, 6, 9, 11, 14, 15 }.Select(i => match[i]).ToArray());

        // A 2-pixel box: the size bound falls back to the smallest window (12 ≥ 16 − 4 holds on level 0); the level-1 windows contain it
        // and are close to its centre (¼ unit) but 32 − 8 = 24 > 12: negative.
        var (_, small) = windows.Assign(Tensor.FromArray(new float[] { 5, 5, 7, 7 }, new long[] { 1, 4 }), minWindow);
        var s = small.ToArray<bool>();
        CollectionAssert.AreEqual(new[] { 5, 6, 9, 10 }, Enumerable.Range(0, s.Length).Where(i => s[i]).ToArray());

        // A box larger than every window is contained by none.
        var (_, none) = windows.Assign(Tensor.FromArray(new float[] { 0, 0, 40, 40 }, new long[] { 1, 4 }), minWindow);
        var noneList = none.ToArray<bool>();
        Assert.AreEqual(0, noneList.Count(b => b), "a box larger than every window: " + string.Join(",", Enumerable.Range(0, noneList.Length).Where(i => noneList[i])));
        var (_, empty) = windows.Assign(Tensor.Zeros(new long[] { 0, 4 }), minWindow);
        var emptyList = empty.ToArray<bool>();
        Assert.AreEqual(0, emptyList.Count(b => b), $"no boxes, yet positives ({empty.DType})");
    }

    [TestMethod]
    public void FocalLossStarIsItsFormula()
    {
        using var scope = DisposeScope.Enter();
        double[] x = { -3, -0.5, 0, 0.7, 2.5, 4 }, t = { 0, 1, 0, 1, 0, 1 };
        const double alpha = 0.3, gamma = 3;
        var loss = Functional.SigmoidFocalLossStar(Tensor.FromArray(x, new long[] { 6 }), Tensor.FromArray(t, new long[] { 6 }), alpha, gamma).ToArray<double>();
        for (int i = 0; i < x.Length; i++)
        {
            double z = gamma * x[i] * (2 * t[i] - 1);
            double expected = -Math.Log(1 / (1 + Math.Exp(-z))) / gamma * (t[i] == 1 ? alpha : 1 - alpha);
            Assert.AreEqual(expected, loss[i], 1e-12, $"x {x[i]} t {t[i]}");
        }
    }

    [DataTestMethod]
    [DataRow(TensorMaskHeadKind.Bipyramid)]
    [DataRow(TensorMaskHeadKind.SimpleNatural)]
    [DataRow(TensorMaskHeadKind.SimpleAligned)]
    [DataRow(TensorMaskHeadKind.UpscaleNatural)]
    [DataRow(TensorMaskHeadKind.UpscaleAligned)]
    public void EveryHeadGivesNaturalMasksOfItsSizeOnEveryLevel(TensorMaskHeadKind kind)
    {
        using var model = Create(Options() with { Head = kind, UpscaleFactor = 2 });
        Assert.AreSame(TensorMaskFamily.Instance, ModelRegistry.Get("tensormask"));
        using var scope = DisposeScope.Enter();
        using var noGrad = NoGradScope.Enter();
        var levels = model.Backbone.Forward(Tensor.Rand(new long[] { 2, 3, 64, 96 })).Take(4).Select(l => l.Feature).ToArray();
        var outputs = model.Head.Forward(levels);
        var names = model.StateDict().Keys.ToArray();
        Assert.AreEqual(kind == TensorMaskHeadKind.Bipyramid, names.Contains("head.mask_fuse.0.weight"));
        Assert.IsTrue(names.Contains("head.mask_pred_04.weight") && names.Contains("head.mask_pred_08.weight"), string.Join(", ", names.Where(n => n.StartsWith("head."))));
        for (int k = 0; k < 4; k++)
        {
            long h = 16 >> k, w = 24 >> k;
            CollectionAssert.AreEqual(new long[] { 2, 2 * 2, h, w }, outputs.Logits[k].Shape.ToArray(), "A·K logits (2 windows, 2 classes)");
            CollectionAssert.AreEqual(new long[] { 2, 2 * 4, h, w }, outputs.Deltas[k].Shape.ToArray());
            for (int a = 0; a < 2; a++)
            {
                int side = (a == 0 ? 4 : 8) << (kind == TensorMaskHeadKind.Bipyramid ? k : 0);
                Assert.AreEqual(side, model.Head.MaskSide(k, a));
                CollectionAssert.AreEqual(new long[] { 2, (long)side * side, h, w }, outputs.Masks[k][a].Shape.ToArray(), $"level {k}, window {a}");
            }
        }
        int predicted = kind is TensorMaskHeadKind.UpscaleNatural or TensorMaskHeadKind.UpscaleAligned ? 2 : 4;
        Assert.AreEqual(predicted * predicted, model.Head.StateDict()["mask_pred_04.weight"].Size(0), "the upscale heads predict (V/λ)² channels");
    }

    [TestMethod]
    public void AModelFileRoundTripKeepsTheOptionsWeightsAndPredictions()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"mlnetseg-tensormask-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            var options = Options() with { ScoreThreshold = 0.001, MaskThreshold = 0.4 };
            using var model = Create(options);
            using (NoGradScope.Enter()) model.Head.ClsScore.Bias!.Fill_(0.0);   // scores near 0.5: detections to compare
            string path = Path.Combine(directory, "tensormask.mlseg");
            var saved = ModelFile.Save(model, TinyDetectors.MaskInfo, path);
            Assert.AreEqual("tensormask", saved.Family);
            var (loaded, info) = ModelFile.Load(path);
            using var _ = loaded;
            var typed = (TensorMaskModel)loaded;
            Assert.AreEqual(options.WindowSizes.Count, typed.Options.WindowSizes.Count);
            Assert.AreEqual(options with { WindowSizes = typed.Options.WindowSizes }, typed.Options);
            foreach (var (name, tensor) in model.StateDict())
                Assert.IsTrue(tensor.Equal(typed.StateDict()[name]), $"{name} changed in the round trip");

            using var scope = DisposeScope.Enter();
            var image = GeneralizedRcnn.ToUnitTensor(TinyDetectors.Picture());
            var before = model.Detect(new[] { image })[0];
            var after = typed.Detect(new[] { image })[0];
            Assert.AreEqual(20, before.Count, "as many detections as allowed");
            Assert.IsTrue(before.Boxes.Equal(after.Boxes) && before.Scores.Equal(after.Scores) && before.Masks!.Equal(after.Masks!));
            CollectionAssert.AreEqual(new long[] { 20, 1, 96, 128 }, before.Masks!.Shape.ToArray(), "masks pasted at image size");
            var boxes = before.Boxes.ToArray<float>();
            Assert.IsTrue(boxes.All(v => v >= 0) && Enumerable.Range(0, 20).All(i => boxes[i * 4 + 2] <= 128 && boxes[i * 4 + 3] <= 96), "boxes inside the image");
            var labels = before.Labels.ToArray<long>();
            Assert.IsTrue(labels.All(l => l is 1 or 2), "labels 1..K");
            var results = ((ISegmentationModel)typed).Predict(new[] { image });
            Assert.AreEqual(20, results[0].Instances!.Count);
            Assert.IsNotNull(results[0].Instances!.Masks);
        }
        finally { Directory.Delete(directory, recursive: true); }
    }

    [TestMethod]
    public void AFewTrainingStepsReachEveryPartAndLowerEveryLoss()
    {
        using var model = Create();
        ISegmentationModel contract = model;
        var (image, target) = OneImage();
        model.Train();
        var parameters = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        using var optimizer = new Torch.Optim.Sgd(parameters.Values.ToArray(), learningRate: 0.01, momentum: 0.9);
        double[] first = Array.Empty<double>(), last = Array.Empty<double>();
        for (int step = 0; step < 10; step++)
        {
            using var scope = DisposeScope.Enter();
            optimizer.ZeroGrad();
            var losses = contract.ComputeLosses(new[] { image }, new[] { target });
            if (step == 0) CollectionAssert.AreEquivalent(new[] { "loss_cls", "loss_box_reg", "loss_mask" }, losses.Keys.ToArray());
            Tensor? total = null;
            foreach (var loss in losses.Values) total = total is null ? loss : total + loss;
            total!.Backward();
            if (step == 0)
                foreach (var name in new[] { "head.cls_score.weight", "head.bbox_pred.weight", "head.mask_pred_04.weight", "head.mask_pred_08.weight",
                                             "head.mask_fuse.0.weight", "head.mask_subnet.0.weight", "backbone.fpn.layer_blocks.0.0.weight" })
                {
                    var grad = parameters[name].Grad ?? throw new AssertFailedException($"{name} got no gradient");
                    Assert.IsTrue(grad.Abs().Sum().ItemDouble() > 0, $"{name}'s gradient is zero");
                }
            var values = new[] { "loss_cls", "loss_box_reg", "loss_mask" }.Select(k => losses[k].ItemDouble()).ToArray();
            Assert.IsTrue(values.All(v => double.IsFinite(v) && v > 0), $"step {step}: {string.Join(", ", values)}");
            if (step == 0) first = values; else last = values;
            optimizer.Step();
        }
        for (int i = 0; i < first.Length; i++)
            Assert.IsTrue(last[i] < first[i], $"loss {i} went from {first[i]} to {last[i]} in 10 steps on one image");

        // An image without objects trains the classifier alone; the other losses are 0 and keep the graph whole.
        using (var scope = DisposeScope.Enter())
        {
            var empty = new RcnnTarget(Tensor.Zeros(new long[] { 0, 4 }), Tensor.Zeros(new long[] { 0 }, DType.Int64), Tensor.Zeros(new long[] { 0, 96, 128 }, DType.UInt8));
            var losses = contract.ComputeLosses(new[] { image }, new[] { empty });
            Assert.IsTrue(losses["loss_cls"].ItemDouble() > 0);
            Assert.AreEqual(0.0, losses["loss_mask"].ItemDouble());
            Assert.AreEqual(0.0, losses["loss_box_reg"].ItemDouble());
        }
        var noMasks = new Data.Loading.DetectionTarget(Boxes.FromXyxy(new float[] { 0, 0, 2, 2 }), new[] { 1 }, new[] { false }, new long[] { 1 }, new[] { 4f });
        var missing = Assert.ThrowsException<ArgumentException>(() => contract.CreateTarget(noMasks, new Data.Loading.ImageSize(3, 4), Device.Cpu, "img.png"));
        StringAssert.Contains(missing.Message, "img.png: TensorMask needs instance masks");
        var e = Assert.ThrowsException<ArgumentException>(() => contract.ComputeLosses(new[] { image },
            new[] { new RcnnTarget(Tensor.Zeros(new long[] { 0, 4 }), Tensor.Zeros(new long[] { 0 }, DType.Int64)) }));
        StringAssert.Contains(e.Message, "without masks");
        model.Eval();
    }

    [TestMethod]
    public void BadOptionsAreNamed()
    {
        var e = Assert.ThrowsException<ArgumentException>(() => TensorMaskFamily.Instance.Create(Options() with { WindowSizes = new[] { 18 } }, TinyDetectors.MaskInfo));
        StringAssert.Contains(e.Message, "WindowSizes must list distinct multiples of 4");
        e = Assert.ThrowsException<ArgumentException>(() => TensorMaskFamily.Instance.Create(Options() with { Levels = 7 }, TinyDetectors.MaskInfo));
        StringAssert.Contains(e.Message, "Levels must be in 1..6");
        e = Assert.ThrowsException<ArgumentException>(() => TensorMaskFamily.Instance.Create(Options() with { Interpolation = WindowInterpolation.Nearest }, TinyDetectors.MaskInfo));
        StringAssert.Contains(e.Message, "Interpolation applies to the upscale heads only");
        e = Assert.ThrowsException<ArgumentException>(() => TensorMaskFamily.Instance.Create(new MaskRcnnOptions(), TinyDetectors.MaskInfo));
        StringAssert.Contains(e.Message, "TensorMask takes TensorMaskOptions, not MaskRcnnOptions");
    }

    private static (Tensor Image, RcnnTarget Target) OneImage()
    {
        var image = GeneralizedRcnn.ToUnitTensor(TinyDetectors.Picture());
        const int h = 96, w = 128;
        var masks = new byte[2 * h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                if ((x - 40) * (x - 40) + (y - 45) * (y - 45) < 20 * 20) masks[y * w + x] = 1;
                if (x is >= 80 and < 115 && y is >= 20 and < 60) masks[h * w + y * w + x] = 1;
            }
        var target = new RcnnTarget(
            Tensor.FromArray(new float[] { 20, 25, 60, 65, 80, 20, 115, 60 }, new long[] { 2, 4 }),
            Tensor.FromArray(new long[] { 1, 2 }, new long[] { 2 }),
            Tensor.FromArray(masks, new long[] { 2, h, w }));
        return (image, target);
    }
}
