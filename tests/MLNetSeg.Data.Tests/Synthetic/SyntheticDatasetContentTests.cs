using System.Text.Json;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Data.Coco;
using MLNetSeg.Data.Semantic;
using MLNetSeg.Data.Synthetic;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Data.Tests.Synthetic;

/// <summary>
/// What the Tiny preset (seed 1) writes, read back from disk with the library's COCO reader and the
/// pycocotools-exact RLE code (Rle.FromPolygons / ToBbox / Area, themselves tested against
/// pycocotools fixtures in the Vision tests). Every check here is exact: masks, boxes and areas are
/// integer pixel quantities, so there is no tolerance except where stated for keypoints.
/// </summary>
[TestClass]
public sealed class SyntheticDatasetContentTests
{
    private static string _root = "";
    private static SyntheticDatasetSummary _summary = null!;

    [ClassInitialize]
    public static void GenerateTiny(TestContext _)
    {
        _root = Directory.CreateTempSubdirectory("mlnetseg-synthetic-tiny-").FullName;
        _summary = SyntheticDatasetGenerator.Generate(SyntheticOptions.Tiny, _root);
    }

    [ClassCleanup]
    public static void Delete()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static CocoDataset Instances(string split) => CocoDataset.Load(SyntheticDatasetGenerator.InstancesJsonPath(_root, split));

    private static CocoDataset Keypoints(string split) => CocoDataset.Load(SyntheticDatasetGenerator.KeypointsJsonPath(_root, split));

    private static BitMask Mask(CocoDataset data, CocoAnnotation a)
    {
        var image = data.GetImage(a.ImageId);
        return a.Segmentation!.ToRle(image.Height, image.Width).Decode();
    }

    [TestMethod]
    public void TheDetectionDatasetLoadsTheLabelMapsInStepWithTheInstancesAndTheFlipMirrorsThem()
    {
        CollectionAssert.AreEqual(SyntheticClasses.All.Select(c => c.Name).ToArray(), SemanticClassList.Read(SyntheticDatasetGenerator.LabelsJsonPath(_root)));
        var dataset = MLNetSeg.Data.Loading.DetectionDataset.Load(SyntheticDatasetGenerator.InstancesJsonPath(_root, "val"), SyntheticDatasetGenerator.ImageDirectory(_root, "val"),
            new MLNetSeg.Data.Loading.DetectionDatasetOptions { SemanticDirectory = SyntheticDatasetGenerator.SemanticDirectory(_root, "val") });
        long checkedPixels = 0;
        for (int i = 0; i < dataset.Count; i++)
        {
            var target = dataset.GetTarget(i);
            var map = target.Semantic ?? throw new AssertFailedException($"image {i} has no semantic map");
            Assert.AreEqual(dataset.ImageInfo(i).Height, map.Height);
            // Every visible pixel of an instance is labelled with its category's semantic class in the map.
            for (int n = 0; n < target.Count; n++)
            {
                int expected = SyntheticClasses.SemanticLabelOfCategory(dataset.Categories.CategoryIdOf(target.Labels[n]));
                var pixels = target.Masks![n].Pixels;
                for (int p = 0; p < pixels.Length; p++)
                {
                    if (pixels[p] == 0) continue;
                    Assert.AreEqual(expected, map.Labels[p], $"image {i} instance {n} pixel {p}");
                    checkedPixels++;
                }
            }
        }
        Assert.IsTrue(checkedPixels > 1000, $"only {checkedPixels} instance pixels checked");

        using (var scope = Torch.DisposeScope.Enter())
        {
            var sample = dataset.Get(0);
            var flipped = new MLNetSeg.Data.Loading.RandomHorizontalFlip(1.0).Apply(sample, new Random(1));
            var (before, after) = (sample.Target.Semantic!, flipped.Target.Semantic!);
            int w = before.Width;
            for (int p = 0; p < before.Labels.Length; p++)
                Assert.AreEqual(before.Labels[p], after.Labels[p - p % w + (w - 1 - p % w)], $"pixel {p} is not mirrored");
        }

        var missing = Directory.CreateTempSubdirectory("mlnetseg-no-maps-").FullName;
        try
        {
            var without = MLNetSeg.Data.Loading.DetectionDataset.Load(SyntheticDatasetGenerator.InstancesJsonPath(_root, "val"), SyntheticDatasetGenerator.ImageDirectory(_root, "val"),
                new MLNetSeg.Data.Loading.DetectionDatasetOptions { SemanticDirectory = missing });
            var e = Assert.ThrowsException<MLNetSeg.Data.Loading.BadSampleException>(() => without.GetTarget(0));
            StringAssert.Contains(e.Message, Path.Combine(missing, Path.ChangeExtension(without.ImageInfo(0).FileName!, ".png")));
        }
        finally { Directory.Delete(missing, recursive: true); }
    }

    [TestMethod]
    public void BoxesAndAreasAreThoseOfTheSegmentationsInEveryFormat()
    {
        int polygons = 0, compressed = 0, crowd = 0;
        foreach (var split in SyntheticDatasetGenerator.Splits)
        {
            foreach (var data in new[] { Instances(split), Keypoints(split) })
            {
                Assert.AreEqual(split == "train" ? 16 : 8, data.Images.Count);
                foreach (var a in data.Annotations)
                {
                    var image = data.GetImage(a.ImageId);
                    var rle = a.Segmentation!.ToRle(image.Height, image.Width);
                    string what = $"{data.Source} annotation {a.Id}";
                    Assert.IsTrue(rle.Area > 0, $"{what}: empty mask (fully occluded objects must be dropped)");
                    Assert.AreEqual((double)rle.Area, a.Area, $"{what}: area");
                    CollectionAssert.AreEqual(rle.ToBbox(), a.Bbox, $"{what}: bbox");
                    if (data.Categories.Count > 1)
                    {
                        switch (a.Segmentation)
                        {
                            case CocoPolygons p:
                                Assert.IsFalse(a.IsCrowd, what);
                                Assert.IsTrue(p.Polygons.All(poly => poly.Length >= 6), $"{what}: a polygon needs 3 points");
                                polygons++;
                                break;
                            case CocoCompressedRle:
                                Assert.IsFalse(a.IsCrowd, what);
                                compressed++;
                                break;
                            case CocoUncompressedRle:
                                Assert.IsTrue(a.IsCrowd, $"{what}: only crowd regions use uncompressed RLE (COCO's convention)");
                                crowd++;
                                break;
                        }
                    }
                }
            }
        }
        Assert.IsTrue(polygons > 0 && compressed > 0 && crowd > 0, $"polygons {polygons}, compressed RLE {compressed}, crowd RLE {crowd}");
    }

    [TestMethod]
    public void OverlappingSameClassCountsAreTheWrittenAnnotationsAndSomeExist()
    {
        foreach (var split in _summary.Splits)
        {
            var coco = Instances(split.Split);
            Assert.AreEqual(SameClassOverlap.AnnotationIds(coco.Annotations).Count, split.OverlappingSameClassInstances, split.Split);
            Assert.AreEqual(SameClassOverlap.ImageIds(coco).Count, split.ImagesWithOverlappingSameClass, split.Split);
        }
        Assert.IsTrue(_summary.Splits.Sum(s => s.ImagesWithOverlappingSameClass) > 0, "the benchmark needs overlapping same-class pairs");
        StringAssert.Contains(_summary.ToText(), "overlapping same-class:");
    }

    [TestMethod]
    public void SizeMixHasSmallMediumAndLargeObjectsAsReported()
    {
        foreach (var split in _summary.Splits)
        {
            var things = Instances(split.Split).Annotations.Where(a => !a.IsCrowd).ToList();
            // COCO's ranges; generated areas never sit exactly on 32² or 96² (those count in two ranges).
            int small = things.Count(a => a.Area < 32 * 32), medium = things.Count(a => a.Area > 32 * 32 && a.Area < 96 * 96);
            int large = things.Count(a => a.Area > 96 * 96);
            Assert.AreEqual(things.Count, small + medium + large, $"{split.Split}: an area on a range boundary");
            Assert.AreEqual((split.Small, split.Medium, split.Large), (small, medium, large), split.Split);
            Assert.AreEqual(things.Count, split.Instances);
            Assert.AreEqual(split.Instances, split.InstancesByCategory.Values.Sum());
        }
        Assert.IsTrue(_summary.Splits.Sum(s => s.Small) > 0, "small");
        Assert.IsTrue(_summary.Splits.Sum(s => s.Medium) > 0, "medium");
        Assert.IsTrue(_summary.Splits.Sum(s => s.Large) > 0, "large");
        Assert.IsTrue(_summary.Splits.Sum(s => s.CrowdRegions) > 0, "crowd regions");
    }

    [TestMethod]
    public void ClassListIsWrittenAndCategoriesFollowIt()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(SyntheticDatasetGenerator.LabelsJsonPath(_root)));
        Assert.AreEqual(255, doc.RootElement.GetProperty("ignore_label").GetInt32());
        var classes = doc.RootElement.GetProperty("classes").EnumerateArray().ToArray();
        CollectionAssert.AreEqual(
            new[] { "person", "circle", "square", "triangle", "star", "ellipse", "sky", "grass", "water", "sand" },
            classes.Select(c => c.GetProperty("name").GetString()).ToArray());
        CollectionAssert.AreEqual(Enumerable.Range(0, 10).ToArray(), classes.Select(c => c.GetProperty("label").GetInt32()).ToArray());
        var categories = Instances("train").Categories;
        foreach (var c in classes.Where(c => c.GetProperty("kind").GetString() == "thing"))
        {
            long id = c.GetProperty("category_id").GetInt64();
            Assert.AreEqual(c.GetProperty("name").GetString(), categories.Single(k => k.Id == id).Name);
        }
        Assert.AreEqual(6, categories.Count);
    }

    [TestMethod]
    public void SemanticMapsShowTheTopMostInstanceOnThingPixelsAndStuffElsewhere()
    {
        var stuffSeen = new HashSet<int>();
        bool ignoreSeen = false;
        foreach (var split in SyntheticDatasetGenerator.Splits)
        {
            var data = Instances(split);
            foreach (var image in data.Images)
            {
                var rgb = ImageIO.Read(Path.Combine(SyntheticDatasetGenerator.ImageDirectory(_root, split), image.FileName!));
                var labels = SemanticLabelMapPng.Read(Path.Combine(SyntheticDatasetGenerator.SemanticDirectory(_root, split), image.FileName!));
                Assert.AreEqual((image.Height, image.Width, 3), (rgb.Height, rgb.Width, rgb.Channels), $"{split} {image.FileName}");
                Assert.AreEqual((image.Height, image.Width), (labels.Height, labels.Width), $"{split} {image.FileName}: label map size");

                // Visible masks never overlap: each pixel shows at most one instance (the top-most one).
                var expected = new int[image.Height * image.Width];
                Array.Fill(expected, -1);
                foreach (var a in data.Annotations.Where(a => a.ImageId == image.Id))
                {
                    var mask = Mask(data, a).Pixels;
                    int label = (int)a.CategoryId - 1;  // documented: things take labels 0..5 = category id − 1
                    for (int p = 0; p < mask.Length; p++)
                    {
                        if (mask[p] == 0) continue;
                        Assert.AreEqual(-1, expected[p], $"{split} {image.FileName}: annotation {a.Id} overlaps another visible mask at pixel {p}");
                        expected[p] = label;
                    }
                }
                for (int y = 0; y < image.Height; y++)
                    for (int x = 0; x < image.Width; x++)
                    {
                        int actual = labels[y, x], want = expected[y * image.Width + x];
                        if (want >= 0)
                        {
                            Assert.AreEqual(want, actual, $"{split} {image.FileName} ({x}, {y}): thing pixel");
                        }
                        else
                        {
                            Assert.IsTrue(actual is >= 6 and <= 9 or 255, $"{split} {image.FileName} ({x}, {y}): label {actual} where no instance is");
                            if (actual == 255) ignoreSeen = true; else stuffSeen.Add(actual);
                        }
                    }
            }
        }
        CollectionAssert.AreEquivalent(new[] { 6, 7, 8, 9 }, stuffSeen.ToArray(), "every stuff class appears");
        Assert.IsTrue(ignoreSeen, "clutter (ignore) pixels appear");
    }

    [TestMethod]
    public void KeypointsAreCocoPersonKeypointsWithConsistentVisibility()
    {
        var schema = KeypointSchema.CocoPerson;
        int[] byVisibility = new int[3];
        foreach (var split in SyntheticDatasetGenerator.Splits)
        {
            var data = Keypoints(split);
            var person = data.Categories.Single();
            CollectionAssert.AreEqual(schema.Names.ToArray(), person.Keypoints!.ToArray());
            CollectionAssert.AreEqual(schema.Skeleton.Select(e => (e.From + 1, e.To + 1)).ToArray(), person.Skeleton!.Select(e => (e[0], e[1])).ToArray());

            // The same persons, with the same ids and masks, are in the instances file.
            var instancePersons = Instances(split).Annotations.Where(a => a.CategoryId == person.Id).ToDictionary(a => a.Id);
            Assert.AreEqual(instancePersons.Count, data.Annotations.Count);
            foreach (var a in data.Annotations)
            {
                string what = $"{split} person {a.Id}";
                var twin = instancePersons[a.Id];
                Assert.AreEqual((twin.ImageId, twin.Area), (a.ImageId, a.Area), what);
                CollectionAssert.AreEqual(twin.Bbox, a.Bbox, what);
                Assert.IsNull(twin.Keypoints, "instances files carry no keypoints");

                var image = data.GetImage(a.ImageId);
                var mask = Mask(data, a);
                var kp = a.Keypoints!;
                Assert.AreEqual(51, kp.Length, what);
                int labelled = 0;
                for (int k = 0; k < 17; k++)
                {
                    double x = kp[3 * k], y = kp[3 * k + 1];
                    int v = (int)kp[3 * k + 2];
                    byVisibility[v]++;
                    string where = $"{what} {schema.Names[k]} ({x}, {y}, v={v})";
                    if (v == 0)
                    {
                        Assert.AreEqual((0.0, 0.0), (x, y), $"{where}: unlabelled keypoints are written as 0, 0, 0");
                        continue;
                    }
                    labelled++;
                    Assert.IsTrue(x >= 0 && x < image.Width && y >= 0 && y < image.Height, $"{where}: outside the image");
                    // Keypoints sit on limb centre lines, but the COCO rasteriser can leave the pixel under
                    // a thin limb's end unset; 2 px is the tolerance the brief allows for that.
                    if (v == 2) Assert.IsTrue(NearMask(mask, x, y, 2), $"{where}: visible keypoint more than 2 px from the mask");
                }
                Assert.AreEqual(labelled, a.NumKeypoints, $"{what}: num_keypoints");
            }
        }
        Assert.IsTrue(byVisibility.All(n => n > 0), $"visibility 0/1/2 counts {string.Join("/", byVisibility)}: each must occur");
        var reported = (_summary.Splits.Sum(s => s.KeypointsOutside), _summary.Splits.Sum(s => s.KeypointsOccluded), _summary.Splits.Sum(s => s.KeypointsVisible));
        Assert.AreEqual((byVisibility[0], byVisibility[1], byVisibility[2]), reported);
    }

    [TestMethod]
    public void LeftKeypointsLieOnTheImageRightOfTheTorsoAndTheFlipMapKeepsThatAfterAFlip()
    {
        // Convention (COCO): left is the person's own left; the figures face the camera, so every
        // left_* keypoint lies on the image-right side of the torso axis (hip centre → shoulder centre).
        var schema = KeypointSchema.CocoPerson;
        int[] leftIndices = schema.Names.Select((n, i) => (n, i)).Where(t => t.n.StartsWith("left_", StringComparison.Ordinal)).Select(t => t.i).ToArray();
        Assert.AreEqual(8, leftIndices.Length);
        int pairsChecked = 0;
        foreach (var split in SyntheticDatasetGenerator.Splits)
        {
            var data = Keypoints(split);
            foreach (var a in data.Annotations)
            {
                var kp = a.Keypoints!;
                if (!TorsoLabelled(kp)) continue;
                int width = data.GetImage(a.ImageId).Width;
                var flipped = Flip(kp, width, schema.FlipMap);
                var flippedWithoutMap = Flip(kp, width, Enumerable.Range(0, 17).ToArray());
                foreach (int left in leftIndices)
                {
                    int right = schema.FlipMap[left];
                    if (kp[3 * left + 2] == 0 || kp[3 * right + 2] == 0) continue;
                    string what = $"{split} person {a.Id}: {schema.Names[left]} vs {schema.Names[right]}";
                    Assert.IsTrue(RightwardOffset(kp, left, right) > 0, $"{what}: the left keypoint is not on the image-right of the torso");
                    Assert.IsTrue(RightwardOffset(flipped, left, right) > 0, $"{what}: after a flip with the flip map");
                    // Without the flip map the mirrored figure breaks the convention: the map is what keeps it.
                    Assert.IsTrue(RightwardOffset(flippedWithoutMap, left, right) < 0, $"{what}: mirrored without the flip map");
                    pairsChecked++;
                }
            }
        }
        Assert.IsTrue(pairsChecked >= 20, $"only {pairsChecked} left/right pairs were labelled");
    }

    private static bool NearMask(BitMask mask, double x, double y, int pixels)
    {
        int px = (int)Math.Floor(x), py = (int)Math.Floor(y);
        for (int yy = Math.Max(0, py - pixels); yy <= Math.Min(mask.Height - 1, py + pixels); yy++)
            for (int xx = Math.Max(0, px - pixels); xx <= Math.Min(mask.Width - 1, px + pixels); xx++)
                if (mask[yy, xx]) return true;
        return false;
    }

    private const int LeftShoulder = 5, RightShoulder = 6, LeftHip = 11, RightHip = 12;

    private static bool TorsoLabelled(double[] kp) =>
        new[] { LeftShoulder, RightShoulder, LeftHip, RightHip }.All(k => kp[3 * k + 2] > 0);

    /// <summary>
    /// How far <paramref name="left"/> lies towards the image right of <paramref name="right"/>, measured
    /// across the torso axis (perpendicular to hip centre → shoulder centre, image y pointing down).
    /// </summary>
    private static double RightwardOffset(double[] kp, int left, int right)
    {
        double ux = (kp[3 * LeftShoulder] + kp[3 * RightShoulder] - kp[3 * LeftHip] - kp[3 * RightHip]) / 2;
        double uy = (kp[3 * LeftShoulder + 1] + kp[3 * RightShoulder + 1] - kp[3 * LeftHip + 1] - kp[3 * RightHip + 1]) / 2;
        // "Up" (ux, uy) turned a quarter clockwise on screen gives "image right": (−uy, ux).
        double rx = -uy, ry = ux;
        return (kp[3 * left] - kp[3 * right]) * rx + (kp[3 * left + 1] - kp[3 * right + 1]) * ry;
    }

    /// <summary>Horizontal flip of (x, y, v) triplets in continuous coordinates (x → width − x), keypoints permuted by <paramref name="map"/>.</summary>
    private static double[] Flip(double[] kp, int width, IReadOnlyList<int> map)
    {
        var flipped = new double[kp.Length];
        for (int k = 0; k < 17; k++)
        {
            int j = map[k];
            flipped[3 * j] = kp[3 * k + 2] > 0 ? width - kp[3 * k] : 0;
            flipped[3 * j + 1] = kp[3 * k + 1];
            flipped[3 * j + 2] = kp[3 * k + 2];
        }
        return flipped;
    }
}
