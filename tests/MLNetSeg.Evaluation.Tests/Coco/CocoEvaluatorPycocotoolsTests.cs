using MLNetSeg.Evaluation.Coco;

namespace MLNetSeg.Evaluation.Tests.Coco;

/// <summary>
/// Our COCO evaluation against real pycocotools on crafted and random cases
/// (tests/fixtures/cocoeval, made by tools/fixtures/gen_cocoeval.py). Everything is compared bit
/// for bit (tolerance 0): stats, per-category AP, recall, precision and the printed summary. That
/// holds for keypoints too, although numpy 1.24 on AVX-512 CPUs computes exp with its own SIMD
/// routine (up to one ulp away from the C library's exp that .NET uses): OKS values only enter the
/// results through threshold comparisons, and precision/recall are ratios of integer counts. An OKS
/// within one ulp of a threshold could flip a match; none of these fixtures has one.
/// </summary>
[TestClass]
public sealed class CocoEvaluatorPycocotoolsTests
{
    private const double Exact = 0;

    private static CocoEvalResult Check(string name, double tolerance)
    {
        var expected = PycocotoolsExpectation.Load(name);
        var actual = expected.Evaluate();
        expected.AssertMatches(actual, tolerance);
        return actual;
    }

    [TestMethod]
    public void CrowdRegions_Bbox() => Check("crowd.bbox", Exact);

    [TestMethod]
    public void CrowdRegions_Segm_BoxResultsAreRasterisedAsPolygons() => Check("crowd.segm", Exact);

    [TestMethod]
    public void ImagesWithoutGroundTruth() => Check("images_without_gt.bbox", Exact);

    [TestMethod]
    public void CategoriesWithoutDetectionsOrGroundTruth_AndUnknownCategoryWarns()
    {
        var result = Check("category_gaps.bbox", Exact);
        Assert.AreEqual(0.0, result.PerCategoryAp.Single(c => c.CategoryId == 2).Ap, "gt without detections gives AP 0");
        Assert.AreEqual(-1.0, result.PerCategoryAp.Single(c => c.CategoryId == 3).Ap, "no gt gives -1");
        Assert.AreEqual(-1.0, result.PerCategoryAp.Single(c => c.CategoryId == 4).Ap, "no gt gives -1");
        Assert.AreEqual(1, result.Warnings.Count, string.Join("\n", result.Warnings));
        StringAssert.Contains(result.Warnings[0], "category ids that are not in");
        StringAssert.Contains(result.Warnings[0], "(99)");
    }

    [TestMethod]
    public void MoreThanHundredDetectionsOnAnImage() => Check("many_detections.bbox", Exact);

    [TestMethod]
    public void TiedScores_EqualIous_AndStopAtFirstIgnoredGroundTruth() => Check("ties.bbox", Exact);

    [TestMethod]
    public void AreaExactly32SquaredAnd96Squared_InclusiveRanges() => Check("area_boundaries.bbox", Exact);

    [TestMethod]
    public void GroundTruthIdZero_ReadsAsUnmatchedLikePycocotools()
    {
        var result = Check("gt_id_zero.bbox", Exact);
        Assert.IsTrue(result.Warnings.Any(w => w.Contains("id 0")), string.Join("\n", result.Warnings));
    }

    [TestMethod]
    public void Keypoints_VisibilityZero_NumKeypointsZero_Crowd() => Check("keypoints.keypoints", Exact);

    [TestMethod]
    public void KeypointResultsWithBoxes_UseBoxAreaLikeLoadRes() => Check("keypoints_with_boxes.keypoints", Exact);

    [TestMethod]
    public void CustomKeypointSetWithOwnSigmas() => Check("custom_keypoints.keypoints", Exact);

    [TestMethod]
    public void RandomMedium_Segm_MaskResults() => Check("medium.segm", Exact);

    [TestMethod]
    public void RandomMedium_Bbox_BoxesFromMaskResults() => Check("medium.bbox", Exact);

    [TestMethod]
    public void RandomMedium_Segm_ResultsWithBoxesAndMasks() => Check("medium_with_boxes.segm", Exact);

    [TestMethod]
    public void RandomMedium_Keypoints() => Check("medium_keypoints.keypoints", Exact);

    [TestMethod]
    public void LargestFixture_ReportsWallTime()
    {
        // Not a benchmark (no assertion on time): it records the wall time next to the fixture's
        // pycocotools time so regressions are visible in the test log.
        var expected = PycocotoolsExpectation.Load("medium.segm");
        expected.Evaluate(); // warm-up (JIT)
        var times = new List<double>();
        CocoEvalResult? result = null;
        for (int i = 0; i < 5; i++)
        {
            result = expected.Evaluate();
            times.Add(result.Elapsed.TotalMilliseconds);
        }
        expected.AssertMatches(result!, Exact);
        times.Sort();
        Console.WriteLine($"medium.segm: ours median {times[2]:F1} ms of 5 (evaluate+accumulate+summarize, this build), " +
                          $"pycocotools {expected.PycocotoolsSeconds * 1000:F1} ms (evaluate+accumulate) when the fixture was made");
    }
}
