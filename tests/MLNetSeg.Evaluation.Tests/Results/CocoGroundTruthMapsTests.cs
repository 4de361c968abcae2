using MLNetSeg.Data.Coco;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Evaluation.Tests.Results;

/// <summary>
/// Semantic and panoptic ground truth derived from COCO annotations, against maps written out by
/// hand from the annotation layout and the documented rules (later regular annotation wins; crowd
/// only on pixels no regular annotation covers; unmapped categories ignored; empty segments dropped).
/// </summary>
[TestClass]
public sealed class CocoGroundTruthMapsTests
{
    /// <summary>A hand-drawn mask: '#' set, '.' clear, one string per row.</summary>
    internal static CocoUncompressedRle Drawn(params string[] rows)
    {
        int h = rows.Length, w = rows[0].Length;
        var pixels = new byte[h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) pixels[y * w + x] = rows[y][x] == '#' ? (byte)1 : (byte)0;
        var rle = Rle.Encode(BitMask.FromRowMajor(h, w, pixels));
        return new CocoUncompressedRle(h, w, rle.Counts.ToArray());
    }

    internal static CocoAnnotation Ann(long id, long imageId, long category, CocoSegmentation segmentation, bool crowd = false) => new()
    {
        Id = id, ImageId = imageId, CategoryId = category, IsCrowd = crowd, Segmentation = segmentation,
        Area = 1, // not read by the maps
        Bbox = [0, 0, 1, 1],
    };

    /// <summary>Image 1 (6×8): five annotations overlapping in every way the rules cover. Image 2 (3×4): one annotation hidden by a later one.</summary>
    internal static CocoDataset Layout() => new(
        [new CocoImage { Id = 1, Height = 6, Width = 8 }, new CocoImage { Id = 2, Height = 3, Width = 4 }, new CocoImage { Id = 3, Height = 2, Width = 2 }],
        [new CocoCategory { Id = 1, Name = "a" }, new CocoCategory { Id = 2, Name = "b" }, new CocoCategory { Id = 5, Name = "c" }],
        [
            Ann(10, 1, 1, Drawn(
                "####....",
                "####....",
                "####....",
                "........",
                "........",
                "........")),
            Ann(11, 1, 2, Drawn(  // later: wins over 10 where they overlap
                "........",
                "..####..",
                "..####..",
                "..####..",
                "........",
                "........")),
            Ann(12, 1, 1, Drawn(  // crowd: only where no regular annotation lies
                "........",
                "........",
                "........",
                "########",
                "########",
                "########"), crowd: true),
            Ann(13, 1, 5, Drawn(  // category 5: no label maps to it
                "........",
                "........",
                "........",
                "........",
                "........",
                "......##")),
            Ann(14, 1, 2, Drawn(  // regular after the crowd in file order: still wins over it
                "........",
                "........",
                "........",
                "........",
                "##......",
                "##......")),
            Ann(20, 2, 1, Drawn(
                "##..",
                "##..",
                "....")),
            Ann(21, 2, 2, Drawn(  // hides 20 entirely
                "###.",
                "###.",
                "###.")),
        ],
        "layout.json");

    /// <summary>Label 1 is category 2, label 2 is category 1 (swapped, so the mapping is exercised).</summary>
    internal static readonly int[] LabelToCategoryId = [0, 2, 1];

    [TestMethod]
    public void SemanticMapFollowsTheOverlapRules()
    {
        var maps = new CocoGroundTruthMaps(Layout(), LabelToCategoryId);
        const int I = 255;
        int[] expected =
        [
            2, 2, 2, 2, 0, 0, 0, 0,
            2, 2, 1, 1, 1, 1, 0, 0,
            2, 2, 1, 1, 1, 1, 0, 0,
            I, I, 1, 1, 1, 1, I, I,
            1, 1, I, I, I, I, I, I,
            1, 1, I, I, I, I, I, I,   // the last two: category 5, unmapped
        ];
        var map = maps.Semantic(1);
        Assert.AreEqual((6, 8), (map.Height, map.Width));
        CollectionAssert.AreEqual(expected, map.Labels.ToArray());
        CollectionAssert.AreEqual(new[] { 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0 }, maps.Semantic(2).Labels.ToArray());
        CollectionAssert.AreEqual(new[] { 0, 0, 0, 0 }, maps.Semantic(3).Labels.ToArray(), "an image without annotations is background");
        var warning = maps.Warnings.Single();
        StringAssert.Contains(warning, "1 annotation(s) of categories no label maps to (5)");
    }

    [TestMethod]
    public void PolygonAnnotationsArePaintedWhereCocoRasterisesThem()
    {
        double[] polygon = [0.5, 0.5, 6.2, 1.0, 4.0, 4.7];
        var coco = new CocoDataset([new CocoImage { Id = 1, Height = 6, Width = 8 }], [new CocoCategory { Id = 1, Name = "a" }],
            [new CocoAnnotation { Id = 1, ImageId = 1, CategoryId = 1, Segmentation = new CocoPolygons([polygon]), Area = 1, Bbox = [0, 0, 1, 1] }]);
        var expected = Rle.FromPolygons([polygon], 6, 8).Decode(); // COCO's rasterisation (pycocotools-checked in the Vision tests)
        Assert.IsTrue(expected.Area > 5);
        var map = new CocoGroundTruthMaps(coco, [0, 1]).Semantic(1);
        for (int i = 0; i < 48; i++) Assert.AreEqual((int)expected.Pixels[i], map.Labels[i], $"pixel {i}");
    }

    [TestMethod]
    public void PanopticMapFollowsTheOverlapRules()
    {
        var maps = new CocoGroundTruthMaps(Layout());
        var pan = maps.Panoptic(1);
        // Segments in order: regular annotations 10, 11, 13, 14 (ids 1..4), the crowd of category 1 (5), unlabelled (6).
        int[] expected =
        [
            1, 1, 1, 1, 6, 6, 6, 6,
            1, 1, 2, 2, 2, 2, 6, 6,
            1, 1, 2, 2, 2, 2, 6, 6,
            5, 5, 2, 2, 2, 2, 5, 5,
            4, 4, 5, 5, 5, 5, 5, 5,
            4, 4, 5, 5, 5, 5, 3, 3,
        ];
        CollectionAssert.AreEqual(expected, pan.Ids.ToArray());
        CollectionAssert.AreEqual(new[]
        {
            new PanopticSegment(1, 1), new PanopticSegment(2, 2), new PanopticSegment(3, 5), new PanopticSegment(4, 2),
            new PanopticSegment(5, 1, IsCrowd: true), new PanopticSegment(6, CocoGroundTruthMaps.UnlabelledCategoryId),
        }, pan.Segments.ToArray());

        var hidden = maps.Panoptic(2);
        CollectionAssert.AreEqual(new[] { 2, 2, 2, 3, 2, 2, 2, 3, 2, 2, 2, 3 }, hidden.Ids.ToArray());
        CollectionAssert.AreEqual(new[] { new PanopticSegment(2, 2), new PanopticSegment(3, CocoGroundTruthMaps.UnlabelledCategoryId) }, hidden.Segments.ToArray());
        StringAssert.Contains(maps.Warnings.Single(), "1 annotation(s) have no pixels left");
    }

    [TestMethod]
    public void PanopticUnlabelledAsVoid()
    {
        var pan = new CocoGroundTruthMaps(Layout()).Panoptic(1, unlabelledAsVoid: true);
        Assert.AreEqual(0, pan.Ids[4], "unannotated pixel");
        Assert.AreEqual(1, pan.Ids[0]);
        Assert.IsFalse(pan.Segments.Any(s => s.CategoryId == CocoGroundTruthMaps.UnlabelledCategoryId));
        Assert.AreEqual(5, pan.Segments.Count);
    }

    [TestMethod]
    public void BadInputIsNamed()
    {
        var maps = new CocoGroundTruthMaps(Layout(), LabelToCategoryId);
        var e = Assert.ThrowsException<ArgumentException>(() => maps.Semantic(99));
        StringAssert.Contains(e.Message, "image 99 is not an image of layout.json");
        Assert.ThrowsException<InvalidOperationException>(() => new CocoGroundTruthMaps(Layout()).Semantic(1));
        e = Assert.ThrowsException<ArgumentException>(() => new CocoGroundTruthMaps(Layout(), [0, 1, 1]));
        StringAssert.Contains(e.Message, "labels 1 and 2 both map to category 1");

        var noSegmentation = new CocoDataset([new CocoImage { Id = 4, Height = 2, Width = 2 }], [new CocoCategory { Id = 1, Name = "a" }],
            [new CocoAnnotation { Id = 7, ImageId = 4, CategoryId = 1, Bbox = [0, 0, 1, 1], Area = 1 }], "boxes.json");
        e = Assert.ThrowsException<ArgumentException>(() => new CocoGroundTruthMaps(noSegmentation, [0, 1]).Semantic(4));
        StringAssert.Contains(e.Message, "boxes.json: annotation 7 (image 4) has no 'segmentation'");
    }
}
