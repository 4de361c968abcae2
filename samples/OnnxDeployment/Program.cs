// Deploying a trained model through ONNX (docs/onnx.md), after the quickstart has run:
//   1. export the quickstart's model file to ONNX (what `mlnetseg export` does);
//   2. predict with the ONNX Runtime predictor (no libtorch on this path), on the CPU or, with
//      --cuda, through ONNX Runtime's CUDA provider (falling back to the CPU with a message);
//   3. check it against the libtorch model on the same images, and time both;
//   4. quantise the graph to int8, calibrated on 32 training images, and compare it with the float graph;
//   5. run the ML.NET route: ExtractSegmentationOnnxInput → ApplyOnnxModel → DecodeSegmentationOnnxOutput.
//
// Usage: dotnet run --project samples/OnnxDeployment -c Release -- [QUICKSTART_OUT] [--cuda]   (default out/quickstart)
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Onnx.Export;
using MLNetSeg.Onnx.Quantization;
using MLNetSeg.Onnx.Runtime;
using MLNetSeg.Training;
using MLNetSeg.Transforms;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

bool cuda = args.Contains("--cuda");
var outDir = Path.GetFullPath(args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? Path.Combine("out", "quickstart"));
var modelFile = Path.Combine(outDir, "train", "model_final.mlseg");
var imageDir = Path.Combine(outDir, "data", "val");
if (!File.Exists(modelFile) || !Directory.Exists(imageDir))
{
    Console.Error.WriteLine($"no quickstart output in {outDir}: run `bash tools/quickstart.sh` first (it writes {modelFile})");
    return 2;
}
var images = Directory.EnumerateFiles(imageDir, "*.png").Order(StringComparer.Ordinal).Take(20).ToArray();

// 1. Export.
var onnxFile = Path.Combine(outDir, "maskrcnn_quickstart.onnx");
var report = OnnxExporter.Export(modelFile, onnxFile);
Console.WriteLine($"[1/5] exported {modelFile} to {onnxFile}: {report.Bytes / 1e6:F1} MB, opset {report.Opset}, outputs {string.Join(", ", report.Outputs)}");

// 2. The ONNX Runtime predictor.
using var predictor = new OnnxSegmentationPredictor(onnxFile, new OnnxPredictorOptions
{
    Provider = cuda ? OnnxExecutionProvider.Cuda : OnnxExecutionProvider.Cpu,
});
Console.WriteLine($"[2/5] ONNX Runtime on {predictor.ExecutionProvider}: {predictor.Info.Family}, {predictor.Info.Labels.NumClasses - 1} classes");

// 3. Against the libtorch model on the same decoded images.
var decoded = images.Select(ImageIO.Read).ToArray();
using var trained = TrainedModel.Load(modelFile);
trained.Model.PrepareForInference();
predictor.Predict(decoded[0]);
trained.Predict(decoded[0]);
var onnxClock = Stopwatch.StartNew();
var fromOnnx = decoded.Select(predictor.Predict).ToArray();
onnxClock.Stop();
var torchClock = Stopwatch.StartNew();
var fromTorch = decoded.Select(im => trained.Predict(im).Instances!).ToArray();
torchClock.Stop();
int same = fromOnnx.Zip(fromTorch).Count(p => p.First.Count == p.Second.Count && p.First.Labels.SequenceEqual(p.Second.Labels));
Console.WriteLine($"[3/5] {images.Length} images: ONNX Runtime {onnxClock.Elapsed.TotalMilliseconds / images.Length:F0} ms/image, " +
                  $"libtorch {torchClock.Elapsed.TotalMilliseconds / images.Length:F0} ms/image; same detections and labels on {same}/{images.Length}");

// 4. int8.
var int8File = Path.Combine(outDir, "maskrcnn_quickstart_int8.onnx");
var calibration = Directory.EnumerateFiles(Path.Combine(outDir, "data", "train"), "*.png").Order(StringComparer.Ordinal).Take(32);
var quantized = OnnxQuantizer.Quantize(onnxFile, int8File, calibration);
using (var int8 = new OnnxSegmentationPredictor(int8File))
{
    int8.Predict(decoded[0]);
    var int8Clock = Stopwatch.StartNew();
    var fromInt8 = decoded.Select(int8.Predict).ToArray();
    int8Clock.Stop();
    double boxIou = fromInt8.Zip(fromOnnx).Where(p => p.First.Count > 0 && p.Second.Count > 0)
        .Average(p => Boxes.Iou(p.First.Boxes, p.Second.Boxes)[0, 0]);
    Console.WriteLine($"[4/5] int8 graph {quantized.Bytes / 1e6:F1} MB ({quantized.QuantizedNodes} quantised nodes): " +
                      $"{int8Clock.Elapsed.TotalMilliseconds / images.Length:F0} ms/image; {fromInt8.Sum(r => r.Count)} detections vs {fromOnnx.Sum(r => r.Count)} float, " +
                      $"top boxes' IoU with the float graph's {boxIou:F3} on average");
}

// 5. The ML.NET route.
var ml = new MLContext(seed: 1);
var data = ml.Data.LoadFromEnumerable(images.Select(p => new ImageRow { ImagePath = p }));
var pipeline = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: nameof(ImageRow.ImagePath))
    .Append(ml.Transforms.ExtractSegmentationOnnxInput("Image"))
    .Append(ml.Transforms.ApplyOnnxModel(onnxFile))
    .Append(ml.Transforms.DecodeSegmentationOnnxOutput(onnxFile));
var scored = pipeline.Fit(data).Transform(data);
var scores = scored.GetColumn<VBuffer<float>>(SegmentationColumns.Score).Select(v => v.Length).ToArray();
Console.WriteLine($"[5/5] ML.NET ApplyOnnxModel route: {scores.Sum()} detections on {scores.Length} images " +
                  $"(columns {string.Join(", ", scored.Schema.Select(c => c.Name).Where(n => n.StartsWith("Predicted", StringComparison.Ordinal) || n == "Score"))})");
return 0;

/// <summary>One input row: an image file.</summary>
internal sealed class ImageRow
{
    public string ImagePath { get; set; } = "";
}
