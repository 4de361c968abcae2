using System.Text.Json;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Data.Coco;
using MLNetSeg.Data.Loading;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Imaging;
using static MLNetSeg.Data.Tests.Loading.LoadingFixtures;

namespace MLNetSeg.Data.Tests.Loading;

/// <summary>
/// Targets and image filtering against torchvision's detection references
/// (coco_utils.ConvertCocoPolysToMask and _coco_remove_images_without_annotations, run with
/// pycocotools on the same annotation files: tests/fixtures/loading/coco_*.json). Boxes are compared
/// bit for bit (same float32 sums and clamps), masks pixel for pixel.
/// </summary>
[TestClass]
public sealed class DetectionDatasetTests
{
    [DataTestMethod]
    [DataRow("coco_instances")]
    [DataRow("coco_keypoints")]
    public void TargetsMatchConvertCocoPolysToMask(string name)
    {
        var dataset = new DetectionDataset(CocoDataset.Load(Path.Combine(Dir, name + ".json")), "images");
        var expected = Load(name + "_expected.json");
        var ids = expected.GetProperty("image_ids").EnumerateArray().Select(v => v.GetInt64()).ToArray();
        CollectionAssert.AreEqual(ids, Enumerable.Range(0, dataset.Count).Select(i => dataset.ImageInfo(i).Id).ToArray(), "ascending image ids");
        int checkedTargets = 0;
        foreach (var e in expected.GetProperty("targets").EnumerateArray())
        {
            long id = e.GetProperty("image_id").GetInt64();
            var target = dataset.GetTarget(Array.IndexOf(ids, id));
            string what = $"{name} image {id}";
            AssertExact(Floats(e.GetProperty("boxes")), target.Boxes.Data, $"{what}: boxes");
            CollectionAssert.AreEqual(
                e.GetProperty("category_ids").EnumerateArray().Select(v => v.GetInt64()).ToArray(),
                target.Labels.Select(dataset.Categories.CategoryIdOf).ToArray(), $"{what}: categories");
            AssertMasks(e.GetProperty("masks"), target.Masks!, $"{what}: masks");
            if (e.TryGetProperty("keypoints", out var kp))
            {
                Assert.AreEqual(17, dataset.KeypointsPerInstance);
                AssertExact(Floats(kp), target.Keypoints!.Data, $"{what}: keypoints");
            }
            Assert.IsTrue(target.IsCrowd.All(c => !c), $"{what}: crowd annotations are dropped by default");
            checkedTargets++;
        }
        Assert.IsTrue(checkedTargets > 0, $"{name}_expected.json: no targets");
        Assert.AreEqual(ids.Length, checkedTargets);
    }

    [DataTestMethod]
    [DataRow("coco_instances")]
    [DataRow("coco_keypoints")]
    public void RemovingImagesWithoutAnnotationsKeepsWhatTorchvisionKeeps(string name)
    {
        // Instances: no annotations, only boxes of side <= 1 -> removed; only a crowd annotation -> kept.
        // Keypoints: 9 visible keypoints -> removed; 10 and 12 -> kept.
        var dataset = new DetectionDataset(CocoDataset.Load(Path.Combine(Dir, name + ".json")), "images",
            new DetectionDatasetOptions { RemoveImagesWithoutAnnotations = true });
        var expected = Load(name + "_expected.json").GetProperty("kept_image_ids").EnumerateArray().Select(v => v.GetInt64()).ToArray();
        CollectionAssert.AreEqual(expected, Enumerable.Range(0, dataset.Count).Select(i => dataset.ImageInfo(i).Id).ToArray());
    }

    [TestMethod]
    public void LabelsAreContiguousInCategoryIdOrderWithBackgroundZero()
    {
        var dataset = new DetectionDataset(CocoDataset.Load(Path.Combine(Dir, "coco_instances.json")), "images");
        var c = dataset.Categories;
        CollectionAssert.AreEqual(new long[] { 3, 18, 44 }, c.CategoryIds.ToArray()); // file order is 18, 3, 44
        Assert.AreEqual(3, c.Count);
        Assert.AreEqual(4, c.CountWithBackground);
        Assert.AreEqual(1, c.LabelOf(3));
        Assert.AreEqual(3, c.LabelOf(44));
        Assert.AreEqual("dog", c.NameOf(2));
        Assert.AreEqual("__background__", c.NameOf(0));
        Assert.ThrowsException<KeyNotFoundException>(() => c.LabelOf(7));
        Assert.ThrowsException<ArgumentOutOfRangeException>(() => c.CategoryIdOf(0));
    }

    [TestMethod]
    public void KeepCrowdFlagsCrowdInstancesInsteadOfDroppingThem()
    {
        var dataset = new DetectionDataset(CocoDataset.Load(Path.Combine(Dir, "coco_instances.json")), "images",
            new DetectionDatasetOptions { KeepCrowd = true });
        int index = Enumerable.Range(0, dataset.Count).Single(i => dataset.ImageInfo(i).Id == 5);
        var target = dataset.GetTarget(index);
        // Annotations 101, 102, 104 (crowd), 105, 107 survive the degenerate-box filter, in file order.
        CollectionAssert.AreEqual(new long[] { 101, 102, 104, 105, 107 }, target.AnnotationIds.ToArray());
        CollectionAssert.AreEqual(new[] { false, false, true, false, false }, target.IsCrowd.ToArray());
        CollectionAssert.AreEqual(new float[] { 14, 20, 120, 6, 3 }, target.Areas.ToArray(), "areas as written in the file");
    }

    [TestMethod]
    public void AspectGroupsFollowTorchvisionQuantisation()
    {
        int cases = 0;
        foreach (var g in Load("grouped.json").GetProperty("aspect_groups").EnumerateArray())
        {
            int h = g.GetProperty("height").GetInt32(), w = g.GetProperty("width").GetInt32();
            Assert.AreEqual(g.GetProperty("group").GetInt32(), AspectRatioGrouping.GroupOf(h, w), $"{h}x{w}");
            cases++;
        }
        Assert.IsTrue(cases > 0, "grouped.json: no aspect groups");
    }

    [TestMethod]
    public void AnAnnotationWithoutBoxIsReportedWithItsId()
    {
        var coco = CocoDataset.Parse("""
            {"images":[{"id":4,"file_name":"x.png","width":8,"height":6}],
             "categories":[{"id":1,"name":"a"}],
             "annotations":[{"id":31,"image_id":4,"category_id":1,"iscrowd":0,"segmentation":[[0,0,4,0,4,4]]}]}
            """, "bad.json");
        var dataset = new DetectionDataset(coco, "imgs");
        var e = Assert.ThrowsException<BadSampleException>(() => dataset.GetTarget(0));
        Assert.AreEqual(31L, e.AnnotationId);
        Assert.AreEqual(4L, e.ImageId);
        StringAssert.Contains(e.Message, "annotation 31");
        StringAssert.Contains(e.Message, "bad.json");
        StringAssert.Contains(e.Message, Path.Combine("imgs", "x.png"));
        StringAssert.Contains(e.Message, "'bbox'");
    }

    [TestMethod]
    public void AnAnnotationWithoutSegmentationIsReportedWhenMasksAreLoaded()
    {
        var coco = CocoDataset.Parse("""
            {"images":[{"id":4,"file_name":"x.png","width":8,"height":6}],
             "categories":[{"id":1,"name":"a"}],
             "annotations":[{"id":32,"image_id":4,"category_id":1,"iscrowd":0,"bbox":[1,1,3,3]}]}
            """, "nomask.json");
        var e = Assert.ThrowsException<BadSampleException>(() => new DetectionDataset(coco, "imgs").GetTarget(0));
        Assert.AreEqual(32L, e.AnnotationId);
        StringAssert.Contains(e.Message, "'segmentation'");
        var boxesOnly = new DetectionDataset(coco, "imgs", new DetectionDatasetOptions { LoadMasks = false }).GetTarget(0);
        Assert.IsNull(boxesOnly.Masks);
        CollectionAssert.AreEqual(new float[] { 1, 1, 4, 4 }, boxesOnly.Boxes.ToXyxy());
    }

    [TestMethod]
    public void ImageFilesAreDecodedToRgbFloatTensorsAndCheckedAgainstTheAnnotationSize()
    {
        using var dir = new TempDir();
        var grey = new Image(3, 4, 1);
        for (int i = 0; i < 12; i++) grey.Pixels[i] = (byte)(20 * i);
        ImageIO.WritePng(grey, Path.Combine(dir.Path, "g.png"));
        ImageIO.WritePng(new Image(5, 4, 3), Path.Combine(dir.Path, "wrong.png"));
        var coco = CocoDataset.Parse("""
            {"images":[{"id":1,"file_name":"g.png","width":4,"height":3},{"id":2,"file_name":"wrong.png","width":4,"height":3}],
             "categories":[{"id":1,"name":"a"}], "annotations":[]}
            """, "sizes.json");
        var dataset = new DetectionDataset(coco, dir.Path);
        using var scope = DisposeScope.Enter();
        var sample = dataset.Get(0);
        CollectionAssert.AreEqual(new long[] { 3, 3, 4 }, sample.Image.Shape);
        var values = sample.Image.ToArray<float>();
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 12; i++)
                Assert.AreEqual((float)(20 * i) / 255f, values[c * 12 + i], $"channel {c}, pixel {i}: grey replicated, divided by 255");
        Assert.AreEqual(0, sample.Target.Count);
        var e = Assert.ThrowsException<BadSampleException>(() => dataset.Get(1));
        StringAssert.Contains(e.Message, Path.Combine(dir.Path, "wrong.png"));
        StringAssert.Contains(e.Message, "5x4");
    }

    [TestMethod]
    public void ATruncatedPngIsReportedWithItsPath()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "cut.png");
        var png = ImageIO.EncodePng(Image.Filled(16, 16, new Rgb(10, 200, 30)));
        File.WriteAllBytes(path, png.AsSpan(0, png.Length / 2).ToArray());
        var coco = CocoDataset.Parse("""{"images":[{"id":9,"file_name":"cut.png","width":16,"height":16}],"categories":[],"annotations":[]}""", "cut.json");
        var e = Assert.ThrowsException<BadSampleException>(() => new DetectionDataset(coco, dir.Path).LoadImage(0));
        Assert.AreEqual(path, e.ImagePath);
        Assert.AreEqual(9L, e.ImageId);
        Assert.IsNull(e.AnnotationId);
        StringAssert.Contains(e.Message, path);
        Assert.IsInstanceOfType<InvalidImageException>(e.InnerException);
    }
}

/// <summary>A temporary folder removed at dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Path = Directory.CreateTempSubdirectory("mlnetseg-loading-").FullName;

    public string Path { get; }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { /* best effort */ }
    }
}
