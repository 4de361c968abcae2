using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Training;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Transforms.Tests.Scoring;

/// <summary>
/// The transformer over real ML.NET pipelines: LoadImages → ApplySegmentationModel must give what
/// the typed predictor gives for the same images, lazily, with errors that name column, row and file.
/// </summary>
[TestClass]
public sealed class TransformerTests
{
    private static TrainedModel _model = null!;
    private static string[] _paths = null!;

    [ClassInitialize]
    public static void Init(TestContext _)
    {
        var val = TinyDataset.Shared.Validation();
        _model = ModelFixtures.MaskRcnn(TinyDataset.Shared.Train());
        _paths = Enumerable.Range(0, val.Count).Select(val.ImagePath).ToArray();
    }

    [ClassCleanup]
    public static void Cleanup() => _model?.Dispose();

    internal sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
    }

    internal static IDataView Paths(MLContext ml, IEnumerable<string> paths) =>
        ml.Data.LoadFromEnumerable(paths.Select(p => new PathRow { ImagePath = p }));

    internal static IDataView WithImages(MLContext ml, IDataView paths) =>
        ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath").Fit(paths).Transform(paths);

    /// <summary>Reads the output columns of every row.</summary>
    internal static List<Detections> ReadOutputs(IDataView scored, bool masks = true)
    {
        var label = scored.Schema["PredictedLabel"];
        var score = scored.Schema["Score"];
        var boxes = scored.Schema["PredictedBoundingBoxes"];
        var columns = new List<DataViewSchema.Column> { label, score, boxes };
        if (masks) columns.Add(scored.Schema["PredictedMasks"]);
        var rows = new List<Detections>();
        using var cursor = scored.GetRowCursor(columns);
        var getLabel = cursor.GetGetter<VBuffer<uint>>(label);
        var getScore = cursor.GetGetter<VBuffer<float>>(score);
        var getBoxes = cursor.GetGetter<VBuffer<float>>(boxes);
        var getMasks = masks ? cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(scored.Schema["PredictedMasks"]) : null;
        VBuffer<uint> l = default; VBuffer<float> s = default, b = default; VBuffer<ReadOnlyMemory<char>> m = default;
        while (cursor.MoveNext())
        {
            getLabel(ref l); getScore(ref s); getBoxes(ref b);
            getMasks?.Invoke(ref m);
            rows.Add(new Detections(l.DenseValues().ToArray(), s.DenseValues().ToArray(), b.DenseValues().ToArray(),
                masks ? m.DenseValues().Select(x => x.ToString()).ToArray() : Array.Empty<string>()));
        }
        return rows;
    }

    internal sealed record Detections(uint[] Labels, float[] Scores, float[] Boxes, string[] Masks)
    {
        public void AssertEqual(Detections other, string what)
        {
            CollectionAssert.AreEqual(Labels, other.Labels, $"{what}: labels");
            CollectionAssert.AreEqual(Scores, other.Scores, $"{what}: scores");
            CollectionAssert.AreEqual(Boxes, other.Boxes, $"{what}: boxes");
            CollectionAssert.AreEqual(Masks, other.Masks, $"{what}: masks");
        }
    }

    internal static Detections Typed(TrainedModel model, string path)
    {
        var found = model.Predict(ImageIO.Read(path)).Instances!;
        return new Detections(found.Labels.Select(l => (uint)l).ToArray(), found.Scores!.ToArray(), found.Boxes.ToXyxy(),
            found.Masks!.Select(MaskEncoding.Encode).ToArray());
    }

    [TestMethod]
    public void LoadImagesThenTheTransformerGivesTheTypedPredictorsInstances()
    {
        var ml = new MLContext(seed: 1);
        var images = WithImages(ml, Paths(ml, _paths));
        using var transformer = ml.Transforms.ApplySegmentationModel(_model).Fit(images);
        var rows = ReadOutputs(transformer.Transform(images));
        Assert.AreEqual(_paths.Length, rows.Count);
        int detections = 0;
        for (int i = 0; i < _paths.Length; i++)
        {
            var expected = Typed(_model, _paths[i]);
            rows[i].AssertEqual(expected, Path.GetFileName(_paths[i]));
            detections += expected.Labels.Length;
        }
        Assert.IsTrue(detections >= _paths.Length, $"the model found only {detections} objects: the comparison would be empty");
    }

    [TestMethod]
    public void AnImagePathColumnWorksWithoutLoadImages()
    {
        var ml = new MLContext(seed: 1);
        var paths = Paths(ml, _paths.Take(3));
        using var transformer = ml.Transforms.ApplySegmentationModel(_model, imageColumnName: "ImagePath").Fit(paths);
        var rows = ReadOutputs(transformer.Transform(paths));
        for (int i = 0; i < 3; i++) rows[i].AssertEqual(Typed(_model, _paths[i]), _paths[i]);
    }

    [TestMethod]
    public void BatchesGiveTheRowByRowResults()
    {
        var ml = new MLContext(seed: 1);
        var images = WithImages(ml, Paths(ml, _paths));
        using var one = ml.Transforms.ApplySegmentationModel(_model).Fit(images);
        using var three = ml.Transforms.ApplySegmentationModel(_model, settings: new SegmentationScoringSettings { BatchSize = 3 }).Fit(images);
        var a = ReadOutputs(one.Transform(images), masks: false);
        var b = ReadOutputs(three.Transform(images), masks: false);
        Assert.AreEqual(a.Count, b.Count);
        // Batched images are padded to a common size; R-CNN's outputs for an image do not depend on it
        // up to float rounding in the convolutions, so labels and counts match and scores/boxes agree closely.
        for (int i = 0; i < a.Count; i++)
        {
            CollectionAssert.AreEqual(a[i].Labels, b[i].Labels, $"row {i}");
            for (int j = 0; j < a[i].Boxes.Length; j++) Assert.AreEqual(a[i].Boxes[j], b[i].Boxes[j], 1e-2, $"row {i} box value {j}");
        }
    }

    [TestMethod]
    public void OutputSchemaHasTheTypesAndClassNames()
    {
        var ml = new MLContext();
        var images = WithImages(ml, Paths(ml, _paths.Take(1)));
        using var transformer = ml.Transforms.ApplySegmentationModel(_model).Fit(images);
        var schema = transformer.GetOutputSchema(images.Schema);
        var label = schema["PredictedLabel"];
        var key = (KeyDataViewType)((VectorDataViewType)label.Type).ItemType;
        Assert.AreEqual((ulong)(_model.ClassNames.Count - 1), key.Count);
        VBuffer<ReadOnlyMemory<char>> names = default;
        label.GetKeyValues(ref names);
        CollectionAssert.AreEqual(_model.ClassNames.Skip(1).ToArray(), names.DenseValues().Select(n => n.ToString()).ToArray());
        Assert.AreEqual(NumberDataViewType.Single, ((VectorDataViewType)schema["Score"].Type).ItemType);
        Assert.AreEqual(TextDataViewType.Instance, ((VectorDataViewType)schema["PredictedMasks"].Type).ItemType);
        Assert.IsNull(schema.GetColumnOrNull("PredictedKeypoints"), "a Mask R-CNN has no keypoint output");
        // The estimator's shape agrees.
        var shape = ml.Transforms.ApplySegmentationModel(_model).GetOutputSchema(ShapeOf(images.Schema));
        CollectionAssert.IsSubsetOf(new[] { "PredictedLabel", "Score", "PredictedBoundingBoxes", "PredictedMasks" }, shape.Select(c => c.Name).ToArray());
        Assert.IsTrue(shape.Single(c => c.Name == "PredictedLabel").IsKey);
    }

    // SchemaShape.Create is internal to ML.NET (its estimator chains call it); a test may reach it.
    internal static SchemaShape ShapeOf(DataViewSchema schema) =>
        (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static, new[] { typeof(DataViewSchema) })!
            .Invoke(null, new object[] { schema })!;

    [TestMethod]
    public void MissingOrMistypedImageColumnsAreNamed()
    {
        var ml = new MLContext();
        var paths = Paths(ml, _paths.Take(1));
        var missing = Assert.ThrowsException<ArgumentOutOfRangeException>(() => ml.Transforms.ApplySegmentationModel(_model, imageColumnName: "Photo").Fit(paths));
        StringAssert.Contains(missing.Message, "'Photo' is not in the input");
        var numbers = ml.Data.LoadFromEnumerable(new[] { new NumberRow { Image = 1 } });
        var mistyped = Assert.ThrowsException<ArgumentOutOfRangeException>(() => ml.Transforms.ApplySegmentationModel(_model).Fit(numbers));
        StringAssert.Contains(mistyped.Message, "'Image' has type Single");
        using var transformer = ml.Transforms.ApplySegmentationModel(_model, imageColumnName: "ImagePath").Fit(paths);
        Assert.ThrowsException<ArgumentOutOfRangeException>(() => transformer.Transform(numbers));
    }

    internal sealed class NumberRow
    {
        public float Image { get; set; }
    }

    [TestMethod]
    public void UnreadableImagesNameTheRowAndFile()
    {
        using var dir = new TempDir();
        var corrupt = Path.Combine(dir.Path, "corrupt.png");
        File.WriteAllBytes(corrupt, new byte[] { 0x89, 0x50, 0x4E, 0x47, 1, 2, 3 });
        var missing = Path.Combine(dir.Path, "missing.png");
        var ml = new MLContext();
        var paths = Paths(ml, new[] { _paths[0], missing, corrupt });
        using var transformer = ml.Transforms.ApplySegmentationModel(_model, imageColumnName: "ImagePath").Fit(paths);
        var scored = transformer.Transform(paths);
        using var cursor = scored.GetRowCursor(new[] { scored.Schema["Score"] });
        var get = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
        VBuffer<float> value = default;
        Assert.IsTrue(cursor.MoveNext());
        get(ref value);
        Assert.IsTrue(cursor.MoveNext());
        var e = Assert.ThrowsException<RowScoringException>(() => get(ref value));
        StringAssert.Contains(e.Message, "row 1");
        StringAssert.Contains(e.Message, "missing.png");
        Assert.AreEqual(1, e.Row);
        Assert.IsTrue(cursor.MoveNext());
        e = Assert.ThrowsException<RowScoringException>(() => get(ref value));
        StringAssert.Contains(e.Message, "row 2");
        StringAssert.Contains(e.Message, "corrupt.png");
    }

    [TestMethod]
    public void TransformIsLazy()
    {
        // Rows whose outputs are not read never reach the model: a missing file in them is not an error.
        var ml = new MLContext();
        var paths = Paths(ml, new[] { "/nonexistent/a.png", "/nonexistent/b.png" });
        using var transformer = ml.Transforms.ApplySegmentationModel(_model, imageColumnName: "ImagePath").Fit(paths);
        var scored = transformer.Transform(paths);
        using var cursor = scored.GetRowCursor(new[] { scored.Schema["ImagePath"] });
        var get = cursor.GetGetter<ReadOnlyMemory<char>>(scored.Schema["ImagePath"]);
        ReadOnlyMemory<char> path = default;
        int n = 0;
        while (cursor.MoveNext()) { get(ref path); n++; }
        Assert.AreEqual(2, n);
    }
}
