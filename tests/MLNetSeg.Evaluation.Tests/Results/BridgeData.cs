using MLNetSeg.Data.Coco;
using MLNetSeg.Evaluation.Coco;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Evaluation.Tests.Results;

/// <summary>
/// Random COCO ground truth and model-like predictions for the bridge tests, and the reference
/// "string path": the predictions written as COCO results the way the training code has done it
/// until now (box as x, y, w, h from float corners; mask as a compressed RLE string; keypoints as
/// (x, y, 1) triplets; each evaluation given only its own field), then evaluated from those.
/// </summary>
internal static class BridgeData
{
    public const long KeypointCategory = 7;
    public static readonly double[] Sigmas = [0.05, 0.07, 0.09, 0.11];

    /// <summary>Labels 1, 2, 3 map to categories 1, 3, 7; label 4 to 99, which the dataset lacks.</summary>
    public static readonly int[] LabelToCategoryId = [0, 1, 3, 7, 99];

    /// <summary>The pixels with ((y − cy) / ry)² + ((x − cx) / rx)² ≤ 1, as an RLE built column by column (no full-image pass).</summary>
    public static Rle Ellipse(int h, int w, double cy, double cx, double ry, double rx) => FromColumns(h, w, x =>
    {
        double dx = (x - cx) / rx;
        if (dx * dx > 1) return null;
        double half = ry * Math.Sqrt(1 - dx * dx);
        int lo = (int)Math.Ceiling(cy - half), hi = (int)Math.Floor(cy + half);
        // Guard the rounding at the ends so the set is exactly the inequality's.
        while (lo <= hi && Inside(lo)) lo--;
        while (lo <= hi && !Inside(lo)) lo++;
        while (hi >= lo && Inside(hi + 1)) hi++;
        while (hi >= lo && !Inside(hi)) hi--;
        return lo <= hi ? (lo, hi) : null;
        bool Inside(int y) { double dy = (y - cy) / ry; return dy * dy + dx * dx <= 1; }
    });

    /// <summary>Rows y0 … y1 − 1, columns x0 … x1 − 1 (clipped to the image).</summary>
    public static Rle Rectangle(int h, int w, int y0, int x0, int y1, int x1) =>
        FromColumns(h, w, x => x >= x0 && x < x1 && y0 < y1 ? (y0, y1 - 1) : null);

    /// <summary>An RLE whose column x holds the rows lo … hi given for it (clipped), nothing where null.</summary>
    private static Rle FromColumns(int h, int w, Func<int, (int Lo, int Hi)?> rows)
    {
        // Runs of ones as [start, end) in COCO's column-major pixel order, touching runs merged.
        var ones = new List<(long Start, long End)>();
        for (int x = 0; x < w; x++)
        {
            if (rows(x) is not { } r) continue;
            int lo = Math.Max(0, r.Lo), hi = Math.Min(h - 1, r.Hi);
            if (lo > hi) continue;
            long start = (long)x * h + lo, end = (long)x * h + hi + 1;
            if (ones.Count > 0 && ones[^1].End == start) ones[^1] = (ones[^1].Start, end);
            else ones.Add((start, end));
        }
        var counts = new List<uint>();
        long previous = 0;
        foreach (var (start, end) in ones)
        {
            counts.Add((uint)(start - previous));
            counts.Add((uint)(end - start));
            previous = end;
        }
        long total = (long)h * w;
        if (previous < total || counts.Count == 0) counts.Add((uint)(total - previous));
        return new Rle(h, w, counts.ToArray());
    }

    /// <summary>A dataset of <paramref name="imageCount"/> images with categories 1, 3 and 7 (7 with four keypoints).</summary>
    public static CocoDataset Dataset(Random rng, int imageCount, int maxAnnotations = 5, int minSize = 24, int maxSize = 60)
    {
        var images = new List<CocoImage>();
        var anns = new List<CocoAnnotation>();
        long annId = 1;
        for (int i = 0; i < imageCount; i++)
        {
            int h = rng.Next(minSize, maxSize), w = rng.Next(minSize, maxSize);
            long imageId = 10 + 3 * i; // not 0, 1, 2, ...
            images.Add(new CocoImage { Id = imageId, Height = h, Width = w });
            int n = rng.Next(0, maxAnnotations + 1);
            for (int a = 0; a < n; a++)
            {
                long category = new long[] { 1, 3, 7 }[rng.Next(3)];
                bool crowd = rng.NextDouble() < 0.1;
                CocoSegmentation segmentation;
                Rle rle;
                if (rng.NextDouble() < 0.5)
                {
                    double cy = rng.Next(h), cx = rng.Next(w);
                    var polygon = Enumerable.Range(0, 6).SelectMany(k =>
                    {
                        double angle = k * Math.PI / 3, radius = 3 + rng.NextDouble() * h / 3;
                        return new[] { Math.Round(cx + radius * Math.Cos(angle), 2), Math.Round(cy + radius * Math.Sin(angle), 2) };
                    }).ToArray();
                    segmentation = new CocoPolygons([polygon]);
                    rle = Rle.FromPolygons([polygon], h, w);
                }
                else
                {
                    rle = Ellipse(h, w, rng.Next(h), rng.Next(w), 2 + rng.Next(h / 3), 2 + rng.Next(w / 3));
                    segmentation = new CocoUncompressedRle(h, w, rle.Counts.ToArray());
                }
                double[]? keypoints = null;
                int? numKeypoints = null;
                if (category == KeypointCategory)
                {
                    var box = rle.ToBbox();
                    keypoints = new double[12];
                    int visible = 0;
                    for (int k = 0; k < 4; k++)
                    {
                        int v = rng.Next(3);
                        if (v > 0) visible++;
                        keypoints[3 * k] = v == 0 ? 0 : Math.Round(box[0] + rng.NextDouble() * Math.Max(1, box[2]), 1);
                        keypoints[3 * k + 1] = v == 0 ? 0 : Math.Round(box[1] + rng.NextDouble() * Math.Max(1, box[3]), 1);
                        keypoints[3 * k + 2] = v;
                    }
                    numKeypoints = visible;
                }
                anns.Add(new CocoAnnotation
                {
                    Id = annId++, ImageId = imageId, CategoryId = category, IsCrowd = crowd,
                    Bbox = rle.ToBbox(), Area = rle.Area, Segmentation = crowd ? new CocoUncompressedRle(h, w, rle.Counts.ToArray()) : segmentation,
                    Keypoints = keypoints, NumKeypoints = numKeypoints,
                });
            }
        }
        var categories = new[]
        {
            new CocoCategory { Id = 1, Name = "cat" },
            new CocoCategory { Id = 3, Name = "dog" },
            new CocoCategory { Id = KeypointCategory, Name = "person", Keypoints = ["a", "b", "c", "d"] },
        };
        return new CocoDataset(images, categories, anns, "crafted.json");
    }

    /// <summary>
    /// Model-like instances for every image of <paramref name="gt"/> (in a shuffled order): a jittered
    /// copy of most ground truths, false positives, background (label 0) and unknown-category
    /// (label 4) detections, scores from a small set so that ties occur, keypoints on every instance.
    /// </summary>
    public static (Instances[] Predictions, long[] ImageIds) Predictions(Random rng, CocoDataset gt, int falsePositives = 3)
    {
        var order = gt.Images.OrderBy(_ => rng.Next()).ToArray();
        var predictions = new Instances[order.Length];
        var labelOf = new Dictionary<long, int> { [1] = 1, [3] = 2, [7] = 3 };
        for (int i = 0; i < order.Length; i++)
        {
            var image = order[i];
            int h = image.Height, w = image.Width;
            var boxes = new List<float>();
            var labels = new List<int>();
            var scores = new List<float>();
            var masks = new List<Rle>();
            var keypoints = new List<float>();
            void Add(float x0, float y0, float x1, float y1, int label, double[]? gtKeypoints = null)
            {
                boxes.AddRange([x0, y0, x1, y1]);
                labels.Add(label);
                scores.Add(rng.Next(1, 12) / 12f);
                masks.Add(rng.NextDouble() < 0.5
                    ? Rectangle(h, w, (int)y0, (int)x0, (int)Math.Ceiling(y1), (int)Math.Ceiling(x1))
                    : Ellipse(h, w, (y0 + y1) / 2, (x0 + x1) / 2, Math.Max(1, (y1 - y0) / 2), Math.Max(1, (x1 - x0) / 2)));
                for (int k = 0; k < 4; k++)
                {
                    // Near the ground truth's labelled keypoints (so OKS is not all zero), else anywhere in the box.
                    bool near = gtKeypoints is not null && gtKeypoints[3 * k + 2] > 0;
                    keypoints.AddRange(near
                        ? [(float)(gtKeypoints![3 * k] + rng.NextDouble() * 2 - 1), (float)(gtKeypoints[3 * k + 1] + rng.NextDouble() * 2 - 1), 1]
                        : [x0 + (float)rng.NextDouble() * (x1 - x0), y0 + (float)rng.NextDouble() * (y1 - y0), 1]);
                }
            }
            foreach (var ann in gt.Annotations.Where(a => a.ImageId == image.Id))
            {
                if (rng.NextDouble() < 0.25) continue;
                var b = ann.Bbox!;
                float J() => (float)(rng.NextDouble() * 4 - 2);
                float x0 = (float)b[0] + J(), y0 = (float)b[1] + J();
                Add(x0, y0, Math.Max(x0, (float)(b[0] + b[2]) + J()), Math.Max(y0, (float)(b[1] + b[3]) + J()),
                    rng.NextDouble() < 0.85 ? labelOf[ann.CategoryId] : rng.Next(1, 4), ann.Keypoints);
            }
            for (int f = 0; f < falsePositives; f++)
            {
                float x0 = rng.Next(w - 4), y0 = rng.Next(h - 4);
                Add(x0, y0, x0 + 1 + rng.Next(w - (int)x0 - 1), y0 + 1 + rng.Next(h - (int)y0 - 1), rng.Next(0, 5));
            }
            int n = labels.Count;
            predictions[i] = new Instances(h, w, Boxes.FromXyxy(boxes.ToArray()), labels.ToArray(), scores.ToArray(), masks,
                new Keypoints(n, 4, keypoints.ToArray()));
        }
        return (predictions, order.Select(im => im.Id).ToArray());
    }

    /// <summary>The reference: instances written as COCO results with only the field <paramref name="iouType"/> reads.</summary>
    public static CocoResults AsCocoResults(IReadOnlyList<Instances> predictions, IReadOnlyList<long> imageIds, IReadOnlyList<int> labelToCategoryId, CocoIouType iouType)
    {
        var results = new List<CocoResult>();
        for (int i = 0; i < predictions.Count; i++)
        {
            var p = predictions[i];
            var xywh = p.Boxes.ToXywh();
            for (int j = 0; j < p.Count; j++)
            {
                double[]? keypoints = null;
                if (iouType == CocoIouType.Keypoints)
                {
                    int k = p.Keypoints!.KeypointsPerInstance;
                    keypoints = new double[3 * k];
                    for (int q = 0; q < k; q++)
                    {
                        keypoints[3 * q] = p.Keypoints.X(j, q);
                        keypoints[3 * q + 1] = p.Keypoints.Y(j, q);
                        keypoints[3 * q + 2] = 1;
                    }
                }
                results.Add(new CocoResult
                {
                    ImageId = imageIds[i],
                    CategoryId = labelToCategoryId[p.Labels[j]],
                    Score = p.Scores![j],
                    Bbox = iouType == CocoIouType.Bbox ? [xywh[4 * j], xywh[4 * j + 1], xywh[4 * j + 2], xywh[4 * j + 3]] : null,
                    Segmentation = iouType == CocoIouType.Segm ? CocoCompressedRle.FromRle(p.Masks![j]) : null,
                    Keypoints = keypoints,
                });
            }
        }
        return new CocoResults(results, "<string path>");
    }

    /// <summary>Every number of two evaluations is the same double, bit for bit.</summary>
    public static void AssertIdentical(CocoEvalResult expected, CocoEvalResult actual, string what)
    {
        CollectionAssert.AreEqual(expected.ImageIds.ToArray(), actual.ImageIds.ToArray(), $"{what}: image ids");
        CollectionAssert.AreEqual(expected.CategoryIds.ToArray(), actual.CategoryIds.ToArray(), $"{what}: category ids");
        CollectionAssert.AreEqual(Bits(expected.Stats), Bits(actual.Stats), $"{what}: stats {string.Join(", ", expected.Stats)} vs {string.Join(", ", actual.Stats)}");
        CollectionAssert.AreEqual(Bits(expected.Precision.Cast<double>()), Bits(actual.Precision.Cast<double>()), $"{what}: precision");
        CollectionAssert.AreEqual(Bits(expected.Recall.Cast<double>()), Bits(actual.Recall.Cast<double>()), $"{what}: recall");
        CollectionAssert.AreEqual(Bits(expected.PerCategoryAp.Select(c => c.Ap)), Bits(actual.PerCategoryAp.Select(c => c.Ap)), $"{what}: per-category AP");
        Assert.AreEqual(expected.SummaryText, actual.SummaryText, $"{what}: summary");
    }

    private static long[] Bits(IEnumerable<double> values) => values.Select(BitConverter.DoubleToInt64Bits).ToArray();
}
