using System.Diagnostics;
using MLNetSeg.Data.Coco;
using MLNetSeg.Evaluation.Coco;
using MLNetSeg.Evaluation.Tests.Coco;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Evaluation.Tests.Results;

/// <summary>
/// COCO evaluation straight from <see cref="Instances"/> against (a) the same instances written as
/// COCO results and evaluated from those — every number must be the same double — and (b) real
/// pycocotools on the medium mask fixture.
/// </summary>
[TestClass]
public sealed class InMemoryCocoEvaluationTests
{
    private static CocoEvalOptions OptionsFor(CocoIouType type) => type == CocoIouType.Keypoints
        ? new CocoEvalOptions { KeypointSigmas = BridgeData.Sigmas, CategoryIds = [BridgeData.KeypointCategory] }
        : new CocoEvalOptions();

    [DataTestMethod]
    [DataRow(CocoIouType.Bbox)]
    [DataRow(CocoIouType.Segm)]
    [DataRow(CocoIouType.Keypoints)]
    public void SameNumbersAsTheResultsFilePath(CocoIouType type)
    {
        var rng = new Random(20260101 + (int)type);
        var gt = BridgeData.Dataset(rng, 40);
        var (predictions, imageIds) = BridgeData.Predictions(rng, gt);
        Assert.IsTrue(predictions.Sum(p => p.Count) > 100, "enough detections to be meaningful");
        Assert.IsTrue(gt.Annotations.Any(a => a.IsCrowd), "the crafted set has crowd regions");

        var viaStrings = CocoEvaluator.Evaluate(gt, BridgeData.AsCocoResults(predictions, imageIds, BridgeData.LabelToCategoryId, type), type, OptionsFor(type));
        var inMemory = CocoEvaluator.Evaluate(gt, predictions, imageIds, BridgeData.LabelToCategoryId, type, OptionsFor(type));

        BridgeData.AssertIdentical(viaStrings, inMemory, type.ToString());
        Assert.IsTrue(inMemory.Stats[0] > 0.05 && inMemory.Stats[0] < 0.95, $"AP {inMemory.Stats[0]} is neither trivial nor perfect");
        // Labels 0 and 4 map to categories 0 and 99, which the dataset lacks: ignored with a warning on both paths.
        Assert.AreEqual(1, viaStrings.Warnings.Count(w => w.Contains("not in")), string.Join("\n", viaStrings.Warnings));
        Assert.AreEqual(1, inMemory.Warnings.Count(w => w.Contains("not in")), string.Join("\n", inMemory.Warnings));
        StringAssert.Contains(inMemory.Warnings.Single(w => w.Contains("not in")), "(0, 99)");
    }

    [TestMethod]
    public void ImageSubsetAndCategorySubsetAgreeWithTheResultsFilePath()
    {
        var rng = new Random(7);
        var gt = BridgeData.Dataset(rng, 20);
        var (predictions, imageIds) = BridgeData.Predictions(rng, gt);
        var options = new CocoEvalOptions { ImageIds = imageIds.Take(9).ToArray(), CategoryIds = [1, 7] };
        foreach (var type in new[] { CocoIouType.Bbox, CocoIouType.Segm })
        {
            var viaStrings = CocoEvaluator.Evaluate(gt, BridgeData.AsCocoResults(predictions, imageIds, BridgeData.LabelToCategoryId, type), type, options);
            var inMemory = CocoEvaluator.Evaluate(gt, predictions, imageIds, BridgeData.LabelToCategoryId, type, options);
            BridgeData.AssertIdentical(viaStrings, inMemory, type.ToString());
            Assert.AreEqual(9, inMemory.ImageIds.Count);
        }
    }

    /// <summary>
    /// tests/fixtures/cocoeval medium.segm: pycocotools' numbers for the mask results file. The
    /// results are turned into instances (mask decoded, score narrowed to float: two-decimal scores
    /// keep their order and ties) and evaluated in memory: bit-for-bit pycocotools.
    /// </summary>
    [TestMethod]
    public void MediumMaskFixtureMatchesPycocotools()
    {
        var expected = PycocotoolsExpectation.Load("medium.segm");
        var gt = CocoDataset.Load(expected.GtPath);
        var results = CocoResults.Load(expected.DtPath);
        int maxCategory = (int)gt.Categories.Max(c => c.Id);
        var identity = Enumerable.Range(0, maxCategory + 1).ToArray();
        var predictions = new List<Instances>();
        var imageIds = new List<long>();
        foreach (var image in gt.Images)
        {
            var mine = results.Items.Where(r => r.ImageId == image.Id).ToArray();
            var masks = mine.Select(r => r.Segmentation!.ToRle(image.Height, image.Width)).ToArray();
            var boxes = masks.SelectMany(m => { var b = m.ToBbox(); return new[] { (float)b[0], (float)b[1], (float)(b[0] + b[2]), (float)(b[1] + b[3]) }; }).ToArray();
            predictions.Add(new Instances(image.Height, image.Width, Boxes.FromXyxy(boxes), mine.Select(r => (int)r.CategoryId).ToArray(),
                mine.Select(r => (float)r.Score).ToArray(), masks));
            imageIds.Add(image.Id);
        }
        Assert.AreEqual(results.Items.Count, predictions.Sum(p => p.Count));
        var actual = CocoEvaluator.Evaluate(gt, predictions, imageIds, identity, CocoIouType.Segm);
        expected.AssertMatches(actual, tolerance: 0);
    }

    [TestMethod]
    public void TestShapesAreTheirPixelSets()
    {
        // The RLE shape builders used by these tests against a per-pixel check and pycocotools' encoding (Rle.Encode).
        var rng = new Random(5);
        for (int t = 0; t < 50; t++)
        {
            int h = rng.Next(1, 30), w = rng.Next(1, 30);
            double cy = rng.NextDouble() * h, cx = rng.NextDouble() * w, ry = 0.5 + rng.NextDouble() * h, rx = 0.5 + rng.NextDouble() * w;
            int y0 = rng.Next(-3, h), x0 = rng.Next(-3, w), y1 = y0 + rng.Next(0, h), x1 = x0 + rng.Next(0, w);
            var ellipse = new byte[h * w];
            var rectangle = new byte[h * w];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    double dy = (y - cy) / ry, dx = (x - cx) / rx;
                    ellipse[y * w + x] = (byte)(dy * dy + dx * dx <= 1 ? 1 : 0);
                    rectangle[y * w + x] = (byte)(y >= y0 && y < y1 && x >= x0 && x < x1 ? 1 : 0);
                }
            Assert.AreEqual(Rle.Encode(BitMask.FromRowMajor(h, w, ellipse)), BridgeData.Ellipse(h, w, cy, cx, ry, rx), $"ellipse case {t}");
            Assert.AreEqual(Rle.Encode(BitMask.FromRowMajor(h, w, rectangle)), BridgeData.Rectangle(h, w, y0, x0, y1, x1), $"rectangle case {t}");
        }
    }

    [TestMethod]
    public void BadInputNamesThePrediction()
    {
        var rng = new Random(3);
        var gt = BridgeData.Dataset(rng, 4);
        var (predictions, imageIds) = BridgeData.Predictions(rng, gt);

        var e = Assert.ThrowsException<ArgumentException>(() => CocoEvaluator.Evaluate(gt, predictions, imageIds.Take(3).ToArray(), BridgeData.LabelToCategoryId, CocoIouType.Bbox));
        StringAssert.Contains(e.Message, "4 predictions but 3 image ids");

        var shortMap = new[] { 0, 1 };
        e = Assert.ThrowsException<ArgumentException>(() => CocoEvaluator.Evaluate(gt, predictions, imageIds, shortMap, CocoIouType.Bbox));
        StringAssert.Contains(e.Message, $"(image {imageIds[0]})");
        StringAssert.Contains(e.Message, "outside the 2 labels");

        var noMasks = predictions.ToArray();
        var p1 = noMasks[1];
        noMasks[1] = new Instances(p1.ImageHeight, p1.ImageWidth, p1.Boxes, p1.Labels.ToArray(), p1.Scores!.ToArray());
        e = Assert.ThrowsException<ArgumentException>(() => CocoEvaluator.Evaluate(gt, noMasks, imageIds, BridgeData.LabelToCategoryId, CocoIouType.Segm));
        StringAssert.Contains(e.Message, $"prediction 1 (image {imageIds[1]}) has no masks");

        var unknownImage = imageIds.ToArray();
        unknownImage[2] = 123456;
        e = Assert.ThrowsException<ArgumentException>(() => CocoEvaluator.Evaluate(gt, predictions, unknownImage, BridgeData.LabelToCategoryId, CocoIouType.Bbox));
        StringAssert.Contains(e.Message, "image 123456 is not an image of the ground truth crafted.json");

        var wrongSize = predictions.ToArray();
        var p0 = wrongSize[0];
        wrongSize[0] = new Instances(p0.ImageHeight + 1, p0.ImageWidth, Boxes.FromXyxy([1, 1, 3, 3]), [1], [0.5f],
            [BridgeData.Rectangle(p0.ImageHeight + 1, p0.ImageWidth, 1, 1, 3, 3)]);
        e = Assert.ThrowsException<ArgumentException>(() => CocoEvaluator.Evaluate(gt, wrongSize, imageIds, BridgeData.LabelToCategoryId, CocoIouType.Segm));
        StringAssert.Contains(e.Message, $"(image {imageIds[0]}): masks are {p0.ImageHeight + 1}x{p0.ImageWidth} but the image is {p0.ImageHeight}x{p0.ImageWidth}");
    }

    /// <summary>
    /// The time the in-memory path saves against the results-file path on masked detections (the
    /// compressed-RLE encode, CocoResults construction and decode). The full measurement (500 images
    /// × 100 masked detections) runs when MLNETSEG_BRIDGE_BENCHMARK=1; otherwise a small size checks
    /// the numbers agree. Timings go to the test output.
    /// </summary>
    [TestMethod]
    public void TimeSavedOnMaskedDetections()
    {
        bool full = Environment.GetEnvironmentVariable("MLNETSEG_BRIDGE_BENCHMARK") == "1";
        int images = full ? 500 : 25, perImage = 100;
        var rng = new Random(11);
        var gt = BridgeData.Dataset(rng, images, maxAnnotations: 10, minSize: 300, maxSize: 640);
        var (predictions, imageIds) = BridgeData.Predictions(rng, gt, falsePositives: 0);
        // Pad every image to exactly perImage masked detections with random boxes.
        for (int i = 0; i < predictions.Length; i++)
        {
            var p = predictions[i];
            int extra = perImage - p.Count;
            var boxes = p.Boxes.ToXyxy().ToList();
            var labels = p.Labels.ToList();
            var scores = p.Scores!.ToList();
            var masks = p.Masks!.ToList();
            for (int k = 0; k < extra; k++)
            {
                int x0 = rng.Next(p.ImageWidth - 40), y0 = rng.Next(p.ImageHeight - 40), x1 = x0 + 8 + rng.Next(32), y1 = y0 + 8 + rng.Next(32);
                boxes.AddRange([x0, y0, x1, y1]);
                labels.Add(rng.Next(1, 4));
                scores.Add((float)rng.NextDouble());
                masks.Add(BridgeData.Ellipse(p.ImageHeight, p.ImageWidth, (y0 + y1) / 2.0, (x0 + x1) / 2.0, (y1 - y0) / 2.0, (x1 - x0) / 2.0));
            }
            predictions[i] = new Instances(p.ImageHeight, p.ImageWidth, Boxes.FromXyxy(boxes.ToArray()), labels.ToArray(), scores.ToArray(), masks);
        }
        Assert.AreEqual(images * perImage, predictions.Sum(p => p.Count));

        var encodeTimes = new List<double>();
        var stringTimes = new List<double>();
        var memoryTimes = new List<double>();
        CocoEvalResult? viaStrings = null, inMemory = null;
        for (int run = 0; run < (full ? 5 : 1); run++)
        {
            var clock = Stopwatch.StartNew();
            var results = BridgeData.AsCocoResults(predictions, imageIds, BridgeData.LabelToCategoryId, CocoIouType.Segm);
            encodeTimes.Add(clock.Elapsed.TotalSeconds);
            viaStrings = CocoEvaluator.Evaluate(gt, results, CocoIouType.Segm);
            stringTimes.Add(clock.Elapsed.TotalSeconds);
            clock.Restart();
            inMemory = CocoEvaluator.Evaluate(gt, predictions, imageIds, BridgeData.LabelToCategoryId, CocoIouType.Segm);
            memoryTimes.Add(clock.Elapsed.TotalSeconds);
        }
        BridgeData.AssertIdentical(viaStrings!, inMemory!, "segm");
        static string Runs(List<double> t) => $"median {t.Order().ElementAt(t.Count / 2):F3} s, min {t.Min():F3} s";
        Console.WriteLine($"{images} images x {perImage} masked detections, segm, {Environment.ProcessorCount} cores: " +
                          $"results-file path {Runs(stringTimes)} (of which writing the results {Runs(encodeTimes)}); in memory {Runs(memoryTimes)}");
    }
}
