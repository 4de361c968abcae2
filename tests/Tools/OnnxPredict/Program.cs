using System.Text.Json;
using MLNetSeg.Onnx.Runtime;

// Usage: OnnxPredict MODEL.onnx IMAGE...
// Prints {"count":N,"labels":[...],"scores":[...],"boxes":[...],"masks":[...]} per image, then
// {"native":[...]} listing the loaded shared libraries whose names mention torch or mlnetseg.
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: OnnxPredict MODEL.onnx IMAGE...");
    return 2;
}
using var predictor = new OnnxSegmentationPredictor(args[0]);
foreach (var path in args.Skip(1))
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
var native = File.ReadAllLines("/proc/self/maps")
    .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "")
    .Where(p => p.Contains("torch", StringComparison.OrdinalIgnoreCase) || p.Contains("mlnetseg", StringComparison.OrdinalIgnoreCase))
    .Where(p => p.EndsWith(".so", StringComparison.Ordinal) || p.Contains(".so.", StringComparison.Ordinal))
    .Distinct().ToArray();
Console.WriteLine(JsonSerializer.Serialize(new { native }));
return 0;
