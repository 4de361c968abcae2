using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Data.Loading;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.MaskLab;
using MLNetSeg.Models.TensorMask;
using MLNetSeg.Models.Panoptic;
using MLNetSeg.Data.Synthetic;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Trainers;
using MLNetSeg.Training;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Transforms.Tests.Trainers;

/// <summary>The trainers through ML.NET's API: Fit on an annotated IDataView, progress in MLContext.Log, cancellation.</summary>
[TestClass]
public sealed class EstimatorTests
{
    internal sealed class AnnotatedRow
    {
        public string ImagePath { get; set; } = "";
        public string[] LabelNames { get; set; } = Array.Empty<string>();
        public float[] BoundingBoxes { get; set; } = Array.Empty<float>();
        public string[] Masks { get; set; } = Array.Empty<string>();
        public int Width { get; set; }
        public int Height { get; set; }
    }

    /// <summary>An annotated view built independently of LoadFromCoco: the typed dataset's targets as columns, text labels made keys by MapValueToKey.</summary>
    internal static IDataView Annotated(MLContext ml, DetectionDataset dataset, Action<AnnotatedRow[]>? edit = null)
    {
        var names = dataset.Categories.Names;
        var rows = Enumerable.Range(0, dataset.Count).Select(i =>
        {
            var target = dataset.GetTarget(i);
            var size = dataset.OriginalSize(i);
            return new AnnotatedRow
            {
                ImagePath = dataset.ImagePath(i),
                LabelNames = target.Labels.Select(l => names[l - 1]).ToArray(),
                BoundingBoxes = target.Boxes.ToXyxy(),
                Masks = target.Masks!.Select(m => MaskEncoding.Encode(MLNetSeg.Vision.Structures.Rle.Encode(m))).ToArray(),
                Width = size.Width,
                Height = size.Height,
            };
        }).ToArray();
        edit?.Invoke(rows);
        var view = ml.Data.LoadFromEnumerable(rows);
        var keys = ml.Data.LoadFromEnumerable(names.Select(n => new KeyRow { Name = n }));
        return ml.Transforms.Conversion.MapValueToKey("Label", "LabelNames", keyData: keys).Fit(view).Transform(view);
    }

    private sealed class KeyRow
    {
        public string Name { get; set; } = "";
    }

    private static MaskRcnnOptions Fast => new()
    {
        Backbone = ResNetDepth.ResNet18, Norm = BackboneNorm.BatchNorm, Widths = DetectorWidths.Compact,
        Settings = new RcnnOptions { MinSize = 64, MaxSize = 128, RpnPostNmsTopNTrain = 100, BoxBatchSizePerImage = 32, RpnPreNmsTopNTest = 100, RpnPostNmsTopNTest = 50 },
    };

    [TestMethod]
    public void FitThroughTheCatalogTrainsAndReturnsAWorkingTransformer() =>
        AssertFitsAndScores((ml, dir) => ml.Segmentation().Trainers.MaskRcnn(imageColumnName: "ImagePath", iterations: 3, batchSize: 2, learningRate: 0.01,
            checkpointDirectory: dir, model: Fast));

    [TestMethod]
    public void MaskLabFitsThroughTheCatalogLikeMaskRcnn() =>
        AssertFitsAndScores((ml, dir) => ml.Segmentation().Trainers.MaskLab(imageColumnName: "ImagePath", iterations: 3, batchSize: 2, learningRate: 0.01,
            checkpointDirectory: dir, model: new MaskLabOptions
            {
                Backbone = Fast.Backbone, Norm = Fast.Norm, Widths = Fast.Widths, Settings = Fast.Settings with { BoxDetectionsPerImage = 8 }, CropSize = 15,
            }));

    [TestMethod]
    public void TensorMaskFitsThroughTheCatalogLikeMaskRcnn() =>
        AssertFitsAndScores((ml, dir) => ml.Segmentation().Trainers.TensorMask(imageColumnName: "ImagePath", iterations: 3, batchSize: 2, learningRate: 0.01,
            checkpointDirectory: dir, model: new TensorMaskOptions
            {
                Backbone = Fast.Backbone, Norm = Fast.Norm, BackboneWidth = 16, FpnChannels = 32, ClassTowerChannels = 32, BoxTowerChannels = 32,
                MaskTowerChannels = 32, TowerConvs = 2, Levels = 4, WindowSizes = new[] { 16, 32 }, MinSize = 64, MaxSize = 128,
                ScoreThreshold = 0, DetectionsPerImage = 8,   // three iterations leave every score near the 0.01 prior
            }));

    internal sealed class PanopticRow
    {
        public string ImagePath { get; set; } = "";
        public string[] LabelNames { get; set; } = Array.Empty<string>();
        public float[] BoundingBoxes { get; set; } = Array.Empty<float>();
        public string[] Masks { get; set; } = Array.Empty<string>();
        public string SemanticLabels { get; set; } = "";
    }

    [TestMethod]
    public void PanopticTrainsOnLabelMapPathsAndScoresAPredictedLabelMapColumn()
    {
        var ml = new MLContext(seed: 1);
        var log = new List<string>();
        ml.Log += (_, e) => { if (e.Source.StartsWith("MLNetSeg", StringComparison.Ordinal)) lock (log) log.Add(e.Message); };
        var train = TinyDataset.Shared.Train();
        string maps = SyntheticDatasetGenerator.SemanticDirectory(TinyDataset.Shared.Root, "train");
        var names = train.Categories.Names;
        var rows = Enumerable.Range(0, train.Count).Select(i =>
        {
            var target = train.GetTarget(i);
            return new PanopticRow
            {
                ImagePath = train.ImagePath(i),
                LabelNames = target.Labels.Select(l => names[l - 1]).ToArray(),
                BoundingBoxes = target.Boxes.ToXyxy(),
                Masks = target.Masks!.Select(m => MaskEncoding.Encode(MLNetSeg.Vision.Structures.Rle.Encode(m))).ToArray(),
                SemanticLabels = Path.Combine(maps, Path.ChangeExtension(train.ImageInfo(i).FileName!, ".png")),
            };
        }).ToArray();
        var view = ml.Data.LoadFromEnumerable(rows);
        var keys = ml.Data.LoadFromEnumerable(names.Select(n => new KeyRow { Name = n }));
        var data = ml.Transforms.Conversion.MapValueToKey("Label", "LabelNames", keyData: keys).Fit(view).Transform(view);

        using var dir = new TempDir();
        var classes = SyntheticClasses.All.Select(c => c.Name).ToArray();
        var estimator = ml.Segmentation().Trainers.Panoptic(new PanopticOptions
        {
            Backbone = Fast.Backbone, Norm = Fast.Norm, Widths = Fast.Widths, Settings = Fast.Settings with { BoxDetectionsPerImage = 8 },
            SemanticClasses = classes, SemanticConvDims = 32,
        }, imageColumnName: "ImagePath", iterations: 2, batchSize: 2, learningRate: 0.01, checkpointDirectory: dir.Path);
        estimator.Options.ConsoleProgress = false;
        using var transformer = estimator.Fit(data);
        Assert.IsTrue(log.Any(m => m.Contains("sem_seg", StringComparison.Ordinal)), "the semantic loss is trained and reported:\n" + string.Join("\n", log));

        var scored = transformer.Transform(data);
        var column = scored.Schema[SegmentationColumns.PredictedSemanticLabels];
        Assert.IsInstanceOfType(column.Type, typeof(VectorDataViewType));
        using var cursor = scored.GetRowCursor(new[] { column });
        var getter = cursor.GetGetter<VBuffer<ushort>>(column);
        VBuffer<ushort> labels = default;
        Assert.IsTrue(cursor.MoveNext());
        getter(ref labels);
        var typed = transformer.Model.Predict(ImageIO.Read(train.ImagePath(0))).Semantic!;
        Assert.AreEqual(typed.Height * typed.Width, labels.Length, "one label per pixel, row-major");
        CollectionAssert.AreEqual(typed.Labels.ToArray().Select(l => (ushort)l).ToArray(), labels.DenseValues().ToArray(), "the column is the typed predictor's map");
        Assert.IsTrue(labels.DenseValues().All(l => l < classes.Length), "every pixel gets one of the label maps' classes");
    }

    /// <summary>Fits the estimator for 3 iterations of the tiny set; progress reaches MLContext.Log, the loop's files are written,
    /// and the transformer's outputs equal the typed predictor's.</summary>
    private static void AssertFitsAndScores(Func<MLContext, string, SegmentationEstimator> create)
    {
        var ml = new MLContext(seed: 1);
        var log = new List<string>();
        ml.Log += (_, e) => { if (e.Source.StartsWith("MLNetSeg", StringComparison.Ordinal)) lock (log) log.Add(e.Message); };
        var data = Annotated(ml, TinyDataset.Shared.Train());
        using var dir = new TempDir();
        var estimator = create(ml, dir.Path);
        estimator.Options.ConsoleProgress = false;
        using var transformer = estimator.Fit(data);

        Assert.AreEqual(3, transformer.Model.Summary!.Iterations);
        CollectionAssert.AreEqual(TinyDataset.Shared.Train().Categories.Names.Prepend("__background__").ToArray(), transformer.Model.ClassNames.ToArray());
        Assert.IsTrue(log.Any(m => m.Contains("iter 3/3", StringComparison.Ordinal)), "progress reaches MLContext.Log:\n" + string.Join("\n", log));
        Assert.IsTrue(File.Exists(Path.Combine(dir.Path, MetricsLog.FileName)), "the loop's metrics.jsonl is written");

        // The transformer scores the same view; its outputs equal the typed predictor's.
        var scored = transformer.Transform(data);
        var rows = Scoring.TransformerTests.ReadOutputs(scored);
        var path = TinyDataset.Shared.Train().ImagePath(0);
        var typed = Scoring.TransformerTests.Typed(transformer.Model, path);
        Assert.IsTrue(typed.Masks.Length > 0, "the comparison needs detections with masks");
        rows[0].AssertEqual(typed, "row 0");
    }

    [TestMethod]
    public void CancellationStopsTrainingNamingTheCheckpoint()
    {
        var ml = new MLContext(seed: 1);
        var data = Annotated(ml, TinyDataset.Shared.Train());
        using var dir = new TempDir();
        var estimator = ml.Segmentation().Trainers.MaskRcnn(imageColumnName: "ImagePath", iterations: 1000, checkpointDirectory: dir.Path, model: Fast);
        estimator.Options.ConsoleProgress = false;
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var e = Assert.ThrowsException<TrainingCanceledException>(() => estimator.Fit(data, null, cancel.Token));
        Assert.IsTrue(File.Exists(e.Checkpoint), e.Message);

        // ML.NET's own (internal) cancellation of the context stops it too.
        var ml2 = new MLContext(seed: 1);
        var estimator2 = ml2.Segmentation().Trainers.MaskRcnn(imageColumnName: "ImagePath", iterations: 1000, checkpointDirectory: Path.Combine(dir.Path, "2"), model: Fast);
        estimator2.Options.ConsoleProgress = false;
        var cancelExecution = typeof(MLContext).GetMethod("CancelExecution", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        using var timer = new Timer(_ => cancelExecution.Invoke(ml2, null), null, TimeSpan.FromSeconds(3), Timeout.InfiniteTimeSpan);
        Assert.ThrowsException<TrainingCanceledException>(() => estimator2.Fit(Annotated(ml2, TinyDataset.Shared.Train())));
    }

    [TestMethod]
    public void BadTrainingColumnsAreNamed()
    {
        var ml = new MLContext();
        var data = Annotated(ml, TinyDataset.Shared.Train());
        var missing = Assert.ThrowsException<ArgumentOutOfRangeException>(() =>
            ml.Segmentation().Trainers.MaskRcnn(labelColumnName: "Classes", imageColumnName: "ImagePath", iterations: 1, model: Fast).Fit(data));
        StringAssert.Contains(missing.Message, "no column 'Classes'");
        var text = Assert.ThrowsException<ArgumentOutOfRangeException>(() =>
            ml.Segmentation().Trainers.MaskRcnn(labelColumnName: "LabelNames", imageColumnName: "ImagePath", iterations: 1, model: Fast).Fit(data));
        StringAssert.Contains(text.Message, "MapValueToKey");
    }

    /// <summary>The trainer reads the label columns with the evaluation's reader: a row the evaluation
    /// refuses is refused here too, with the same message naming the column and the row.</summary>
    [TestMethod]
    public void BadTrainingRowsAreRefusedAsTheEvaluationRefusesThem()
    {
        var ml = new MLContext();
        var inverted = Annotated(ml, TinyDataset.Shared.Train(), rows =>
        {
            var b = rows[2].BoundingBoxes;
            (b[0], b[2]) = (b[2] + 1, b[0]);  // x1 < x0
        });
        var e = Assert.ThrowsException<ArgumentException>(() =>
            ml.Segmentation().Trainers.MaskRcnn(imageColumnName: "ImagePath", iterations: 1, model: Fast).Fit(inverted));
        StringAssert.Contains(e.Message, "column 'BoundingBoxes', training data, row 2: object 0 has box");
        StringAssert.Contains(e.Message, "x1 >= x0");

        var shortMasks = Annotated(ml, TinyDataset.Shared.Train(), rows => rows[1].Masks = rows[1].Masks[1..]);
        e = Assert.ThrowsException<ArgumentException>(() =>
            ml.Segmentation().Trainers.MaskRcnn(imageColumnName: "ImagePath", iterations: 1, model: Fast).Fit(shortMasks));
        StringAssert.Contains(e.Message, "column 'Masks', training data, row 1");
        StringAssert.Contains(e.Message, "it needs 1 per object (mask)");
    }
}
