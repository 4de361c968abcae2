using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.MaskLab;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Training.Comparison;
using MLNetSeg.Vision.Structures;
using MLNetSeg.Training.Tests.Training;

namespace MLNetSeg.Training.Tests.Comparison;

/// <summary>
/// <see cref="ModelComparison"/>: the successive-halving plan, the checks on what can be compared, the
/// leaderboard's order and files, and a real comparison of two families on the tiny set within its budget,
/// continued (not redone) when run again in its folder. The killed-process resume is the CLI's test.
/// </summary>
[TestClass]
public sealed class ModelComparisonTests
{
    private static ComparisonCandidate MaskRcnn(string name = "maskrcnn-r18") => new(name, TrainingFixtures.FastModel);

    private static ComparisonCandidate MaskLab(string name = "masklab-r18") => new(name, new MaskLabOptions
    {
        Backbone = ResNetDepth.ResNet18, Norm = BackboneNorm.BatchNorm, CropSize = 21, Settings = TrainingFixtures.FastModel.Settings,
    });

    private static ComparisonOptions Options(string directory, TimeSpan budget, params ComparisonCandidate[] candidates) => new()
    {
        Candidates = candidates,
        Budget = budget,
        Directory = directory,
        Optimizer = new OptimizerOptions { LearningRate = 0.01, GradientClipNorm = 10 },
        Data = new DataOptions { BatchSize = 2, LoaderWorkers = 1 },
        Runtime = new RuntimeOptions { Threads = 2, Progress = ConsoleTrainingProgress.Silent, Log = _ => { } },
        WarmupIterations = 5,
        TimingImages = 3,
        Seed = 7,
    };

    [TestMethod]
    public void SuccessiveHalvingKeepsTheBestCeilingOfAFractionEachRound()
    {
        int[] Sizes(int candidates, int factor) => new ModelComparison(Options("unused", TimeSpan.FromMinutes(1),
            Enumerable.Range(0, candidates).Select(i => MaskRcnn($"c{i}")).ToArray()) with { HalvingFactor = factor }).RoundSizes.ToArray();
        CollectionAssert.AreEqual(new[] { 2, 1 }, Sizes(2, 2));
        CollectionAssert.AreEqual(new[] { 3, 2, 1 }, Sizes(3, 2));
        CollectionAssert.AreEqual(new[] { 5, 3, 2, 1 }, Sizes(5, 2));
        CollectionAssert.AreEqual(new[] { 5, 2, 1 }, Sizes(5, 3));
    }

    [TestMethod]
    public void WhatCannotBeComparedIsRefusedByName()
    {
        var budget = TimeSpan.FromMinutes(1);
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() => new ModelComparison(Options("d", budget, MaskRcnn()))).Message, "two or more");
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() => new ModelComparison(Options("d", budget, MaskRcnn("a"), MaskLab("A")))).Message, "'a' is given 2 times");
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() => new ModelComparison(Options("d", budget, MaskRcnn("a b"), MaskLab()))).Message, "candidate name 'a b'");
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() => new ModelComparison(Options("d", TimeSpan.Zero, MaskRcnn(), MaskLab()))).Message, "Budget must be positive");
        var keypoints = new ComparisonCandidate("kp", new KeypointRcnnOptions { Backbone = ResNetDepth.ResNet18 });
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() => new ModelComparison(Options("d", budget, MaskRcnn(), keypoints) with { Metric = "keypoints/AP" })).Message,
            "candidate 'maskrcnn-r18' (maskrcnn) does not predict Keypoints");
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() => new ModelComparison(Options("d", budget, MaskRcnn(), MaskLab()) with { Metric = "AP" })).Message, "expected task/metric");
        // Mask R-CNN and Keypoint R-CNN share boxes only: they are ranked by box AP; two mask models by mask AP.
        Assert.AreEqual("bbox/AP", new ModelComparison(Options("d", budget, MaskRcnn(), keypoints)).Metric);
        Assert.AreEqual("segm/AP", new ModelComparison(Options("d", budget, MaskRcnn(), MaskLab())).Metric);
    }

    [TestMethod]
    public void CandidatesComeFromTheRegistryByWhatTheyPredict()
    {
        var masks = ComparisonCandidate.FromRegistry(SegmentationTasks.Masks).Select(c => c.Name).ToArray();
        CollectionAssert.IsSubsetOf(new[] { "maskrcnn", "masklab" }, masks);
        CollectionAssert.DoesNotContain(masks, "keypointrcnn");
        var keypoints = ComparisonCandidate.FromRegistry(SegmentationTasks.Keypoints);
        Assert.AreEqual("keypointrcnn", keypoints.Single().Name);
        Assert.IsInstanceOfType<KeypointRcnnOptions>(keypoints[0].Model);
        // configure adjusts each family's defaults, or leaves a family out with null.
        var small = ComparisonCandidate.FromRegistry(SegmentationTasks.Masks, (family, options) => options switch
        {
            MaskRcnnOptions m => m with { Backbone = ResNetDepth.ResNet18 },
            MaskLabOptions m => m with { Backbone = ResNetDepth.ResNet18 },
            _ => null,
        });
        CollectionAssert.AreEquivalent(new[] { "maskrcnn", "masklab" }, small.Select(c => c.Name).ToArray());
        Assert.AreEqual(ResNetDepth.ResNet18, ((MaskRcnnOptions)small.Single(c => c.Name == "maskrcnn").Model).Backbone);
    }

    [TestMethod]
    public void TheLeaderboardRanksLaterRoundsFirstThenByScore()
    {
        TrialResult Trial(string name, int round, double score) => new()
        {
            Candidate = name, Family = "maskrcnn", Round = round, Metric = "segm/AP", Score = score, Metrics = new Dictionary<string, double> { ["segm/AP"] = score },
            Iterations = 10, TotalIterations = 10 * (round + 1), TrainingSeconds = 5, WallSeconds = 7, InferenceMilliseconds = 12.5,
            Parameters = 1_500_000, ModelBytes = 6 << 20, ModelPath = $"/runs/{name}/round{round}/model_final.mlseg",
        };
        // c was best in round 0 but lost round 1 to a; b and d were dropped after round 0 (b scored higher than d there).
        var board = new Leaderboard(new[]
        {
            Trial("a", 0, 0.20), Trial("b", 0, 0.15), Trial("c", 0, 0.30), Trial("d", 0, 0.10), Trial("a", 1, 0.40), Trial("c", 1, 0.35),
        });
        CollectionAssert.AreEqual(new[] { "a", "c", "b", "d" }, board.Rows.Select(r => r.Candidate).ToArray());
        Assert.AreEqual("/runs/a/round1/model_final.mlseg", board.Best.ModelPath);
        Assert.AreEqual(6, board.Trials.Count);
        var csv = board.ToCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.AreEqual(5, csv.Length);
        Assert.AreEqual("1,a,maskrcnn,1,segm/AP,0.4,20,5.0,7.0,12.50,1500000,6291456,/runs/a/round1/model_final.mlseg", csv[1]);
        var table = board.ToTable().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        StringAssert.StartsWith(table[0], "rank  candidate");
        StringAssert.Matches(table[1], new System.Text.RegularExpressions.Regex(@"^\s*1\s+a\s+maskrcnn\s+1\s+segm/AP\s+40\.0\s+20\s+5\s+12\.5\s+1\.50\s+6\.0$"));
        Assert.ThrowsException<InvalidOperationException>(() => new Leaderboard(Array.Empty<TrialResult>()).Best);
    }

    [TestMethod]
    public void TwoFamiliesAreRankedWithinTheBudgetAndARerunContinuesInsteadOfRetraining()
    {
        using var dir = new TempDir();
        var budget = TimeSpan.FromSeconds(60);
        var events = new List<ComparisonProgress>();
        var options = Options(dir.Path, budget, MaskRcnn(), MaskLab()) with { Progress = new SynchronousProgress<ComparisonProgress>(events.Add) };
        var result = new ModelComparison(options).Run(TinyDataset.Shared.Train(), TinyDataset.Shared.Validation());

        Console.WriteLine(string.Join("\n", events.Select(e => e.ToString()).Append(result.Leaderboard.ToTable())));
        // Budget: the whole comparison, set-up, evaluation and timing included, within ±10%.
        Assert.IsTrue(Math.Abs(result.Elapsed.TotalSeconds - budget.TotalSeconds) <= 0.1 * budget.TotalSeconds,
            $"took {result.Elapsed.TotalSeconds:F1} s of a {budget.TotalSeconds} s budget:\n{string.Join("\n", events)}");
        // Two rounds: both candidates, then the better one continued from its own weights.
        var trials = result.Leaderboard.Trials;
        Assert.AreEqual(3, trials.Count, string.Join("\n", events));
        var round0 = trials.Where(t => t.Round == 0).OrderByDescending(t => t.Score).ToArray();
        var winner = trials.Single(t => t.Round == 1);
        Assert.AreEqual(round0[0].Candidate, winner.Candidate, "the better of round 0 continues");
        Assert.AreEqual(round0[0].TotalIterations + winner.Iterations, winner.TotalIterations, "round 1 continues round 0's training");
        Assert.AreEqual(winner.Candidate, result.Leaderboard.Best.Candidate);
        CollectionAssert.AreEquivalent(new[] { "maskrcnn", "masklab" }, result.Leaderboard.Rows.Select(r => r.Family).ToArray());
        foreach (var t in trials)
        {
            Assert.AreEqual("segm/AP", t.Metric);
            Assert.AreEqual(t.Metrics["segm/AP"], t.Score);
            Assert.IsTrue(t.Metrics.ContainsKey("bbox/AP"), "every metric of the validation is kept");
            Assert.IsTrue(t.Iterations > 0 && t.InferenceMilliseconds > 0 && t.Parameters > 100_000, $"{t.Candidate} round {t.Round}");
            Assert.AreEqual(new FileInfo(t.ModelPath).Length, t.ModelBytes);
        }
        Assert.AreEqual(2, events.Count(e => e.Event == ComparisonEvent.TrialStarted && e.Round == 0));
        Assert.AreEqual(1, events.Count(e => e.Event == ComparisonEvent.RoundFinished));

        // The best model works as a model.
        using (var best = result.LoadBest())
            Assert.AreEqual(winner.Family, best.Family.Name);
        Assert.IsTrue(File.Exists(Path.Combine(dir.Path, "leaderboard.csv")) && File.Exists(Path.Combine(dir.Path, "leaderboard.json")));
        Assert.AreEqual(3, File.ReadAllLines(Path.Combine(dir.Path, "leaderboard.csv")).Length, "a header and one row per candidate");

        // A rerun in the same folder finds everything done: nothing is trained again.
        var stamp = File.GetLastWriteTimeUtc(winner.ModelPath);
        events.Clear();
        var again = new ModelComparison(options).Run(TinyDataset.Shared.Train(), TinyDataset.Shared.Validation());
        Assert.AreEqual(0, events.Count(e => e.Event == ComparisonEvent.TrialStarted));
        Assert.AreEqual(stamp, File.GetLastWriteTimeUtc(winner.ModelPath));
        Assert.AreEqual(result.Leaderboard.ToCsv(), again.Leaderboard.ToCsv());

        // Another comparison in that folder is refused, naming both.
        var other = options with { Budget = TimeSpan.FromSeconds(61) };
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() => new ModelComparison(other).Run(TinyDataset.Shared.Train(), TinyDataset.Shared.Validation())).Message,
            "holds another comparison");
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
