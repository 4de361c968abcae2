using System.Globalization;
using MLNetSeg.Data.Coco;
using MLNetSeg.Evaluation.Coco;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Evaluation.Tests.Coco;

/// <summary>
/// Keypoint evaluation with user-given per-keypoint sigmas. Expected OKS values come from a slow
/// implementation of the COCO formula written here, OKS = Σ_i exp(−d_i² / (2 s² κ_i²)) δ(v_i &gt; 0) / Σ_i δ(v_i &gt; 0)
/// with s² the ground truth's area and κ_i = 2σ_i (pycocotools' computeOks; the tiny eps it adds to
/// the area is far below the tolerance). The real-pycocotools check of custom sigmas is
/// CocoEvaluatorPycocotoolsTests.CustomKeypointSetWithOwnSigmas.
/// </summary>
[TestClass]
public sealed class CustomKeypointSigmaTests
{
    private static readonly double[] Sigmas = { 0.02, 0.04, 0.06, 0.08, 0.10 };

    private const string HandCategory = """{"id": 7, "name": "hand", "keypoints": ["wrist", "thumb", "index", "middle", "pinky"]}""";

    /// <summary>The formula, one keypoint at a time, visible ground-truth keypoints only.</summary>
    private static double SlowOks(double[] dt, double[] gt, double area, double[] sigmas)
    {
        double sum = 0;
        int visible = 0;
        for (int i = 0; i < sigmas.Length; i++)
        {
            if (gt[3 * i + 2] <= 0) continue;
            double dx = dt[3 * i] - gt[3 * i], dy = dt[3 * i + 1] - gt[3 * i + 1];
            double kappa = 2 * sigmas[i];
            sum += Math.Exp(-(dx * dx + dy * dy) / (2 * area * kappa * kappa));
            visible++;
        }
        return sum / visible;
    }

    [TestMethod]
    public void OksOfOnePairMatchesTheFormula()
    {
        // Visible (v = 2 and v = 1) keypoints count; the v = 0 one does not, wherever the detection puts it.
        double[] gt = { 30, 30, 2, 40, 25, 1, 50, 50, 0, 45, 60, 2, 35, 65, 2 };
        double[] dt = { 32, 29, 1, 37, 27, 1, 90, 10, 1, 45, 66, 1, 35, 65, 1 };
        double expected = SlowOks(dt, gt, 900, Sigmas);
        double actual = new CocoOks(Sigmas).Compute(dt, gt, [20, 20, 30, 50], 900);
        Assert.AreEqual(expected, actual, 1e-12);
        Assert.IsTrue(expected is > 0.1 and < 0.9, $"a case away from the trivial ends ({expected})");
        // Reversed sigmas give another value: each sigma is used for its own keypoint.
        Assert.AreNotEqual(expected, new CocoOks(Sigmas.Reverse().ToArray()).Compute(dt, gt, [20, 20, 30, 50], 900), 1e-3);
    }

    [TestMethod]
    public void WithoutVisibleKeypointsOksMeasuresTheDistanceToTheEnlargedBox()
    {
        // Box [10, 10, 10, 10] enlarged by its size on each side: x and y in [0, 30]. Over all keypoints:
        // (35, 5) is 5 right of it, (−2, 40) is 2 left and 10 below, (15, 15) inside.
        double[] sigmas = { 0.05, 0.07, 0.09 };
        double[] gt = { 12, 12, 0, 14, 14, 0, 16, 16, 0 };
        double[] dt = { 35, 5, 1, -2, 40, 1, 15, 15, 1 };
        double area = 100;
        double[] d2 = { 5 * 5, 2 * 2 + 10 * 10, 0 };
        double expected = Enumerable.Range(0, 3).Average(i => Math.Exp(-d2[i] / (2 * area * Math.Pow(2 * sigmas[i], 2))));
        Assert.AreEqual(expected, new CocoOks(sigmas).Compute(dt, gt, [10, 10, 10, 10], area), 1e-12);
    }

    [TestMethod]
    public void RecallAtEachThresholdCountsThePairsWhoseHandComputedOksReachesIt()
    {
        // Three images, one hand each (area 1600), one detection each: the ground truth shifted in x.
        double[] baseKp = { 30, 30, 2, 40, 25, 2, 50, 30, 2, 55, 40, 2, 58, 50, 2 };
        double[][] gts = { baseKp, baseKp, (double[])baseKp.Clone() };
        gts[2][3 * 2 + 2] = 0; // image 3: the index finger is unlabelled
        double[][] shifts =
        {
            [3, 0, 0, 0, 0],        // 3 px on the wrist (smallest sigma)
            [0, 0, 0, 0, 10],       // 10 px on the pinky (largest sigma)
            [3.8, 3.8, 50, 3.8, 3.8], // 3.8 px everywhere; the unlabelled index finger far off
        };
        var dts = new double[3][];
        var oks = new double[3];
        for (int m = 0; m < 3; m++)
        {
            dts[m] = (double[])gts[m].Clone();
            for (int i = 0; i < 5; i++)
            {
                dts[m][3 * i] += shifts[m][i];
                dts[m][3 * i + 2] = 1;
            }
            oks[m] = SlowOks(dts[m], gts[m], 1600, Sigmas);
        }
        double[] thresholds = { 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95 };
        foreach (double o in oks)
            Assert.IsTrue(thresholds.All(t => Math.Abs(o - t) > 0.005), $"OKS {o} is clear of every threshold, so the count is robust");

        string images = string.Join(", ", Enumerable.Range(1, 3).Select(i => $$"""{"id": {{i}}, "width": 100, "height": 100}"""));
        string anns = string.Join(", ", Enumerable.Range(0, 3).Select(m =>
            $$"""{"id": {{m + 10}}, "image_id": {{m + 1}}, "category_id": 7, "bbox": [20, 20, 40, 40], "area": 1600, "iscrowd": 0, "keypoints": [{{Numbers(gts[m])}}], "num_keypoints": {{Enumerable.Range(0, 5).Count(i => gts[m][3 * i + 2] > 0)}}}"""));
        var gtDataset = CocoDataset.Parse($$"""{"images": [{{images}}], "categories": [{{HandCategory}}], "annotations": [{{anns}}]}""", "hands.json");
        string results = "[" + string.Join(", ", Enumerable.Range(0, 3).Select(m =>
            $$"""{"image_id": {{m + 1}}, "category_id": 7, "keypoints": [{{Numbers(dts[m])}}], "score": {{0.9 - 0.1 * m}}}""")) + "]";
        var result = CocoEvaluator.Evaluate(gtDataset, CocoResults.Parse(results, "dt.json"), CocoIouType.Keypoints,
                                            new CocoEvalOptions { KeypointSigmas = Sigmas });

        for (int t = 0; t < thresholds.Length; t++)
        {
            double expected = oks.Count(o => o >= thresholds[t]) / 3.0;
            Assert.AreEqual(expected, result.Recall[t, 0, 0, 0], 1e-12, $"recall at OKS {thresholds[t]} (hand OKS: {string.Join(", ", oks)})");
        }
        // The three values straddle several thresholds, so the check sees more than all-or-nothing.
        Assert.AreEqual(4, Enumerable.Range(0, thresholds.Length).Select(t => result.Recall[t, 0, 0, 0]).Distinct().Count());
    }

    private static string Numbers(double[] values) => string.Join(", ", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    private static CocoDataset FiveKeypointGroundTruth(string categories = HandCategory) => CocoDataset.Parse($$"""
        {"images": [{"id": 1, "width": 100, "height": 100}], "categories": [{{categories}}],
         "annotations": [{"id": 5, "image_id": 1, "category_id": 7, "bbox": [20, 20, 40, 40], "area": 1600, "iscrowd": 0,
                          "keypoints": [30, 30, 2, 40, 25, 2, 50, 30, 2, 55, 40, 2, 58, 50, 2], "num_keypoints": 5}]}
        """, "gt.json");

    private static CocoResults FiveKeypointResult() =>
        CocoResults.Parse("""[{"image_id": 1, "category_id": 7, "keypoints": [30, 30, 1, 40, 25, 1, 50, 30, 1, 55, 40, 1, 58, 50, 1], "score": 0.5}]""", "dt.json");

    [TestMethod]
    public void FiveKeypointsWithoutSigmasIsAnErrorAskingForThem()
    {
        var e = Assert.ThrowsException<ArgumentException>(() =>
            CocoEvaluator.Evaluate(FiveKeypointGroundTruth(), FiveKeypointResult(), CocoIouType.Keypoints));
        StringAssert.Contains(e.Message, "category 7 ('hand') of gt.json has 5 keypoints but no OKS sigmas are given");
        StringAssert.Contains(e.Message, "give 5 per-keypoint sigmas in CocoEvalOptions.KeypointSigmas");
        // A perfect detection with the sigmas given scores AP 1.
        var ok = CocoEvaluator.Evaluate(FiveKeypointGroundTruth(), FiveKeypointResult(), CocoIouType.Keypoints, new CocoEvalOptions { KeypointSigmas = Sigmas });
        Assert.AreEqual(1.0, ok.Stats[0], 1e-12, "AP of a perfect detection, up to float rounding in the averaging");
    }

    [TestMethod]
    public void SigmasOfTheWrongCountAreAnErrorNamingTheCategory()
    {
        var e = Assert.ThrowsException<ArgumentException>(() =>
            CocoEvaluator.Evaluate(FiveKeypointGroundTruth(), FiveKeypointResult(), CocoIouType.Keypoints,
                                   new CocoEvalOptions { KeypointSigmas = [0.1, 0.1, 0.1, 0.1] }));
        StringAssert.Contains(e.Message, "CocoEvalOptions.KeypointSigmas has 4 sigmas but category 7 ('hand') of gt.json has 5 keypoints");
        // A category left out of the evaluation is not checked.
        string two = HandCategory + """, {"id": 8, "name": "paw", "keypoints": ["a", "b", "c", "d"]}""";
        var restricted = CocoEvaluator.Evaluate(FiveKeypointGroundTruth(two), FiveKeypointResult(), CocoIouType.Keypoints,
                                                new CocoEvalOptions { KeypointSigmas = Sigmas, CategoryIds = [7] });
        Assert.AreEqual(1.0, restricted.Stats[0], 1e-12, "AP of a perfect detection, up to float rounding in the averaging");
        var both = Assert.ThrowsException<ArgumentException>(() => CocoEvaluator.Evaluate(FiveKeypointGroundTruth(two), FiveKeypointResult(),
                                                             CocoIouType.Keypoints, new CocoEvalOptions { KeypointSigmas = Sigmas }));
        StringAssert.Contains(both.Message, "category 8 ('paw') of gt.json has 4 keypoints");
    }

    [DataTestMethod]
    [DataRow(new[] { 0.1, 0.1, 0.0, 0.1, 0.1 }, "sigma 2 is 0")]
    [DataRow(new[] { 0.1, -0.1, 0.1, 0.1, 0.1 }, "sigma 1 is -0.1")]
    [DataRow(new[] { 0.1, 0.1, 0.1, 0.1, double.NaN }, "sigma 4 is NaN")]
    [DataRow(new double[0], "empty")]
    public void SigmasMustBePositive(double[] sigmas, string problem)
    {
        var e = Assert.ThrowsException<ArgumentException>(() =>
            CocoEvaluator.Evaluate(FiveKeypointGroundTruth(), FiveKeypointResult(), CocoIouType.Keypoints, new CocoEvalOptions { KeypointSigmas = sigmas }));
        StringAssert.Contains(e.Message, "CocoEvalOptions.KeypointSigmas");
        StringAssert.Contains(e.Message, problem);
        Assert.ThrowsException<ArgumentException>(() => new CocoOks(sigmas));
        Assert.ThrowsException<ArgumentException>(() => CocoEvalParams.For(CocoIouType.Keypoints, sigmas));
    }

    [TestMethod]
    public void UnnamedKeypointsOfAnotherCountFailAtTheirFirstAnnotation()
    {
        // Without a "keypoints" name list the count is only known from the annotations.
        var e = Assert.ThrowsException<CocoFormatException>(() =>
            CocoEvaluator.Evaluate(FiveKeypointGroundTruth("""{"id": 7, "name": "hand"}"""), FiveKeypointResult(), CocoIouType.Keypoints));
        StringAssert.StartsWith(e.Message, "gt.json: annotation 5 (image 1): 'keypoints' has 5 keypoints but there are 17 OKS sigmas");
        StringAssert.Contains(e.Message, "CocoEvalOptions.KeypointSigmas");
    }

    [TestMethod]
    public void SeventeenKeypointsThatAreNotCocoPersonAreScoredWithTheDefaultSigmasAndAWarning()
    {
        string names = string.Join(", ", Enumerable.Range(0, 17).Select(i => $"\"p{i}\""));
        string kp = string.Join(", ", Enumerable.Range(0, 17).Select(i => $"{20 + i}, 30, 2"));
        var gt = CocoDataset.Parse($$"""
            {"images": [{"id": 1, "width": 100, "height": 100}], "categories": [{"id": 1, "name": "thing", "keypoints": [{{names}}]}],
             "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": [20, 20, 40, 40], "area": 1600, "iscrowd": 0, "keypoints": [{{kp}}], "num_keypoints": 17}]}
            """, "gt17.json");
        var dt = CocoResults.Parse($$"""[{"image_id": 1, "category_id": 1, "keypoints": [{{kp}}], "score": 0.5}]""", "dt.json");
        var result = CocoEvaluator.Evaluate(gt, dt, CocoIouType.Keypoints);
        Assert.AreEqual(1.0, result.Stats[0], 1e-12, "AP of a perfect detection, up to float rounding in the averaging");
        Assert.AreEqual(1, result.Warnings.Count, string.Join("\n", result.Warnings));
        StringAssert.Contains(result.Warnings[0], "category 1 ('thing') of gt17.json has 17 keypoints that are not the COCO person ones");
        // The COCO person names themselves (any case) give no warning.
        string person = string.Join(", ", KeypointSchema.CocoPerson.Names.Select(n => $"\"{n.ToUpperInvariant()}\""));
        var personGt = CocoDataset.Parse($$"""
            {"images": [{"id": 1, "width": 100, "height": 100}], "categories": [{"id": 1, "name": "person", "keypoints": [{{person}}]}],
             "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": [20, 20, 40, 40], "area": 1600, "iscrowd": 0, "keypoints": [{{kp}}], "num_keypoints": 17}]}
            """, "gt17.json");
        Assert.AreEqual(0, CocoEvaluator.Evaluate(personGt, dt, CocoIouType.Keypoints).Warnings.Count);
    }
}
