using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Evaluation;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Transforms.Tests.Evaluation;

/// <summary>Bad scored views raise an <see cref="ArgumentException"/> that names the column and the row.</summary>
[TestClass]
public sealed class CatalogInputTests
{
    private static readonly MLContext Ml = new(seed: 1);
    private static readonly string[] Classes = ["a", "b"];
    private const int H = 16, W = 20;

    private static string Rect(int x0, int y0, int x1, int y1)
    {
        var pixels = new byte[H * W];
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) pixels[y * W + x] = 1;
        return MaskEncoding.Encode(Rle.Encode(BitMask.FromRowMajor(H, W, pixels)));
    }

    /// <summary>Two images, three objects, predictions identical to the ground truth.</summary>
    private static ScoredRow[] Perfect() =>
    [
        new()
        {
            ImageId = 1, Width = W, Height = H, Label = [1, 2], BoundingBoxes = [0, 0, 5, 4, 10, 8, 18, 15],
            Masks = [Rect(0, 0, 5, 4), Rect(10, 8, 18, 15)], IsCrowd = [false, false], Area = [20, 56],
            PredictedLabel = [2, 1], Score = [0.9f, 0.8f], PredictedBoundingBoxes = [10, 8, 18, 15, 0, 0, 5, 4],
            PredictedMasks = [Rect(10, 8, 18, 15), Rect(0, 0, 5, 4)], PredictedSemanticLabels = new ushort[H * W],
        },
        new()
        {
            ImageId = 2, Width = W, Height = H, Label = [1], BoundingBoxes = [2, 3, 12, 9], Masks = [Rect(2, 3, 12, 9)],
            IsCrowd = [false], Area = [60], PredictedLabel = [1], Score = [0.7f], PredictedBoundingBoxes = [2, 3, 12, 9],
            PredictedMasks = [Rect(2, 3, 12, 9)], PredictedSemanticLabels = new ushort[H * W],
        },
    ];

    private static IDataView View(ScoredRow[] rows, params string[] drop)
    {
        var view = Ml.Data.LoadFromEnumerable(rows, ScoredSynthetic.SchemaDefinitionFor(Classes, null));
        return Ml.Transforms.DropColumns(["Keypoints", "PredictedKeypoints", "SemanticLabels", "PredictedSemanticLabels", .. drop]).Fit(view).Transform(view);
    }

    private static string Fails(IDataView view, SegmentationTasks? tasks = null, params string[] expected)
    {
        var e = Assert.ThrowsException<ArgumentException>(() => Ml.Segmentation().Evaluate(view, tasks: tasks));
        Console.WriteLine(e.Message);
        foreach (var part in expected) StringAssert.Contains(e.Message, part);
        return e.Message;
    }

    [TestMethod]
    public void PerfectPredictionsScoreOne()
    {
        var metrics = Ml.Segmentation().Evaluate(View(Perfect()));
        Assert.AreEqual(SegmentationTasks.Boxes | SegmentationTasks.Masks, metrics.Tasks);
        Assert.AreEqual(1.0, metrics.Box!.AP);
        Assert.AreEqual(1.0, metrics.Mask!.AP);
        Assert.AreEqual(-1.0, metrics.Box.APLarge, "no large object: pycocotools' −1");
        CollectionAssert.AreEqual(Classes, metrics.ClassNames.ToArray());
        StringAssert.Contains(metrics.ToTable(), "| a ");
    }

    [TestMethod]
    public void MissingColumnsAreNamed()
    {
        Fails(View(Perfect(), "Masks"), null, "'Masks'", "Masks evaluation");
        Fails(View(Perfect(), "Label"), null, "'Label'");
        Fails(View(Perfect(), "Score"), null, "'Score'");
        Fails(View(Perfect(), "Width"), SegmentationTasks.Masks, "'Width'", "masks");
        Fails(View(Perfect(), "PredictedBoundingBoxes", "PredictedMasks"), null, "none of the prediction columns");
        Fails(View(Perfect()), SegmentationTasks.Keypoints, "'Keypoints'");
        Fails(View(Perfect()), SegmentationTasks.Panoptic, "Panoptic");
        Fails(View(Perfect()), SegmentationTasks.Semantic, "'PredictedSemanticLabels'");
    }

    [TestMethod]
    public void WrongTypesAreNamed()
    {
        // Label without the key type: a plain Vector<UInt32>.
        var definition = ScoredSynthetic.SchemaDefinitionFor(Classes, null);
        definition[nameof(ScoredRow.Label)].ColumnType = new VectorDataViewType(NumberDataViewType.UInt32);
        var view = Ml.Data.LoadFromEnumerable(Perfect(), definition);
        Fails(view, SegmentationTasks.Boxes, "column 'Label' is Vector<UInt32>", "Vector<Key<UInt32>>");

        // Boxes as doubles, under the right name.
        var doubles = Ml.Transforms.Conversion.ConvertType("BoundingBoxes", outputKind: DataKind.Double).Fit(View(Perfect())).Transform(View(Perfect()));
        Fails(doubles, SegmentationTasks.Boxes, "column 'BoundingBoxes' is Vector<Double>", "Vector<Single>");
    }

    [TestMethod]
    public void LengthsThatDisagreeNameColumnAndRow()
    {
        var rows = Perfect();
        rows[1].Label = [1, 2, 1]; // 3 labels, 4 box values
        rows[1].BoundingBoxes = [2, 3, 12, 9, 1, 1, 2, 2];
        Fails(View(rows), SegmentationTasks.Boxes, "column 'BoundingBoxes', row 1 (ImageId 2)", "8 values", "column 'Label' has 3 objects", "4 per object");

        rows = Perfect();
        rows[0].Score = [0.9f];
        Fails(View(rows), SegmentationTasks.Boxes, "column 'Score', row 0 (ImageId 1)", "column 'PredictedLabel' has 2 detections");

        rows = Perfect();
        rows[0].Masks = [rows[0].Masks[0]];
        Fails(View(rows), SegmentationTasks.Masks, "column 'Masks', row 0", "has 2 objects");

        rows = Perfect();
        rows[1].PredictedSemanticLabels = new ushort[10];
        var semantic = Ml.Data.LoadFromEnumerable(rows, ScoredSynthetic.SchemaDefinitionFor(Classes, null));
        semantic = Ml.Transforms.DropColumns("Keypoints", "PredictedKeypoints", "SemanticLabels").Fit(semantic).Transform(semantic);
        Fails(semantic, SegmentationTasks.Semantic, "column 'PredictedSemanticLabels', row 1", "10 labels", "16x20");
    }

    [TestMethod]
    public void NaNsAndBadValuesNameColumnAndRow()
    {
        var rows = Perfect();
        rows[0].BoundingBoxes[5] = float.NaN;
        Fails(View(rows), SegmentationTasks.Boxes, "column 'BoundingBoxes', row 0 (ImageId 1)", "object 1", "NaN");

        rows = Perfect();
        rows[1].PredictedBoundingBoxes[2] = float.NaN;
        Fails(View(rows), SegmentationTasks.Boxes, "column 'PredictedBoundingBoxes', row 1", "detection 0", "finite");

        rows = Perfect();
        rows[0].Score[1] = float.NaN;
        Fails(View(rows), SegmentationTasks.Boxes, "column 'Score', row 0", "detection 1", "NaN");

        rows = Perfect();
        rows[0].BoundingBoxes = [5, 0, 0, 4, 10, 8, 18, 15]; // x1 < x0
        Fails(View(rows), SegmentationTasks.Boxes, "column 'BoundingBoxes', row 0", "x1 >= x0");

        rows = Perfect();
        rows[0].Area[0] = -1;
        Fails(View(rows), SegmentationTasks.Boxes, "column 'Area', row 0", "object 0");

        rows = Perfect();
        rows[0].Masks[1] = "not an RLE!";
        Fails(View(rows), SegmentationTasks.Masks, "column 'Masks', row 0", "object 1's mask");

        rows = Perfect();
        rows[1].Label = [0];
        Fails(View(rows), SegmentationTasks.Boxes, "column 'Label', row 1", "missing key");

        rows = Perfect();
        rows[1].ImageId = 1;
        Fails(View(rows), SegmentationTasks.Boxes, "column 'ImageId'", "rows 0 and 1");

        rows = Perfect();
        rows[0].Width = 0;
        Fails(View(rows), SegmentationTasks.Masks, "column 'Width', row 0");
    }

    [TestMethod]
    public void KeypointProblemsNameColumnAndRow()
    {
        ScoredRow[] WithKeypoints()
        {
            var rows = Perfect();
            foreach (var r in rows)
            {
                r.Keypoints = Enumerable.Range(0, r.Label.Length * 2).SelectMany(q => new float[] { 3 + q, 2 + q, 2 }).ToArray();
                r.PredictedKeypoints = Enumerable.Range(0, r.PredictedLabel.Length * 2).SelectMany(q => new float[] { 3 + q, 2 + q, 0.5f }).ToArray();
            }
            return rows;
        }
        IDataView KeypointView(ScoredRow[] rows)
        {
            var view = Ml.Data.LoadFromEnumerable(rows, ScoredSynthetic.SchemaDefinitionFor(Classes, ["p", "q"]));
            return Ml.Transforms.DropColumns("SemanticLabels", "PredictedSemanticLabels").Fit(view).Transform(view);
        }
        var options = new SegmentationEvaluationOptions { Coco = new() { KeypointSigmas = [0.05, 0.05] } };
        var fine = Ml.Segmentation().Evaluate(KeypointView(WithKeypoints()), tasks: SegmentationTasks.Keypoints, options: options);
        Assert.IsTrue(fine.Keypoints!.AP > 0, "sanity: keypoints close to the truth");

        var rows = WithKeypoints();
        rows[1].Keypoints[2] = 3;
        var e = Assert.ThrowsException<ArgumentException>(() => Ml.Segmentation().Evaluate(KeypointView(rows), tasks: SegmentationTasks.Keypoints, options: options));
        StringAssert.Contains(e.Message, "column 'Keypoints', row 1");
        StringAssert.Contains(e.Message, "visibility 3");

        rows = WithKeypoints();
        rows[0].PredictedKeypoints = rows[0].PredictedKeypoints[..^3];
        e = Assert.ThrowsException<ArgumentException>(() => Ml.Segmentation().Evaluate(KeypointView(rows), tasks: SegmentationTasks.Keypoints, options: options));
        StringAssert.Contains(e.Message, "column 'PredictedKeypoints', row 0");
        StringAssert.Contains(e.Message, "2 keypoints");
    }

    [TestMethod]
    public void PredictedKeysMustNameTheSameClasses()
    {
        var definition = ScoredSynthetic.SchemaDefinitionFor(Classes, null, predictedClassNames: ["b", "a"]);
        var view = Ml.Data.LoadFromEnumerable(Perfect(), definition);
        Fails(view, SegmentationTasks.Boxes, "key 1 is 'b' in column 'PredictedLabel' but 'a' in column 'Label'");
        definition = ScoredSynthetic.SchemaDefinitionFor(Classes, null, predictedClassNames: ["a", "b", "c"]);
        Fails(Ml.Data.LoadFromEnumerable(Perfect(), definition), SegmentationTasks.Boxes, "column 'PredictedLabel' has 3 keys but column 'Label' has 2");
    }

    [TestMethod]
    public void EmptyDataIsAnError() =>
        Fails(View([]), SegmentationTasks.Boxes, "no rows");
}
