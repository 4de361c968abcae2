using MLNetSeg.Data.Loading;
using MLNetSeg.Models;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Training.Tests.Training;

/// <summary>The trainer's parts that need no training: option checks, the resume compatibility
/// rule, target conversion and the console progress line.</summary>
[TestClass]
public sealed class TrainerUnitTests
{
    [TestMethod]
    public void InvalidOptionsAreRefusedByName()
    {
        void Refused(TrainingOptions options, string expected)
        {
            var ex = Assert.ThrowsException<ArgumentException>(() => new MaskRcnnTrainer(options));
            StringAssert.Contains(ex.Message, expected);
        }
        var ok = new TrainingOptions { Model = new MaskRcnnOptions(), Schedule = new ScheduleOptions { Iterations = 10 } };
        Refused(ok with { Schedule = new ScheduleOptions() }, "TrainingOptions.Schedule: give exactly one of Iterations, Epochs and TimeBudget (got 0)");
        Refused(ok with { Schedule = ok.Schedule with { Epochs = 2 } }, "give exactly one of Iterations, Epochs and TimeBudget (got 2)");
        Refused(ok with { Schedule = new ScheduleOptions { TimeBudget = TimeSpan.FromMinutes(1), Steps = new long[] { 5 } } },
            "Steps are iterations, which a TimeBudget run does not fix in advance");
        Refused(ok with { Data = new DataOptions { BatchSize = 0 } }, "TrainingOptions.Data.BatchSize must be at least 1, got 0");
        Refused(ok with { Optimizer = new OptimizerOptions { LearningRate = double.NaN } }, "TrainingOptions.Optimizer.LearningRate must be a positive number");
        Refused(ok with { Schedule = ok.Schedule with { Steps = new long[] { 5, 3 } } }, "TrainingOptions.Schedule.Steps must be non-negative and non-decreasing");
        Refused(ok with { Schedule = ok.Schedule with { WarmupFactor = 0 } }, "TrainingOptions.Schedule.WarmupFactor must be in (0, 1], got 0");
        Refused(ok with { Model = new MaskRcnnOptions { Settings = new RcnnOptions { TrainableBackboneLayers = 6 } } },
            "TrainingOptions.Model (MaskRcnnOptions): MaskRcnnOptions.Settings: TrainableBackboneLayers (6) is out of range");
        Refused(ok with { Model = new KeypointRcnnOptions { HeadVersion = 2 } }, "2 exists for Mask R-CNN only");
        Refused(ok with { Model = new MaskRcnnOptions { HeadVersion = 3 } }, "HeadVersion must be 1 or 2, got 3");
        var notRcnn = Assert.ThrowsException<ArgumentException>(() => new MaskRcnnTrainer(ok with { Model = new ForeignOptions() }));
        StringAssert.Contains(notRcnn.Message, "MaskRcnnTrainer trains the R-CNN families (MaskRcnnOptions, KeypointRcnnOptions), not ForeignOptions");
        var unknown = Assert.ThrowsException<KeyNotFoundException>(() => new SegmentationTrainer(ok with { Model = new ForeignOptions() }));
        StringAssert.Contains(unknown.Message, "no model family 'foreign' is registered");
        Refused(ok with { Runtime = new RuntimeOptions { MixedPrecision = DType.Float16 } }, "Float16 needs a CUDA device");
        Refused(ok with { Runtime = new RuntimeOptions { MixedPrecision = DType.Float64 } }, "must be BFloat16, Float16 or null");
        Refused(ok with { Distributed = new DistributedOptions { WorldSize = 2, Rank = 2 } }, "TrainingOptions.Distributed.Rank must be in 0..1, got 2");
        _ = new MaskRcnnTrainer(ok);  // the defaults plus a length are valid
    }

    private sealed record ForeignOptions : MLNetSeg.Models.ModelOptions
    {
        public override string Family => "foreign";
    }

    [TestMethod]
    public void LinearScalingRuleGivesTheDefaultLearningRate()
    {
        TrainingOptions With(int batch, int accumulate = 1, double? lr = null) => new()
        {
            Model = new MaskRcnnOptions(),
            Data = new DataOptions { BatchSize = batch },
            Optimizer = new OptimizerOptions { GradientAccumulationSteps = accumulate, LearningRate = lr },
        };
        Assert.AreEqual(0.02, With(16).EffectiveLearningRate, 1e-15);
        Assert.AreEqual(0.0025, With(2).EffectiveLearningRate, 1e-15);
        Assert.AreEqual(0.005, With(2, 2).EffectiveLearningRate, 1e-15);
        Assert.AreEqual(0.1, With(2, lr: 0.1).EffectiveLearningRate);
        // Data-parallel: the step's images are every process's batch.
        Assert.AreEqual(0.005, (With(2) with { Distributed = new DistributedOptions { WorldSize = 2 } }).EffectiveLearningRate, 1e-15);
    }

    /// <summary>bfloat16 autocast through the whole Mask R-CNN training step on the CPU: finite losses that stay
    /// near the float32 run's (same seed, data and step), and float32 weights.</summary>
    [TestMethod]
    public void BFloat16MixedPrecisionTrainsOnTheCpu()
    {
        var data = TinyDataset.Shared;
        var options = TrainingFixtures.FastOptions(null, 2);
        using var full = new MaskRcnnTrainer(options).Fit(data.Train());
        using var mixed = new MaskRcnnTrainer(options with { Runtime = options.Runtime with { MixedPrecision = DType.BFloat16 } }).Fit(data.Train());
        var a = full.Summary!.FinalLosses!;
        var b = mixed.Summary!.FinalLosses!;
        Assert.IsTrue(b.Values.All(double.IsFinite), string.Join(", ", b));
        // bfloat16 keeps 8 bits of mantissa: the losses of two steps agree to a few per cent, not exactly.
        Assert.AreEqual(a["loss"], b["loss"], 0.05 * a["loss"], $"float32 {a["loss"]}, bfloat16 {b["loss"]}");
        Assert.AreNotEqual(a["loss"], b["loss"], "autocast changed the arithmetic");
        Assert.IsTrue(mixed.Model.Module.Parameters().All(p => p.DType == DType.Float32));
    }

    /// <summary>torchrun's variables become the distributed options; a malformed one is named.</summary>
    [TestMethod]
    public void DistributedOptionsComeFromTorchrunsEnvironment()
    {
        Assert.IsNull(DistributedOptions.FromEnvironment(_ => null));
        var env = new Dictionary<string, string> { ["WORLD_SIZE"] = "4", ["RANK"] = "3", ["MASTER_ADDR"] = "10.1.2.3", ["MASTER_PORT"] = "1234", ["GLOO_SOCKET_IFNAME"] = "eth1" };
        var o = DistributedOptions.FromEnvironment(k => env.GetValueOrDefault(k))!;
        Assert.AreEqual((4, 3, "10.1.2.3", 1234, "eth1"), (o.WorldSize, o.Rank, o.MasterAddress, o.MasterPort, o.NetworkInterface));
        env["RANK"] = "three";
        var e = Assert.ThrowsException<ArgumentException>(() => DistributedOptions.FromEnvironment(k => env.GetValueOrDefault(k)));
        StringAssert.Contains(e.Message, "RANK is 'three'");
    }

    [TestMethod]
    public void ResumingMayLengthenTheRunButNotChangeItsTrajectory()
    {
        var baseline = new TrainingOptions { Model = new MaskRcnnOptions(), Schedule = new ScheduleOptions { Iterations = 100 }, Data = new DataOptions { BatchSize = 4 } };
        var saved = TrainingCheckpoint.OptionsToJson(baseline);
        var longer = baseline with
        {
            Schedule = baseline.Schedule with { Iterations = 200 },
            Evaluation = new EvaluationOptions { Period = 50 },
            Runtime = new RuntimeOptions { Threads = 1 },
            Checkpoints = new CheckpointOptions { Period = 10 },
            Model = new MaskRcnnOptions { PretrainedWeights = "other.pth" },
        };
        Assert.AreEqual(0, TrainingCheckpoint.IncompatibleChanges(saved, longer).Count);
        var other = baseline with { Data = baseline.Data with { BatchSize = 8 }, Model = new MaskRcnnOptions { Settings = new RcnnOptions { MinSize = 640 } } };
        CollectionAssert.AreEqual(new[] { "Data.BatchSize: checkpoint 4, now 8", "Model.Settings.MinSize: checkpoint 800, now 640" },
            TrainingCheckpoint.IncompatibleChanges(saved, other).ToArray());
        var keypoints = baseline with { Model = new KeypointRcnnOptions() };
        CollectionAssert.AreEqual(new[] { "Model.Family: checkpoint \"maskrcnn\", now \"keypointrcnn\"" },
            TrainingCheckpoint.IncompatibleChanges(saved, keypoints).ToArray(), "another family cannot resume the run");
    }

    [TestMethod]
    public void TargetsBecomeTheModelsTensors()
    {
        var mask0 = new BitMask(3, 4);
        mask0[1, 2] = true;
        var mask1 = new BitMask(3, 4);
        mask1[0, 0] = true;
        mask1[2, 3] = true;
        var keypoints = new Keypoints(2, 1, new float[] { 1.5f, 2, 2, 3, 1, 0 });
        var target = new DetectionTarget(Boxes.FromXyxy(new float[] { 0, 0, 2, 2, 1, 0.5f, 4, 3 }), new[] { 3, 1 }, new[] { false, false },
            new long[] { 10, 11 }, new[] { 4f, 9f }, new[] { mask0, mask1 }, keypoints);
        using var scope = DisposeScope.Enter();
        var t = RcnnTargets.From(target, new ImageSize(3, 4), masks: true, keypoints: true);
        CollectionAssert.AreEqual(new float[] { 0, 0, 2, 2, 1, 0.5f, 4, 3 }, t.Boxes.ToArray<float>());
        CollectionAssert.AreEqual(new long[] { 2, 4 }, t.Boxes.Shape);
        Assert.AreEqual(DType.Int64, t.Labels.DType);
        CollectionAssert.AreEqual(new long[] { 3, 1 }, t.Labels.ToArray<long>());
        CollectionAssert.AreEqual(new long[] { 2, 3, 4 }, t.Masks!.Shape);
        CollectionAssert.AreEqual(mask0.ToRowMajorBytes().Concat(mask1.ToRowMajorBytes()).ToArray(), t.Masks.ToArray<byte>());
        CollectionAssert.AreEqual(new long[] { 2, 1, 3 }, t.Keypoints!.Shape);
        CollectionAssert.AreEqual(new float[] { 1.5f, 2, 2, 3, 1, 0 }, t.Keypoints.ToArray<float>());

        var noMasks = new DetectionTarget(Boxes.FromXyxy(new float[] { 0, 0, 2, 2 }), new[] { 1 }, new[] { false }, new long[] { 1 }, new[] { 4f });
        var ex = Assert.ThrowsException<ArgumentException>(() => RcnnTargets.From(noMasks, new ImageSize(3, 4), masks: true, keypoints: false, describe: "img.png"));
        StringAssert.Contains(ex.Message, "img.png: Mask R-CNN needs instance masks");
    }

    [TestMethod]
    public void ProgressLineIsRewrittenInPlaceOnATerminalAndPrintedAsLinesOtherwise()
    {
        var report = new TrainingProgress
        {
            Event = TrainingEvent.Iteration, Iteration = 20, TotalIterations = 1000, LearningRate = 0.01, ImagesPerSecond = 2.5,
            Eta = TimeSpan.FromSeconds(185),
            Losses = new Dictionary<string, double> { ["loss_classifier"] = 0.5, ["loss_mask"] = 0.25, ["loss"] = 0.75 },
        };
        Assert.AreEqual("iter   20/1000  loss 0.750 (cls 0.500 mask 0.250)  lr 0.01  2.5 img/s  eta 3m05s", ConsoleTrainingProgress.FormatIteration(report));

        var plain = new StringWriter();
        var sink = new ConsoleTrainingProgress(plain, inPlace: false);
        sink.Report(report);
        sink.Report(report with { Iteration = 40 });
        sink.Report(new TrainingProgress { Event = TrainingEvent.Saved, Iteration = 40, TotalIterations = 1000, Message = "saved checkpoint x" });
        Assert.AreEqual(string.Join(Environment.NewLine, ConsoleTrainingProgress.FormatIteration(report),
            ConsoleTrainingProgress.FormatIteration(report with { Iteration = 40 }), "saved checkpoint x", ""), plain.ToString());

        var tty = new StringWriter();
        sink = new ConsoleTrainingProgress(tty, inPlace: true);
        sink.Report(report);
        sink.Report(report with { Iteration = 40 });
        sink.Report(new TrainingProgress { Event = TrainingEvent.Saved, Iteration = 40, TotalIterations = 1000, Message = "saved checkpoint x" });
        var text = tty.ToString();
        Assert.AreEqual(2, text.Count(c => c == '\r'), "each iteration line starts with a carriage return");
        Assert.IsTrue(text.StartsWith("\r" + ConsoleTrainingProgress.FormatIteration(report), StringComparison.Ordinal));
        Assert.IsTrue(text.EndsWith(Environment.NewLine + "saved checkpoint x" + Environment.NewLine, StringComparison.Ordinal),
            "another event ends the status line before printing its own");
    }
}

/// <summary>Starting from pretrained weights: a detector file with other heads, a classification
/// ResNet, and a file that is neither.</summary>
[TestClass]
public sealed class PretrainedWeightsTests
{
    [TestMethod]
    public void DetectorWeightsLoadExceptHeadsOfAnotherShapeAndResNetWeightsLoadIntoTheBackbone()
    {
        using var dir = new TempDir();
        var options = new MaskRcnnOptions { Backbone = MLNetSeg.Models.Backbones.ResNetDepth.ResNet18, Norm = BackboneNorm.BatchNorm };
        GeneralizedRcnn Create(int classes) =>
            (GeneralizedRcnn)MaskRcnnFamily.Instance.Create(options, ModelFileInfo.ForCategories(Enumerable.Range(1, classes - 1).Select(i => (i, $"c{i}"))));
        TorchRuntime.ManualSeed(1);
        using var source = Create(3);
        var file = Path.Combine(dir.Path, "source.safetensors");
        MLNetSeg.Torch.Serialization.SafeTensors.Save(file, source);
        TorchRuntime.ManualSeed(2);
        using var target = Create(7);
        var before = Snapshot(target, "roi_heads.box_predictor.cls_score.weight");

        var summary = target.LoadPretrainedWeights(file);
        StringAssert.Contains(summary, "kept 6 of another shape initialised");  // cls_score, bbox_pred and mask_fcn_logits, weight and bias
        foreach (var name in new[] { "backbone.body.layer1.0.conv1.weight", "backbone.fpn.layer_blocks.0.0.weight", "rpn.head.cls_logits.weight" })
            Assert.IsTrue(Snapshot(source, name).SequenceEqual(Snapshot(target, name)), $"{name} was loaded");
        Assert.IsTrue(before.SequenceEqual(Snapshot(target, "roi_heads.box_predictor.cls_score.weight")), "the 3-class predictor did not fit the 7-class model");

        // A classification ResNet's state dict (conv1, bn1, layer1..4, fc) goes into the backbone body.
        var resnet = Path.Combine(dir.Path, "resnet18.safetensors");
        using (var scope = DisposeScope.Enter())
        {
            var body = source.Backbone.Body.StateDict().ToList();
            body.Add(new("fc.weight", Tensor.Zeros(new long[] { 1000, 512 })));
            body.Add(new("fc.bias", Tensor.Zeros(new long[] { 1000 })));
            MLNetSeg.Torch.Serialization.SafeTensors.Save(resnet, body);
        }
        TorchRuntime.ManualSeed(3);
        using var fresh = Create(7);
        summary = fresh.LoadPretrainedWeights(resnet);
        StringAssert.Contains(summary, "ImageNet ResNet tensors into the backbone (2 unused: fc.weight, fc.bias)");
        Assert.IsTrue(Snapshot(source, "backbone.body.layer4.1.conv2.weight").SequenceEqual(Snapshot(fresh, "backbone.body.layer4.1.conv2.weight")));

        var other = Path.Combine(dir.Path, "other.safetensors");
        using (var scope = DisposeScope.Enter())
            MLNetSeg.Torch.Serialization.SafeTensors.Save(other, new Dictionary<string, Tensor> { ["encoder.weight"] = Tensor.Zeros(new long[] { 2 }) });
        var ex = Assert.ThrowsException<ArgumentException>(() => fresh.LoadPretrainedWeights(other));
        StringAssert.Contains(ex.Message, "other.safetensors: neither a detector state dict");
    }

    private static float[] Snapshot(MLNetSeg.Torch.Nn.Module model, string name)
    {
        using var scope = DisposeScope.Enter();
        return model.StateDict()[name].Contiguous().ToArray<float>();
    }
}
