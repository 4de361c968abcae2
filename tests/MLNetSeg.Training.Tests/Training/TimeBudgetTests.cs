using MLNetSeg.Torch;
using MLNetSeg.Torch.Optim;
using static MLNetSeg.Training.Tests.Training.TrainingFixtures;

namespace MLNetSeg.Training.Tests.Training;

/// <summary>
/// Time-budget schedules: the decay follows the spent fraction of the budget (checked against the
/// formulas at given clock readings), and a real run ends when its training time reaches the budget,
/// its learning rate having decayed to near zero.
/// </summary>
[TestClass]
public sealed class TimeBudgetTests
{
    private static TinyDataset Data => TinyDataset.Shared;

    [TestMethod]
    public void TheLearningRateFollowsTheSpentFractionOfTheBudget()
    {
        using var scope = DisposeScope.Enter();
        var budget = TimeSpan.FromSeconds(100);
        var clock = TimeSpan.Zero;
        foreach (var decay in new[] { LrSchedule.Cosine, LrSchedule.MultiStep })
        {
            var options = new ScheduleOptions { TimeBudget = budget, WarmupIterations = 4, WarmupFactor = 0.1, Decay = decay, Gamma = 0.5 };
            var schedule = TrainingSchedule.For(options, iterationsPerEpoch: 10, batchesPerEpoch: 10);
            Assert.IsNull(schedule.TotalIterations);
            using var sgd = new Sgd(new[] { Tensor.Zeros(new long[] { 1 }).RequiresGrad_() }, learningRate: 2.0);
            var scheduler = schedule.CreateScheduler(sgd, () => clock);
            // (iteration the rate is for, seconds spent when it is set, expected rate) from the definitions:
            // warmup 0.1 → 1 linearly over 4 iterations; cosine (1 + cos πp) / 2; multistep ×0.5 at p = 2/3 and 8/9.
            double Expected(long iteration, double p)
            {
                double warm = iteration >= 4 ? 1 : 0.1 * (1 - iteration / 4.0) + iteration / 4.0;
                double d = decay == LrSchedule.Cosine ? (1 + Math.Cos(Math.PI * p)) / 2 : Math.Pow(0.5, (p >= 2.0 / 3 ? 1 : 0) + (p >= 8.0 / 9 ? 1 : 0));
                return 2.0 * warm * d;
            }
            Assert.AreEqual(Expected(0, 0), sgd.ParamGroups[0].LearningRate, 1e-12, $"{decay}: the first step's rate");
            var readings = new[] { 1.0, 10, 50, 70, 90, 99, 100, 130 };
            for (int k = 0; k < readings.Length; k++)
            {
                clock = TimeSpan.FromSeconds(readings[k]);
                scheduler.Step();
                Assert.AreEqual(Expected(k + 1, Math.Min(1, readings[k] / 100)), sgd.ParamGroups[0].LearningRate, 1e-12, $"{decay} at {readings[k]} s");
            }
            Assert.IsFalse(schedule.IsComplete(1000, TimeSpan.FromSeconds(99.9)));
            Assert.IsTrue(schedule.IsComplete(3, budget), "the budget, not an iteration count, ends the run");
            Assert.AreEqual(40, schedule.EstimatedTotal(10, TimeSpan.FromSeconds(25)), "10 iterations in a quarter of the budget: about 40 in all");
            clock = TimeSpan.Zero;
        }
    }

    [TestMethod]
    public void ARunEndsWhenItsTrainingTimeReachesTheBudget()
    {
        // The test family's steps take milliseconds, so many fit in the budget even on a busy machine.
        TinySemanticFamily.TinySemanticFamily.Register();
        var log = new ProgressLog();
        var fast = FastOptions(null, 1, log);
        var budget = TimeSpan.FromSeconds(3);
        var options = fast with
        {
            Model = new TinySemanticFamily.TinySemanticOptions(),
            Schedule = new ScheduleOptions { TimeBudget = budget, WarmupIterations = 1, Decay = LrSchedule.Cosine },
        };
        using var trained = new SegmentationTrainer(options).Fit(Data.Train());
        var summary = trained.Summary!;
        var iterations = log.Reports.Where(r => r.Event == TrainingEvent.Iteration).ToList();
        Assert.AreEqual(summary.Iterations, iterations.Count, "one report per iteration (LogPeriod 1)");
        Assert.IsTrue(summary.Iterations >= 10, $"{summary.Iterations} iterations in {budget}");
        Assert.IsTrue(summary.TrainingTime >= budget, $"trained {summary.TrainingTime}, budget {budget}");
        double perIteration = summary.TrainingTime.TotalSeconds / summary.Iterations;
        Assert.IsTrue(summary.TrainingTime.TotalSeconds < budget.TotalSeconds + 2 * perIteration + 1,
            $"training stops within an iteration of the budget: {summary.TrainingTime} for {summary.Iterations} iterations");
        Assert.AreEqual(summary.Iterations, summary.PlannedIterations);
        Assert.IsFalse(summary.StoppedByTimeLimit, "the budget is the plan, not a safety stop");
        // The rate applied at the last step was set when less than one iteration of the budget was left.
        double last = iterations[^1].LearningRate, peak = iterations.Max(r => r.LearningRate);
        Assert.IsTrue(last < 0.1 * peak, $"the cosine decays to the end of the budget: last rate {last}, peak {peak}");
        Assert.AreEqual(iterations[^1].TotalIterations, summary.Iterations, "the last report's total is the run's length");
    }
}
