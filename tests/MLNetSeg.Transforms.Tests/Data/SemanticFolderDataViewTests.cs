using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Data.Semantic;
using MLNetSeg.Data.Synthetic;

namespace MLNetSeg.Transforms.Tests.Data;

/// <summary><c>mlContext.Data.LoadFromSemanticFolder</c> on the Tiny synthetic set's images and label maps.</summary>
[TestClass]
public sealed class SemanticFolderDataViewTests
{
    private static readonly MLContext Ml = new(seed: 1);

    private static TinyDataset Tiny => TinyDataset.Shared;

    private static string LabelMaps => SyntheticDatasetGenerator.SemanticDirectory(Tiny.Root, "train");

    [TestMethod]
    public void RowsPairEachImageWithItsLabelMap()
    {
        using var labelsJson = JsonDocument.Parse(File.ReadAllText(SyntheticDatasetGenerator.LabelsJsonPath(Tiny.Root)));
        var classes = labelsJson.RootElement.GetProperty("classes").EnumerateArray()
            .OrderBy(c => c.GetProperty("label").GetInt32()).Select(c => c.GetProperty("name").GetString()!).ToArray();
        var view = (SemanticFolderDataView)Ml.Data.LoadFromSemanticFolder(Tiny.TrainImages, LabelMaps, new SemanticFolderOptions { ClassNames = classes });

        CollectionAssert.AreEqual(new[] { "ImagePath", "Width", "Height", "SemanticLabels" }, view.Schema.Select(c => c.Name).ToArray());
        Assert.AreEqual(TextDataViewType.Instance, view.Schema["ImagePath"].Type);
        Assert.AreEqual(NumberDataViewType.Int32, view.Schema["Width"].Type);
        Assert.AreEqual(NumberDataViewType.Int32, view.Schema["Height"].Type);
        Assert.AreEqual(TextDataViewType.Instance, view.Schema["SemanticLabels"].Type);
        CollectionAssert.AreEqual(classes, DataViewRows.TextVectorAnnotation(view.Schema["SemanticLabels"], SemanticFolderOptions.ClassNamesAnnotation));

        var paths = DataViewRows.Read(view, "ImagePath", "SemanticLabels");
        Assert.AreEqual(0, view.HeadersRead, "reading paths opened label maps");
        var expectedNames = Directory.GetFiles(Tiny.TrainImages, "*.png").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.AreEqual(SyntheticOptions.Tiny.TrainImages, expectedNames.Length);
        CollectionAssert.AreEqual(expectedNames.Select(n => Path.GetFullPath(Path.Combine(Tiny.TrainImages, n!))).ToArray(), paths.Select(r => (string)r["ImagePath"]).ToArray());
        CollectionAssert.AreEqual(expectedNames.Select(n => Path.GetFullPath(Path.Combine(LabelMaps, n!))).ToArray(), paths.Select(r => (string)r["SemanticLabels"]).ToArray());

        var rows = DataViewRows.Read(view);
        Assert.AreEqual((long)rows.Count, view.GetRowCount());
        foreach (var row in rows)
        {
            var map = SemanticLabelMapPng.Read((string)row["SemanticLabels"]); // decoded: the reference for the header's size
            Assert.AreEqual((map.Width, map.Height), ((int)row["Width"], (int)row["Height"]));
        }
        Assert.AreEqual(rows.Count, view.HeadersRead, "one header read per row for Width and Height together");
    }

    [TestMethod]
    public void LoadImagesReadsTheImagesAtTheLabelMapSize()
    {
        var view = Ml.Data.LoadFromSemanticFolder(Tiny.TrainImages, LabelMaps);
        Assert.AreEqual(0, view.Schema["SemanticLabels"].Annotations.Schema.Count, "no class names were given");
        var loaded = Ml.Transforms.LoadImages("Image", null, "ImagePath").Fit(view).Transform(view);
        using var cursor = loaded.GetRowCursor(loaded.Schema);
        var image = cursor.GetGetter<MLImage>(loaded.Schema["Image"]);
        var width = cursor.GetGetter<int>(loaded.Schema["Width"]);
        var height = cursor.GetGetter<int>(loaded.Schema["Height"]);
        int n = 0;
        while (cursor.MoveNext())
        {
            MLImage img = null!;
            int w = 0, h = 0;
            image(ref img);
            width(ref w);
            height(ref h);
            Assert.AreEqual((img.Width, img.Height), (w, h));
            n++;
        }
        Assert.AreEqual(SyntheticOptions.Tiny.TrainImages, n);
    }

    [TestMethod]
    public void UnpairedFilesAreNamed()
    {
        using var dir = new TempDir();
        var images = Directory.CreateDirectory(dir.Sub("images")).FullName;
        var labels = Directory.CreateDirectory(dir.Sub("labels")).FullName;
        foreach (var name in new[] { "000001.png", "000002.png" })
        {
            File.Copy(Path.Combine(Tiny.TrainImages, name), Path.Combine(images, name));
            File.Copy(Path.Combine(LabelMaps, name), Path.Combine(labels, name));
        }
        File.Copy(Path.Combine(Tiny.TrainImages, "000003.png"), Path.Combine(images, "000003.png"));
        var noLabel = Assert.ThrowsException<SemanticDatasetException>(() => Ml.Data.LoadFromSemanticFolder(images, labels));
        StringAssert.Contains(noLabel.Message, Path.Combine(images, "000003.png"));

        File.Delete(Path.Combine(images, "000003.png"));
        File.Copy(Path.Combine(LabelMaps, "000004.png"), Path.Combine(labels, "000004.png"));
        var noImage = Assert.ThrowsException<SemanticDatasetException>(() => Ml.Data.LoadFromSemanticFolder(images, labels));
        StringAssert.Contains(noImage.Message, Path.Combine(labels, "000004.png"));

        // A paired "label map" that is not a PNG fails when its size is read, naming it.
        File.Delete(Path.Combine(labels, "000004.png"));
        File.WriteAllText(Path.Combine(labels, "000002.png"), "not a png");
        var view = Ml.Data.LoadFromSemanticFolder(images, labels);
        Assert.AreEqual(2, DataViewRows.Read(view, "ImagePath", "SemanticLabels").Count);
        var notPng = Assert.ThrowsException<SemanticDatasetException>(() => DataViewRows.Read(view, "Width"));
        StringAssert.Contains(notPng.Message, Path.Combine(labels, "000002.png"));
    }
}
