// Usage: ZipScore MODEL.zip IMAGE_PATH...   → one JSON object per image on stdout.
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

var ml = new MLContext();
var model = ml.Model.Load(args[0], out var inputSchema);
var rows = args.Skip(1).Select(p => new PathRow { ImagePath = p });
var scored = model.Transform(ml.Data.LoadFromEnumerable(rows, SchemaDefinition.Create(typeof(PathRow))));
var columns = new[] { "PredictedLabel", "Score", "PredictedBoundingBoxes", "PredictedMasks" }.Select(n => scored.Schema[n]).ToArray();
using var cursor = scored.GetRowCursor(columns);
var labels = cursor.GetGetter<VBuffer<uint>>(columns[0]);
var scores = cursor.GetGetter<VBuffer<float>>(columns[1]);
var boxes = cursor.GetGetter<VBuffer<float>>(columns[2]);
var masks = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(columns[3]);
VBuffer<uint> l = default; VBuffer<float> s = default, b = default; VBuffer<ReadOnlyMemory<char>> m = default;
while (cursor.MoveNext())
{
    labels(ref l); scores(ref s); boxes(ref b); masks(ref m);
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        labels = l.DenseValues().ToArray(),
        scores = s.DenseValues().Select(v => BitConverter.SingleToInt32Bits(v)).ToArray(),
        boxes = b.DenseValues().Select(v => BitConverter.SingleToInt32Bits(v)).ToArray(),
        masks = m.DenseValues().Select(v => v.ToString()).ToArray(),
    }));
}

internal sealed class PathRow
{
    public string ImagePath { get; set; } = "";
}
