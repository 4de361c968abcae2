using MLNetSeg.Torch;
using MLNetSeg.Torch.Serialization;
using static MLNetSeg.Training.Tests.Training.TrainingFixtures;

namespace MLNetSeg.Training.Tests.Training;

/// <summary>
/// Exact resume: a run stopped after N iterations and continued by a new trainer from its
/// checkpoint must produce the very losses (bit-equal doubles) and weights of an uninterrupted
/// N + M run. The expected values are the uninterrupted run's own, so the comparison is exact
/// (tolerance 0): any state the checkpoint forgot (momentum, BatchNorm statistics, generator,
/// data-loader position, schedule) changes the numbers.
/// </summary>
[TestClass]
public sealed class ResumeTests
{
    private static TinyDataset _data => TinyDataset.Shared;

    /// <summary>Batch 1 × accumulation 2 (so accumulation is covered), clipping on, flips on: a
    /// checkpoint after iteration 2 sits at batch 4 of epoch 0, mid-epoch.</summary>
    private static TrainingOptions Options(string dir, int iterations, ProgressLog log)
    {
        var o = FastOptions(dir, iterations, log);
        return o with { Data = o.Data with { BatchSize = 1 }, Optimizer = o.Optimizer with { GradientAccumulationSteps = 2 } };
    }

    [TestMethod]
    public void ResumingReproducesTheUninterruptedLossesAndWeightsBitForBit()
    {
        using var dir = new TempDir();
        var straight = new ProgressLog();
        using (new MaskRcnnTrainer(Options(dir.Sub("straight"), 4, straight)).Fit(_data.Train())) { }

        var first = new ProgressLog();
        using (new MaskRcnnTrainer(Options(dir.Sub("split"), 2, first)).Fit(_data.Train())) { }
        var info = TrainingCheckpoint.ReadInfo(Path.Combine(dir.Sub("split"), TrainingCheckpoint.FileName(2)));
        Assert.AreEqual(new TrainingPosition(2, 0, 4), info.Position with { TrainingSeconds = 0 }, "after 2 iterations of 2 batches the loader is at batch 4 of epoch 0");
        Assert.IsTrue(info.Position.TrainingSeconds > 0, "the training time spent is kept for time-budget runs");

        var second = new ProgressLog();
        using (var resumed = new MaskRcnnTrainer(Options(dir.Sub("split"), 4, second)).Fit(_data.Train()))
        {
            Assert.AreEqual(2, resumed.Summary!.ResumedFrom);
            Assert.AreEqual(4, resumed.Summary.Iterations);
        }

        var expected = straight.Losses;
        CollectionAssert.AreEquivalent(new long[] { 1, 2, 3, 4 }, expected.Keys.ToArray());
        CollectionAssert.AreEquivalent(new long[] { 1, 2 }, first.Losses.Keys.ToArray());
        CollectionAssert.AreEquivalent(new long[] { 3, 4 }, second.Losses.Keys.ToArray(), "the resumed run starts at iteration 3");
        foreach (var (iteration, losses) in first.Losses.Concat(second.Losses))
        {
            CollectionAssert.AreEquivalent(expected[iteration].Keys.ToArray(), losses.Keys.ToArray());
            foreach (var (name, value) in losses)
                Assert.AreEqual(BitConverter.DoubleToInt64Bits(expected[iteration][name]), BitConverter.DoubleToInt64Bits(value),
                    $"iteration {iteration} {name}: uninterrupted {expected[iteration][name]:R}, resumed {value:R}");
        }
        // The comparison can fail: training moves the losses between iterations.
        Assert.AreNotEqual(expected[3]["loss"], expected[4]["loss"]);
        // Flat memory: every tensor of an iteration is freed with it. Between iterations 2 and 4 the
        // count may only differ by the data loader's prefetched batches (at most 2, one tensor each);
        // a leak of anything per forward pass would add at least 4.
        long growth = straight.LiveTensors[4] - straight.LiveTensors[2];
        Assert.IsTrue(Math.Abs(growth) <= 2, $"native tensors not disposed went from {straight.LiveTensors[2]} to {straight.LiveTensors[4]}");

        // Both runs end in the same state: weights, BatchNorm statistics, momentum buffers, generator.
        using var scope = DisposeScope.Enter();
        var a = SafeTensors.Load(Path.Combine(dir.Sub("straight"), TrainingCheckpoint.FileName(4)));
        var b = SafeTensors.Load(Path.Combine(dir.Sub("split"), TrainingCheckpoint.FileName(4)));
        CollectionAssert.AreEqual(a.Keys.ToArray(), b.Keys.ToArray());
        foreach (var (name, t) in a) Assert.IsTrue(t.Equal(b[name]), $"checkpoint tensor {name} differs");
    }

    [TestMethod]
    public void ResumingWithOptionsThatChangeTheTrainingFailsNamingThem()
    {
        using var dir = new TempDir();
        // A cancelled run leaves a checkpoint at iteration 0 without training at all.
        using (var cts = new CancellationTokenSource())
        {
            cts.Cancel();
            var ex = Assert.ThrowsException<TrainingCanceledException>(() =>
                new MaskRcnnTrainer(FastOptions(dir.Path, 4)).Fit(_data.Train(), cancellationToken: cts.Token));
            Assert.AreEqual(0, ex.Iteration);
            Assert.AreEqual(Path.Combine(dir.Path, TrainingCheckpoint.FileName(0)), ex.Checkpoint);
        }
        var fast = FastOptions(dir.Path, 4);
        var changed = fast with { Optimizer = fast.Optimizer with { LearningRate = 0.05 }, Seed = 8 };
        var error = Assert.ThrowsException<ArgumentException>(() => new MaskRcnnTrainer(changed).Fit(_data.Train()));
        StringAssert.Contains(error.Message, "LearningRate: checkpoint 0.01, now 0.05");
        StringAssert.Contains(error.Message, "Seed: checkpoint 7, now 8");
        StringAssert.Contains(error.Message, TrainingCheckpoint.FileName(0));
    }
}
