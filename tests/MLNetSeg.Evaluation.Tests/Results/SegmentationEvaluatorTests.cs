using MLNetSeg.Data.Coco;
using MLNetSeg.Evaluation.Coco;
using MLNetSeg.Evaluation.Panoptic;
using MLNetSeg.Vision.Structures;
using static MLNetSeg.Evaluation.Tests.Results.CocoGroundTruthMapsTests;

namespace MLNetSeg.Evaluation.Tests.Results;

/// <summary>
/// The bridge from <see cref="SegmentationResult"/>s to every metric: COCO numbers identical to the
/// results-file path, semantic and panoptic numbers worked out by hand on tiny layouts, the flat
/// metric dictionary, the primary-metric rule, the table, and bad input named by image.
/// </summary>
[TestClass]
public sealed class SegmentationEvaluatorTests
{
    private const SegmentationTasks Instance = SegmentationTasks.Boxes | SegmentationTasks.Masks | SegmentationTasks.Keypoints;

    private static SegmentationResult[] Wrap(IEnumerable<Instances> instances) => instances.Select(i => new SegmentationResult(i)).ToArray();

    private static CocoEvalResult ViaStrings(CocoDataset gt, IReadOnlyList<Instances> predictions, IReadOnlyList<long> ids, CocoIouType type, IReadOnlyCollection<long>? images = null) =>
        CocoEvaluator.Evaluate(gt, BridgeData.AsCocoResults(predictions, ids, BridgeData.LabelToCategoryId, type), type, new CocoEvalOptions
        {
            ImageIds = images,
            KeypointSigmas = type == CocoIouType.Keypoints ? BridgeData.Sigmas : null,
            CategoryIds = type == CocoIouType.Keypoints ? [BridgeData.KeypointCategory] : null,
        });

    [TestMethod]
    public void CocoTasksEqualTheResultsFilePath_AndFillTheMetricDictionary()
    {
        var rng = new Random(42);
        var gt = BridgeData.Dataset(rng, 30);
        var (predictions, ids) = BridgeData.Predictions(rng, gt);
        var evaluation = SegmentationEvaluator.Evaluate(gt, Wrap(predictions), ids, BridgeData.LabelToCategoryId, Instance,
            new SegmentationEvaluationOptions { Coco = new CocoEvalOptions { KeypointSigmas = BridgeData.Sigmas } });

        BridgeData.AssertIdentical(ViaStrings(gt, predictions, ids, CocoIouType.Bbox), evaluation.Bbox!, "bbox");
        BridgeData.AssertIdentical(ViaStrings(gt, predictions, ids, CocoIouType.Segm), evaluation.Segm!, "segm");
        // Keypoint AP over the categories that define keypoints (7 only), without being told.
        BridgeData.AssertIdentical(ViaStrings(gt, predictions, ids, CocoIouType.Keypoints), evaluation.Keypoints!, "keypoints");
        CollectionAssert.AreEqual(new long[] { BridgeData.KeypointCategory }, evaluation.Keypoints!.CategoryIds.ToArray());

        Assert.AreEqual(Instance, evaluation.Tasks);
        Assert.AreEqual(30, evaluation.ImageCount);
        string[] boxStats = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"];
        string[] keypointStats = ["AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"];
        var expectedKeys = boxStats.Select(s => "bbox/" + s).Concat(boxStats.Select(s => "segm/" + s)).Concat(keypointStats.Select(s => "keypoints/" + s));
        CollectionAssert.AreEquivalent(expectedKeys.ToArray(), evaluation.Metrics.Keys.ToArray());
        for (int i = 0; i < 12; i++)
        {
            Assert.AreEqual(evaluation.Bbox!.Stats[i], evaluation.Metrics["bbox/" + boxStats[i]]);
            Assert.AreEqual(evaluation.Segm!.Stats[i], evaluation.Metrics["segm/" + boxStats[i]]);
        }
        for (int i = 0; i < 10; i++) Assert.AreEqual(evaluation.Keypoints.Stats[i], evaluation.Metrics["keypoints/" + keypointStats[i]]);
        Assert.AreEqual("segm/AP", evaluation.PrimaryMetricName);
        Assert.AreEqual(evaluation.Segm!.Stats[0], evaluation.PrimaryMetricValue);
        Assert.IsTrue(evaluation.Warnings.Any(w => w.Contains("(0, 99)")), string.Join("\n", evaluation.Warnings));
    }

    [TestMethod]
    public void OnlyPredictedImagesAreEvaluated_AndImageIdsRestrictFurther()
    {
        var rng = new Random(8);
        var gt = BridgeData.Dataset(rng, 25);
        var (predictions, ids) = BridgeData.Predictions(rng, gt);
        var someIds = ids.Take(12).ToArray();
        var some = predictions.Take(12).ToArray();

        var evaluation = SegmentationEvaluator.Evaluate(gt, Wrap(some), someIds, BridgeData.LabelToCategoryId, SegmentationTasks.Boxes | SegmentationTasks.Masks);
        BridgeData.AssertIdentical(ViaStrings(gt, some, someIds, CocoIouType.Bbox, someIds), evaluation.Bbox!, "bbox on the predicted images");
        BridgeData.AssertIdentical(ViaStrings(gt, some, someIds, CocoIouType.Segm, someIds), evaluation.Segm!, "segm on the predicted images");
        Assert.AreEqual(12, evaluation.Bbox!.ImageIds.Count);
        Assert.IsNull(evaluation.Keypoints);

        var five = someIds.Skip(3).Take(5).ToArray();
        var restricted = SegmentationEvaluator.Evaluate(gt, Wrap(some), someIds, BridgeData.LabelToCategoryId, SegmentationTasks.Boxes,
            new SegmentationEvaluationOptions { ImageIds = five });
        BridgeData.AssertIdentical(ViaStrings(gt, some, someIds, CocoIouType.Bbox, five), restricted.Bbox!, "bbox on five images");
        Assert.AreEqual(5, restricted.ImageCount);
        Assert.AreEqual("bbox/AP", restricted.PrimaryMetricName);
    }

    /// <summary>
    /// One 2×4 image, ground truth from COCO (category 1 = label 1 on the left half, a crowd pixel at
    /// (1, 3)), prediction [1 0 0 0 / 1 1 1 1]. By hand over the 7 labelled pixels: class 0 has 3 gt,
    /// 3 predicted, 2 correct: IoU 2/4, acc 2/3; class 1 has 4 gt, 4 predicted, 3 correct: IoU 3/5,
    /// acc 3/4; class 2 (category 3) has no pixels: left out. mIoU 0.55, fwIoU 0.5·3/7 + 0.6·4/7,
    /// mACC 17/24, pACC 5/7. The boundary band of a 2×4 image (d = 1) is every pixel, so each class's
    /// Boundary IoU equals its IoU and the mean is 0.55 too.
    /// </summary>
    [TestMethod]
    public void SemanticMetricsByHand_FromCocoAndFromGivenMaps()
    {
        var coco = new CocoDataset([new CocoImage { Id = 5, Height = 2, Width = 4 }],
            [new CocoCategory { Id = 1, Name = "a" }, new CocoCategory { Id = 3, Name = "b" }],
            [Ann(1, 5, 1, Drawn("##..", "##..")), Ann(2, 5, 1, Drawn("....", "...#"), crowd: true)]);
        var prediction = new SegmentationResult(null, new SemanticLabelMap(2, 4, [1, 0, 0, 0, 1, 1, 1, 1]));
        int[] labelToCategoryId = [0, 1, 3];

        void Check(SegmentationEvaluation e, string[] names)
        {
            var m = e.Metrics;
            Assert.AreEqual(0.55, m["sem_seg/mIoU"], 1e-15);
            Assert.AreEqual(0.5 * 3 / 7 + 0.6 * 4 / 7, m["sem_seg/fwIoU"], 1e-15);
            Assert.AreEqual(17.0 / 24, m["sem_seg/mACC"], 1e-15);
            Assert.AreEqual(5.0 / 7, m["sem_seg/pACC"], 1e-15);
            Assert.AreEqual(0.55, m["sem_seg/BoundaryIoU"], 1e-15);
            Assert.AreEqual(5, m.Count);
            Assert.IsTrue(double.IsNaN(e.Semantic!.ClassIou[2]));
            CollectionAssert.AreEqual(names, e.Semantic.ClassNames.ToArray());
            Assert.AreEqual("sem_seg/mIoU", e.PrimaryMetricName);
            Assert.AreEqual(SegmentationTasks.Semantic, e.Tasks);
        }
        Check(SegmentationEvaluator.Evaluate(coco, [prediction], [5], labelToCategoryId, SegmentationTasks.Semantic), ["__background__", "a", "b"]);

        // The same ground truth given as a map, without any COCO dataset.
        var given = new SegmentationGroundTruth { SemanticMaps = id => id == 5 ? new SemanticLabelMap(2, 4, [1, 1, 0, 0, 1, 1, 0, 255]) : throw new KeyNotFoundException() };
        var fromMaps = SegmentationEvaluator.Evaluate(given, [prediction], [5], labelToCategoryId, SegmentationTasks.Semantic,
            new SegmentationEvaluationOptions { ClassNames = ["bg", "a", "b"] });
        Check(fromMaps, ["bg", "a", "b"]);
    }

    /// <summary>
    /// One 10×10 image: ground-truth things A (rows 0–4, cols 0–4, 25 px) and B (rows 6–9, cols 6–9),
    /// both category 1. Predicted: segment 7 inside A (rows 0–4, cols 0–3: IoU 20/25 = 0.8, a TP);
    /// segment 9 on unannotated pixels (rows 6–7, cols 0–2); segment 4 labelled background. B is missed.
    /// Unannotated pixels as background: segment 9 is a false positive, so PQ = 0.8 / (1 + ½ + ½) = 0.4,
    /// SQ 0.8, RQ 0.5. As void: it lies wholly on void, so it is no FP: RQ = 1 / 1.5, PQ = 0.8 / 1.5.
    /// Category 3 has no TP, FP or FN and is left out; there is no stuff category (−1 in the dictionary).
    /// </summary>
    [TestMethod]
    public void PanopticQualityByHand_UnlabelledAsBackgroundOrVoid()
    {
        var blank = Enumerable.Repeat("..........", 10).ToArray();
        string[] Rect(int y0, int y1, int x0, int x1) => blank.Select((row, y) =>
            y >= y0 && y <= y1 ? string.Concat(row.Select((c, x) => x >= x0 && x <= x1 ? '#' : '.')) : row).ToArray();
        var coco = new CocoDataset([new CocoImage { Id = 6, Height = 10, Width = 10 }],
            [new CocoCategory { Id = 1, Name = "a" }, new CocoCategory { Id = 3, Name = "b" }],
            [Ann(1, 6, 1, Drawn(Rect(0, 4, 0, 4))), Ann(2, 6, 1, Drawn(Rect(6, 9, 6, 9)))]);
        var ids = new int[100];
        for (int y = 0; y < 10; y++)
            for (int x = 0; x < 10; x++)
                ids[y * 10 + x] = y <= 4 && x <= 3 ? 7 : y is 6 or 7 && x <= 2 ? 9 : y >= 8 && x <= 1 ? 4 : 0;
        var prediction = new SegmentationResult(null, panoptic: new PanopticSegmentation(10, 10, ids,
            [new PanopticSegment(7, 1), new PanopticSegment(9, 1), new PanopticSegment(4, 0)]));
        int[] labelToCategoryId = [0, 1, 3];

        var background = SegmentationEvaluator.Evaluate(coco, [prediction], [6], labelToCategoryId, SegmentationTasks.Panoptic);
        var r = background.Panoptic!.PerClass[1];
        Assert.AreEqual((1, 1, 1), (r.Tp, r.Fp, r.Fn));
        Assert.AreEqual(0.4, background.Metrics["panoptic_seg/PQ"], 1e-15);
        Assert.AreEqual(0.8, background.Metrics["panoptic_seg/SQ"], 1e-15);
        Assert.AreEqual(0.5, background.Metrics["panoptic_seg/RQ"], 1e-15);
        Assert.AreEqual(0.4, background.Metrics["panoptic_seg/PQ_th"], 1e-15);
        Assert.AreEqual(-1, background.Metrics["panoptic_seg/PQ_st"]);
        Assert.AreEqual(1, background.Panoptic.All.N);
        Assert.IsFalse(background.Panoptic.PerClass.ContainsKey(CocoGroundTruthMaps.UnlabelledCategoryId), "the unlabelled category is not scored");
        CollectionAssert.AreEquivalent(new[] { "PQ", "SQ", "RQ", "PQ_th", "SQ_th", "RQ_th", "PQ_st", "SQ_st", "RQ_st" }.Select(k => "panoptic_seg/" + k).ToArray(),
            background.Metrics.Keys.ToArray());
        Assert.AreEqual("panoptic_seg/PQ", background.PrimaryMetricName);

        var asVoid = SegmentationEvaluator.Evaluate(coco, [prediction], [6], labelToCategoryId, SegmentationTasks.Panoptic,
            new SegmentationEvaluationOptions { PanopticUnlabelledAsVoid = true });
        r = asVoid.Panoptic!.PerClass[1];
        Assert.AreEqual((1, 0, 1), (r.Tp, r.Fp, r.Fn));
        Assert.AreEqual(0.8 / 1.5, asVoid.Metrics["panoptic_seg/PQ"], 1e-15);
        Assert.AreEqual(1 / 1.5, asVoid.Metrics["panoptic_seg/RQ"], 1e-15);
    }

    /// <summary>
    /// Given panoptic ground truth in COCO category ids with a stuff category: a 4×4 image, thing
    /// (category 1) on the left half, stuff (category 50) on the right half. The prediction has the
    /// thing exactly (label 1) and the stuff (label 2) less two void pixels: IoU 6/8. By hand: PQ_th 1,
    /// PQ_st 0.75, PQ 0.875.
    /// </summary>
    [TestMethod]
    public void PanopticAgainstGivenMapsWithStuff()
    {
        int[] gtIds = [1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2];
        int[] predIds = [3, 3, 4, 4, 3, 3, 4, 4, 3, 3, 4, 0, 3, 3, 4, 0];
        var truth = new SegmentationGroundTruth
        {
            PanopticMaps = id => new PanopticSegmentation(4, 4, gtIds, [new PanopticSegment(1, 1), new PanopticSegment(2, 50)]),
            PanopticCategories = [new PanopticCategory(1, "thing", IsThing: true), new PanopticCategory(50, "stuff", IsThing: false)],
        };
        var prediction = new SegmentationResult(null, panoptic: new PanopticSegmentation(4, 4, predIds, [new PanopticSegment(3, 1), new PanopticSegment(4, 2)]));
        var e = SegmentationEvaluator.Evaluate(truth, [prediction], [1], [0, 1, 50], SegmentationTasks.Panoptic);
        Assert.AreEqual(1.0, e.Metrics["panoptic_seg/PQ_th"], 1e-15);
        Assert.AreEqual(0.75, e.Metrics["panoptic_seg/PQ_st"], 1e-15);
        Assert.AreEqual(0.875, e.Metrics["panoptic_seg/PQ"], 1e-15);
        Assert.AreEqual(0.75, e.Metrics["panoptic_seg/SQ_st"], 1e-15);
        Assert.AreEqual(1.0, e.Metrics["panoptic_seg/RQ_st"], 1e-15);
    }

    [TestMethod]
    public void EveryTaskAtOnce_TableAndPrimaryMetric()
    {
        var coco = Layout();
        var semantic = new CocoGroundTruthMaps(coco, LabelToCategoryId).Semantic(1);
        var truth = new CocoGroundTruthMaps(coco).Panoptic(1);
        // A perfect panoptic prediction: the ground truth's things, with labels for categories.
        var labelOf = new Dictionary<int, int> { [1] = 2, [2] = 1 };
        var keep = truth.Segments.Where(s => !s.IsCrowd && labelOf.ContainsKey(s.CategoryId)).ToDictionary(s => s.Id);
        var ids = truth.Ids.ToArray().Select(id => keep.ContainsKey(id) ? id : 0).ToArray();
        var panoptic = new PanopticSegmentation(6, 8, ids, keep.Values.Select(s => new PanopticSegment(s.Id, labelOf[s.CategoryId])).ToArray());
        var predictedLabels = semantic.Labels.ToArray().Select(l => l == 255 ? 0 : l).ToArray();
        var instances = new Instances(6, 8, Boxes.FromXyxy([0, 0, 4, 3]), [2], [0.9f], [BridgeData.Rectangle(6, 8, 0, 0, 3, 4)]);
        var result = new SegmentationResult(instances, new SemanticLabelMap(6, 8, predictedLabels), panoptic);
        var all = SegmentationTasks.Boxes | SegmentationTasks.Masks | SegmentationTasks.Semantic | SegmentationTasks.Panoptic;

        var e = SegmentationEvaluator.Evaluate(coco, [result], [1], LabelToCategoryId, all, new SegmentationEvaluationOptions { ImageIds = [1] });
        Assert.AreEqual(all, e.Tasks);
        Assert.AreEqual(1.0, e.Metrics["sem_seg/pACC"], "labelled pixels predicted exactly");
        // Categories 1 and 2 are predicted perfectly; category 5 (no label maps to it) is a missed
        // segment, so it scores 0 and the average over the three is 2/3.
        Assert.AreEqual((1.0, 1.0), (e.Panoptic!.PerClass[1].Pq, e.Panoptic.PerClass[2].Pq));
        Assert.AreEqual((0, 0, 1), (e.Panoptic.PerClass[5].Tp, e.Panoptic.PerClass[5].Fp, e.Panoptic.PerClass[5].Fn));
        Assert.AreEqual(2.0 / 3, e.Metrics["panoptic_seg/PQ"], 1e-15);
        Assert.AreEqual("segm/AP", e.PrimaryMetricName);
        var table = e.ToTable();
        StringAssert.Contains(table, "| iou type | ");
        StringAssert.Contains(table, "| bbox     | ");
        StringAssert.Contains(table, "| segm     | ");
        StringAssert.Contains(table, "| task    |  mIoU | fwIoU |  mACC |  pACC | BoundaryIoU |");
        StringAssert.Contains(table, "| sem_seg | 100.0 | 100.0 | 100.0 | 100.0 |       100.0 |");
        StringAssert.Contains(table, "| panoptic_seg |   PQ |   SQ |   RQ | #categories |");
        StringAssert.Contains(table, "| All          | 66.7 | 66.7 | 66.7 |           3 |");
        StringAssert.Contains(table, "| Stuff        |  nan |  nan |  nan |           0 |");
        Assert.AreEqual(table, e.ToString());
        Assert.IsTrue(e.Warnings.Any(w => w.Contains("no label maps to (5)")), string.Join("\n", e.Warnings));
    }

    [TestMethod]
    public void PrimaryMetricRule()
    {
        Assert.AreEqual("segm/AP", SegmentationEvaluation.PrimaryMetric(SegmentationTasks.Boxes | SegmentationTasks.Masks | SegmentationTasks.Semantic | SegmentationTasks.Panoptic));
        Assert.AreEqual("segm/AP", SegmentationEvaluation.PrimaryMetric(SegmentationTasks.Masks | SegmentationTasks.Keypoints));
        Assert.AreEqual("keypoints/AP", SegmentationEvaluation.PrimaryMetric(SegmentationTasks.Boxes | SegmentationTasks.Keypoints));
        Assert.AreEqual("bbox/AP", SegmentationEvaluation.PrimaryMetric(SegmentationTasks.Boxes | SegmentationTasks.Semantic));
        Assert.AreEqual("panoptic_seg/PQ", SegmentationEvaluation.PrimaryMetric(SegmentationTasks.Semantic | SegmentationTasks.Panoptic));
        Assert.AreEqual("sem_seg/mIoU", SegmentationEvaluation.PrimaryMetric(SegmentationTasks.Semantic));
        Assert.ThrowsException<ArgumentException>(() => SegmentationEvaluation.PrimaryMetric(SegmentationTasks.None));
    }

    [TestMethod]
    public void BadInputNamesTheImage()
    {
        var rng = new Random(9);
        var gt = BridgeData.Dataset(rng, 5);
        var (predictions, ids) = BridgeData.Predictions(rng, gt);
        var results = Wrap(predictions);
        var map = BridgeData.LabelToCategoryId;
        ArgumentException Fails(Action a) => Assert.ThrowsException<ArgumentException>(a);

        StringAssert.Contains(Fails(() => SegmentationEvaluator.Evaluate(gt, results, ids.Take(4).ToArray(), map, SegmentationTasks.Boxes)).Message,
            "5 results but 4 image ids");

        int bad = Array.FindIndex(predictions, q => q.Labels.Any(l => l >= 3));
        int badInstance = predictions[bad].Labels.ToList().FindIndex(l => l >= 3);
        StringAssert.Contains(Fails(() => SegmentationEvaluator.Evaluate(gt, results, ids, [0, 1, 3], SegmentationTasks.Boxes)).Message,
            $"image {ids[bad]} (result {bad}): instance {badInstance} has label {predictions[bad].Labels[badInstance]}, outside the 3 labels mapped to category ids");

        var noMasks = results.ToArray();
        var p = predictions[2];
        noMasks[2] = new SegmentationResult(new Instances(p.ImageHeight, p.ImageWidth, p.Boxes, p.Labels.ToArray(), p.Scores!.ToArray()));
        StringAssert.Contains(Fails(() => SegmentationEvaluator.Evaluate(gt, noMasks, ids, map, SegmentationTasks.Boxes | SegmentationTasks.Masks)).Message,
            $"image {ids[2]} (result 2): the result has no instance masks, but Masks is evaluated");
        // No detections on an image: no masks needed (what Instances.Empty gives).
        var emptyImage = noMasks.ToArray();
        emptyImage[2] = new SegmentationResult(Instances.Empty(p.ImageHeight, p.ImageWidth));
        Assert.AreEqual(5, SegmentationEvaluator.Evaluate(gt, emptyImage, ids, map, SegmentationTasks.Boxes | SegmentationTasks.Masks | SegmentationTasks.Keypoints,
            new SegmentationEvaluationOptions { Coco = new CocoEvalOptions { KeypointSigmas = BridgeData.Sigmas } }).ImageCount);
        StringAssert.Contains(Fails(() => SegmentationEvaluator.Evaluate(gt, results, ids, map, SegmentationTasks.Semantic)).Message,
            $"image {ids[0]} (result 0): the result has no semantic map");

        var wrongSize = results.ToArray();
        wrongSize[3] = new SegmentationResult(Instances.Empty(p.ImageHeight + 2, p.ImageWidth));
        var image3 = gt.GetImage(ids[3]);
        StringAssert.Contains(Fails(() => SegmentationEvaluator.Evaluate(gt, wrongSize, ids, map, SegmentationTasks.Boxes)).Message,
            $"image {ids[3]} (result 3): the result is {p.ImageHeight + 2}x{p.ImageWidth} but crafted.json gives the image as {image3.Height}x{image3.Width}");

        var semantic = new SegmentationResult(null, new SemanticLabelMap(2, 4, new int[8]));
        var wrongMap = new SegmentationGroundTruth { SemanticMaps = _ => new SemanticLabelMap(3, 4, new int[12]) };
        StringAssert.Contains(Fails(() => SegmentationEvaluator.Evaluate(wrongMap, [semantic], [77], map, SegmentationTasks.Semantic)).Message,
            "image 77 (result 0): the semantic map is 2x4 but its ground truth is 3x4");
        StringAssert.Contains(Fails(() => SegmentationEvaluator.Evaluate(new SegmentationGroundTruth(), [semantic], [77], map, SegmentationTasks.Semantic)).Message,
            "needs ground-truth maps or SegmentationGroundTruth.Coco");
        var badLabel = new SegmentationResult(null, new SemanticLabelMap(2, 4, [0, 0, 0, 7, 0, 0, 0, 0]));
        var okMap = new SegmentationGroundTruth { SemanticMaps = _ => new SemanticLabelMap(2, 4, new int[8]) };
        StringAssert.Contains(Fails(() => SegmentationEvaluator.Evaluate(okMap, [badLabel], [77], map, SegmentationTasks.Semantic)).Message,
            "image 77 (result 0): predicted label 7 at (y=0, x=3)");

        var panoptic = new SegmentationResult(null, panoptic: new PanopticSegmentation(2, 4, [1, 1, 0, 0, 0, 0, 0, 0], [new PanopticSegment(1, 9)]));
        var panopticTruth = new SegmentationGroundTruth
        {
            PanopticMaps = _ => new PanopticSegmentation(2, 4, new int[8], []),
            PanopticCategories = [new PanopticCategory(1, "cat", true)],
        };
        StringAssert.Contains(Fails(() => SegmentationEvaluator.Evaluate(panopticTruth, [panoptic], [78], map, SegmentationTasks.Panoptic)).Message,
            "image 78 (result 0): panoptic segment 1 has label 9, outside the 5 labels");

        StringAssert.Contains(Fails(() => SegmentationEvaluator.Evaluate(gt, results, [ids[0], ids[1], ids[2], ids[3], ids[1]], map, SegmentationTasks.Boxes)).Message,
            $"image {ids[1]} has two results (1 and 4)");
        StringAssert.Contains(Fails(() => SegmentationEvaluator.Evaluate(gt, results, ids, map, SegmentationTasks.Boxes,
            new SegmentationEvaluationOptions { ImageIds = [ids[0], 4242] })).Message, "image 4242 is in SegmentationEvaluationOptions.ImageIds but has no result");
        StringAssert.Contains(Fails(() => SegmentationEvaluator.Evaluate(gt, results, ids, map, SegmentationTasks.Boxes,
            new SegmentationEvaluationOptions { Coco = new CocoEvalOptions { ImageIds = [ids[0]] } })).Message, "Coco.ImageIds must be null");
        Fails(() => SegmentationEvaluator.Evaluate(gt, results, ids, map, SegmentationTasks.None));
    }
}
