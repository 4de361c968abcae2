using MLNetSeg.Data.Loading;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using static MLNetSeg.Training.Tests.Training.TrainingFixtures;

namespace MLNetSeg.Training.Tests.Training;

/// <summary>
/// Native memory of whole training runs: once a run is over and its model disposed, every native
/// tensor it made has been freed by a Dispose — none is left alive, none was left to the garbage
/// collector's finalizer. Checked for a completed run (checkpoints, validation, best and final model
/// files, a prepared model with folded FrozenBatchNorm) and for each way a run can fail (divergence,
/// a corrupt image, cancellation before and during training).
/// <para>
/// The counters are process-wide; the training tests run one at a time, and a full collection
/// before the baseline finalizes any garbage earlier tests left, so only this run is measured.
/// </para>
/// </summary>
[TestClass]
public sealed class TensorLifetimeTests
{
    private static TinyDataset _data => TinyDataset.Shared;

    [TestMethod]
    public void ACompletedRunFreesEveryTensorWhenItsModelIsDisposed()
    {
        using var dir = new TempDir();
        var fast = FastOptions(dir.Path, 2);
        // FrozenBatchNorm: the trained model is prepared for inference with the norms folded into the
        // convolutions, tensors the model keeps outside its parameters and buffers.
        var options = fast with
        {
            Model = FastModel with { Norm = BackboneNorm.FrozenBatchNorm },
            Evaluation = fast.Evaluation with { AtEnd = true, ValidationLoss = true },
        };
        var train = _data.Train();
        var validation = _data.Validation();
        var before = Counters();

        var model = new MaskRcnnTrainer(options).Fit(train, validation);
        try
        {
            Assert.IsTrue(File.Exists(Path.Combine(dir.Path, "model_final.mlseg")), "the run wrote its model file");
            Assert.IsNotNull(model.Summary!.Evaluation, "the run validated");
            // While the model lives it holds its parameters and buffers plus the folded weight and bias
            // of each conv + FrozenBatchNorm pair of its ResNet-18 body: the stem, two per BasicBlock
            // (8 blocks) and the three downsampling projections = 20 pairs (torchvision's resnet18).
            long registered = model.Model.Module.Parameters().Count() + model.Model.Module.Buffers().Count();
            Collect();
            Assert.AreEqual(registered + 2 * 20, TorchRuntime.LiveTensors - before.Live,
                "tensors held by the trained model: its parameters and buffers and 2 folded tensors per conv + norm pair");
        }
        finally
        {
            model.Dispose();
        }
        AssertNothingOutlived(before, "a completed run");
    }

    [TestMethod]
    public void FailedRunsFreeEveryTensor()
    {
        // A non-finite loss at iteration 2 (after a checkpoint of iteration 1).
        using (var dir = new TempDir())
        {
            var fast = FastOptions(dir.Path, 3);
            var options = fast with
            {
                Checkpoints = fast.Checkpoints with { Period = 1 },
                Runtime = fast.Runtime with { LossHook = (iteration, loss) => iteration == 2 ? loss * double.NaN : loss },
            };
            var train = _data.Train();
            var before = Counters();
            Assert.ThrowsException<TrainingDivergedException>(() => new MaskRcnnTrainer(options).Fit(train));
            AssertNothingOutlived(before, "a diverged run");
        }

        // A corrupt image (the data loader's error, raised while fetching a batch).
        using (var dir = new TempDir())
        {
            var (json, images) = _data.SubsetCopy(dir.Path, 4);
            File.WriteAllBytes(Directory.GetFiles(images).OrderBy(f => f, StringComparer.Ordinal).ElementAt(2), "not an image"u8.ToArray());
            var train = DetectionDataset.Load(json, images);
            var before = Counters();
            Assert.ThrowsException<BadSampleException>(() => new MaskRcnnTrainer(FastOptions(null, 2)).Fit(train));
            AssertNothingOutlived(before, "a run stopped by a corrupt image");
        }

        // Cancelled after iteration 1 (a checkpoint of that state is written) and before the first iteration.
        using (var dir = new TempDir())
        {
            var train = _data.Train();
            var before = Counters();
            using (var cts = new CancellationTokenSource())
            {
                var log = new ProgressLog { CancelAt = cts, CancelIteration = 1 };
                var ex = Assert.ThrowsException<TrainingCanceledException>(() =>
                    new MaskRcnnTrainer(FastOptions(dir.Sub("during"), 5, log)).Fit(train, cancellationToken: cts.Token));
                Assert.AreEqual(1, ex.Iteration);
            }
            AssertNothingOutlived(before, "a run cancelled during training");

            using (var cts = new CancellationTokenSource())
            {
                cts.Cancel();
                var ex = Assert.ThrowsException<TrainingCanceledException>(() =>
                    new MaskRcnnTrainer(FastOptions(dir.Sub("before"), 5)).Fit(train, cancellationToken: cts.Token));
                Assert.AreEqual(0, ex.Iteration);
            }
            AssertNothingOutlived(before, "a run cancelled before its first iteration");
        }
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    /// <summary>The counters after finalizing any earlier garbage.</summary>
    private static (long Live, long Finalized) Counters()
    {
        Collect();
        return (TorchRuntime.LiveTensors, TorchRuntime.FinalizedTensors);
    }

    private static void AssertNothingOutlived((long Live, long Finalized) before, string what)
    {
        Collect();
        Assert.AreEqual(before.Finalized, TorchRuntime.FinalizedTensors, $"tensors of {what} were left to the finalizer instead of being disposed");
        Assert.AreEqual(before.Live, TorchRuntime.LiveTensors, $"tensors of {what} are still alive after it");
    }
}
