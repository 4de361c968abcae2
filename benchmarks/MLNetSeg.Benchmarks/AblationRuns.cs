using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace MLNetSeg.Benchmarks;

/// <summary>The runs of an ablation script (OUT/&lt;row&gt;/seed&lt;k&gt;/model_final.mlseg) and their scores in OUT/results.jsonl.</summary>
internal static class AblationRuns
{
    /// <summary>
    /// The scores in OUT/results.jsonl, after scoring (and appending) every finished run not yet there; rows named in
    /// <paramref name="skipRows"/> (e.g. a stage-1 folder) are not runs.
    /// </summary>
    public static List<T> ScoreNew<T>(string output, Func<T, (string Row, int Seed)> key, Func<string, int, string, T> score, params string[] skipRows)
    {
        string resultsPath = Path.Combine(output, "results.jsonl");
        var results = File.Exists(resultsPath)
            ? File.ReadAllLines(resultsPath).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<T>(l)!).ToList()
            : new List<T>();
        foreach (var rowDir in Directory.GetDirectories(output).Order(StringComparer.Ordinal))
            foreach (var runDir in Directory.GetDirectories(rowDir, "seed*").Order(StringComparer.Ordinal))
            {
                string row = Path.GetFileName(rowDir), model = Path.Combine(runDir, "model_final.mlseg");
                if (skipRows.Contains(row) || !File.Exists(model)) continue;
                int seed = int.Parse(Path.GetFileName(runDir)["seed".Length..], CultureInfo.InvariantCulture);
                if (results.Any(r => key(r) == (row, seed))) continue;
                Console.Error.WriteLine($"scoring {row} seed {seed}");
                var result = score(row, seed, model);
                results.Add(result);
                File.AppendAllText(resultsPath, JsonSerializer.Serialize(result) + "\n");
            }
        return results;
    }

    /// <summary>A model's results on every image of <paramref name="val"/> in order, their image ids, and the mean inference time
    /// per image (after a warm-up on two images).</summary>
    public static (IReadOnlyList<MLNetSeg.Vision.Structures.SegmentationResult> Predictions, long[] ImageIds, double MsPerImage) PredictTimed(
        MLNetSeg.Training.TrainedModel model, MLNetSeg.Data.Loading.DetectionDataset val)
    {
        var paths = Enumerable.Range(0, val.Count).Select(val.ImagePath).ToArray();
        var ids = Enumerable.Range(0, val.Count).Select(i => val.ImageInfo(i).Id).ToArray();
        model.Predict(paths.Take(2).ToArray());  // warm-up
        var clock = Stopwatch.StartNew();
        var predictions = model.Predict(paths);
        return (predictions, ids, clock.Elapsed.TotalMilliseconds / paths.Length);
    }
}
