using System.Text;
using Microsoft.ML;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Onnx.Runtime;
using MLNetSeg.Onnx.Export;
using MLNetSeg.Torch;
using MLNetSeg.Training;
using MLNetSeg.Transforms;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Reliability.Tests.Load;

/// <summary>
/// The model every load test runs: a seeded, untrained compact Mask R-CNN over the Tiny set's classes
/// with the box score threshold at 0, so every image gets six detections with masks (an untrained
/// R-CNN scores near 1/(classes + 1)): something to compare bit for bit. Saved as .mlseg and exported
/// to ONNX once per test assembly, so the three predictors run the same weights.
/// </summary>
internal sealed class PredictorFixture : IDisposable
{
    private static readonly Lazy<PredictorFixture> SharedInstance = new(() => new PredictorFixture());

    private readonly TempDir _dir = new();

    /// <summary>One fixture for the test assembly, removed when the process exits.</summary>
    public static PredictorFixture Shared => SharedInstance.Value;

    public static MaskRcnnOptions Options { get; } = new()
    {
        Backbone = ResNetDepth.ResNet18,
        Norm = BackboneNorm.BatchNorm,
        Widths = DetectorWidths.Compact,
        Settings = new RcnnOptions
        {
            MinSize = 64, MaxSize = 128, RpnPreNmsTopNTest = 100, RpnPostNmsTopNTest = 50,
            BoxScoreThresh = 0, BoxDetectionsPerImage = 6,
        },
    };

    private PredictorFixture()
    {
        var train = TinyDataset.Shared.Train();
        var validation = TinyDataset.Shared.Validation();
        ImagePaths = Enumerable.Range(0, validation.Count).Select(validation.ImagePath).ToArray();
        TorchRuntime.ManualSeed(3);
        var info = TrainedModel.InfoFor(train);
        var model = MLNetSeg.Models.ModelRegistry.Get(Options.Family).Create(Options, info);
        model.PrepareForInference();
        using var trained = new TrainedModel(model, info);
        ModelPath = _dir.Sub("model.mlseg");
        trained.Save(ModelPath);
        OnnxPath = _dir.Sub("model.onnx");
        OnnxExporter.Export(ModelPath, OnnxPath);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Dispose();
    }

    /// <summary>The Tiny set's eight validation images.</summary>
    public string[] ImagePaths { get; }

    public string ModelPath { get; }

    public string OnnxPath { get; }

    public void Dispose() => _dir.Dispose();

    /// <summary>The typed predictor: <see cref="TrainedModel.Predict(Image)"/> on decoded images.</summary>
    public PredictorUnderTest Typed()
    {
        var model = TrainedModel.Load(ModelPath);
        var images = ImagePaths.Select(ImageIO.Read).ToArray();
        return new PredictorUnderTest("typed (TrainedModel)", i => Fingerprint(model.Predict(images[i]).Instances!), model.Dispose, tracksTensors: true);
    }

    /// <summary>ML.NET: LoadImages-free path input → ApplySegmentationModel, through a <see cref="SegmentationPredictorPool{TInput,TOutput}"/>.</summary>
    public PredictorUnderTest Pooled()
    {
        var ml = new MLContext(seed: 1);
        var transformer = ml.Transforms.ApplySegmentationModel(ModelPath, SegmentationColumns.Image)
            .Fit(ml.Data.LoadFromEnumerable(new[] { new SegmentationPathInput { Image = ImagePaths[0] } }));
        var pool = new SegmentationPredictorPool<SegmentationPathInput, SegmentationPrediction>(ml, transformer);
        var paths = ImagePaths;
        return new PredictorUnderTest("ML.NET (SegmentationPredictorPool)", i => Fingerprint(pool.Predict(new SegmentationPathInput { Image = paths[i] })),
            () => { pool.Dispose(); transformer.Dispose(); }, tracksTensors: true);
    }

    /// <summary>ONNX Runtime: <see cref="OnnxSegmentationPredictor"/> on image files (its own decoder, no libtorch).</summary>
    public PredictorUnderTest Onnx(int intraOpThreads = 0)
    {
        var predictor = new OnnxSegmentationPredictor(OnnxPath, new OnnxPredictorOptions { IntraOpThreads = intraOpThreads });
        var paths = ImagePaths;
        return new PredictorUnderTest("ONNX Runtime (OnnxSegmentationPredictor)", i => Fingerprint(predictor.Predict(paths[i])), predictor.Dispose, tracksTensors: false);
    }

    /// <summary>Everything a prediction says, floats as bits: equal fingerprints = identical results.</summary>
    public static string Fingerprint(Instances instances)
    {
        var s = new StringBuilder();
        s.Append(instances.Count).Append(';');
        for (int i = 0; i < instances.Count; i++)
        {
            s.Append(instances.Labels[i]).Append(':').Append(BitConverter.SingleToInt32Bits(instances.Scores![i])).Append(':');
            foreach (var v in instances.Boxes.Data.Slice(4 * i, 4)) s.Append(BitConverter.SingleToInt32Bits(v)).Append(',');
            s.Append(instances.Masks![i].ToCompressedString()).Append(';');
        }
        return s.ToString();
    }

    public static string Fingerprint(SegmentationPrediction p) =>
        string.Join(";", p.PredictedLabel) + "|" + string.Join(";", p.Score.Select(BitConverter.SingleToInt32Bits)) + "|" +
        string.Join(";", p.PredictedBoundingBoxes.Select(BitConverter.SingleToInt32Bits)) + "|" + string.Join(";", p.PredictedMasks);
}

/// <summary>A predictor as the load tests drive it: image index in, fingerprint out.</summary>
internal sealed class PredictorUnderTest(string name, Func<int, string> predict, Action dispose, bool tracksTensors) : IDisposable
{
    public string Name { get; } = name;

    /// <summary>Predicts image <paramref name="index"/> of <see cref="PredictorFixture.ImagePaths"/>; safe from any thread.</summary>
    public string Predict(int index) => predict(index);

    /// <summary>Whether it runs on libtorch (so live native tensors are a meaningful count).</summary>
    public bool TracksTensors { get; } = tracksTensors;

    public void Dispose() => dispose();
}
