using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Vision.Tests.Imaging;

/// <summary>
/// Pixel-level behaviour of Painter, BitmapFont, ColorPalette and Visualizer. Expected values are
/// worked out by hand from the documented rules (box pixel extent, blend formula, glyph rows), not
/// produced by the code under test.
/// </summary>
[TestClass]
public class DrawingTests
{
    private static readonly Rgb Red = new(255, 0, 0);
    private static readonly Rgb Grey100 = new(100, 100, 100);

    private static Rgb At(Image image, int y, int x) => new(image[y, x, 0], image[y, x, 1], image[y, x, 2]);

    [TestMethod]
    public void BoxOutlineCoversItsEdgePixelsAndNothingElse()
    {
        var image = Image.Filled(12, 15, Rgb.Black);
        // Covers columns floor(2.4)=2 .. ceil(10)-1=9 and rows floor(3)=3 .. ceil(7.5)-1=7; 2 px wide, inward.
        Painter.DrawBox(image, 2.4, 3, 10, 7.5, Red, thickness: 2);
        for (int y = 0; y < 12; y++)
            for (int x = 0; x < 15; x++)
            {
                bool inBox = x >= 2 && x <= 9 && y >= 3 && y <= 7;
                bool interior = x >= 4 && x <= 7 && y >= 5 && y <= 5;
                var expected = inBox && !interior ? Red : Rgb.Black;
                Assert.AreEqual(expected, At(image, y, x), $"pixel (y={y}, x={x})");
            }
    }

    [TestMethod]
    public void BoxCrossingTheImageBorderIsClipped()
    {
        var image = Image.Filled(6, 6, Rgb.Black);
        Painter.DrawBox(image, -3, -3, 3, 3, Red, thickness: 1);
        // Covers rows and columns -3 .. 2: only the bottom row 2 and right column 2 fall inside.
        Assert.AreEqual(Red, At(image, 2, 0), "bottom edge, row 2");
        Assert.AreEqual(Red, At(image, 0, 2), "right edge, column 2");
        Assert.AreEqual(Rgb.Black, At(image, 1, 1), "interior");
        Assert.AreEqual(Rgb.Black, At(image, 3, 3), "outside the box");
    }

    [TestMethod]
    public void ASemanticMapIsBlendedClassByClassAndUnlabelledPixelsAreLeftAlone()
    {
        var image = Image.Filled(2, 3, new Rgb(100, 100, 100));
        var map = new SemanticLabelMap(2, 3, new[] { 0, 255, 1, 1, 0, 255 });
        var drawn = Visualizer.DrawSemantic(image, map, alpha: 0.25);
        for (int p = 0; p < 6; p++)
        {
            int label = map.Labels[p];
            var expected = label == 255 ? new Rgb(100, 100, 100)
                : new Rgb(Painter.Blend(100, ColorPalette.ForIndex(label).R, 0.25), Painter.Blend(100, ColorPalette.ForIndex(label).G, 0.25),
                          Painter.Blend(100, ColorPalette.ForIndex(label).B, 0.25));
            Assert.AreEqual(expected, At(drawn, p / 3, p % 3), $"pixel {p} (label {label})");
        }
        Assert.AreEqual(new Rgb(100, 100, 100), At(image, 0, 0), "the input image is not changed");
        var e = Assert.ThrowsException<ArgumentException>(() => Visualizer.DrawSemantic(image, new SemanticLabelMap(3, 2, new int[6])));
        StringAssert.Contains(e.Message, "the semantic map is 3x2 but the image is 2x3");
        e = Assert.ThrowsException<ArgumentException>(() => Visualizer.DrawSemantic(image, map, new[] { "only-one" }));
        StringAssert.Contains(e.Message, "label 1 is in the map but only 1 class names were given");
    }

    [TestMethod]
    public void BlendArithmeticRoundsHalfAwayFromZero()
    {
        Assert.AreEqual((byte)70, Painter.Blend(10, 250, 0.25));  // 7.5 + 62.5 = 70
        Assert.AreEqual((byte)128, Painter.Blend(0, 255, 0.5));   // 127.5 rounds up
        Assert.AreEqual((byte)118, Painter.Blend(100, 135, 0.5)); // 117.5 rounds up
        Assert.AreEqual((byte)93, Painter.Blend(100, 86, 0.5));   // 93 exactly
        Assert.AreEqual((byte)42, Painter.Blend(42, 200, 0));
        Assert.AreEqual((byte)200, Painter.Blend(42, 200, 1));
    }

    [TestMethod]
    public void BlendMaskChangesOnlyMaskPixels()
    {
        var image = Image.Filled(3, 4, Grey100);
        var mask = new byte[12];
        mask[1 * 4 + 2] = 1;
        mask[0] = 1;
        Painter.BlendMask(image, mask, new Rgb(200, 0, 50), 0.25);
        // 0.75·100 + 0.25·200 = 125; 0.75·100 = 75; 0.75·100 + 0.25·50 = 87.5 → 88
        Assert.AreEqual(new Rgb(125, 75, 88), At(image, 1, 2));
        Assert.AreEqual(new Rgb(125, 75, 88), At(image, 0, 0));
        for (int i = 0; i < 12; i++)
            if (mask[i] == 0) Assert.AreEqual(Grey100, At(image, i / 4, i % 4), $"pixel {i} is outside the mask");
    }

    [TestMethod]
    public void BlendMaskKeepsAlphaAndRejectsBadInput()
    {
        var rgba = new Image(1, 2, 4, [10, 20, 30, 77, 10, 20, 30, 99]);
        Painter.BlendMask(rgba, [1, 0], new Rgb(110, 120, 130), 0.5);
        CollectionAssert.AreEqual(new byte[] { 60, 70, 80, 77, 10, 20, 30, 99 }, rgba.PixelArray);
        Assert.ThrowsException<ArgumentException>(() => Painter.BlendMask(rgba, new byte[3], Red, 0.5));
        Assert.ThrowsException<ArgumentOutOfRangeException>(() => Painter.BlendMask(rgba, new byte[2], Red, 1.5));
        var e = Assert.ThrowsException<ArgumentException>(() => Painter.BlendMask(new Image(1, 2, 1), new byte[2], Red, 0.5));
        StringAssert.Contains(e.Message, "ToRgb");
    }

    [TestMethod]
    public void LinesIncludeBothEndsAndFollowBresenham()
    {
        var image = Image.Filled(5, 6, Rgb.Black);
        Painter.DrawLine(image, 0, 0, 5, 2, Red);
        // The ideal line y = 0.4·x rounded to the nearest row (no ties for this slope).
        var on = new HashSet<(int X, int Y)> { (0, 0), (1, 0), (2, 1), (3, 1), (4, 2), (5, 2) };
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 6; x++)
                Assert.AreEqual(on.Contains((x, y)) ? Red : Rgb.Black, At(image, y, x), $"(x={x}, y={y})");

        var thick = Image.Filled(5, 7, Rgb.Black);
        Painter.DrawLine(thick, 1, 2, 5, 2, Red, thickness: 3);
        Assert.AreEqual(Red, At(thick, 1, 0), "the 3-pixel pen reaches one pixel left of the start and one row up");
        Assert.AreEqual(Red, At(thick, 3, 6));
        Assert.AreEqual(Rgb.Black, At(thick, 4, 3));
    }

    [TestMethod]
    public void FilledCircleUsesPixelCentreDistance()
    {
        var image = Image.Filled(7, 7, Rgb.Black);
        Painter.FillCircle(image, 3, 3, 1.5, Red);
        Assert.AreEqual(Red, At(image, 3, 3));
        Assert.AreEqual(Red, At(image, 4, 4));   // distance √2 ≤ 1.5
        Assert.AreEqual(Red, At(image, 3, 4));
        Assert.AreEqual(Rgb.Black, At(image, 3, 5)); // distance 2
        Assert.AreEqual(Rgb.Black, At(image, 5, 4)); // distance √5
    }

    [TestMethod]
    public void TextDrawsGlyphRowsAtScale()
    {
        var image = Image.Filled(20, 20, Rgb.Black);
        // '-' is row 3 fully set (0x1F); scale 2 makes each font pixel 2×2.
        Painter.DrawText(image, 4, 5, "-", Red, scale: 2);
        for (int y = 0; y < 20; y++)
            for (int x = 0; x < 20; x++)
            {
                bool on = y >= 5 + 6 && y <= 5 + 7 && x >= 4 && x <= 4 + 9;
                Assert.AreEqual(on ? Red : Rgb.Black, At(image, y, x), $"(x={x}, y={y})");
            }
        Assert.AreEqual((17, 7), BitmapFont.Measure("abc"));     // 3 glyphs × 6 − 1
        Assert.AreEqual((34, 14), BitmapFont.Measure("abc", 2));
        Assert.IsTrue(BitmapFont.IsSet('A', 4, 0) && BitmapFont.IsSet('A', 4, 4), "A's crossbar (row 4) spans the cell");
        Assert.IsTrue(BitmapFont.IsSet('~', 2, 1) && !BitmapFont.IsSet('~', 2, 0), "the last glyph of the table (row 2 = 0x08)");
        for (int row = 0; row < BitmapFont.GlyphHeight; row++)
            for (int col = 0; col < BitmapFont.GlyphWidth; col++)
                Assert.AreEqual(BitmapFont.IsSet('?', row, col), BitmapFont.IsSet('\u00e9', row, col), "unknown characters draw as '?'");
    }

    [TestMethod]
    public void TextBackgroundFillsTheMeasuredBoxWithOnePixelMargin()
    {
        var image = Image.Filled(12, 12, Rgb.Black);
        var bg = new Rgb(0, 0, 255);
        Painter.DrawText(image, 2, 2, " ", Red, background: bg);
        Assert.AreEqual(bg, At(image, 1, 1));
        Assert.AreEqual(bg, At(image, 9, 7)); // y + 7, x + 5
        Assert.AreEqual(Rgb.Black, At(image, 10, 7));
        Assert.AreEqual(Rgb.Black, At(image, 9, 8));
    }

    [TestMethod]
    public void PaletteIsDeterministicAndDistinct()
    {
        Assert.AreEqual(new Rgb(0xF3, 0xC3, 0x00), ColorPalette.ForIndex(0));
        Assert.AreEqual(new Rgb(0x2B, 0x3D, 0x26), ColorPalette.ForIndex(19));
        var first = Enumerable.Range(0, 80).Select(ColorPalette.ForIndex).ToArray();
        CollectionAssert.AreEqual(first, Enumerable.Range(0, 80).Select(ColorPalette.ForIndex).ToArray());
        Assert.AreEqual(80, first.Distinct().Count(), "the first 80 colours are all different");
        Assert.ThrowsException<ArgumentOutOfRangeException>(() => ColorPalette.ForIndex(-1));
    }

    [TestMethod]
    public void HsvConversionMatchesTheDefinition()
    {
        Assert.AreEqual(new Rgb(255, 0, 0), ColorPalette.FromHsv(0, 1, 1));
        Assert.AreEqual(new Rgb(0, 255, 0), ColorPalette.FromHsv(1.0 / 3, 1, 1));
        Assert.AreEqual(new Rgb(0, 0, 255), ColorPalette.FromHsv(2.0 / 3, 1, 1));
        Assert.AreEqual(new Rgb(255, 255, 0), ColorPalette.FromHsv(1.0 / 6, 1, 1));
        // s = 0.5, v = 1, h = 0: (1, 0.5, 0.5) → (255, 127.5→128, 128)
        Assert.AreEqual(new Rgb(255, 128, 128), ColorPalette.FromHsv(0, 0.5, 1));
    }

    [TestMethod]
    public void VisualizerDrawsMasksBoxesLabelsAndKeypoints()
    {
        const int h = 40, w = 50;
        var image = Image.Filled(h, w, Grey100);
        var maskPixels = new byte[h * w];
        for (int y = 20; y < 30; y++) for (int x = 10; x < 20; x++) maskPixels[y * w + x] = 1;
        var mask = BitMask.FromRowMajor(h, w, maskPixels);
        // 17 COCO keypoints; only left_shoulder (5) and right_shoulder (6) are visible: the skeleton
        // edge (5, 6) must be drawn, edges to invisible points must not.
        var kp = new float[17 * 3];
        kp[5 * 3] = 30; kp[5 * 3 + 1] = 4; kp[5 * 3 + 2] = 2;
        kp[6 * 3] = 40; kp[6 * 3 + 1] = 4; kp[6 * 3 + 2] = 2;
        var instances = new Instances(h, w, Boxes.FromXyxy([8, 18, 22, 32]), [1], [0.9f],
            [Rle.Encode(mask)], new Keypoints(1, 17, kp));
        var drawn = Visualizer.Draw(image, instances, ["background", "cat"],
            new VisualizerOptions { KeypointRadius = 1, SkeletonThickness = 1 });

        var colour = ColorPalette.ForIndex(1); // (0x87, 0x56, 0x92) = (135, 86, 146)
        Assert.AreEqual(new Rgb(135, 86, 146), colour);
        Assert.AreEqual(new Rgb(118, 93, 123), At(drawn, 25, 15), "mask interior: 0.5·100 + 0.5·(135, 86, 146), halves rounded up");
        Assert.AreEqual(Grey100, At(drawn, 5, 5), "outside every drawing");
        Assert.AreEqual(colour, At(drawn, 25, 8), "left edge of the box (x = 8)");
        Assert.AreEqual(colour, At(drawn, 31, 15), "bottom edge of the box (row ceil(32) − 1)");
        Assert.AreEqual(Grey100, At(drawn, 33, 15), "below the box");
        Assert.AreEqual(colour, At(drawn, 4, 35), "skeleton line between the shoulders, in the instance colour");
        Assert.AreEqual(Visualizer.Contrast(colour), At(drawn, 4, 30), "keypoint disc");
        Assert.AreEqual(Visualizer.Contrast(colour), At(drawn, 5, 40), "keypoint disc, radius 1");
        Assert.AreEqual(Grey100, At(drawn, 6, 35), "no line where the skeleton is not");
        // Label "cat 0.90" sits above the box: background colour fills its box at rows 10..17.
        Assert.AreEqual(colour, At(drawn, 17, 8 + 1));
        int textPixels = 0;
        for (int y = 10; y < 18; y++)
            for (int x = 9; x < Math.Min(w, 9 + BitmapFont.Measure("cat 0.90").Width); x++)
                if (At(drawn, y, x) == Visualizer.Contrast(colour)) textPixels++;
        Assert.IsTrue(textPixels > 20, $"label glyphs drawn ({textPixels} pixels)");
        Assert.AreEqual(Grey100, At(image, 25, 15), "the input image is not modified");

        var dir = Directory.CreateTempSubdirectory("mlnetseg-vis-");
        try
        {
            var path = Path.Combine(dir.FullName, "vis.png");
            ImageIO.WritePng(drawn, path);
            ImagingFixtures.AssertSamePixels(drawn, ImageIO.Read(path), "visualisation written as PNG");
        }
        finally { dir.Delete(recursive: true); }
    }

    [TestMethod]
    public void VisualizerRejectsMismatchedSizesAndUnknownLabels()
    {
        var image = Image.Filled(10, 10, Grey100);
        var other = new Instances(12, 10, Boxes.FromXyxy([1, 1, 5, 5]), [0]);
        var e = Assert.ThrowsException<ArgumentException>(() => Visualizer.Draw(image, other));
        StringAssert.Contains(e.Message, "12x10");
        var instances = new Instances(10, 10, Boxes.FromXyxy([1, 1, 5, 5]), [3]);
        e = Assert.ThrowsException<ArgumentException>(() => Visualizer.Draw(image, instances, ["a", "b"]));
        StringAssert.Contains(e.Message, "label 3");
    }
}
