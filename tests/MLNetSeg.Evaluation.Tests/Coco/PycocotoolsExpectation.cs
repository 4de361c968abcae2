using System.Text.Json;
using MLNetSeg.Data.Coco;
using MLNetSeg.Evaluation.Coco;

namespace MLNetSeg.Evaluation.Tests.Coco;

/// <summary>
/// One case of tests/fixtures/cocoeval: the ground truth and results files and what real
/// pycocotools computed for them (written by tools/fixtures/gen_cocoeval.py).
/// </summary>
internal sealed class PycocotoolsExpectation
{
    public static string FixturePath(string file) => Path.Combine(AppContext.BaseDirectory, "fixtures", "cocoeval", file);

    public required string Name { get; init; }
    public required string GtPath { get; init; }
    public required string DtPath { get; init; }
    public required CocoIouType IouType { get; init; }
    public double[]? Sigmas { get; init; }
    public required double[] Stats { get; init; }
    public required string Summary { get; init; }
    public required (long CategoryId, double Ap)[] PerCategoryAp { get; init; }
    public required JsonElement Recall { get; init; }                      // [T][K][A][M]
    public required JsonElement PrecisionAllAreaLastMaxDet { get; init; }  // [T][R][K]
    public required double[] IouThresholds { get; init; }
    public required double[] RecallThresholds { get; init; }
    public required double PycocotoolsSeconds { get; init; }

    public static PycocotoolsExpectation Load(string name)
    {
        var root = JsonDocument.Parse(File.ReadAllBytes(FixturePath(name + ".expected.json"))).RootElement;
        return new PycocotoolsExpectation
        {
            Name = name,
            GtPath = FixturePath(root.GetProperty("gt").GetString()!),
            DtPath = FixturePath(root.GetProperty("dt").GetString()!),
            IouType = root.GetProperty("iou_type").GetString() switch
            {
                "bbox" => CocoIouType.Bbox,
                "segm" => CocoIouType.Segm,
                _ => CocoIouType.Keypoints,
            },
            Sigmas = root.GetProperty("sigmas").ValueKind == JsonValueKind.Null ? null : Doubles(root.GetProperty("sigmas")),
            Stats = Doubles(root.GetProperty("stats")),
            Summary = root.GetProperty("summary").GetString()!,
            PerCategoryAp = root.GetProperty("per_category_ap").EnumerateArray()
                .Select(e => (e.GetProperty("category_id").GetInt64(), e.GetProperty("ap").GetDouble())).ToArray(),
            Recall = root.GetProperty("recall"),
            PrecisionAllAreaLastMaxDet = root.GetProperty("precision_all_area_last_maxdet"),
            IouThresholds = Doubles(root.GetProperty("iou_thresholds")),
            RecallThresholds = Doubles(root.GetProperty("recall_thresholds")),
            PycocotoolsSeconds = root.GetProperty("pycocotools_seconds").GetDouble(),
        };
    }

    /// <summary>Our evaluation of the same files; pycocotools' sigma literals are divided by 10 as it does.</summary>
    public CocoEvalResult Evaluate()
    {
        var options = new CocoEvalOptions { KeypointSigmas = Sigmas?.Select(s => s / 10.0).ToArray() };
        return CocoEvaluator.Evaluate(CocoDataset.Load(GtPath), CocoResults.Load(DtPath), IouType, options);
    }

    /// <summary>
    /// Compares everything the fixture holds. <paramref name="tolerance"/> 0 means bit-for-bit equality.
    /// </summary>
    public void AssertMatches(CocoEvalResult actual, double tolerance)
    {
        CollectionAssert.AreEqual(IouThresholds, actual.Params.IouThresholds.ToArray(), $"{Name}: IoU thresholds");
        CollectionAssert.AreEqual(RecallThresholds, actual.Params.RecallThresholds.ToArray(), $"{Name}: recall thresholds");

        Assert.AreEqual(Stats.Length, actual.Stats.Count, $"{Name}: number of stats");
        for (int i = 0; i < Stats.Length; i++)
            AssertClose(Stats[i], actual.Stats[i], tolerance, $"{Name}: stats[{i}] ({actual.StatNames[i]})");

        Assert.IsTrue(PerCategoryAp.Length > 0, $"{Name}: the fixture has no category AP to compare");
        Assert.AreEqual(PerCategoryAp.Length, actual.PerCategoryAp.Count, $"{Name}: number of categories");
        for (int k = 0; k < PerCategoryAp.Length; k++)
        {
            Assert.AreEqual(PerCategoryAp[k].CategoryId, actual.PerCategoryAp[k].CategoryId, $"{Name}: category order");
            AssertClose(PerCategoryAp[k].Ap, actual.PerCategoryAp[k].Ap, tolerance, $"{Name}: AP of category {PerCategoryAp[k].CategoryId}");
        }

        // Every level of the nested arrays must have the actual array's extent (and none may be
        // empty), so a truncated fixture or result cannot pass by comparing nothing.
        void SameExtent(int expected, Array array, int dimension, string what)
        {
            Assert.IsTrue(expected > 0, $"{Name}: the fixture's {what} is empty");
            Assert.AreEqual(array.GetLength(dimension), expected, $"{Name}: {what}");
        }
        int t = 0;
        foreach (var perT in Recall.EnumerateArray())
        {
            int k = 0;
            foreach (var perK in perT.EnumerateArray())
            {
                int a = 0;
                foreach (var perA in perK.EnumerateArray())
                {
                    int m = 0;
                    foreach (var v in perA.EnumerateArray())
                    {
                        AssertClose(v.GetDouble(), actual.Recall[t, k, a, m], tolerance, $"{Name}: recall[{t},{k},{a},{m}]");
                        m++;
                    }
                    SameExtent(m, actual.Recall, 3, $"recall[{t},{k},{a}] M");
                    a++;
                }
                SameExtent(a, actual.Recall, 2, $"recall[{t},{k}] A");
                k++;
            }
            SameExtent(k, actual.Recall, 1, $"recall[{t}] K");
            t++;
        }
        SameExtent(t, actual.Recall, 0, "recall T");

        int lastM = actual.Precision.GetLength(4) - 1;
        t = 0;
        foreach (var perT in PrecisionAllAreaLastMaxDet.EnumerateArray())
        {
            int r = 0;
            foreach (var perR in perT.EnumerateArray())
            {
                int k = 0;
                foreach (var v in perR.EnumerateArray())
                {
                    AssertClose(v.GetDouble(), actual.Precision[t, r, k, 0, lastM], tolerance, $"{Name}: precision[{t},{r},{k},all,{lastM}]");
                    k++;
                }
                SameExtent(k, actual.Precision, 2, $"precision[{t},{r}] K");
                r++;
            }
            SameExtent(r, actual.Precision, 1, $"precision[{t}] R");
            t++;
        }
        SameExtent(t, actual.Precision, 0, "precision T");

        if (tolerance == 0)
        {
            Assert.AreEqual(Summary, actual.SummaryText, $"{Name}: summary table");
        }
    }

    private static void AssertClose(double expected, double actual, double tolerance, string what)
    {
        if (tolerance == 0)
        {
            // Bit-for-bit: the same IEEE operations in the same order as numpy.
            Assert.AreEqual(BitConverter.DoubleToInt64Bits(expected), BitConverter.DoubleToInt64Bits(actual),
                $"{what}: expected {expected:R}, got {actual:R}");
        }
        else
        {
            Assert.AreEqual(expected, actual, tolerance, $"{what}: expected {expected:R}, got {actual:R}");
        }
    }

    private static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(e => e.GetDouble()).ToArray();
}
