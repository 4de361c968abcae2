using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.MaskLab;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Models.Tests.ModelFiles;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models.Tests.MaskLab;

/// <summary>
/// MaskLab as a registered family: built from options with each piece switchable, a model-file round trip that
/// changes nothing, inference through the contract with masks pasted at image size, a training step whose every
/// loss reaches the parameters it should, and a few steps on one image that lower MaskLab's losses.
/// </summary>
[TestClass]
public sealed class MaskLabModelTests
{
    private static MaskLabOptions Options(ulong seed = 3) => new()
    {
        Backbone = ResNetDepth.ResNet18,
        Norm = BackboneNorm.BatchNorm,
        Widths = DetectorWidths.Compact,
        Settings = TinyDetectors.Options with { FrozenBatchNormEps = 1e-5, TrainableBackboneLayers = 5 },
        CropSize = 21,
    };

    private static MaskLabModel Create(MaskLabOptions? options = null, ulong seed = 3)
    {
        TorchRuntime.ManualSeed(seed);
        return (MaskLabModel)MaskLabFamily.Instance.Create(options ?? Options(), TinyDetectors.MaskInfo);
    }

    [TestMethod]
    public void TheRegistryBuildsMaskLabWithEveryPieceItsOptionsSwitchOn()
    {
        Assert.AreSame(MaskLabFamily.Instance, ModelRegistry.Get("masklab"));
        Assert.AreSame(MaskLabFamily.Instance, ModelRegistry.For(new MaskLabOptions()));
        using var full = Create();
        Assert.AreSame(MaskLabFamily.Instance, full.Family);
        Assert.AreEqual(SegmentationTasks.Boxes | SegmentationTasks.Masks, ((ISegmentationModel)full).Tasks);
        var names = full.StateDict().Keys.ToHashSet();
        foreach (var expected in new[] { "masklab.semantic.weight", "masklab.direction.weight", "masklab.coarse.fuse.weight",
                                         "masklab.refinement.predictor.weight", "roi_heads.box_roi_pool.offsets.weight", "roi_heads.box_head.fc6.weight" })
            Assert.IsTrue(names.Contains(expected), $"missing {expected}");
        Assert.IsFalse(names.Any(n => n.StartsWith("roi_heads.mask_", StringComparison.Ordinal)), "MaskLab has no Mask R-CNN mask head");
        Assert.AreEqual(3, full.Branch.Semantic!.OutChannels, "one semantic logit per class with the background");
        Assert.AreEqual(32, full.Branch.Direction!.OutChannels, "8 directions × 4 distance bins");

        using var semanticOnly = Create(Options() with { Direction = false, Refinement = false, DeformableCrop = false });
        var fewer = semanticOnly.StateDict().Keys.ToArray();
        Assert.IsFalse(fewer.Any(n => n.StartsWith("masklab.direction", StringComparison.Ordinal) || n.StartsWith("masklab.refinement", StringComparison.Ordinal)
                                       || n.StartsWith("roi_heads.box_roi_pool", StringComparison.Ordinal)), string.Join(", ", fewer.Where(n => !n.StartsWith("backbone", StringComparison.Ordinal))));
        Assert.IsInstanceOfType(semanticOnly.RoiHeads.BoxRoiPool, typeof(MultiScaleRoiAlign));
        Assert.AreEqual(1, semanticOnly.Branch.Coarse.Fuse.InChannels, "the semantic crop alone");

        var e = Assert.ThrowsException<ArgumentException>(() => MaskLabFamily.Instance.Create(Options() with { Semantic = false, Direction = false }, TinyDetectors.MaskInfo));
        StringAssert.Contains(e.Message, "needs at least one of them");
        e = Assert.ThrowsException<ArgumentException>(() => MaskLabFamily.Instance.Create(new MaskRcnnOptions(), TinyDetectors.MaskInfo));
        StringAssert.Contains(e.Message, "MaskLab takes MaskLabOptions, not MaskRcnnOptions");
        e = Assert.ThrowsException<ArgumentException>(() => MaskLabFamily.Instance.Create(Options() with { LogitStride = 16 }, TinyDetectors.MaskInfo));
        StringAssert.Contains(e.Message, "LogitStride must be 4 (P2) or 8 (P3)");
    }

    [TestMethod]
    public void AModelFileRoundTripKeepsTheSwitchesWeightsAndPredictions()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"mlnetseg-masklab-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            var options = Options() with { Refinement = false, LogitStride = 4, CropSize = 15 };
            using var model = Create(options);
            using (NoGradScope.Enter())  // weights that give detections (a fresh box head scores every class about equally)
                model.RoiHeads.BoxPredictor.ClsScore.Bias!.Fill_(0.0);
            string path = Path.Combine(directory, "masklab.mlseg");
            var saved = ModelFile.Save(model, TinyDetectors.MaskInfo, path);
            Assert.AreEqual("masklab", saved.Family);

            var (loaded, info) = ModelFile.Load(path);
            using var _ = loaded;
            Assert.AreEqual("masklab", info.Family);
            var typed = (MaskLabModel)loaded;
            var settings = new RcnnOptions();  // the switches' record carries default R-CNN settings: compare the switches alone
            Assert.AreEqual(MaskLabConfig.Of(model) with { Settings = settings }, MaskLabConfig.Of(typed) with { Settings = settings });
            Assert.IsFalse(MaskLabConfig.Of(typed).Refinement);
            Assert.AreEqual(4, typed.Branch.LogitStride);
            ModelFileTests.AssertSameOptions(model.Options, typed.Options, "the loaded model's Options");
            foreach (var (name, tensor) in model.StateDict())
                Assert.IsTrue(tensor.Equal(typed.StateDict()[name]), $"{name} changed in the round trip");

            using var scope = DisposeScope.Enter();
            var image = GeneralizedRcnn.ToUnitTensor(TinyDetectors.Picture());
            var before = model.Detect(new[] { image })[0];
            var after = typed.Detect(new[] { image })[0];
            Assert.IsTrue(before.Count > 0, "the check needs detections");
            Assert.AreEqual(before.Count, after.Count);
            Assert.IsTrue(before.Boxes.Equal(after.Boxes) && before.Scores.Equal(after.Scores) && before.Masks!.Equal(after.Masks!));
            CollectionAssert.AreEqual(new long[] { before.Count, 1, 96, 128 }, before.Masks!.Shape.ToArray(), "masks pasted at image size");
            var probabilities = before.Masks.ToArray<float>();
            Assert.IsTrue(probabilities.All(p => p is >= 0 and <= 1) && probabilities.Any(p => p > 0), "probabilities inside the boxes");
        }
        finally { Directory.Delete(directory, recursive: true); }
    }

    [TestMethod]
    public void ATrainingStepReachesEveryBranchAndAFewStepsLowerMaskLabsLosses()
    {
        using var model = Create();
        ISegmentationModel contract = model;
        var (image, target) = OneImage();
        model.Train();
        var parameters = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        using var optimizer = new Torch.Optim.Sgd(parameters.Values.ToArray(), learningRate: 0.02, momentum: 0.9);
        double[] first = Array.Empty<double>(), last = Array.Empty<double>();
        for (int step = 0; step < 12; step++)
        {
            using var scope = DisposeScope.Enter();
            optimizer.ZeroGrad();
            var losses = contract.ComputeLosses(new[] { image }, new[] { target });
            if (step == 0)
                CollectionAssert.AreEquivalent(new[] { "loss_classifier", "loss_box_reg", "loss_mask", "loss_semantic", "loss_direction", "loss_objectness", "loss_rpn_box_reg" },
                    losses.Keys.ToArray());
            Tensor? total = null;
            foreach (var loss in losses.Values) total = total is null ? loss : total + loss;
            total!.Backward();
            if (step == 0)
                foreach (var name in new[] { "masklab.semantic.weight", "masklab.direction.weight", "masklab.coarse.fuse.weight",
                                             "masklab.refinement.0.0.weight", "roi_heads.box_roi_pool.offsets.weight", "backbone.fpn.layer_blocks.1.0.weight" })
                {
                    var grad = parameters[name].Grad ?? throw new AssertFailedException($"{name} got no gradient");
                    Assert.IsTrue(grad.Abs().Sum().ItemDouble() > 0, $"{name}'s gradient is zero");
                }
            var values = new[] { "loss_mask", "loss_semantic", "loss_direction" }.Select(k => losses[k].ItemDouble()).ToArray();
            Assert.IsTrue(values.All(double.IsFinite), $"step {step}: {string.Join(", ", values)}");
            if (step == 0) first = values; else last = values;
            optimizer.Step();
        }
        for (int i = 0; i < first.Length; i++)
            Assert.IsTrue(last[i] < first[i], $"loss {i} went from {first[i]} to {last[i]} in 12 steps on one image");
    }

    [TestMethod]
    public void TheAtrousLastStageKeepsC5AtStride16TrainsAndSurvivesAModelFile()
    {
        var options = Options() with { Backbone = ResNetDepth.ResNet50, DilateLastStage = true, DeformableCrop = false };
        using var model = Create(options);
        var layer4 = model.Backbone.Body.Model.Spec;
        Assert.IsTrue(layer4.DilateLastStage);
        var dilations = model.StateDict().Keys.Where(k => k.StartsWith("backbone.body.layer4.", StringComparison.Ordinal) && k.EndsWith("conv2.weight", StringComparison.Ordinal)).ToArray();
        Assert.AreEqual(3, dilations.Length, "ResNet-50's layer4 has 3 blocks");

        using (var scope = DisposeScope.Enter())
        using (NoGradScope.Enter())
        {
            var x = Tensor.Rand(new long[] { 1, 3, 96, 128 });
            var levels = model.Backbone.Forward(x);
            long Stride(string name) => 128 / levels.First(l => l.Name == name).Feature.Size(3);
            Assert.AreEqual(4, Stride("0"));
            Assert.AreEqual(16, Stride("2"));
            Assert.AreEqual(16, Stride("3"), "P5 stays at stride 16 with the dilated layer4");
            Assert.AreEqual(32, Stride("pool"));
        }

        var (image, target) = OneImage();
        model.Train();
        using (var scope = DisposeScope.Enter())
        {
            var losses = ((ISegmentationModel)model).ComputeLosses(new[] { image }, new[] { target });
            Assert.IsTrue(losses.Values.All(l => double.IsFinite(l.ItemDouble())), string.Join(", ", losses.Select(l => $"{l.Key} {l.Value.ItemDouble()}")));
        }
        model.Eval();

        var directory = Path.Combine(Path.GetTempPath(), $"mlnetseg-atrous-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            string path = Path.Combine(directory, "atrous.mlseg");
            ModelFile.Save(model, TinyDetectors.MaskInfo, path);
            var (loaded, _) = ModelFile.Load(path);
            using var __ = loaded;
            Assert.IsTrue(((MaskLabModel)loaded).Backbone.Body.Model.Spec.DilateLastStage, "the model file keeps the atrous last stage");
            Assert.IsTrue(ModelArchitecture.Of((MaskLabModel)loaded).DilateLastStage);
        }
        finally { Directory.Delete(directory, recursive: true); }

        var e = Assert.ThrowsException<ArgumentException>(() => Create(Options() with { DilateLastStage = true }));
        StringAssert.Contains(e.Message, "resnet18 is built of BasicBlocks, which do not dilate");
    }

    [TestMethod]
    public void WithTheLabelMapsClassesTheSemanticHeadAlsoLearnsStuff()
    {
        var options = Options() with { DeformableCrop = false, Refinement = false, SemanticClasses = new[] { "disc", "floor", "square", "sky" }, ThingSemanticLabels = new[] { 0, 2 } };
        using var model = Create(options);
        Assert.AreEqual(3 + 2, model.Branch.Semantic!.OutChannels, "background, the 2 things, then the 2 stuff classes");
        Assert.AreEqual(2, model.Branch.StuffClasses);

        // Label map: floor (1) → channel 3, sky (3) → channel 4, the things (0, 2) and 255 → ignore.
        using (var scope = DisposeScope.Enter())
        {
            var map = Tensor.FromArray(new byte[] { 1, 3, 0, 2, 255, 1 }, new long[] { 2, 3 });
            var target = new RcnnTarget(Tensor.Zeros(new long[] { 0, 4 }), Tensor.Zeros(new long[] { 0 }, DType.Int64), semantic: map);
            CollectionAssert.AreEqual(new long[] { 3, 4, 255, 255, 255, 3 }, model.Branch.StuffMap(target)!.ToArray<long>());
        }

        var (image, instances) = OneImage();
        var semantic = new byte[96 * 128];
        for (int p = 0; p < semantic.Length; p++) semantic[p] = (byte)(p / 128 < 30 ? 3 : 1);   // sky above, floor below; the things overwrite
        var target2 = new RcnnTarget(instances.Boxes, instances.Labels, instances.Masks, semantic: Tensor.FromArray(semantic, new long[] { 96, 128 }));
        model.Train();
        using (var scope = DisposeScope.Enter())
        {
            var losses = ((ISegmentationModel)model).ComputeLosses(new[] { image }, new[] { target2 });
            Assert.IsTrue(double.IsFinite(losses["loss_semantic"].ItemDouble()));
            var e = Assert.ThrowsException<ArgumentException>(() => ((ISegmentationModel)model).ComputeLosses(new[] { image }, new[] { instances }));
            StringAssert.Contains(e.Message, "target 0: semantic is missing");
        }
        model.Eval();

        var directory = Path.Combine(Path.GetTempPath(), $"mlnetseg-masklab-stuff-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            string path = Path.Combine(directory, "stuff.mlseg");
            ModelFile.Save(model, TinyDetectors.MaskInfo, path);
            var (loaded, _) = ModelFile.Load(path);
            using var __ = loaded;
            var branch = ((MaskLabModel)loaded).Branch;
            CollectionAssert.AreEqual(new[] { "disc", "floor", "square", "sky" }, branch.SemanticClasses!.ToArray());
            CollectionAssert.AreEqual(new[] { 0, 2 }, branch.ThingSemanticLabels!.ToArray());
        }
        finally { Directory.Delete(directory, recursive: true); }

        var wrong = Assert.ThrowsException<ArgumentException>(() => Create(options with { ThingSemanticLabels = null }));
        StringAssert.Contains(wrong.Message, "detector class 2 'square' maps to semantic class 1 'floor'");
    }

    [TestMethod]
    public void TheDeformablePoolStartsAsMaxPooledCropAndResizeAndLearnsOffsets()
    {
        TorchRuntime.ManualSeed(11);
        using var pool = new DeformableCropPool(channels: 3, outputSize: 4);
        using var scope = DisposeScope.Enter();
        var fine = Tensor.Randn(new long[] { 1, 3, 32, 40 }, DType.Float64);
        var coarse = Tensor.Randn(new long[] { 1, 3, 16, 20 }, DType.Float64);
        pool.To(DType.Float64);
        // A small box goes to the fine level, a large one to the coarse level (torchvision's level mapper, k0 = 4 at 224).
        var boxes = Tensor.FromArray(new[] { 2.0, 3, 20, 17, 0, 0, 300, 240 }, new long[] { 2, 4 });
        var pooled = pool.Forward(new[] { fine, coarse }, new[] { boxes }, new[] { (128, 160) });
        var small = Functional.MaxPool2d(VisionOps.CropAndResize(fine, Tensor.FromArray(new[] { 0.0, 2, 3, 20, 17 }, new long[] { 1, 5 }), (8, 8), 0.25), 2);
        var large = Functional.MaxPool2d(VisionOps.CropAndResize(coarse, Tensor.FromArray(new[] { 0.0, 0, 0, 300, 240 }, new long[] { 1, 5 }), (8, 8), 0.125), 2);
        Assert.IsTrue(pooled.Narrow(0, 0, 1).AllClose(small, 0, 1e-12), "zero offsets: the small box is the fine level's max-pooled crop");
        Assert.IsTrue(pooled.Narrow(0, 1, 1).AllClose(large, 0, 1e-12), "zero offsets: the large box is the coarse level's");

        // d(sum of outputs)/d(offset bias) against float64 central differences, away from the zero start.
        using (NoGradScope.Enter()) pool.Offsets.Bias!.CopyFrom(Tensor.FromArray(new[] { 0.3, -0.2, 0.1, 0.25, -0.35, 0.15, 0.2, -0.1 }, new long[] { 8 }));
        var weights = Tensor.Randn(pooled.Shape.ToArray(), DType.Float64);
        Func<double> objective = () => { using var s = DisposeScope.Enter(); return pool.Forward(new[] { fine, coarse }, new[] { boxes }, new[] { (128, 160) }).Mul(weights).Sum().ItemDouble(); };
        pool.ZeroGrad();
        pool.Forward(new[] { fine, coarse }, new[] { boxes }, new[] { (128, 160) }).Mul(weights).Sum().Backward();
        var analytic = pool.Offsets.Bias.Grad!.ToArray<double>();
        Assert.IsTrue(analytic.Any(g => Math.Abs(g) > 1e-3), "the offsets must matter");
        for (int i = 0; i < analytic.Length; i++)
        {
            const double h = 1e-6;
            double original = pool.Offsets.Bias.ToArray<double>()[i];
            using (NoGradScope.Enter()) pool.Offsets.Bias.Fill_(original + h, (TensorIndex)i);
            double plus = objective();
            using (NoGradScope.Enter()) pool.Offsets.Bias.Fill_(original - h, (TensorIndex)i);
            double minus = objective();
            using (NoGradScope.Enter()) pool.Offsets.Bias.Fill_(original, (TensorIndex)i);
            double numeric = (plus - minus) / (2 * h);
            Assert.AreEqual(numeric, analytic[i], 1e-6 + 1e-5 * Math.Abs(numeric), $"offset bias {i}");
        }
    }

    /// <summary>The tiny detectors' picture with its disc (class 1) and square (class 2) as a training target.</summary>
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
