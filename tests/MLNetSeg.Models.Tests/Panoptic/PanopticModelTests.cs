using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Panoptic;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Models.Tests.ModelFiles;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models.Tests.Panoptic;

/// <summary>
/// The Panoptic FPN / IMP family: the paper's seven model variants from one set of switches, a model-file round trip that changes
/// nothing, inference through the contract (instances, a semantic map and a panoptic segmentation at the image's size), training
/// steps whose semantic loss reaches the semantic head, the IMP head and — through the projected masks — the mask head, and a few
/// steps that lower the semantic loss.
/// </summary>
[TestClass]
public sealed class PanopticModelTests
{
    /// <summary>The tiny picture's classes: its two things (as the detector's classes) and a "floor" stuff class.</summary>
    private static readonly string[] SemanticClasses = { "disc", "square", "floor" };

    private static PanopticOptions Options(SemanticHeadKind head = SemanticHeadKind.Fpn, bool imp = true, bool instances = true) => new()
    {
        Backbone = ResNetDepth.ResNet18,
        Norm = BackboneNorm.BatchNorm,
        Widths = DetectorWidths.Compact,
        Settings = TinyDetectors.Options with { FrozenBatchNormEps = 1e-5, TrainableBackboneLayers = 5 },
        SemanticHead = head,
        Imp = imp,
        Instances = instances,
        SemanticClasses = SemanticClasses,
        SemanticConvDims = 32,
        PanopticStuffArea = 64,
    };

    private static PanopticModel Create(PanopticOptions options, ulong seed = 5)
    {
        TorchRuntime.ManualSeed(seed);
        return (PanopticModel)PanopticFamily.Instance.Create(options, TinyDetectors.MaskInfo);
    }

    [TestMethod]
    public void TheSwitchesMakeThePapersSevenModels()
    {
        Assert.AreSame(PanopticFamily.Instance, ModelRegistry.Get("panoptic"));
        Assert.AreSame(PanopticFamily.Instance, ModelRegistry.For(Options()));
        var variants = new (string Name, PanopticOptions Options, string[] Has, string[] HasNot, SegmentationTasks Tasks)[]
        {
            ("Mask R-CNN-IMP", Options(SemanticHeadKind.None), new[] { "roi_heads.mask_predictor" }, new[] { "sem_seg_head", "imp_head" },
                SegmentationTasks.Boxes | SegmentationTasks.Masks | SegmentationTasks.Semantic | SegmentationTasks.Panoptic),
            ("Semantic-P2", Options(SemanticHeadKind.P2, imp: false, instances: false), new[] { "sem_seg_head.scale_heads.0.0.bias", "sem_seg_head.predictor" },
                new[] { "imp_head", "sem_seg_head.scale_heads.1", "norm" }, SegmentationTasks.Semantic),
            ("Panoptic-P2", Options(SemanticHeadKind.P2, imp: false), new[] { "sem_seg_head.predictor" }, new[] { "imp_head", "norm" },
                SegmentationTasks.Boxes | SegmentationTasks.Masks | SegmentationTasks.Semantic | SegmentationTasks.Panoptic),
            ("Panoptic-P2-IMP", Options(SemanticHeadKind.P2), new[] { "imp_head.convs.3.bias", "imp_head.predictor" }, new[] { "sem_seg_head.predictor", "norm" },
                SegmentationTasks.Boxes | SegmentationTasks.Masks | SegmentationTasks.Semantic | SegmentationTasks.Panoptic),
            ("Semantic-FPN", Options(imp: false, instances: false), new[] { "sem_seg_head.scale_heads.3.4.norm", "sem_seg_head.predictor" }, new[] { "imp_head" },
                SegmentationTasks.Semantic),
            ("Panoptic-FPN", Options(imp: false), new[] { "sem_seg_head.scale_heads.3.4.norm", "sem_seg_head.predictor" }, new[] { "imp_head" },
                SegmentationTasks.Boxes | SegmentationTasks.Masks | SegmentationTasks.Semantic | SegmentationTasks.Panoptic),
            ("Panoptic-FPN-IMP", Options(), new[] { "sem_seg_head.scale_heads.0.0.norm", "imp_head.convs.3.norm", "imp_head.predictor" },
                new[] { "sem_seg_head.predictor" }, SegmentationTasks.Boxes | SegmentationTasks.Masks | SegmentationTasks.Semantic | SegmentationTasks.Panoptic),
        };
        foreach (var (name, options, has, hasNot, tasks) in variants)
        {
            using var model = Create(options);
            var keys = model.StateDict().Keys.ToArray();
            foreach (var prefix in has)
                Assert.IsTrue(keys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal)), $"{name}: no {prefix}");
            foreach (var part in hasNot)
                Assert.IsFalse(keys.Any(k => !k.StartsWith("backbone", StringComparison.Ordinal) && !k.StartsWith("roi_heads", StringComparison.Ordinal) &&
                                             k.Contains(part, StringComparison.Ordinal)), $"{name}: has {part}");
            Assert.AreEqual(tasks, ((ISegmentationModel)model).Tasks, name);
            Assert.AreEqual(tasks, PanopticFamily.Instance.TasksFor(options), name);
        }
        using (var fused = Create(Options()))
        {
            CollectionAssert.AreEqual(new long[] { 32, 32 + 2, 3, 3 }, fused.StateDict()["imp_head.convs.0.weight"].Shape.ToArray(),
                "the first fusion conv takes the features and one canvas channel per thing");
            Assert.AreEqual(3, fused.ImpHead!.Predictor.OutChannels);
            CollectionAssert.AreEqual(new[] { 0, 1 }, fused.ThingSemanticLabels.ToArray());
        }

        var e = Assert.ThrowsException<ArgumentException>(() => Create(Options() with { SemanticClasses = null }));
        StringAssert.Contains(e.Message, "SemanticClasses must name the semantic classes");
        e = Assert.ThrowsException<ArgumentException>(() => Create(Options() with { SemanticClasses = new[] { "floor", "disc", "square" } }));
        StringAssert.Contains(e.Message, "detector class 1 'disc' maps to semantic class 0 'floor'");
        using (var mapped = Create(Options() with { SemanticClasses = new[] { "floor", "disc", "square" }, ThingSemanticLabels = new[] { 1, 2 } }))
            CollectionAssert.AreEqual(new[] { 1, 2 }, mapped.ThingSemanticLabels.ToArray());
        e = Assert.ThrowsException<ArgumentException>(() => Create(Options(instances: false)));
        StringAssert.Contains(e.Message, "Imp projects instance masks and needs Instances on");
        e = Assert.ThrowsException<ArgumentException>(() => Create(Options(SemanticHeadKind.None, imp: false)));
        StringAssert.Contains(e.Message, "that is Mask R-CNN");
    }

    [TestMethod]
    public void AModelFileRoundTripKeepsTheSwitchesWeightsAndEveryOutput()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"mlnetseg-panoptic-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            using var model = Create(Options() with { ImpConvs = 2, PanopticOverlap = 0.25 });
            using (NoGradScope.Enter())  // weights that give detections (a fresh box head scores every class about equally)
                model.RoiHeads.BoxPredictor.ClsScore.Bias!.Fill_(0.0);
            string path = Path.Combine(directory, "panoptic.mlseg");
            var saved = ModelFile.Save(model, TinyDetectors.MaskInfo, path);
            Assert.AreEqual("panoptic", saved.Family);

            var (loaded, info) = ModelFile.Load(path);
            using var _ = loaded;
            var typed = (PanopticModel)loaded;
            Assert.AreEqual(2, typed.ImpHead!.Convs);
            Assert.AreEqual(0.25, typed.Switches.PanopticOverlap);
            CollectionAssert.AreEqual(SemanticClasses, typed.Switches.SemanticClasses!.ToArray());
            foreach (var (name, tensor) in model.StateDict())
                Assert.IsTrue(tensor.Equal(typed.StateDict()[name]), $"{name} changed in the round trip");

            using var scope = DisposeScope.Enter();
            var image = GeneralizedRcnn.ToUnitTensor(TinyDetectors.Picture());
            var before = ((ISegmentationModel)model).Predict(new[] { image })[0];
            var after = ((ISegmentationModel)typed).Predict(new[] { image })[0];
            Assert.IsTrue(before.Instances!.Count > 0, "the check needs detections");
            Assert.AreEqual(96, before.Semantic!.Height);
            Assert.AreEqual(128, before.Semantic.Width);
            Assert.IsTrue(before.Semantic.Labels.ToArray().All(l => l is >= 0 and < 3), "every pixel gets one of the 3 semantic classes");
            CollectionAssert.AreEqual(before.Semantic.Labels.ToArray(), after.Semantic!.Labels.ToArray());
            CollectionAssert.AreEqual(before.Instances.Scores!.ToArray(), after.Instances!.Scores!.ToArray());
            CollectionAssert.AreEqual(before.Panoptic!.Ids.ToArray(), after.Panoptic!.Ids.ToArray());
            Assert.IsTrue(before.Panoptic.Segments.Count > 0, "some segment survives the merge");
        }
        finally { Directory.Delete(directory, recursive: true); }
    }

    [TestMethod]
    public void MaskRcnnImpLabelsOnlyThePixelsItsCanvasClaims()
    {
        using var model = Create(Options(SemanticHeadKind.None) with { ImpCanvasThreshold = 0.3 });
        using (NoGradScope.Enter()) model.RoiHeads.BoxPredictor.ClsScore.Bias!.Fill_(0.0);
        using var scope = DisposeScope.Enter();
        var result = ((ISegmentationModel)model).Predict(new[] { GeneralizedRcnn.ToUnitTensor(TinyDetectors.Picture()) })[0];
        var labels = result.Semantic!.Labels.ToArray();
        Assert.IsTrue(labels.All(l => l is 0 or 1 or SemanticLabelMap.IgnoreLabel), "things only: the canvas has no stuff channel");
        Assert.IsTrue(labels.Any(l => l == SemanticLabelMap.IgnoreLabel), "pixels no detection covers stay unlabelled");
        // A pixel is claimed only near a detection's box (the canvas is 0 outside the boxes; the 4× bilinear upsampling spreads it a little).
        var boxes = result.Instances!.Boxes.ToXyxy();
        for (int p = 0; p < labels.Length; p++)
        {
            if (labels[p] == SemanticLabelMap.IgnoreLabel) continue;
            int y = p / 128, x = p % 128;
            bool covered = Enumerable.Range(0, result.Instances.Count).Any(i => x >= boxes[4 * i] - 8 && x <= boxes[4 * i + 2] + 8 && y >= boxes[4 * i + 1] - 8 && y <= boxes[4 * i + 3] + 8);
            Assert.IsTrue(covered, $"pixel ({x}, {y}) is labelled {labels[p]} outside every detection");
        }
    }

    [TestMethod]
    public void TheSemanticLossReachesTheMaskHeadThroughImpAndAFewStepsLowerIt()
    {
        using var model = Create(Options());
        ISegmentationModel contract = model;
        var (image, target) = OneImage();
        model.Train();
        var parameters = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        using (var scope = DisposeScope.Enter())
        {
            var losses = contract.ComputeLosses(new[] { image }, new[] { target });
            CollectionAssert.AreEquivalent(new[] { "loss_classifier", "loss_box_reg", "loss_mask", PanopticModel.SemanticLossKey, "loss_objectness", "loss_rpn_box_reg" },
                losses.Keys.ToArray());
            model.ZeroGrad();
            losses[PanopticModel.SemanticLossKey].Backward();
            foreach (var name in new[] { "sem_seg_head.scale_heads.2.0.weight", "imp_head.convs.0.weight", "imp_head.predictor.weight",
                                         "roi_heads.mask_predictor.mask_fcn_logits.weight", "roi_heads.box_predictor.cls_score.weight" })
            {
                var grad = parameters[name].Grad ?? throw new AssertFailedException($"{name} got no gradient from the semantic loss");
                Assert.IsTrue(grad.Abs().Sum().ItemDouble() > 0, $"{name}'s gradient from the semantic loss is zero");
            }
            var boxGrad = parameters["roi_heads.box_predictor.bbox_pred.weight"].Grad;
            Assert.IsTrue(boxGrad is null || boxGrad.Abs().Sum().ItemDouble() == 0, "the boxes are detached: the semantic loss does not move the box regression");
        }

        using var optimizer = new Torch.Optim.Sgd(parameters.Values.ToArray(), learningRate: 0.02, momentum: 0.9);
        double first = 0, last = 0;
        for (int step = 0; step < 10; step++)
        {
            using var scope = DisposeScope.Enter();
            optimizer.ZeroGrad();
            var losses = contract.ComputeLosses(new[] { image }, new[] { target });
            Tensor? total = null;
            foreach (var loss in losses.Values) total = total is null ? loss : total + loss;
            total!.Backward();
            double semantic = losses[PanopticModel.SemanticLossKey].ItemDouble();
            Assert.IsTrue(double.IsFinite(semantic), $"step {step}: {semantic}");
            if (step == 0) first = semantic; else last = semantic;
            optimizer.Step();
        }
        Assert.IsTrue(last < 0.7 * first, $"the semantic loss went from {first} to {last} in 10 steps on one image");
    }

    [TestMethod]
    public void ASemanticOnlyModelTrainsItsHeadAloneAndNeedsSemanticMaps()
    {
        using var model = Create(Options(SemanticHeadKind.P2, imp: false, instances: false));
        ISegmentationModel contract = model;
        var (image, target) = OneImage();
        model.Train();
        using (var scope = DisposeScope.Enter())
        {
            var losses = contract.ComputeLosses(new[] { image }, new[] { target });
            CollectionAssert.AreEqual(new[] { PanopticModel.SemanticLossKey }, losses.Keys.ToArray());
            losses[PanopticModel.SemanticLossKey].Backward();
            Assert.IsNull(model.RoiHeads.BoxPredictor.ClsScore.Weight.Grad, "the detector is not run");
            Assert.IsTrue(model.SemanticHead!.Predictor!.Weight.Grad!.Abs().Sum().ItemDouble() > 0);

            var noMap = new RcnnTarget(target.Boxes, target.Labels, target.Masks);
            var e = Assert.ThrowsException<ArgumentException>(() => contract.ComputeLosses(new[] { image }, new[] { noMap }));
            StringAssert.Contains(e.Message, "target 0: semantic is missing");
        }
        model.Eval();
        using (var scope = DisposeScope.Enter())
        {
            var result = contract.Predict(new[] { image })[0];
            Assert.IsNull(result.Instances);
            Assert.IsNull(result.Panoptic);
            Assert.AreEqual(96 * 128, result.Semantic!.Labels.Length);
        }
    }

    [TestMethod]
    public void ThePanopticMergeKeepsConfidentInstancesFirstAndLargeStuff()
    {
        const int h = 10, w = 10;
        BitMask Rect(int x0, int y0, int x1, int y1)
        {
            var m = new bool[h, w];
            for (int y = y0; y < y1; y++) for (int x = x0; x < x1; x++) m[y, x] = true;
            return BitMask.FromArray(m);
        }
        var masks = new[] { Rect(0, 0, 4, 4), Rect(2, 2, 6, 6), Rect(1, 1, 4, 3), Rect(6, 6, 9, 9) };
        var instances = new Instances(h, w, Boxes.FromXyxy(new float[] { 0, 0, 4, 4, 2, 2, 6, 6, 1, 1, 4, 3, 6, 6, 9, 9 }), new[] { 1, 2, 2, 1 },
            scores: new float[] { 0.6f, 0.9f, 0.95f, 0.4f }, masks: BitMasks.Encode(masks));
        // Semantic map: class 2 (stuff) on the left half, class 3 (stuff) on the right, class 0 (a thing class) in one corner.
        var labels = new int[h * w];
        for (int p = 0; p < labels.Length; p++) labels[p] = p % w < 5 ? 2 : 3;
        labels[9 * w + 9] = 0;
        var panoptic = PanopticMerge.Combine(instances, new SemanticLabelMap(h, w, labels), new[] { 0, 1 }, instanceScore: 0.5, overlap: 0.5, stuffArea: 40);

        // By score: instance 2 (0.95, 6 px) first, instance 1 (0.9, 16 px, 2 taken) second; instance 0 (0.6, 16 px) has 8 of its pixels
        // taken (6 by instance 2, 2 by instance 1: exactly half, not more) and keeps its 8 free ones; instance 3 (0.4) is below the score threshold.
        var segments = panoptic.Segments;
        Assert.AreEqual(4, segments.Count, string.Join("; ", segments));
        Assert.AreEqual(new PanopticSegment(1, 1), segments[0]);
        Assert.AreEqual(new PanopticSegment(2, 1), segments[1]);
        Assert.AreEqual(new PanopticSegment(3, 0), segments[2]);
        var ids = panoptic.Ids.ToArray();
        Assert.AreEqual(6, ids.Count(i => i == 1));
        Assert.AreEqual(16 - 2, ids.Count(i => i == 2));
        Assert.AreEqual(16 - 8, ids.Count(i => i == 3));
        // Stuff: class 3's free pixels (the right half less instance 1's 4 pixels at x = 5 and the corner) are 45 ≥ 40; class 2's
        // (50 − 6 − 10 − 8 = 26) are not; the thing class 0 in the semantic map never becomes a stuff segment.
        Assert.AreEqual(new PanopticSegment(4, 3), segments[3]);
        Assert.AreEqual(50 - 4 - 1, ids.Count(i => i == 4));
        Assert.AreEqual(26 + 1, ids.Count(i => i == 0), "void: class 2's free pixels and the thing-labelled corner");
    }

    /// <summary>The tiny detectors' picture with its disc (class 1) and square (class 2), and a semantic map: disc 0, square 1,
    /// floor 2 elsewhere, a band of unlabelled pixels at the bottom.</summary>
    private static (Tensor Image, RcnnTarget Target) OneImage()
    {
        var image = GeneralizedRcnn.ToUnitTensor(TinyDetectors.Picture());
        const int h = 96, w = 128;
        var masks = new byte[2 * h * w];
        var semantic = new byte[h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                semantic[y * w + x] = (byte)(y >= 90 ? 255 : 2);
                if ((x - 40) * (x - 40) + (y - 45) * (y - 45) < 20 * 20) { masks[y * w + x] = 1; semantic[y * w + x] = 0; }
                if (x is >= 80 and < 115 && y is >= 20 and < 60) { masks[h * w + y * w + x] = 1; semantic[y * w + x] = 1; }
            }
        var target = new RcnnTarget(
            Tensor.FromArray(new float[] { 20, 25, 60, 65, 80, 20, 115, 60 }, new long[] { 2, 4 }),
            Tensor.FromArray(new long[] { 1, 2 }, new long[] { 2 }),
            Tensor.FromArray(masks, new long[] { 2, h, w }),
            semantic: Tensor.FromArray(semantic, new long[] { h, w }));
        return (image, target);
    }
}
