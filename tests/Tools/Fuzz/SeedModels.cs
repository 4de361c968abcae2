using Microsoft.ML;
using MLNetSeg.Models;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Onnx.Export;
using MLNetSeg.Torch;
using MLNetSeg.Training;
using MLNetSeg.Transforms;

namespace MLNetSeg.Fuzz;

/// <summary>
/// The seeds of the model-file targets (<c>mlnetseg-fuzz seed-models --out tests/fixtures/fuzz</c>):
/// the smallest Mask R-CNN the config allows (ResNet-18 at width 4, FPN 8, two classes, seeded,
/// untrained) as a .mlseg file, as an ML.NET model zip (our transformer on an image-path column) and
/// as an ONNX export. Regenerate them when a format changes, and commit the outputs.
/// </summary>
internal static class SeedModels
{
    private static readonly MaskRcnnOptions Options = new()
    {
        Backbone = ResNetDepth.ResNet18,
        Norm = BackboneNorm.BatchNorm,
        Widths = DetectorWidths.Torchvision with { Backbone = 4, Fpn = 8, BoxHead = 16, MaskHead = 8 },
        Settings = new RcnnOptions { MinSize = 32, MaxSize = 64, RpnPreNmsTopNTest = 20, RpnPostNmsTopNTest = 10, BoxDetectionsPerImage = 5 },
    };

    /// <summary>Writes the three seeds under <paramref name="corpusRoot"/>/{target}/seeds and returns their paths.</summary>
    public static IReadOnlyList<string> Write(string corpusRoot)
    {
        string Seed(string target, string file) => Path.Combine(Directory.CreateDirectory(Path.Combine(corpusRoot, target, "seeds")).FullName, file);

        TorchRuntime.ManualSeed(17);
        var info = ModelFileInfo.ForCategories(new[] { (1, "square"), (2, "disc") });
        var model = ModelRegistry.Get(Options.Family).Create(Options, info);
        model.PrepareForInference();
        using var trained = new TrainedModel(model, info);
        var mlseg = Seed("mlseg", "tiny-maskrcnn.mlseg");
        trained.Save(mlseg);

        var onnx = Seed("onnx-model", "tiny-maskrcnn.onnx");
        OnnxExporter.Export(mlseg, onnx);

        var ml = new MLContext(seed: 1);
        var rows = ml.Data.LoadFromEnumerable(new[] { new ImageRow { Image = "unused.png" } });
        using var transformer = ml.Transforms.ApplySegmentationModel(trained, SegmentationColumns.Image).Fit(rows);
        transformer.GetOutputSchema(rows.Schema);  // the saved chain needs the image column's type
        var zip = Seed("mlnet-zip", "tiny-maskrcnn.zip");
        ml.Model.Save(transformer, rows.Schema, zip);
        return new[] { mlseg, onnx, zip };
    }

    /// <summary>The one input column of the zip's pipeline: an image path.</summary>
    internal sealed class ImageRow
    {
        public string Image { get; set; } = "";
    }
}
