using System.Text.Json;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Data.Semantic;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Data.Tests.Semantic;

/// <summary>
/// Semantic label-map PNGs and image/label pairing. The fixture label maps were written by PIL
/// ('L' mode) from numpy arrays recorded in tests/fixtures/semseg/dataset/expected.json
/// (tools/fixtures/gen_semseg.py); reading them must give those values exactly (PNG is lossless).
/// </summary>
[TestClass]
public sealed class SemanticSegmentationDatasetTests
{
    private static string Root => Path.Combine(AppContext.BaseDirectory, "fixtures", "semseg", "dataset");

    private static JsonElement Expected()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "expected.json")));
        return doc.RootElement.Clone();
    }

    [TestMethod]
    public void PairsImagesWithLabelMapsAndLoadsPilWrittenLabelsExactly()
    {
        var dataset = SemanticSegmentationDataset.FromFolders(Path.Combine(Root, "images"), Path.Combine(Root, "labels"),
            new SemanticDatasetOptions { NumClasses = 4 });
        CollectionAssert.AreEqual(new[] { "a", "b" }, dataset.Select(s => s.Name).ToArray());
        var expected = Expected();
        for (int i = 0; i < dataset.Count; i++)
        {
            var example = dataset.Load(i);
            var e = expected.GetProperty(example.Sample.Name);
            Assert.AreEqual(e.GetProperty("height").GetInt32(), example.Labels.Height);
            Assert.AreEqual(e.GetProperty("width").GetInt32(), example.Labels.Width);
            Assert.AreEqual(example.Image.Height, example.Labels.Height);
            CollectionAssert.AreEqual(e.GetProperty("labels").EnumerateArray().Select(v => v.GetInt32()).ToArray(), example.Labels.Labels.ToArray());
            Assert.AreEqual(SemanticLabelMap.IgnoreLabel, example.Labels[0, 0], "the fixture marks (0, 0) as ignore");
        }
    }

    [TestMethod]
    public void LabelMapPngRoundTrips()
    {
        var dir = Directory.CreateTempSubdirectory("mlnetseg-semseg-");
        try
        {
            var map = new SemanticLabelMap(2, 3, [0, 1, 2, 255, 7, 0]);
            var path = Path.Combine(dir.FullName, "map.png");
            SemanticLabelMapPng.Write(map, path);
            CollectionAssert.AreEqual(map.Labels.ToArray(), SemanticLabelMapPng.Read(path).Labels.ToArray());
            Assert.AreEqual(1, dir.GetFiles().Length, "no temporary file left behind");
            Assert.ThrowsException<InvalidOperationException>(() => SemanticLabelMapPng.Write(new SemanticLabelMap(1, 1, [300]), path));
        }
        finally { dir.Delete(recursive: true); }
    }

    [TestMethod]
    public void LabelMapWithoutImageIsNamed()
    {
        var e = Assert.ThrowsException<SemanticDatasetException>(() =>
            SemanticSegmentationDataset.FromFolders(Path.Combine(Root, "images"), Path.Combine(Root, "labels_bad")));
        StringAssert.Contains(e.Message, "1 label map(s) have no image");
        StringAssert.Contains(e.Message, Path.Combine(Root, "labels_bad", "c.png"));
    }

    [TestMethod]
    public void ImageWithoutLabelMapIsNamedWithTheExpectedPath()
    {
        using var tmp = new TempTree();
        File.Copy(Path.Combine(Root, "images", "a.png"), tmp.File("img", "a.png"));
        File.Copy(Path.Combine(Root, "images", "b.png"), tmp.File("img", "b.png"));
        File.Copy(Path.Combine(Root, "labels", "a.png"), tmp.File("lab", "a.png"));
        var e = Assert.ThrowsException<SemanticDatasetException>(() => SemanticSegmentationDataset.FromFolders(tmp.Dir("img"), tmp.Dir("lab")));
        StringAssert.Contains(e.Message, tmp.File("img", "b.png"));
        StringAssert.Contains(e.Message, "expected " + Path.Combine(tmp.Dir("lab"), "b.png"));
    }

    [TestMethod]
    public void SizeMismatchAndRgbLabelMapsFailOnLoadNamingBothFiles()
    {
        using var tmp = new TempTree();
        foreach (var stem in new[] { "a", "b" })
        {
            File.Copy(Path.Combine(Root, "images", stem + ".png"), tmp.File("img", stem + ".png"));
            File.Copy(Path.Combine(Root, "labels_bad", stem + ".png"), tmp.File("lab", stem + ".png"));
        }
        var dataset = SemanticSegmentationDataset.FromFolders(tmp.Dir("img"), tmp.Dir("lab"));
        var e = Assert.ThrowsException<SemanticDatasetException>(() => dataset.Load(0));
        StringAssert.Contains(e.Message, $"image {tmp.File("img", "a.png")} is 6x8 but its label map {tmp.File("lab", "a.png")} is 4x4");
        e = Assert.ThrowsException<SemanticDatasetException>(() => dataset.Load(1));
        StringAssert.Contains(e.Message, $"label map {tmp.File("lab", "b.png")} has 3 channels");
    }

    [TestMethod]
    public void LabelsOutsideTheClassesAreReportedWithTheirPixel()
    {
        var dataset = SemanticSegmentationDataset.FromFolders(Path.Combine(Root, "images"), Path.Combine(Root, "labels"),
            new SemanticDatasetOptions { NumClasses = 2 });
        var expected = Expected().GetProperty("a");
        var labels = expected.GetProperty("labels").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        int first = Array.FindIndex(labels, v => v != 255 && v >= 2);
        int w = expected.GetProperty("width").GetInt32();
        var e = Assert.ThrowsException<SemanticDatasetException>(() => dataset.Load(0));
        StringAssert.Contains(e.Message, $"value {labels[first]} at (y={first / w}, x={first % w}) is neither a class in 0..1");
    }

    [TestMethod]
    public void SuffixesAndSubfoldersFormTheKey()
    {
        using var tmp = new TempTree();
        File.Copy(Path.Combine(Root, "images", "a.png"), tmp.File("img/city", "x_leftImg8bit.png"));
        File.Copy(Path.Combine(Root, "labels", "a.png"), tmp.File("lab/city", "x_gtFine_labelTrainIds.png"));
        File.WriteAllText(tmp.File("lab/city", "x_gtFine_color.png"), "not matched: different suffix");
        var dataset = SemanticSegmentationDataset.FromFolders(tmp.Dir("img"), tmp.Dir("lab"), new SemanticDatasetOptions
        {
            ImageSuffix = "_leftImg8bit", LabelSuffix = "_gtFine_labelTrainIds", Recursive = true,
        });
        Assert.AreEqual(1, dataset.Count);
        Assert.AreEqual("city/x", dataset[0].Name);
        Assert.AreEqual(tmp.File("lab/city", "x_gtFine_labelTrainIds.png"), dataset[0].LabelPath);
    }

    [TestMethod]
    public void DuplicateNamesAndMissingFoldersAreErrors()
    {
        using var tmp = new TempTree();
        File.Copy(Path.Combine(Root, "images", "a.png"), tmp.File("img", "a.png"));
        File.Copy(Path.Combine(Root, "images", "a.png"), tmp.File("img", "a.jpg"));
        tmp.Dir("lab");
        var e = Assert.ThrowsException<SemanticDatasetException>(() => SemanticSegmentationDataset.FromFolders(tmp.Dir("img"), tmp.Dir("lab")));
        StringAssert.Contains(e.Message, "two image files share the name 'a'");
        var missing = Path.Combine(tmp.Root, "nope");
        var d = Assert.ThrowsException<DirectoryNotFoundException>(() => SemanticSegmentationDataset.FromFolders(missing, tmp.Dir("lab")));
        StringAssert.Contains(d.Message, missing);
    }

    /// <summary>A temporary folder tree deleted on dispose.</summary>
    private sealed class TempTree : IDisposable
    {
        public string Root { get; } = Directory.CreateTempSubdirectory("mlnetseg-semds-").FullName;

        public string Dir(string relative)
        {
            var d = Path.Combine(Root, relative);
            Directory.CreateDirectory(d);
            return d;
        }

        public string File(string folder, string name) => Path.Combine(Dir(folder), name);

        public void Dispose() => Directory.Delete(Root, recursive: true);
    }
}
