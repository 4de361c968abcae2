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
/// A dataset's own keypoint schema (names, skeleton, flip map) from its COCO keypoint category,
/// and the horizontal flip using it. Expected keypoints after a flip are worked out by hand in the
/// comments from torchvision's rule (x' = W − x, slot k takes keypoint flip[k], unlabelled → (0, 0, 0)).
/// </summary>
[TestClass]
public sealed class KeypointSchemaDatasetTests
{
    private const int Width = 20, Height = 24;

    // A five-keypoint "star" figure; the file's skeleton is 1-based.
    private const string StarCategory =
        """{"id": 3, "name": "star", "keypoints": ["head", "left_hand", "right_hand", "left_foot", "right_foot"], "skeleton": [[1, 2], [1, 3], [1, 4], [1, 5]]}""";

    private static string StarJson(string categories = StarCategory, string keypoints = "[10, 2, 2, 4, 6, 2, 15, 6, 1, 7, 18, 2, 0, 0, 0]", long categoryId = 3) => $$"""
        {"images": [{"id": 1, "file_name": "a.png", "width": {{Width}}, "height": {{Height}}}],
         "categories": [{{categories}}],
         "annotations": [{"id": 11, "image_id": 1, "category_id": {{categoryId}}, "iscrowd": 0, "bbox": [2, 1, 16, 20], "area": 320,
                          "keypoints": {{keypoints}}, "num_keypoints": 4}]}
        """;

    private static DetectionDataset Star(DetectionDatasetOptions? options = null, string? json = null, string directory = "imgs") =>
        new(CocoDataset.Parse(json ?? StarJson(), "star.json"), directory, (options ?? new DetectionDatasetOptions()) with { LoadMasks = false });

    [TestMethod]
    public void AFiveKeypointFileGivesItsNamesZeroBasedSkeletonAndDerivedFlipMap()
    {
        var schema = Star().KeypointSchema!;
        CollectionAssert.AreEqual(new[] { "head", "left_hand", "right_hand", "left_foot", "right_foot" }, schema.Names.ToArray());
        CollectionAssert.AreEqual(new[] { (0, 1), (0, 2), (0, 3), (0, 4) }, schema.Skeleton.ToArray(), "file edges [1, k] minus one");
        CollectionAssert.AreEqual(new[] { 0, 2, 1, 4, 3 }, schema.FlipMap.ToArray(), "hands swap, feet swap, head stays");
    }

    [TestMethod]
    public void TheFlipWithTheDatasetsSchemaSwapsItsOwnLeftAndRightKeypoints()
    {
        using var dir = new TempDir();
        var image = new Image(Height, Width, 3);
        image[1, 2, 0] = 255; // a red marker at x = 2 lands at x = W − 1 − 2 = 17
        ImageIO.WritePng(image, Path.Combine(dir.Path, "a.png"));
        var dataset = Star(directory: dir.Path);

        // W = 20. Before: head (10, 2, 2), left_hand (4, 6, 2), right_hand (15, 6, 1), left_foot (7, 18, 2), right_foot unlabelled.
        // After:  head (10, 2, 2); left_hand slot <- right_hand (20 − 15, 6, 1); right_hand slot <- left_hand (20 − 4, 6, 2);
        //         left_foot slot <- right_foot, unlabelled -> (0, 0, 0); right_foot slot <- left_foot (20 − 7, 18, 2).
        float[] expected = { 10, 2, 2, 5, 6, 1, 16, 6, 2, 0, 0, 0, 13, 18, 2 };
        using (var scope = DisposeScope.Enter())
        {
            var flipped = new RandomHorizontalFlip(1, dataset.KeypointSchema).Apply(dataset.Get(0), new Random(0));
            CollectionAssert.AreEqual(expected, flipped.Target.Keypoints!.Data.ToArray());
            CollectionAssert.AreEqual(new float[] { 2, 1, 18, 21 }, flipped.Target.Boxes.ToXyxy(), "box [2, 1, 16, 20] -> x1' = 20 − 18, x2' = 20 − 2");
            var pixels = flipped.Image.ToArray<float>(); // [3, H, W]
            Assert.AreEqual(1f, pixels[1 * Width + 17], "red channel of the marker, mirrored");
            Assert.AreEqual(0f, pixels[1 * Width + 2], "nothing left where the marker was");
        }

        // The same through the DataLoader, which is how training applies it.
        var loader = new DataLoader(dataset, new RandomHorizontalFlip(1, dataset.KeypointSchema), new DataLoaderOptions { BatchSize = 1, Workers = 1 });
        using var batch = loader.GetEpoch(0).Single();
        CollectionAssert.AreEqual(expected, batch.Targets[0].Keypoints!.Data.ToArray());
    }

    [TestMethod]
    public void FlippingFiveKeypointsWithTheDefaultCocoPersonMapFailsNamingTheSample()
    {
        using var dir = new TempDir();
        ImageIO.WritePng(new Image(Height, Width, 3), Path.Combine(dir.Path, "a.png"));
        var dataset = Star(directory: dir.Path);
        using var scope = DisposeScope.Enter();
        var sample = dataset.Get(0);
        var e = Assert.ThrowsException<ArgumentException>(() => new RandomHorizontalFlip(1).Apply(sample, new Random(0)));
        StringAssert.Contains(e.Message, $"sample 0 (image 1, {Path.Combine(dir.Path, "a.png")})");
        StringAssert.Contains(e.Message, "17 keypoints");
        StringAssert.Contains(e.Message, "have 5");
    }

    [TestMethod]
    public void AFlipOfASampleWithoutKeypointsNeedsNoMatchingMap()
    {
        using var scope = DisposeScope.Enter();
        var target = new DetectionTarget(Boxes.FromXyxy([1, 2, 4, 6]), [1], [false], [7], [12f]);
        var sample = new DetectionSample(0, 1, "x", new ImageSize(8, 10), Tensor.Zeros([3, 8, 10]), target);
        var fiveKeypoints = KeypointSchema.FromNames(new[] { "a", "left_b", "right_b", "left_c", "right_c" });
        var flipped = new RandomHorizontalFlip(1, fiveKeypoints).Apply(sample, new Random(0));
        Assert.IsNull(flipped.Target.Keypoints);
        CollectionAssert.AreEqual(new float[] { 6, 2, 9, 6 }, flipped.Target.Boxes.ToXyxy());
    }

    [TestMethod]
    public void TheCocoPersonFixtureGetsTheCocoPersonSchemaWithTheFilesSkeleton()
    {
        string path = Path.Combine(Dir, "coco_keypoints.json");
        var dataset = new DetectionDataset(CocoDataset.Load(path), "images");
        var schema = dataset.KeypointSchema!;
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var category = doc.RootElement.GetProperty("categories")[0];
        CollectionAssert.AreEqual(category.GetProperty("keypoints").EnumerateArray().Select(v => v.GetString()).ToArray(), schema.Names.ToArray());
        var fileEdges = category.GetProperty("skeleton").EnumerateArray().Select(e => (e[0].GetInt32() - 1, e[1].GetInt32() - 1)).ToArray();
        CollectionAssert.AreEqual(fileEdges, schema.Skeleton.ToArray());
        // torchvision's _flip_coco_person_keypoints.
        CollectionAssert.AreEqual(new[] { 0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15 }, schema.FlipMap.ToArray());
    }

    [TestMethod]
    public void WithoutLoadedKeypointsThereIsNoSchema()
    {
        Assert.IsNull(new DetectionDataset(CocoDataset.Load(Path.Combine(Dir, "coco_instances.json")), "images").KeypointSchema);
        var off = Star(new DetectionDatasetOptions { LoadKeypoints = false });
        Assert.IsNull(off.KeypointSchema);
        Assert.IsNull(off.KeypointsPerInstance);
    }

    [TestMethod]
    public void AGivenFlipMapReplacesTheDerivedOne()
    {
        // Only the hands swap (say the feet are labelled by position, not by side).
        var schema = Star(new DetectionDatasetOptions { KeypointFlipMap = [0, 2, 1, 3, 4] }).KeypointSchema!;
        CollectionAssert.AreEqual(new[] { 0, 2, 1, 3, 4 }, schema.FlipMap.ToArray());
        Assert.AreEqual("left_foot", schema.Names[3], "names still come from the file");
        Assert.AreEqual(4, schema.Skeleton.Count, "skeleton still comes from the file");
    }

    [DataTestMethod]
    [DataRow(new[] { 0, 2, 1, 4 }, "4 entries but there are 5 keypoints")]
    [DataRow(new[] { 0, 2, 3, 4, 1 }, "its own inverse")]
    [DataRow(new[] { 0, 1, 1, 3, 4 }, "its own inverse")]
    [DataRow(new[] { 0, 2, 1, 4, 5 }, "its own inverse")]
    public void ABadFlipMapIsRejectedNamingTheFileAndCategory(int[] map, string problem)
    {
        var e = Assert.ThrowsException<ArgumentException>(() => Star(new DetectionDatasetOptions { KeypointFlipMap = map }));
        StringAssert.Contains(e.Message, "star.json");
        StringAssert.Contains(e.Message, "category 3 ('star')");
        StringAssert.Contains(e.Message, "KeypointFlipMap");
        StringAssert.Contains(e.Message, problem);
    }

    [TestMethod]
    public void AGivenSchemaReplacesTheFilesAndMustHaveTheAnnotationsCount()
    {
        var mine = new KeypointSchema(new[] { "p0", "p1", "p2", "p3", "p4" }, new[] { (3, 4) }, new[] { 4, 1, 2, 3, 0 });
        Assert.AreSame(mine, Star(new DetectionDatasetOptions { KeypointSchema = mine }).KeypointSchema);
        var wrongCount = Assert.ThrowsException<ArgumentException>(() => Star(new DetectionDatasetOptions { KeypointSchema = KeypointSchema.CocoPerson }));
        StringAssert.Contains(wrongCount.Message, "star.json");
        StringAssert.Contains(wrongCount.Message, "describes 17 keypoints but the annotations have 5");
        var both = Assert.ThrowsException<ArgumentException>(() => Star(new DetectionDatasetOptions { KeypointSchema = mine, KeypointFlipMap = [0, 1, 2, 3, 4] }));
        StringAssert.Contains(both.Message, "both set");
    }

    [TestMethod]
    public void CategoriesNamingTheSameKeypointsShareOneSchema()
    {
        // Two categories with the same five names; only the second gives a skeleton, and it is used.
        string categories = """
            {"id": 3, "name": "star", "keypoints": ["head", "left_hand", "right_hand", "left_foot", "right_foot"]},
            {"id": 5, "name": "starlet", "keypoints": ["head", "left_hand", "right_hand", "left_foot", "right_foot"], "skeleton": [[2, 3]]}
            """;
        var schema = Star(json: StarJson(categories)).KeypointSchema!;
        CollectionAssert.AreEqual(new[] { (1, 2) }, schema.Skeleton.ToArray());
        CollectionAssert.AreEqual(new[] { 0, 2, 1, 4, 3 }, schema.FlipMap.ToArray());
    }

    [TestMethod]
    public void CategoriesNamingDifferentKeypointsAreAnError()
    {
        string categories = StarCategory + """, {"id": 8, "name": "hand", "keypoints": ["wrist", "thumb", "index", "middle", "pinky"]}""";
        var e = Assert.ThrowsException<CocoFormatException>(() => Star(json: StarJson(categories)));
        StringAssert.Contains(e.Message, "star.json");
        StringAssert.Contains(e.Message, "categories 3 ('star') and 8 ('hand') name different keypoints");
        string skeletons = StarCategory + """, {"id": 8, "name": "star2", "keypoints": ["head", "left_hand", "right_hand", "left_foot", "right_foot"], "skeleton": [[1, 2]]}""";
        var s = Assert.ThrowsException<CocoFormatException>(() => Star(json: StarJson(skeletons)));
        StringAssert.Contains(s.Message, "categories 3 ('star') and 8 ('star2')");
        StringAssert.Contains(s.Message, "different 'skeleton'");
    }

    [TestMethod]
    public void UnnamedKeypointsAreCocoPersonOnlyWhenThereAreSeventeen()
    {
        var unnamed = Assert.ThrowsException<CocoFormatException>(() => Star(json: StarJson("""{"id": 3, "name": "star"}""")));
        StringAssert.Contains(unnamed.Message, "star.json: the annotations have 5 keypoints but no category names them");
        StringAssert.Contains(unnamed.Message, "DetectionDatasetOptions.KeypointSchema");
        var mine = KeypointSchema.FromNames(new[] { "a", "b", "c", "d", "e" });
        Assert.AreSame(mine, Star(new DetectionDatasetOptions { KeypointSchema = mine }, StarJson("""{"id": 3, "name": "star"}""")).KeypointSchema);

        string seventeen = "[" + string.Join(", ", Enumerable.Range(0, 17).Select(i => $"{i + 1}, 3, 2")) + "]";
        var person = Star(json: StarJson("""{"id": 3, "name": "person"}""", seventeen)).KeypointSchema!;
        CollectionAssert.AreEqual(KeypointSchema.CocoPerson.Names.ToArray(), person.Names.ToArray());
        CollectionAssert.AreEqual(new[] { 0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15 }, person.FlipMap.ToArray());
    }

    [TestMethod]
    public void NamesWhoseMirrorIsAmbiguousAreReportedWithTheirCategory()
    {
        string categories = """{"id": 3, "name": "star", "keypoints": ["head", "left_hand", "right_hand", "Right_Hand", "foot"]}""";
        var e = Assert.ThrowsException<CocoFormatException>(() => Star(json: StarJson(categories)));
        StringAssert.Contains(e.Message, "star.json: category 3 ('star')");
        StringAssert.Contains(e.Message, "'left_hand'");
        // A given flip map needs no derivation, so the same file loads with one.
        var schema = Star(new DetectionDatasetOptions { KeypointFlipMap = [0, 2, 1, 3, 4] }, StarJson(categories)).KeypointSchema!;
        CollectionAssert.AreEqual(new[] { 0, 2, 1, 3, 4 }, schema.FlipMap.ToArray());
    }
}
