using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Onnx.Runtime;

// Usage: OnnxPredict MODEL.onnx IMAGE...      (the ONNX Runtime predictor)
//        OnnxPredict --zip MODEL.zip IMAGE...  (a saved ML.NET pipeline with an ImagePath input column)
// Prints {"count":N,"labels":[...],"scores":[...],"boxes":[...],"masks":[...]} per image, then
// {"native":[...]} listing the loaded shared libraries whose names mention torch or mlnetseg.
if (args.Length < 2 || (args[0] == "--zip" && args.Length < 3))
{
    Console.Error.WriteLine("usage: OnnxPredict MODEL.onnx IMAGE... | OnnxPredict --zip MODEL.zip IMAGE...");
    return 2;
}
if (args[0] == "--zip")
{
    var ml = new MLContext();
    var pipeline = ml.Model.Load(args[1], out _);
    var scored = pipeline.Transform(ml.Data.LoadFromEnumerable(args.Skip(2).Select(p => new ImagePathRow { ImagePath = p })));
    // Copied row by row: GetColumn may hand every row the same buffer.
    var scores = scored.GetColumn<VBuffer<float>>("Score").Select(v => v.DenseValues().ToArray()).ToArray();
    foreach (var row in scores) Console.WriteLine(JsonSerializer.Serialize(new { count = row.Length, scores = row }));
}
else
{
    using var predictor = new OnnxSegmentationPredictor(args[0]);
    PrintPredictions(predictor, args.Skip(1));
}
PrintNativeLibraries();
return 0;

static void PrintPredictions(OnnxSegmentationPredictor predictor, IEnumerable<string> paths)
{
    foreach (var path in paths)
    {
        var instances = predictor.Predict(path);
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            count = instances.Count,
            labels = instances.Labels,
            scores = instances.Scores,
            boxes = instances.Boxes.SelectMany(b => new[] { b.X1, b.Y1, b.X2, b.Y2 }),
            masks = instances.Masks?.Select(m => m.Area),
        }));
    }
}

static void PrintNativeLibraries()
{
    var native = File.ReadAllLines("/proc/self/maps")
        .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "")
        .Where(p => p.Contains("torch", StringComparison.OrdinalIgnoreCase) || p.Contains("mlnetseg", StringComparison.OrdinalIgnoreCase))
        .Where(p => p.EndsWith(".so", StringComparison.Ordinal) || p.Contains(".so.", StringComparison.Ordinal))
        .Distinct().ToArray();
    Console.WriteLine(JsonSerializer.Serialize(new { native }));
}

/// <summary>The input row of a saved pipeline.</summary>
internal sealed class ImagePathRow
{
    public string ImagePath { get; set; } = "";
}
