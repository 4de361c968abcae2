using System.Xml.Linq;
using MLNetSeg.Cli;

using MLNetSeg.Training;

namespace MLNetSeg.Cli.Tests;

/// <summary><c>mlnetseg curve</c>: exit codes, the SVG it writes, and the named error for a malformed log.</summary>
[TestClass]
public sealed class CurveCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [TestMethod]
    public void CurveDrawsALogAndNamesTheLineOfABadOne()
    {
        using var dir = new TempDir();
        var run = Directory.CreateDirectory(dir.Sub("exp1")).FullName;
        var metrics = Path.Combine(run, MetricsLog.FileName);
        File.WriteAllLines(metrics, new[]
        {
            "{\"iteration\":20,\"elapsed_s\":10,\"lr\":0.02,\"images_per_s\":4,\"loss\":2.5,\"loss_classifier\":1.2,\"loss_mask\":0.7}",
            "{\"iteration\":40,\"elapsed_s\":20,\"lr\":0.02,\"images_per_s\":4,\"loss\":1.5,\"loss_classifier\":0.7,\"loss_mask\":0.5}",
            "{\"iteration\":40,\"elapsed_s\":25,\"bbox/AP\":0.02,\"segm/AP\":0.01}",
        });
        var svg = Path.Combine(dir.Path, "plots", "curve.svg");

        var (code, stdout, stderr) = Run("curve", "--metrics", metrics, "--out", svg);
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "2 logged iterations, 1 validations");
        var doc = XDocument.Load(svg);
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.AreEqual(5, doc.Descendants(ns + "polyline").Count(), "loss, loss_classifier, loss_mask, bbox/AP, segm/AP");
        Assert.IsTrue(doc.Descendants(ns + "text").Any(t => t.Value == "training curve: exp1"), "the default title names the run folder");

        (code, _, stderr) = Run("curve", "--metrics", metrics, "--out", svg, "--title", "Mask R-CNN R18");
        Assert.AreEqual(0, code, stderr);
        Assert.IsTrue(XDocument.Load(svg).Descendants(ns + "text").Any(t => t.Value == "Mask R-CNN R18"));

        File.AppendAllText(metrics, "{\"iteration\":60,\"elapsed_s\":30,\"loss\":oops}\n");
        (code, _, stderr) = Run("curve", "--metrics", metrics, "--out", svg);
        Assert.AreEqual(CliApp.InputError, code);
        StringAssert.Contains(stderr, $"mlnetseg curve: error: {metrics}:4: not valid json");

        (code, _, stderr) = Run("curve", "--metrics", dir.Sub("missing.jsonl"), "--out", svg);
        Assert.AreEqual(CliApp.InputError, code);
        StringAssert.Contains(stderr, "missing.jsonl");
    }
}
