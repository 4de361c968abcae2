using System.Globalization;
using System.Xml.Linq;

namespace MLNetSeg.Training.Tests.Metrics;

/// <summary>
/// The SVG of <see cref="LossCurve"/>: well-formed XML, one polyline per series with a point per
/// value that can be drawn, and the geometry a log-scale loss axis and a linear iteration axis imply.
/// Coordinates are written with one decimal, so differences of coordinates are compared within 0.15 px.
/// </summary>
[TestClass]
public sealed class LossCurveTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static MetricsRecord Training(long iteration, double loss, double classifier, double mask) =>
        new(iteration, iteration * 0.5, new Dictionary<string, double>
        {
            ["lr"] = 0.02, ["images_per_s"] = 4, ["loss"] = loss, ["loss_classifier"] = classifier, ["loss_mask"] = mask,
        });

    private static MetricsRecord Validation(long iteration, double bboxAp, double segmAp, double? validationLoss = null)
    {
        var values = new Dictionary<string, double> { ["bbox/AP"] = bboxAp, ["bbox/AP50"] = 0.9, ["segm/AP"] = segmAp };
        if (validationLoss is { } v) values["validation_loss"] = v;
        return new MetricsRecord(iteration, iteration * 0.5, values);
    }

    private static Dictionary<string, (double X, double Y)[]> Polylines(XDocument svg) =>
        svg.Descendants(Svg + "polyline").Where(p => (string?)p.Attribute("class") == "series").ToDictionary(
            p => (string)p.Attribute("data-series")!,
            p => ((string)p.Attribute("points")!).Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(xy => xy.Split(',')).Select(xy => (double.Parse(xy[0], CultureInfo.InvariantCulture), double.Parse(xy[1], CultureInfo.InvariantCulture)))
                .ToArray());

    [TestMethod]
    public void EverySeriesIsOnePolylineWithAPointPerDrawableValue()
    {
        var records = new List<MetricsRecord>
        {
            Training(20, 3.0, 1.5, 0.7),
            Training(40, 2.0, 1.0, 0.0),            // a zero loss cannot sit on a log axis: left out, said in the legend
            Validation(40, 0.01, -1, 2.5),          // segm/AP −1: no ground truth, left out
            Training(60, 1.0, 0.5, 0.5),
            Validation(60, 0.05, 0.04, 1.5),
        };
        var doc = XDocument.Parse(LossCurve.ToSvg(records, "run <a & b>"));

        var lines = Polylines(doc);
        CollectionAssert.AreEquivalent(new[] { "loss", "loss_classifier", "loss_mask", "validation_loss", "bbox/AP", "segm/AP" }, lines.Keys.ToArray(),
            "lr, images_per_s and bbox/AP50 are not drawn");
        Assert.AreEqual(3, lines["loss"].Length);
        Assert.AreEqual(3, lines["loss_classifier"].Length);
        Assert.AreEqual(2, lines["loss_mask"].Length);
        Assert.AreEqual(2, lines["validation_loss"].Length);
        Assert.AreEqual(2, lines["bbox/AP"].Length);
        Assert.AreEqual(1, lines["segm/AP"].Length);
        var markers = doc.Descendants(Svg + "circle").Where(c => (string?)c.Attribute("class") == "marker").ToArray();
        Assert.AreEqual(3, markers.Length, "one marker per AP value");
        Assert.AreEqual("bbox/AP 5.0% at iteration 60", markers.Select(m => m.Value).Single(t => t.StartsWith("bbox/AP 5.0", StringComparison.Ordinal)));

        var texts = doc.Descendants(Svg + "text").Select(t => t.Value).ToArray();
        CollectionAssert.Contains(texts, "run <a & b>", "the title, escaped in the file and intact after parsing");
        CollectionAssert.Contains(texts, "loss_mask (1 ≤ 0 not drawn)");
        CollectionAssert.Contains(texts, "loss (log scale)");
        CollectionAssert.Contains(texts, "validation AP (%)");
        Assert.AreEqual("7 4", (string?)doc.Descendants(Svg + "polyline").Single(p => (string?)p.Attribute("data-series") == "validation_loss").Attribute("stroke-dasharray"));
    }

    [TestMethod]
    public void LossesSitOnALogScaleAndIterationsOnALinearOne()
    {
        // 0.1, 1, 10 at evenly spaced iterations: on a log axis the points are evenly spaced in y too.
        var records = new[] { Training(100, 0.1, 0.05, 0.05), Training(200, 1, 0.5, 0.5), Training(300, 10, 5, 5), Validation(300, 0.2, 0.1) };
        var doc = XDocument.Parse(LossCurve.ToSvg(records, "t"));
        var total = Polylines(doc)["loss"];
        Assert.AreEqual(3, total.Length);
        double dx1 = total[1].X - total[0].X, dx2 = total[2].X - total[1].X;
        double dy1 = total[0].Y - total[1].Y, dy2 = total[1].Y - total[2].Y;
        Assert.IsTrue(dx1 > 10 && dy1 > 10, $"x grows with the iteration, y goes up with the loss: {dx1}, {dy1}");
        Assert.AreEqual(dx1, dx2, 0.15);
        Assert.AreEqual(dy1, dy2, 0.15, "equal ratios are equal distances on a log axis");
        // Halving a loss moves it down by log10(2) of a decade.
        var classifier = Polylines(doc)["loss_classifier"];
        Assert.AreEqual(Math.Log10(2) * dy1, classifier[1].Y - total[1].Y, 0.15);
        // The y ticks include the decades around the data.
        var ticks = doc.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "y-ticks").First().Elements(Svg + "text").Select(t => t.Value).ToArray();
        CollectionAssert.IsSubsetOf(new[] { "0.01", "0.1", "1", "10" }, ticks);
        // AP in percent: 20 % of bbox sits higher than 10 % of segm.
        Assert.IsTrue(Polylines(doc)["bbox/AP"][0].Y < Polylines(doc)["segm/AP"][0].Y);
    }

    [TestMethod]
    public void APanelWithoutDataIsLeftOutAndNothingToDrawIsAnError()
    {
        var lossOnly = XDocument.Parse(LossCurve.ToSvg(new[] { Training(1, 2, 1, 1), Training(2, 1.5, 0.75, 0.75) }, "t"));
        Assert.IsFalse(lossOnly.Descendants(Svg + "text").Any(t => t.Value == "validation AP (%)"));
        Assert.AreEqual(3, Polylines(lossOnly).Count);

        var ex = Assert.ThrowsException<ArgumentException>(() => LossCurve.ToSvg(new[] { new MetricsRecord(1, 0, new Dictionary<string, double> { ["lr"] = 0.1 }) }, "t"));
        StringAssert.Contains(ex.Message, "nothing to draw");
    }

    [TestMethod]
    public void WriteSvgCreatesTheFolder()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"mlnetseg-curve-{Guid.NewGuid():N}");
        try
        {
            var path = Path.Combine(dir, "sub", "curve.svg");
            LossCurve.WriteSvg(new[] { Training(1, 2, 1, 1) }, path, "t");
            Assert.AreEqual("svg", XDocument.Load(path).Root!.Name.LocalName);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
