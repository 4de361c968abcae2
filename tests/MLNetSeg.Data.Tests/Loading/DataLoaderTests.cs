using System.Text.Json;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Data.Coco;
using MLNetSeg.Data.Loading;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;
using static MLNetSeg.Data.Tests.Loading.LoadingFixtures;

namespace MLNetSeg.Data.Tests.Loading;

/// <summary>
/// The data loader on a small COCO-style dataset written to a temporary folder (14 PNGs of
/// 20–45 px, landscape, portrait and square, with boxes, polygon masks and person keypoints).
/// Grouping is compared with torchvision's GroupedBatchSampler (grouped.json); determinism,
/// ordering, memory bound, error reporting and cleanup are properties checked directly.
/// </summary>
[TestClass]
public sealed class DataLoaderTests
{
    private static readonly (int H, int W)[] Sizes =
    [
        (24, 36), (36, 24), (30, 30), (20, 40), (40, 20), (28, 33), (33, 28),
        (25, 45), (45, 25), (32, 32), (22, 30), (30, 22), (26, 39), (39, 26),
    ];

    private static TempDir? _folder;
    private static DetectionDataset _dataset = null!;

    [ClassInitialize]
    public static void WriteDataset(TestContext _)
    {
        _folder = new TempDir();
        _dataset = WriteCoco(_folder.Path, truncatedImageId: null);
    }

    [ClassCleanup]
    public static void RemoveDataset() => _folder?.Dispose();

    private static IDetectionTransform Augmentation() => new Compose(
        new RandomHorizontalFlip(0.5),
        new ColorJitter(0.2, 0.2, 0.2));

    [TestMethod]
    public void SameSeedGivesIdenticalBatchesWithOneAndWithFourWorkers()
    {
        var one = Collect(new DataLoader(_dataset, Augmentation(), new DataLoaderOptions { Seed = 11, Workers = 1 }), epoch: 3);
        var four = Collect(new DataLoader(_dataset, Augmentation(), new DataLoaderOptions { Seed = 11, Workers = 4, PrefetchBatches = 4 }), epoch: 3);
        Assert.AreEqual(Sizes.Length / 2, one.Count);
        Assert.AreEqual(one.Count, four.Count);
        for (int b = 0; b < one.Count; b++) AssertSameBatch(one[b], four[b], $"batch {b}");
        // The augmentation really is random: some image got flipped or jittered differently under another seed.
        var other = Collect(new DataLoader(_dataset, Augmentation(), new DataLoaderOptions { Seed = 12, Workers = 2 }), epoch: 3);
        Assert.IsFalse(Enumerable.Range(0, one.Count).All(b => one[b].Pixels.SequenceEqual(other[b].Pixels)), "another seed changes the batches");
    }

    [TestMethod]
    public void EpochsShuffleDifferentlyAndTheSameSeedReproducesThem()
    {
        var loader = new DataLoader(_dataset, options: new DataLoaderOptions { Seed = 5 });
        var again = new DataLoader(_dataset, options: new DataLoaderOptions { Seed = 5 });
        var e0 = loader.PlanEpoch(0).SelectMany(b => b).ToArray();
        var e1 = loader.PlanEpoch(1).SelectMany(b => b).ToArray();
        CollectionAssert.AreNotEqual(e0, e1, "epoch 1 is shuffled differently from epoch 0");
        CollectionAssert.AreEqual(e0, again.PlanEpoch(0).SelectMany(b => b).ToArray());
        CollectionAssert.AreEqual(e1, again.PlanEpoch(1).SelectMany(b => b).ToArray());
        var delivered = Collect(loader, epoch: 1).SelectMany(b => b.Indices).ToArray();
        CollectionAssert.AreEqual(e1, delivered, "batches arrive in plan order");
        var unshuffled = new DataLoader(_dataset, options: new DataLoaderOptions { Shuffle = false, GroupByAspectRatio = false, BatchSize = 4, DropLast = false });
        CollectionAssert.AreEqual(Enumerable.Range(0, Sizes.Length).ToArray(), unshuffled.PlanEpoch(0).SelectMany(b => b).ToArray());
        Assert.AreEqual(4, unshuffled.BatchesPerEpoch, "14 images in batches of 4 without dropping the last");
    }

    [TestMethod]
    public void EveryBatchHoldsOneAspectGroupAndIsPaddedToMultiplesOf32()
    {
        var loader = new DataLoader(_dataset, Augmentation(), new DataLoaderOptions { Seed = 2, BatchSize = 3, Workers = 2 });
        int batches = 0;
        foreach (var batch in loader.GetEpoch(0))
        {
            using (batch)
            {
                var groups = batch.OriginalSizes.Select(s => AspectRatioGrouping.GroupOf(s.Height, s.Width)).Distinct().ToArray();
                Assert.AreEqual(1, groups.Length, $"batch {batch.Index} mixes aspect groups: {string.Join(", ", batch.OriginalSizes)}");
                var shape = batch.Images.Shape;
                Assert.AreEqual(3L, shape[0]);
                Assert.AreEqual(3L, shape[1]);
                Assert.AreEqual(0L, shape[2] % 32);
                Assert.AreEqual(0L, shape[3] % 32);
                Assert.AreEqual(RoundUp32(batch.ImageSizes.Max(s => s.Height)), shape[2]);
                Assert.AreEqual(RoundUp32(batch.ImageSizes.Max(s => s.Width)), shape[3]);
                AssertPaddingIsZero(batch);
                for (int i = 0; i < batch.Count; i++)
                {
                    var size = batch.ImageSizes[i];
                    Assert.AreEqual(_dataset.OriginalSize(batch.DatasetIndices[i]), batch.OriginalSizes[i]);
                    if (batch.Targets[i].Masks is { Count: > 0 } m) Assert.AreEqual((size.Height, size.Width), (m[0].Height, m[0].Width));
                }
                batches++;
            }
        }
        Assert.AreEqual(Sizes.Length / 3, batches);
    }

    [TestMethod]
    public void GroupedBatchesMatchTorchvisionGroupedBatchSampler()
    {
        int cases = 0;
        foreach (var c in Load("grouped.json").GetProperty("cases").EnumerateArray())
        {
            var order = c.GetProperty("order").EnumerateArray().Select(v => v.GetInt32()).ToArray();
            var groups = c.GetProperty("group_ids").EnumerateArray().Select(v => v.GetInt32()).ToArray();
            int b = c.GetProperty("batch_size").GetInt32();
            var expected = c.GetProperty("expected").EnumerateArray().Select(x => x.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
            var actual = AspectRatioGrouping.GroupedBatches(order, groups, b);
            Assert.AreEqual(expected.Length, actual.Count, $"case {cases}: batch count");
            for (int i = 0; i < expected.Length; i++)
                CollectionAssert.AreEqual(expected[i], actual[i], $"case {cases}, batch {i}");
            cases++;
        }
        Assert.AreEqual(5, cases);
    }

    [TestMethod]
    public void ATruncatedPngStopsTheEpochWithAnErrorNamingTheFile()
    {
        using var dir = new TempDir();
        var dataset = WriteCoco(dir.Path, truncatedImageId: 106);
        string path = Path.Combine(dir.Path, "img106.png");
        var loader = new DataLoader(dataset, Augmentation(), new DataLoaderOptions { Seed = 1, Workers = 3 });
        var e = Assert.ThrowsException<BadSampleException>(() => Collect(loader, epoch: 0));
        Assert.AreEqual(path, e.ImagePath);
        StringAssert.Contains(e.Message, path);
        Assert.IsInstanceOfType<InvalidImageException>(e.InnerException);
    }

    [TestMethod]
    public void SkipBadSamplesLogsTheFileAndDeliversEverythingElse()
    {
        using var dir = new TempDir();
        var dataset = WriteCoco(dir.Path, truncatedImageId: 106);
        int bad = Enumerable.Range(0, dataset.Count).Single(i => dataset.ImageInfo(i).Id == 106);
        var log = new List<string>();
        var loader = new DataLoader(dataset, Augmentation(), new DataLoaderOptions
        {
            Seed = 1, Workers = 3, SkipBadSamples = true, Log = message => { lock (log) log.Add(message); },
        });
        var plan = loader.PlanEpoch(0);
        int occurrences = plan.Sum(b => b.Count(i => i == bad));
        Assert.IsTrue(occurrences > 0, "the truncated image is planned in epoch 0 (the grouped sampler keeps ⌊N/B⌋·B samples)");
        var batches = Collect(loader, epoch: 0);
        var expected = plan.Select(b => b.Where(i => i != bad).ToArray()).Where(b => b.Length > 0).ToArray();
        Assert.AreEqual(expected.Length, batches.Count);
        for (int i = 0; i < expected.Length; i++) CollectionAssert.AreEqual(expected[i], batches[i].Indices, $"batch {i}");
        Assert.AreEqual(occurrences, log.Count);
        foreach (var message in log)
        {
            StringAssert.StartsWith(message, "warning:");
            StringAssert.Contains(message, Path.Combine(dir.Path, "img106.png"));
        }
        Assert.AreEqual(occurrences, loader.Statistics.SkippedSamples);
    }

    [TestMethod]
    public void TheQueueNeverHoldsMoreBatchesThanItsCapacity()
    {
        var loader = new DataLoader(_dataset, Augmentation(), new DataLoaderOptions { Seed = 4, Workers = 4, PrefetchBatches = 2 });
        Assert.AreEqual(2, loader.Capacity);
        int received = 0;
        foreach (var batch in loader.GetEpoch(0))
        {
            using (batch)
            {
                Assert.IsTrue(loader.Statistics.InFlight <= 2, $"{loader.Statistics.InFlight} batches in flight");
                Thread.Sleep(40); // a slow training step: the four workers must wait for free slots
                received++;
            }
        }
        Assert.AreEqual(Sizes.Length / 2, received);
        Assert.AreEqual(2, loader.Statistics.PeakInFlight, "the workers fill the queue but never overfill it");
        Assert.AreEqual(received, loader.Statistics.BatchesDelivered);
    }

    [TestMethod]
    public void CancellationStopsTheEpochAndNothingIsLeaked()
    {
        long before = TorchRuntime.LiveTensors;
        using var cts = new CancellationTokenSource();
        var loader = new DataLoader(_dataset, Augmentation(), new DataLoaderOptions { Seed = 8, Workers = 3 });
        int received = 0;
        var e = Assert.ThrowsException<OperationCanceledException>(() =>
        {
            foreach (var batch in loader.GetEpoch(0, cts.Token))
            {
                batch.Dispose();
                received++;
                cts.Cancel();
            }
        });
        Assert.AreEqual(cts.Token, e.CancellationToken);
        Assert.AreEqual(1, received);
        Assert.IsTrue(TorchRuntime.LiveTensors <= before, $"{TorchRuntime.LiveTensors - before} tensors outlived the cancelled epoch");

        // Leaving early with break: the batches built ahead are disposed by the loader, the one the
        // consumer holds is not.
        DetectionBatch? kept = null;
        foreach (var batch in loader.GetEpoch(1))
        {
            kept = batch;
            break;
        }
        Assert.IsFalse(kept!.Images.IsDisposed, "the consumer's batch stays alive");
        kept.Dispose();
        Assert.IsTrue(TorchRuntime.LiveTensors <= before, $"{TorchRuntime.LiveTensors - before} tensors outlived an abandoned epoch");
    }

    [TestMethod]
    public void ATransformFailureNamesTheSampleAndIsNotSkipped()
    {
        var loader = new DataLoader(_dataset, new Compose(new ColorJitter(0.2, 0.2, 0.2), new FailOnImage(104)),
            new DataLoaderOptions { Seed = 3, Workers = 2, SkipBadSamples = true, Log = _ => { } });
        var e = Assert.ThrowsException<DataLoaderException>(() => Collect(loader, epoch: 0));
        StringAssert.Contains(e.Message, "image 104");
        StringAssert.Contains(e.Message, "img104.png");
        Assert.IsInstanceOfType<InvalidOperationException>(e.InnerException);
    }

    private sealed class FailOnImage(long imageId) : IDetectionTransform
    {
        public DetectionSample Apply(DetectionSample sample, Random random) =>
            sample.ImageId == imageId ? throw new InvalidOperationException("boom") : sample;
    }

    /// <summary>A batch copied into managed memory (so the tensor can be disposed at once).</summary>
    private sealed record BatchCopy(int[] Indices, long[] Shape, float[] Pixels, ImageSize[] Sizes, DetectionTarget[] Targets);

    private static List<BatchCopy> Collect(DataLoader loader, int epoch)
    {
        var result = new List<BatchCopy>();
        foreach (var batch in loader.GetEpoch(epoch))
        {
            using (batch)
                result.Add(new BatchCopy(batch.DatasetIndices.ToArray(), batch.Images.Shape, batch.Images.ToArray<float>(),
                    batch.ImageSizes.ToArray(), batch.Targets.ToArray()));
        }
        return result;
    }

    private static void AssertSameBatch(BatchCopy a, BatchCopy b, string what)
    {
        CollectionAssert.AreEqual(a.Indices, b.Indices, $"{what}: indices");
        CollectionAssert.AreEqual(a.Shape, b.Shape, $"{what}: shape");
        CollectionAssert.AreEqual(a.Sizes, b.Sizes, $"{what}: image sizes");
        Assert.IsTrue(a.Pixels.AsSpan().SequenceEqual(b.Pixels), $"{what}: pixels differ");
        for (int i = 0; i < a.Targets.Length; i++)
        {
            var (x, y) = (a.Targets[i], b.Targets[i]);
            Assert.IsTrue(x.Boxes.Data.SequenceEqual(y.Boxes.Data), $"{what}, image {i}: boxes");
            CollectionAssert.AreEqual(x.Labels.ToArray(), y.Labels.ToArray(), $"{what}, image {i}: labels");
            CollectionAssert.AreEqual(x.Masks!.ToArray(), y.Masks!.ToArray(), $"{what}, image {i}: masks");
            Assert.IsTrue(x.Keypoints!.Data.SequenceEqual(y.Keypoints!.Data), $"{what}, image {i}: keypoints");
        }
    }

    private static void AssertPaddingIsZero(DetectionBatch batch)
    {
        var shape = batch.Images.Shape;
        int h = (int)shape[2], w = (int)shape[3];
        var pixels = batch.Images.ToArray<float>();
        for (int i = 0; i < batch.Count; i++)
        {
            var size = batch.ImageSizes[i];
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                    {
                        float v = pixels[((i * 3 + c) * h + y) * w + x];
                        if (y >= size.Height || x >= size.Width) Assert.AreEqual(0f, v, $"padding of image {i} at ({c}, {y}, {x})");
                    }
        }
    }

    private static long RoundUp32(int v) => (v + 31) / 32 * 32;

    /// <summary>
    /// Writes img100.png … img113.png (random pixels) and a COCO file: 1–3 instances per image,
    /// "person" (17 keypoints, some visible) or "box"; optionally truncates one PNG to half its bytes.
    /// </summary>
    private static DetectionDataset WriteCoco(string folder, long? truncatedImageId)
    {
        var random = new Random(123);
        var images = new List<object>();
        var annotations = new List<object>();
        int annotationId = 1;
        for (int i = 0; i < Sizes.Length; i++)
        {
            var (h, w) = Sizes[i];
            long id = 100 + i;
            var pixels = new byte[h * w * 3];
            random.NextBytes(pixels);
            string file = $"img{id}.png";
            var png = ImageIO.EncodePng(new Image(h, w, 3, pixels));
            if (id == truncatedImageId) png = png.AsSpan(0, png.Length / 2).ToArray();
            File.WriteAllBytes(Path.Combine(folder, file), png);
            images.Add(new { id, file_name = file, width = w, height = h });
            int n = 1 + random.Next(3);
            for (int k = 0; k < n; k++)
            {
                double x = random.Next(w / 2), y = random.Next(h / 2), bw = 3 + random.Next(w / 2), bh = 3 + random.Next(h / 2);
                bool person = random.Next(2) == 0;
                var keypoints = new double[17 * 3];
                for (int j = 0; j < 17 && person; j++)
                {
                    if (random.Next(3) == 0) continue;
                    keypoints[3 * j] = x + random.NextDouble() * bw;
                    keypoints[3 * j + 1] = y + random.NextDouble() * bh;
                    keypoints[3 * j + 2] = 1 + random.Next(2);
                }
                annotations.Add(new Dictionary<string, object>
                {
                    ["id"] = annotationId++, ["image_id"] = id, ["category_id"] = person ? 1 : 2, ["iscrowd"] = 0,
                    ["bbox"] = new[] { x, y, bw, bh }, ["area"] = bw * bh,
                    ["segmentation"] = new[] { new[] { x, y, x + bw, y, x + bw, y + bh, x, y + bh } },
                    ["keypoints"] = person ? keypoints : Array.Empty<double>(),
                });
            }
        }
        // Box annotations carry no keypoints: drop the empty lists so they have none at all.
        foreach (var a in annotations.Cast<Dictionary<string, object>>().Where(a => ((double[])a["keypoints"]).Length == 0).ToList())
            a.Remove("keypoints");
        var names = KeypointSchema.CocoPerson.Names;
        var coco = new
        {
            images,
            categories = new object[] { new { id = 1, name = "person", keypoints = names }, new { id = 2, name = "box" } },
            annotations,
        };
        string json = Path.Combine(folder, "train.json");
        File.WriteAllText(json, JsonSerializer.Serialize(coco));
        return new DetectionDataset(CocoDataset.Load(json), folder);
    }
}
