using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Data.Coco;
using MLNetSeg.Data.Loading;
using MLNetSeg.Data.Synthetic;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Transforms.Tests.Data;

/// <summary>
/// <c>mlContext.Data.LoadFromCoco</c> on the Tiny synthetic set: every column against the json
/// (read here with System.Text.Json, not with MLNetSeg's parser) and against
/// <see cref="DetectionDataset.GetTarget"/>, the schema, laziness and bad input.
/// </summary>
[TestClass]
public sealed class CocoDataViewTests
{
    private static readonly MLContext Ml = new(seed: 1);

    private static TinyDataset Tiny => TinyDataset.Shared;

    private static string KeypointsJson => SyntheticDatasetGenerator.KeypointsJsonPath(Tiny.Root, "train");

    [TestMethod]
    public void ColumnsMatchTheJsonAndDetectionDatasetTargets()
    {
        var view = Ml.Data.LoadFromCoco(Tiny.TrainJson, Tiny.TrainImages);
        var rows = DataViewRows.Read(view);
        using var json = JsonDocument.Parse(File.ReadAllText(Tiny.TrainJson));
        var images = json.RootElement.GetProperty("images").EnumerateArray().ToArray();
        var annotations = json.RootElement.GetProperty("annotations").EnumerateArray().ToArray();
        var categoryNames = json.RootElement.GetProperty("categories").EnumerateArray()
            .ToDictionary(c => c.GetProperty("id").GetInt64(), c => c.GetProperty("name").GetString()!);
        var keyNames = DataViewRows.TextVectorAnnotation(view.Schema[SegmentationColumns.Label], "KeyValues");

        // DetectionDataset keeps crowd objects only when asked; the view keeps them by default.
        var dataset = DetectionDataset.Load(Tiny.TrainJson, Tiny.TrainImages, new DetectionDatasetOptions { KeepCrowd = true });
        var indexOfId = Enumerable.Range(0, dataset.Count).ToDictionary(i => dataset.ImageInfo(i).Id);

        Assert.AreEqual(images.Length, rows.Count);
        Assert.AreEqual((long)images.Length, view.GetRowCount());
        int objects = 0, crowd = 0, polygons = 0, rles = 0;
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            var image = images[r];
            long id = image.GetProperty("id").GetInt64();
            int h = image.GetProperty("height").GetInt32(), w = image.GetProperty("width").GetInt32();
            Assert.AreEqual(id, row[SegmentationColumns.ImageId]);
            Assert.AreEqual(w, row[SegmentationColumns.Width]);
            Assert.AreEqual(h, row[SegmentationColumns.Height]);
            Assert.AreEqual(Path.GetFullPath(Path.Combine(Tiny.TrainImages, image.GetProperty("file_name").GetString()!)), row[SegmentationColumns.ImagePath]);

            var anns = annotations.Where(a => a.GetProperty("image_id").GetInt64() == id).ToArray();
            var labels = (uint[])row[SegmentationColumns.Label];
            var boxes = (float[])row[SegmentationColumns.BoundingBoxes];
            var masks = (string[])row[SegmentationColumns.Masks];
            var isCrowd = (bool[])row[SegmentationColumns.IsCrowd];
            var area = (double[])row[SegmentationColumns.Area];
            Assert.AreEqual(anns.Length, labels.Length, $"image {id}");
            Assert.AreEqual(4 * anns.Length, boxes.Length);
            Assert.AreEqual(anns.Length, masks.Length);
            Assert.AreEqual(anns.Length, isCrowd.Length);
            Assert.AreEqual(anns.Length, area.Length);
            for (int i = 0; i < anns.Length; i++)
            {
                var a = anns[i];
                Assert.AreEqual(categoryNames[a.GetProperty("category_id").GetInt64()], keyNames[labels[i] - 1], $"image {id} object {i}: key → name");
                var b = a.GetProperty("bbox").EnumerateArray().Select(v => v.GetDouble()).ToArray();
                CollectionAssert.AreEqual(new[] { (float)b[0], (float)b[1], (float)b[0] + (float)b[2], (float)b[1] + (float)b[3] }, boxes[(4 * i)..(4 * i + 4)]);
                Assert.AreEqual(a.GetProperty("iscrowd").GetInt32() == 1, isCrowd[i]);
                Assert.AreEqual(a.GetProperty("area").GetDouble(), area[i]);
                if (isCrowd[i]) crowd++;
                if (a.GetProperty("segmentation").ValueKind == JsonValueKind.Array) polygons++; else rles++;
            }

            // The same objects, labels, boxes and masks as DetectionDataset's target (the synthetic boxes lie inside their images, so its clipping changes nothing).
            var target = dataset.GetTarget(indexOfId[id]);
            CollectionAssert.AreEqual(target.Labels.Select(l => (uint)l).ToArray(), labels);
            CollectionAssert.AreEqual(target.Boxes.ToXyxy(), boxes);
            CollectionAssert.AreEqual(target.IsCrowd.ToArray(), isCrowd);
            for (int i = 0; i < masks.Length; i++)
            {
                Assert.AreEqual(Rle.Encode(target.Masks![i]), MaskEncoding.Decode(masks[i], h, w), $"image {id} object {i}: mask");
                Assert.IsTrue(target.Masks[i].Area > 0);
            }
            objects += anns.Length;
        }
        // The checks above must have covered every kind of object the view handles.
        Assert.IsTrue(objects > 30 && crowd > 0 && polygons > 0 && rles > crowd, $"objects {objects}, crowd {crowd}, polygons {polygons}, RLE {rles}");
    }

    [TestMethod]
    public void SchemaHasTheContractTypesAndAnnotations()
    {
        var view = Ml.Data.LoadFromCoco(Tiny.TrainJson, Tiny.TrainImages);
        var s = view.Schema;
        CollectionAssert.AreEqual(
            new[] { "ImagePath", "ImageId", "Width", "Height", "Label", "BoundingBoxes", "Masks", "IsCrowd", "Area" },
            s.Select(c => c.Name).ToArray(), "an instances file has no keypoints");
        Assert.AreEqual(TextDataViewType.Instance, s["ImagePath"].Type);
        Assert.AreEqual(NumberDataViewType.Int64, s["ImageId"].Type);
        Assert.AreEqual(NumberDataViewType.Int32, s["Width"].Type);
        Assert.AreEqual(NumberDataViewType.Int32, s["Height"].Type);
        AssertVariableVector(s["Label"], typeof(uint));
        var key = (KeyDataViewType)((VectorDataViewType)s["Label"].Type).ItemType;
        using var json = JsonDocument.Parse(File.ReadAllText(Tiny.TrainJson));
        var expectedNames = json.RootElement.GetProperty("categories").EnumerateArray()
            .OrderBy(c => c.GetProperty("id").GetInt64()).Select(c => c.GetProperty("name").GetString()!).ToArray();
        Assert.AreEqual((ulong)expectedNames.Length, key.Count);
        CollectionAssert.AreEqual(expectedNames, DataViewRows.TextVectorAnnotation(s["Label"], "KeyValues"));
        AssertVariableVector(s["BoundingBoxes"], typeof(float));
        AssertVariableVector(s["Masks"], typeof(ReadOnlyMemory<char>));
        AssertVariableVector(s["IsCrowd"], typeof(bool));
        AssertVariableVector(s["Area"], typeof(double));

        var kp = Ml.Data.LoadFromCoco(KeypointsJson, Tiny.TrainImages).Schema;
        AssertVariableVector(kp["Keypoints"], typeof(float));
        CollectionAssert.AreEqual(KeypointSchema.CocoPerson.Names.ToArray(), DataViewRows.TextVectorAnnotation(kp["Keypoints"], SegmentationColumns.KeypointNamesAnnotation));

        var bare = Ml.Data.LoadFromCoco(KeypointsJson, Tiny.TrainImages, new CocoLoadOptions { LoadMasks = false, LoadKeypoints = false }).Schema;
        Assert.IsNull(bare.GetColumnOrNull("Masks"));
        Assert.IsNull(bare.GetColumnOrNull("Keypoints"));

        static void AssertVariableVector(DataViewSchema.Column c, Type raw)
        {
            var v = c.Type as VectorDataViewType ?? throw new AssertFailedException($"{c.Name} is {c.Type}, not a vector");
            Assert.AreEqual(0, v.Size, $"{c.Name} must be variable-length");
            Assert.AreEqual(raw, v.ItemType.RawType, c.Name);
        }
    }

    /// <summary>ML.NET's own consumers read the view: CreateEnumerable maps the columns to arrays and strings.</summary>
    [TestMethod]
    public void CreateEnumerableReadsTheColumnsAsArrays()
    {
        var view = Ml.Data.LoadFromCoco(KeypointsJson, Tiny.TrainImages);
        var typed = Ml.Data.CreateEnumerable<CocoRow>(view, reuseRowObject: false).ToArray();
        var rows = DataViewRows.Read(view);
        Assert.AreEqual(rows.Count, typed.Length);
        Assert.IsTrue(typed.Any(r => r.Label.Length > 0));
        for (int i = 0; i < typed.Length; i++)
        {
            Assert.AreEqual(rows[i]["ImagePath"], typed[i].ImagePath);
            Assert.AreEqual(rows[i]["ImageId"], typed[i].ImageId);
            CollectionAssert.AreEqual((uint[])rows[i]["Label"], typed[i].Label);
            CollectionAssert.AreEqual((float[])rows[i]["BoundingBoxes"], typed[i].BoundingBoxes);
            CollectionAssert.AreEqual((string[])rows[i]["Masks"], typed[i].Masks);
            CollectionAssert.AreEqual((float[])rows[i]["Keypoints"], typed[i].Keypoints);
        }
    }

    // The keypoint file has one category (person), hence one key value.
    private sealed class CocoRow
    {
        public string ImagePath { get; set; } = "";
        public long ImageId { get; set; }
        [KeyType(1)] public uint[] Label { get; set; } = [];
        public float[] BoundingBoxes { get; set; } = [];
        public string[] Masks { get; set; } = [];
        public float[] Keypoints { get; set; } = [];
    }

    [TestMethod]
    public void KeypointsAreTheJsonTriplets()
    {
        var view = Ml.Data.LoadFromCoco(KeypointsJson, Tiny.TrainImages);
        var rows = DataViewRows.Read(view, "ImageId", "Label", "Keypoints");
        using var json = JsonDocument.Parse(File.ReadAllText(KeypointsJson));
        var names = json.RootElement.GetProperty("categories")[0].GetProperty("keypoints").EnumerateArray().Select(n => n.GetString()!).ToArray();
        CollectionAssert.AreEqual(names, DataViewRows.TextVectorAnnotation(view.Schema["Keypoints"], SegmentationColumns.KeypointNamesAnnotation));
        var annotations = json.RootElement.GetProperty("annotations").EnumerateArray().ToArray();
        int persons = 0;
        foreach (var row in rows)
        {
            var expected = annotations.Where(a => a.GetProperty("image_id").GetInt64() == (long)row["ImageId"])
                .SelectMany(a => a.GetProperty("keypoints").EnumerateArray().Select(v => (float)v.GetDouble())).ToArray();
            CollectionAssert.AreEqual(expected, (float[])row["Keypoints"], $"image {row["ImageId"]}");
            Assert.AreEqual(expected.Length, 3 * names.Length * ((uint[])row["Label"]).Length);
            persons += ((uint[])row["Label"]).Length;
        }
        Assert.IsTrue(persons > 0, "the Tiny train split has no person");
    }

    [TestMethod]
    public void RowsFollowTheFileOrderAndNeedNoImageFiles()
    {
        using var dir = new TempDir();
        var coco = JsonNode.Parse(File.ReadAllText(Tiny.TrainJson))!.AsObject();
        var shuffled = coco["images"]!.AsArray().Select(i => i!.DeepClone()).OrderBy(i => ((long)i["id"]! * 7) % 16).ToArray();
        coco["images"] = new JsonArray(shuffled);
        var file = dir.Sub("shuffled.json");
        File.WriteAllText(file, coco.ToJsonString());

        var missingFolder = dir.Sub("no-such-folder");
        var view = Ml.Data.LoadFromCoco(file, missingFolder);
        var rows = DataViewRows.Read(view); // every column, masks included: no image is opened
        CollectionAssert.AreEqual(shuffled.Select(i => (long)i["id"]!).ToArray(), rows.Select(r => (long)r["ImageId"]).ToArray());
        Assert.AreEqual(Path.Combine(missingFolder, "000002.png"), rows.Single(r => (long)r["ImageId"] == 2)["ImagePath"]);
        Assert.AreNotEqual(shuffled.Select(i => (long)i["id"]!).Order().First(), rows[0]["ImageId"], "the shuffle left the order unchanged");
    }

    [TestMethod]
    public void KeysFollowAscendingCategoryIds()
    {
        using var dir = new TempDir();
        var file = dir.Sub("sparse.json");
        File.WriteAllText(file, """
            {"images": [{"id": 5, "file_name": "a.png", "width": 10, "height": 8}, {"id": 2, "file_name": "b.png", "width": 6, "height": 4}],
             "categories": [{"id": 7, "name": "seven"}, {"id": 3, "name": "three"}, {"id": 12, "name": "twelve"}],
             "annotations": [
               {"id": 1, "image_id": 5, "category_id": 12, "bbox": [1, 2, 3, 4], "area": 12.5, "iscrowd": 0, "segmentation": [[1, 2, 4, 2, 4, 6, 1, 6]]},
               {"id": 2, "image_id": 5, "category_id": 3, "bbox": [0.5, 0.25, 2, 2], "area": 4, "iscrowd": 0, "segmentation": [[0.5, 0.25, 2.5, 0.25, 2.5, 2.25]]},
               {"id": 3, "image_id": 5, "category_id": 7, "bbox": [0, 0, 10, 8], "iscrowd": 1, "segmentation": {"size": [8, 10], "counts": [8, 72]}}]}
            """);
        var view = Ml.Data.LoadFromCoco(file, dir.Path);
        CollectionAssert.AreEqual(new[] { "three", "seven", "twelve" }, DataViewRows.TextVectorAnnotation(view.Schema["Label"], "KeyValues"));
        var rows = DataViewRows.Read(view);
        CollectionAssert.AreEqual(new uint[] { 3, 1, 2 }, (uint[])rows[0]["Label"]);
        CollectionAssert.AreEqual(new float[] { 1, 2, 4, 6, 0.5f, 0.25f, 2.5f, 2.25f, 0, 0, 10, 8 }, (float[])rows[0]["BoundingBoxes"]);
        CollectionAssert.AreEqual(new[] { 12.5, 4, double.NaN }, (double[])rows[0]["Area"]);
        CollectionAssert.AreEqual(new[] { false, false, true }, (bool[])rows[0]["IsCrowd"]);
        // The uncompressed RLE [8, 72] is column 0 empty, columns 1..9 full; its compressed form as pycocotools writes it.
        var crowdMask = MaskEncoding.DecodeToBitMask(((string[])rows[0]["Masks"])[2], 8, 10);
        Assert.AreEqual(72, crowdMask.Area);
        Assert.IsFalse(crowdMask[3, 0]);
        Assert.IsTrue(crowdMask[3, 1]);
        Assert.AreEqual(0, ((uint[])rows[1]["Label"]).Length, "image 2 has no annotation");
        Assert.AreEqual(0, ((string[])rows[1]["Masks"]).Length);
    }

    [TestMethod]
    public void OptionsDropCrowdObjectsAndEmptyImagesAsDetectionDatasetDoes()
    {
        var noCrowd = DataViewRows.Read(Ml.Data.LoadFromCoco(Tiny.TrainJson, Tiny.TrainImages, new CocoLoadOptions { KeepCrowd = false }), "ImageId", "IsCrowd", "Area");
        using var json = JsonDocument.Parse(File.ReadAllText(Tiny.TrainJson));
        var annotations = json.RootElement.GetProperty("annotations").EnumerateArray().ToArray();
        int kept = 0;
        foreach (var row in noCrowd)
        {
            var expected = annotations.Where(a => a.GetProperty("image_id").GetInt64() == (long)row["ImageId"] && a.GetProperty("iscrowd").GetInt32() == 0)
                .Select(a => a.GetProperty("area").GetDouble()).ToArray();
            CollectionAssert.AreEqual(expected, (double[])row["Area"]);
            Assert.IsFalse(((bool[])row["IsCrowd"]).Any(c => c));
            kept += expected.Length;
        }
        Assert.IsTrue(kept > 0 && kept < annotations.Length, "the file must have crowd and non-crowd objects");

        // Person keypoints: many images have no person, and torchvision's rule also wants 10 visible keypoints.
        var filtered = Ml.Data.LoadFromCoco(KeypointsJson, Tiny.TrainImages, new CocoLoadOptions { RemoveImagesWithoutAnnotations = true });
        var reference = DetectionDataset.Load(KeypointsJson, Tiny.TrainImages, new DetectionDatasetOptions { RemoveImagesWithoutAnnotations = true });
        var expectedIds = Enumerable.Range(0, reference.Count).Select(i => reference.ImageInfo(i).Id).ToHashSet();
        var fileOrder = JsonDocument.Parse(File.ReadAllText(KeypointsJson)).RootElement.GetProperty("images").EnumerateArray()
            .Select(i => i.GetProperty("id").GetInt64()).Where(expectedIds.Contains).ToArray();
        CollectionAssert.AreEqual(fileOrder, DataViewRows.Read(filtered, "ImageId").Select(r => (long)r["ImageId"]).ToArray());
        Assert.AreEqual((long)fileOrder.Length, filtered.GetRowCount());
        Assert.IsTrue(fileOrder.Length > 0 && fileOrder.Length < Tiny.Train().Count, $"{fileOrder.Length} images kept: the filter was not exercised");
    }

    [TestMethod]
    public void MasksAreRasterisedOnlyWhenTheColumnIsRead()
    {
        var view = (CocoDataView)Ml.Data.LoadFromCoco(Tiny.TrainJson, Tiny.TrainImages);
        var withoutMasks = view.Schema.Where(c => c.Name != "Masks").Select(c => c.Name).ToArray();
        var rows = DataViewRows.Read(view, withoutMasks);
        int objects = rows.Sum(r => ((uint[])r["Label"]).Length);
        Assert.IsTrue(objects > 0);
        Assert.AreEqual(0, view.MasksRasterised, "reading the other columns rasterised masks");

        // Moving over rows with the Masks column active but never calling its getter rasterises nothing either.
        using (var cursor = view.GetRowCursor(view.Schema))
        {
            var masks = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(view.Schema["Masks"]);
            while (cursor.MoveNext()) { }
            Assert.AreEqual(0, view.MasksRasterised);
        }
        using (var cursor = view.GetRowCursor(view.Schema))
        {
            var masks = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(view.Schema["Masks"]);
            VBuffer<ReadOnlyMemory<char>> value = default;
            while (cursor.MoveNext())
            {
                masks(ref value);
                masks(ref value); // a second read of the same row is served from the row's cache
            }
        }
        Assert.AreEqual(objects, view.MasksRasterised);
    }

    [TestMethod]
    public void CursorsCheckColumnsTypesAndPosition()
    {
        var view = Ml.Data.LoadFromCoco(Tiny.TrainJson, Tiny.TrainImages);
        using var cursor = view.GetRowCursor([view.Schema["ImageId"]]);
        Assert.IsTrue(cursor.IsColumnActive(view.Schema["ImageId"]));
        Assert.IsFalse(cursor.IsColumnActive(view.Schema["Masks"]));
        var inactive = Assert.ThrowsException<InvalidOperationException>(() => cursor.GetGetter<VBuffer<float>>(view.Schema["BoundingBoxes"]));
        StringAssert.Contains(inactive.Message, "'BoundingBoxes' is not active");
        var wrongType = Assert.ThrowsException<InvalidOperationException>(() => cursor.GetGetter<int>(view.Schema["ImageId"]));
        StringAssert.Contains(wrongType.Message, "ValueGetter<Int64>");
        var id = cursor.GetGetter<long>(view.Schema["ImageId"]);
        long value = 0;
        Assert.AreEqual(-1, cursor.Position);
        var early = Assert.ThrowsException<InvalidOperationException>(() => id(ref value));
        StringAssert.Contains(early.Message, "MoveNext");
        int n = 0;
        while (cursor.MoveNext()) Assert.AreEqual(n++, cursor.Position);
        Assert.AreEqual(view.GetRowCount(), n);
        Assert.AreEqual(-1, cursor.Position);
        Assert.IsFalse(cursor.MoveNext());

        var set = view.GetRowCursorSet(view.Schema, 4);
        Assert.AreEqual(n, set.Sum(c => { int k = 0; while (c.MoveNext()) k++; c.Dispose(); return k; }));
        var foreign = Ml.Data.LoadFromEnumerable(new[] { new { A = 1f } }).Schema["A"];
        Assert.ThrowsException<ArgumentException>(() => view.GetRowCursor([foreign]));
    }

    [TestMethod]
    public void LoadImagesReadsTheImagePathColumn()
    {
        var view = Ml.Data.LoadFromCoco(Tiny.TrainJson, Tiny.TrainImages);
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
            Assert.AreEqual((w, h), (img.Width, img.Height));
            Assert.AreEqual((SyntheticOptions.Tiny.Width, SyntheticOptions.Tiny.Height), (w, h));
            n++;
        }
        Assert.AreEqual(SyntheticOptions.Tiny.TrainImages, n);
    }

    [TestMethod]
    public void BadFilesAreNamed()
    {
        using var dir = new TempDir();
        var missing = dir.Sub("missing.json");
        var notFound = Assert.ThrowsException<FileNotFoundException>(() => Ml.Data.LoadFromCoco(missing, dir.Path));
        StringAssert.Contains(notFound.Message, missing);

        var broken = dir.Sub("broken.json");
        File.WriteAllText(broken, """{"images": [{"id": 1, "width": 4, "height": 4,}]}""");
        var malformed = Assert.ThrowsException<CocoFormatException>(() => Ml.Data.LoadFromCoco(broken, dir.Path));
        StringAssert.Contains(malformed.Message, broken);

        var dangling = dir.Sub("dangling.json");
        File.WriteAllText(dangling, """{"images": [{"id": 1, "width": 4, "height": 4}], "categories": [{"id": 1, "name": "a"}], "annotations": [{"id": 9, "image_id": 2, "category_id": 1}]}""");
        var invalid = Assert.ThrowsException<CocoFormatException>(() => Ml.Data.LoadFromCoco(dangling, dir.Path));
        StringAssert.Contains(invalid.Message, "annotation 9");
    }

    [TestMethod]
    public void ABrokenAnnotationFailsOnlyWhenItsRowAndColumnAreRead()
    {
        using var dir = new TempDir();
        var file = dir.Sub("polygon.json");
        File.WriteAllText(file, """
            {"images": [{"id": 1, "file_name": "a.png", "width": 10, "height": 8}, {"id": 2, "file_name": "b.png", "width": 10, "height": 8}],
             "categories": [{"id": 1, "name": "a"}],
             "annotations": [
               {"id": 11, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "area": 4, "iscrowd": 0, "segmentation": [[1, 1, 3, 1, 3, 3]]},
               {"id": 21, "image_id": 2, "category_id": 1, "bbox": [1, 1, 2, 2], "area": 4, "iscrowd": 0, "segmentation": [[1, 1]]},
               {"id": 22, "image_id": 2, "category_id": 1, "area": 4, "iscrowd": 0, "segmentation": [[1, 1, 3, 1, 3, 3]]}]}
            """);
        var view = Ml.Data.LoadFromCoco(file, dir.Path);
        var labels = DataViewRows.Read(view, "ImageId", "Label", "Area");
        Assert.AreEqual(2, labels.Count);

        using var cursor = view.GetRowCursor(view.Schema);
        var masks = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(view.Schema["Masks"]);
        var boxes = cursor.GetGetter<VBuffer<float>>(view.Schema["BoundingBoxes"]);
        VBuffer<ReadOnlyMemory<char>> m = default;
        VBuffer<float> b = default;
        Assert.IsTrue(cursor.MoveNext());
        masks(ref m);
        Assert.AreEqual(1, m.Length);
        Assert.IsTrue(cursor.MoveNext());
        var polygon = Assert.ThrowsException<BadSampleException>(() => masks(ref m));
        StringAssert.Contains(polygon.Message, "annotation 21 (image 2");
        StringAssert.Contains(polygon.Message, file);
        Assert.AreEqual(21, polygon.AnnotationId);
        var noBox = Assert.ThrowsException<BadSampleException>(() => boxes(ref b));
        StringAssert.Contains(noBox.Message, "annotation 22 (image 2");
        StringAssert.Contains(noBox.Message, "'bbox'");
    }
}
