using MLNetSeg.Vision.Structures;
using System.Text.Json;
using MLNetSeg.Evaluation.Panoptic;
using MLNetSeg.Evaluation.Tests.Semantic;

namespace MLNetSeg.Evaluation.Tests.Panoptic;

/// <summary>
/// PanopticQualityEvaluator against panopticapi's pq_compute_single_core + pq_average run on the
/// same segment maps (tests/fixtures/panoptic, from tools/fixtures/gen_semseg.py). TP/FP/FN counts
/// must be identical; IoU sums and PQ/SQ/RQ agree within 1e-12 (same double operations in the same
/// order; the bound only allows for last-bit differences).
/// </summary>
[TestClass]
public class PanopticQualityEvaluatorTests
{
    private const double Tolerance = 1e-12;

    private static PanopticSegmentation Map(JsonElement e, string name) => new(
        e.GetProperty("height").GetInt32(), e.GetProperty("width").GetInt32(), SemanticFixtures.Int32s(e.GetProperty("ids")),
        e.GetProperty("segments").EnumerateArray().Select(s => new PanopticSegment(
            s.GetProperty("id").GetInt32(), s.GetProperty("category_id").GetInt32(), s.GetProperty("iscrowd").GetInt32() == 1)).ToArray(),
        name);

    private static PanopticCategory[] Categories(JsonElement fx) => fx.GetProperty("categories").EnumerateArray()
        .Select(c => new PanopticCategory(c.GetProperty("id").GetInt32(), c.GetProperty("name").GetString()!, c.GetProperty("isthing").GetInt32() == 1))
        .ToArray();

    [DataTestMethod]
    [DataRow("pq_random.json")]
    [DataRow("pq_edge_cases.json")]
    public void MatchesPanopticapi(string file)
    {
        var fx = SemanticFixtures.Load("panoptic", file);
        var evaluator = new PanopticQualityEvaluator(Categories(fx));
        int i = 0;
        foreach (var img in fx.GetProperty("images").EnumerateArray())
        {
            evaluator.Add(Map(img.GetProperty("gt"), $"gt {i}"), Map(img.GetProperty("pred"), $"pred {i}"), $"image {i}");
            i++;
        }
        Assert.IsTrue(i > 0, $"{file}: no images");
        var result = evaluator.Compute();

        int counted = 0, classes = 0;
        foreach (var kv in fx.GetProperty("per_category_counts").EnumerateObject())
        {
            counted++;
            var r = result.PerClass[int.Parse(kv.Name)];
            Assert.AreEqual(kv.Value.GetProperty("tp").GetInt32(), r.Tp, $"category {kv.Name} TP");
            Assert.AreEqual(kv.Value.GetProperty("fp").GetInt32(), r.Fp, $"category {kv.Name} FP");
            Assert.AreEqual(kv.Value.GetProperty("fn").GetInt32(), r.Fn, $"category {kv.Name} FN");
            Assert.AreEqual(kv.Value.GetProperty("iou").GetDouble(), r.IouSum, Tolerance, $"category {kv.Name} IoU sum");
        }
        var expected = fx.GetProperty("expected");
        foreach (var kv in expected.GetProperty("per_class").EnumerateObject())
        {
            classes++;
            var r = result.PerClass[int.Parse(kv.Name)];
            Assert.AreEqual(kv.Value.GetProperty("pq").GetDouble(), r.Pq, Tolerance, $"category {kv.Name} PQ");
            Assert.AreEqual(kv.Value.GetProperty("sq").GetDouble(), r.Sq, Tolerance, $"category {kv.Name} SQ");
            Assert.AreEqual(kv.Value.GetProperty("rq").GetDouble(), r.Rq, Tolerance, $"category {kv.Name} RQ");
        }
        Assert.IsTrue(counted > 0 && classes > 0, $"{file}: {counted} per-category counts and {classes} per-class results to compare");
        foreach (var (name, summary) in new[] { ("All", result.All), ("Things", result.Things), ("Stuff", result.Stuff) })
        {
            var e = expected.GetProperty(name);
            Assert.AreEqual(e.GetProperty("n").GetInt32(), summary.N, $"{name} N");
            SemanticFixtures.AreClose(SemanticFixtures.Number(e.GetProperty("pq")), summary.Pq, Tolerance, $"{name} PQ");
            SemanticFixtures.AreClose(SemanticFixtures.Number(e.GetProperty("sq")), summary.Sq, Tolerance, $"{name} SQ");
            SemanticFixtures.AreClose(SemanticFixtures.Number(e.GetProperty("rq")), summary.Rq, Tolerance, $"{name} RQ");
        }
    }

    [TestMethod]
    public void EdgeCasesFollowPanopticapisRules()
    {
        // The counts panopticapi produced for the hand-laid image (see gen_semseg.py's
        // panoptic_edge_fixture for the layout), checked here against our evaluator by name.
        var fx = SemanticFixtures.Load("panoptic", "pq_edge_cases.json");
        var evaluator = new PanopticQualityEvaluator(Categories(fx));
        var images = fx.GetProperty("images").EnumerateArray().ToArray();
        evaluator.Add(Map(images[0].GetProperty("gt"), "gt"), Map(images[0].GetProperty("pred"), "pred"));
        var r = evaluator.Compute().PerClass;
        Assert.AreEqual((1, 1, 0), (r[1].Tp, r[1].Fp, r[1].Fn), "person: one match via void-trimmed union; a prediction inside the first crowd is still an FP");
        Assert.AreEqual(10.0 / 12.0, r[1].IouSum, 1e-15);
        Assert.AreEqual((1, 1, 1), (r[3].Tp, r[3].Fp, r[3].Fn), "car: IoU exactly 0.5 is not a match");
        Assert.AreEqual((1, 0, 0), (r[7].Tp, r[7].Fp, r[7].Fn), "dog: a prediction lying on void is ignored");
        Assert.AreEqual((0, 1, 1), (r[101].Tp, r[101].Fp, r[101].Fn), "road: IoU 0.5 again");
        Assert.AreEqual((0, 0, 0, 0.0), (r[50].Tp, r[50].Fp, r[50].Fn, r[50].Pq), "unseen category");
    }

    [TestMethod]
    public void ReadsPanopticapiPngs()
    {
        var fx = SemanticFixtures.Load("panoptic", "pq_random.json");
        var img = fx.GetProperty("images")[0];
        foreach (var which in new[] { "gt", "pred" })
        {
            var expected = Map(img.GetProperty(which), which);
            var read = PanopticSegmentation.FromPng(SemanticFixtures.PathOf("panoptic", $"image0_{which}.png"), expected.Segments);
            Assert.AreEqual(expected.Height, read.Height);
            CollectionAssert.AreEqual(expected.Ids.ToArray(), read.Ids.ToArray(), $"{which} ids decoded with rgb2id");
            CollectionAssert.AreEqual(expected.Ids.ToArray(), PanopticSegmentation.FromRgbImage(read.ToRgbImage(), read.Segments).Ids.ToArray(), "id2rgb round trip");
        }
    }

    [TestMethod]
    public void InconsistentInputsRaiseErrorsNamingImageAndSegment()
    {
        var cats = new[] { new PanopticCategory(1, "person", true), new PanopticCategory(2, "sky", false) };
        var evaluator = new PanopticQualityEvaluator(cats);
        var gt = new PanopticSegmentation(1, 3, [5, 5, 0], [new PanopticSegment(5, 1)]);
        var e = Assert.ThrowsException<ArgumentException>(() =>
            evaluator.Add(gt, new PanopticSegmentation(1, 3, [7, 8, 0], [new PanopticSegment(7, 1)]), "img-3"));
        StringAssert.Contains(e.Message, "img-3: predicted map contains segment id 8");
        e = Assert.ThrowsException<ArgumentException>(() =>
            evaluator.Add(gt, new PanopticSegmentation(1, 3, [7, 0, 0], [new PanopticSegment(7, 1), new PanopticSegment(9, 2)]), "img-4"));
        StringAssert.Contains(e.Message, "predicted segments 9 are listed but have no pixels");
        e = Assert.ThrowsException<ArgumentException>(() =>
            evaluator.Add(gt, new PanopticSegmentation(1, 3, [7, 0, 0], [new PanopticSegment(7, 42)]), "img-5"));
        StringAssert.Contains(e.Message, "unknown category id 42");
        e = Assert.ThrowsException<ArgumentException>(() =>
            evaluator.Add(new PanopticSegmentation(1, 3, [5, 6, 0], [new PanopticSegment(5, 1)]), gt, "img-6"));
        StringAssert.Contains(e.Message, "ground-truth map contains segment id 6");
        e = Assert.ThrowsException<ArgumentException>(() => new PanopticSegmentation(1, 2, [1, 1], [new PanopticSegment(1, 1), new PanopticSegment(1, 2)], "dup.png"));
        StringAssert.Contains(e.Message, "dup.png: segment id 1 is listed twice");
        Assert.AreEqual(0, evaluator.ImageCount);
        Assert.AreEqual(0, evaluator.Compute().All.N, "rejected images leave no counts");
    }
}
