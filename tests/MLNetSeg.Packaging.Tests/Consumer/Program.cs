// The README's snippets, run as a user runs them after `dotnet add package MLNetSeg.MLNet`: in a
// working folder (args[0]) that holds the files they name. Prints "CHECK name: detail" lines and
// exits non-zero on the first failed check.
using Microsoft.ML;
using MLNetSeg.Data.Synthetic;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Packaging.Tests.Readme;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Serialization;
using MLNetSeg.Training;
using MLNetSeg.Vision.Imaging;
using SkiaSharp;

Directory.SetCurrentDirectory(args[0]);
Prepare();

// README "Using it from C#": a torchvision-layout checkpoint through the typed predictor.
var typed = ReadmeSnippets.PredictWithTorchvisionWeights();
Check("typed-predict", typed.Count > 0 && File.Exists("street.overlay.png"), $"{typed.Count} instances on street.jpg, overlay written");

// README "Using it from ML.NET": fit → transform → evaluate → save, then load in a new MLContext.
var metrics = ReadmeSnippets.TrainEvaluateSave();
Check("mlnet-train", metrics.Box is not null && File.Exists("model.zip") && File.Exists("model.mlseg"),
    $"box AP {metrics.Box?.AP:0.000}, model.zip {new FileInfo("model.zip").Length / 1e6:0.0} MB");
var p = ReadmeSnippets.LoadAndPredict();
Check("mlnet-predict", p.Score.Length > 0 && p.PredictedBoundingBoxes.Length == 4 * p.Score.Length,
    $"{p.Score.Length} detections on street.png from the loaded model.zip");

// The zip's model is the saved one: the typed predictor on model.mlseg gives the same boxes.
using (var saved = TrainedModel.Load("model.mlseg"))
{
    var direct = saved.Predict(ImageIO.Read("street.png")).Instances!;
    var fromZip = p.PredictedBoundingBoxes;
    bool same = direct.Count == p.Score.Length && direct.Boxes.Data.ToArray().Zip(fromZip).All(b => Math.Abs(b.First - b.Second) < 1e-3f);
    Check("zip-round-trip", same, $"{direct.Count} boxes equal to the zip's");
}

var grad = ReadmeSnippets.Engine();
Check("engine", grad.SequenceEqual(new float[] { 2, 4, 6 }), "d(x·x)/dx = 2x");
Console.WriteLine("CONSUMER OK");
return 0;

static void Check(string name, bool ok, string detail)
{
    Console.WriteLine($"CHECK {name}: {(ok ? "ok" : "FAILED")} ({detail})");
    if (!ok) Environment.Exit(1);
}

// The files the snippets name: the synthetic dataset as train.json/train_images/ and val.json/val_images/,
// street.png and street.jpg (a real JPEG, re-encoded with SkiaSharp, which ML.NET's image package
// brings), and maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth: a checkpoint with torchvision's state-dict
// layout (our model's state dict, which has exactly torchvision's names; safetensors content: the
// loader recognises the format, not the extension). Its weights are a seeded random init with the
// class logits scaled ×10 (as the parity fixtures do) so that detections clear the 0.05 threshold.
static void Prepare()
{
    if (File.Exists("train.json")) return;
    SyntheticDatasetGenerator.Generate(SyntheticOptions.Tiny with { TrainImages = 8, ValImages = 3 }, "synthetic");
    foreach (var split in new[] { "train", "val" })
    {
        File.Copy(SyntheticDatasetGenerator.InstancesJsonPath("synthetic", split), $"{split}.json");
        Directory.Move(SyntheticDatasetGenerator.ImageDirectory("synthetic", split), $"{split}_images");
    }
    var first = Directory.GetFiles("val_images", "*.png").Order().First();
    File.Copy(first, "street.png");
    using (var bitmap = SKBitmap.Decode(first))
    using (var jpeg = SKImage.FromBitmap(bitmap).Encode(SKEncodedImageFormat.Jpeg, 95))
    using (var file = File.Create("street.jpg"))
        jpeg.SaveTo(file);

    TorchRuntime.ManualSeed(0);
    using var model = TorchvisionWeights.MaskRcnnResNet50FpnCocoV1.Create();
    using (NoGradScope.Enter())
    {
        var clsScore = model.StateDict()["roi_heads.box_predictor.cls_score.weight"];
        clsScore.Mul_(10);
    }
    SafeTensors.Save("maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth", model);
}
