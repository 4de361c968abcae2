using System.Text.Json;
using MLNetSeg.Cli;
using MLNetSeg.Evaluation.Tests.Coco;

namespace MLNetSeg.Cli.Tests;

/// <summary>`mlnetseg eval` run in-process through CliApp.Run; numbers checked against the pycocotools fixtures.</summary>
[TestClass]
public sealed class EvalCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [TestMethod]
    public void Json_HasPycocotoolsStatsAndPerCategoryAp()
    {
        var expected = PycocotoolsExpectation.Load("category_gaps.bbox");
        var (code, output, errors) = Run("eval", "--gt", expected.GtPath, "--dt", expected.DtPath, "--iou-type", "bbox", "--json");

        Assert.AreEqual(0, code, errors);
        using var doc = JsonDocument.Parse(output);
        var stats = doc.RootElement.GetProperty("stats").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        CollectionAssert.AreEqual(expected.Stats, stats, "stats in pycocotools order, exact (json doubles round-trip)");
        var perCategory = doc.RootElement.GetProperty("per_category_ap").EnumerateArray()
            .Select(e => (e.GetProperty("category_id").GetInt64(), e.GetProperty("ap").GetDouble())).ToArray();
        CollectionAssert.AreEqual(expected.PerCategoryAp, perCategory);
        StringAssert.Contains(errors, "warning", "unknown category ids are reported on stderr");
    }

    [TestMethod]
    public void Table_IsPycocotoolsSummary()
    {
        var expected = PycocotoolsExpectation.Load("medium_keypoints.keypoints");
        var (code, output, errors) = Run("eval", "--gt", expected.GtPath, "--dt", expected.DtPath, "--iou-type", "keypoints");

        Assert.AreEqual(0, code, errors);
        StringAssert.StartsWith(output, expected.Summary);
    }

    [TestMethod]
    public void KeypointSigmas_EvaluateAnotherKeypointSetAsPycocotools()
    {
        // A 5-keypoint category; pycocotools ran with kpt_oks_sigmas = fixture sigmas / 10.
        var expected = PycocotoolsExpectation.Load("custom_keypoints.keypoints");
        var sigmas = string.Join(",", expected.Sigmas!.Select(s => (s / 10.0).ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        var (code, output, errors) = Run("eval", "--gt", expected.GtPath, "--dt", expected.DtPath, "--iou-type", "keypoints",
            "--keypoint-sigmas", sigmas, "--json");
        Assert.AreEqual(0, code, errors);
        using var doc = JsonDocument.Parse(output);
        CollectionAssert.AreEqual(expected.Stats, doc.RootElement.GetProperty("stats").EnumerateArray().Select(e => e.GetDouble()).ToArray());

        var (badCode, _, badErrors) = Run("eval", "--gt", expected.GtPath, "--dt", expected.DtPath, "--iou-type", "keypoints",
            "--keypoint-sigmas", "0.05,-1,0.08,0.1,0.04");
        Assert.AreEqual(2, badCode);
        StringAssert.Contains(badErrors, "'-1' (value 2) is not a positive number");
        var (noSigmas, _, noSigmaErrors) = Run("eval", "--gt", expected.GtPath, "--dt", expected.DtPath, "--iou-type", "keypoints");
        Assert.AreEqual(2, noSigmas, "5 keypoints without sigmas: the COCO person sigmas do not fit");
        StringAssert.Contains(noSigmaErrors, "sigma");
    }

    [TestMethod]
    public void MissingFile_ExitsWith2AndNamesIt()
    {
        var expected = PycocotoolsExpectation.Load("ties.bbox");
        var (code, _, errors) = Run("eval", "--gt", expected.GtPath, "--dt", "/nonexistent/dt.json", "--iou-type", "bbox");

        Assert.AreEqual(2, code);
        StringAssert.Contains(errors, "/nonexistent/dt.json");
    }

    [TestMethod]
    public void MalformedJson_ExitsWith2WithLineAndByte()
    {
        var expected = PycocotoolsExpectation.Load("ties.bbox");
        string bad = Path.Combine(Path.GetTempPath(), $"mlnetseg-bad-{Guid.NewGuid():N}.json");
        File.WriteAllText(bad, "[\n  {\"image_id\": 1,\n   \"category_id\": 1 \"score\": 0.5}\n]");
        try
        {
            var (code, _, errors) = Run("eval", "--gt", expected.GtPath, "--dt", bad, "--iou-type", "bbox");
            Assert.AreEqual(2, code);
            StringAssert.Contains(errors, $"{bad}: malformed JSON at line 3, byte 21");
        }
        finally
        {
            File.Delete(bad);
        }
    }

    [TestMethod]
    public void ResultsGivenAsGroundTruth_ExitsWith2()
    {
        var expected = PycocotoolsExpectation.Load("ties.bbox");
        var (code, _, errors) = Run("eval", "--gt", expected.DtPath, "--dt", expected.DtPath, "--iou-type", "bbox");

        Assert.AreEqual(2, code);
        StringAssert.Contains(errors, "got a list (is this a results file?)");
    }

    [TestMethod]
    public void UnknownIouType_ExitsWith2()
    {
        var expected = PycocotoolsExpectation.Load("ties.bbox");
        var (code, _, errors) = Run("eval", "--gt", expected.GtPath, "--dt", expected.DtPath, "--iou-type", "masks");

        Assert.AreEqual(2, code);
        StringAssert.Contains(errors, "masks");
    }
}
