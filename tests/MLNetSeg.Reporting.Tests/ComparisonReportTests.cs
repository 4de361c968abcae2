using System.Text.RegularExpressions;
using Microsoft.Playwright;
using MLNetSeg.Training.Comparison;

namespace MLNetSeg.Reporting.Tests;

/// <summary>
/// The comparison report of a real two-family comparison: its precision–recall curves agree with the COCO evaluation's own AP50,
/// the page is self-contained, and in a real headless browser (Debian's chromium driven by Playwright) it loads without console
/// errors, has one table row per candidate and per trial, and every image (charts and overlays) decodes. A screenshot is kept as
/// a test artifact.
/// </summary>
[TestClass]
public sealed class ComparisonReportTests
{
    private const string Chromium = "/usr/bin/chromium";

    public TestContext TestContext { get; set; } = null!;

    [ClassCleanup]
    public static void Cleanup() => ComparisonFixture.Cleanup();

    [TestMethod]
    public void PrecisionRecallCurvesAverageToTheEvaluationsAp50()
    {
        var result = ComparisonFixture.Result;
        var validation = TinyDataset.Shared.Validation();
        using var model = result.LoadBest();
        var predictions = Enumerable.Range(0, validation.Count).Select(i => model.Predict(validation.LoadImage(i))).ToArray();
        var ids = Enumerable.Range(0, validation.Count).Select(i => validation.ImageInfo(i).Id).ToArray();
        var evaluation = MLNetSeg.Training.ModelEvaluation.Score(validation, predictions, ids, model.Info, model.Model);
        foreach (var coco in new[] { evaluation.Bbox!, evaluation.Segm! })
        {
            var curve = PrecisionRecallCurve.From(coco, 0.5);
            Assert.AreEqual(101, curve.Recall.Count);
            Assert.AreEqual(0.0, curve.Recall[0]);
            Assert.AreEqual(1.0, curve.Recall[^1], 1e-12);
            // pycocotools' AP50 (stats[1]) is the mean of the same precisions over recall points and classes with ground truth.
            Assert.AreEqual(coco.Stats[1], curve.AveragePrecision, 1e-12, $"{coco.IouType}");
            for (int r = 1; r < curve.Precision.Count; r++)
                Assert.IsTrue(curve.Precision[r] <= curve.Precision[r - 1] + 1e-12, "COCO's interpolated precision never rises with recall");
        }
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() => PrecisionRecallCurve.From(evaluation.Segm!, 0.33)).Message, "no IoU threshold 0.33");
    }

    [TestMethod]
    public void TheReportIsOneFileWithEveryTrialAndEveryCandidate()
    {
        var result = ComparisonFixture.Result;
        string path = ComparisonReport.Write(result, TinyDataset.Shared.Validation(), new ComparisonReportOptions { OverlayImages = 3 });
        Assert.AreEqual(Path.Combine(result.Directory, ComparisonReport.FileName), path);
        string html = File.ReadAllText(path);
        // Self-contained: nothing is fetched (no script, no external stylesheet or image).
        Assert.IsFalse(Regex.IsMatch(html, @"(src|href)=""(?!data:)", RegexOptions.IgnoreCase), "every src/href is a data: URI");
        Assert.IsFalse(html.Contains("<script", StringComparison.OrdinalIgnoreCase));
        foreach (var row in result.Leaderboard.Rows) StringAssert.Contains(html, $"<td>{row.Candidate}</td>");
        Assert.AreEqual(3 * (result.Leaderboard.Rows.Count + 1), Regex.Matches(html, "<img class=\"overlay\"").Count, "3 images × (ground truth + each candidate)");
        Assert.AreEqual(3, Regex.Matches(html, "<img class=\"chart\"").Count, "loss, scores and precision–recall charts");
    }

    [TestMethod]
    public async Task TheReportRendersInAHeadlessBrowserWithoutErrors()
    {
        Assert.IsTrue(File.Exists(Chromium), $"{Chromium} is missing: tools/setup.sh installs Debian's chromium");
        var result = ComparisonFixture.Result;
        string path = ComparisonReport.Write(result, TinyDataset.Shared.Validation(), new ComparisonReportOptions { OverlayImages = 2 });

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // Root in a container, and a closed network: no sandbox, no background connections.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        var errors = new List<string>();
        page.Console += (_, message) => { if (message.Type is "error" or "warning") errors.Add($"console {message.Type}: {message.Text}"); };
        page.PageError += (_, error) => errors.Add($"page error: {error}");
        page.RequestFailed += (_, request) => errors.Add($"request failed: {request.Url}");

        var response = await page.GotoAsync(new Uri(path).AbsoluteUri, new PageGotoOptions { WaitUntil = WaitUntilState.Load });
        Assert.IsNotNull(response);
        Assert.IsTrue(response.Ok, $"status {response.Status}");

        Assert.AreEqual(result.Leaderboard.Rows.Count, await page.Locator("#leaderboard tbody tr").CountAsync(), "one leaderboard row per candidate");
        Assert.AreEqual(result.Leaderboard.Trials.Count, await page.Locator("#trials tbody tr").CountAsync(), "one row per trial");
        Assert.AreEqual(result.Leaderboard.Best.Candidate, await page.Locator("#leaderboard tbody tr.best td:nth-child(2)").InnerTextAsync());
        // Every image decoded: complete with a natural size (a broken data URI or SVG gives 0).
        var sizes = await page.EvaluateAsync<int[][]>("() => Array.from(document.images).map(i => [i.complete ? 1 : 0, i.naturalWidth, i.naturalHeight])");
        Assert.AreEqual(3 + 2 * (result.Leaderboard.Rows.Count + 1), sizes.Length);
        foreach (var s in sizes) Assert.IsTrue(s[0] == 1 && s[1] > 0 && s[2] > 0, $"an image did not render: [{string.Join(", ", s)}]");
        // The charts are drawn, not blank: ScottPlot's SVG has its title text and line paths.
        var chartTitles = await page.EvaluateAsync<string[]>("() => Array.from(document.querySelectorAll('img.chart')).map(i => atob(i.src.split(',')[1]))");
        StringAssert.Contains(chartTitles[0], "Training loss");
        StringAssert.Contains(chartTitles[2], "Precision");

        string shot = Path.Combine(TestContext.TestRunResultsDirectory ?? Path.GetTempPath(), "comparison-report.png");
        Directory.CreateDirectory(Path.GetDirectoryName(shot)!);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
        Assert.IsTrue(new FileInfo(shot).Length > 10_000, "the screenshot has content");
        TestContext.AddResultFile(shot);
        Assert.AreEqual(0, errors.Count, string.Join("\n", errors));
    }
}
