using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MLNetSeg.Data.Coco;
using MLNetSeg.Data.Synthetic;
using MLNetSeg.Evaluation;
using MLNetSeg.Training;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Benchmarks;

/// <summary>
/// Scores the runs of an instance-segmentation ablation (benchmarks/masklab_ablation.sh writes them:
/// OUT/&lt;row&gt;/seed&lt;k&gt;/model_final.mlseg): COCO box and mask AP on the validation split overall and on the images
/// holding overlapping same-class instances (<see cref="SameClassOverlap"/>), and the mean inference time per image.
/// Appends one JSON line per run to OUT/results.jsonl (a run already there is not scored again) and prints a markdown
/// table of the per-row means over the seeds with each seed's mask AP.
/// Args: --data DIR (the synthetic dataset) --out DIR (the runs).
/// </summary>
internal static class InstanceAblationBenchmarks
{
    private sealed record RunResult(string Row, int Seed, double BoxAp, double MaskAp, double MaskAp50, double BoxApOverlap, double MaskApOverlap,
        int OverlapImages, double InferMsPerImage, int ValImages);

    public static string Evaluate(string[] args)
    {
        string data = Arg(args, "--data"), output = Arg(args, "--out");
        string valJson = SyntheticDatasetGenerator.InstancesJsonPath(data, "val");
        if (!File.Exists(valJson)) throw new FileNotFoundException($"instance-ablation: {valJson} is missing (generate the dataset first)", valJson);
        var val = Data.Loading.DetectionDataset.Load(valJson, Path.Combine(data, "val"));
        var overlap = SameClassOverlap.ImageIds(val.Coco);
        var results = AblationRuns.ScoreNew(output, r => (r.Row, r.Seed), (row, seed, model) => Score(row, seed, model, val, overlap));
        return Table(results);
    }

    private static RunResult Score(string row, int seed, string modelPath, Data.Loading.DetectionDataset val, IReadOnlySet<long> overlap)
    {
        using var model = TrainedModel.Load(modelPath);
        var (predictions, ids, ms) = AblationRuns.PredictTimed(model, val);
        var tasks = SegmentationTasks.Boxes | SegmentationTasks.Masks;
        var options = new SegmentationEvaluationOptions { ClassNames = model.Info.ClassNames, ComputeBoundaryIou = false };
        var all = SegmentationEvaluator.Evaluate(val.Coco, predictions, ids, model.Info.LabelToCategoryId, tasks, options);
        var subset = SegmentationEvaluator.Evaluate(val.Coco, predictions, ids, model.Info.LabelToCategoryId, tasks, options with { ImageIds = overlap.ToArray() });
        return new RunResult(row, seed, 100 * all.Bbox!.Stats[0], 100 * all.Segm!.Stats[0], 100 * all.Segm.Stats[1],
            100 * subset.Bbox!.Stats[0], 100 * subset.Segm!.Stats[0], overlap.Count, ms, ids.Length);
    }

    private static string Table(IReadOnlyList<RunResult> results)
    {
        var s = new StringBuilder();
        s.AppendLine("| row | seeds | box AP | mask AP | mask AP50 | mask AP, overlapping same-class images | box AP, same | ms / image | mask AP per seed |");
        s.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var g in results.GroupBy(r => r.Row).OrderBy(g => results.ToList().FindIndex(r => r.Row == g.Key)))
        {
            string F(Func<RunResult, double> f) => g.Average(f).ToString("F1", CultureInfo.InvariantCulture);
            s.AppendLine(CultureInfo.InvariantCulture,
                $"| {g.Key} | {g.Count()} | {F(r => r.BoxAp)} | {F(r => r.MaskAp)} | {F(r => r.MaskAp50)} | {F(r => r.MaskApOverlap)} | {F(r => r.BoxApOverlap)} | " +
                $"{F(r => r.InferMsPerImage)} | {string.Join(" / ", g.OrderBy(r => r.Seed).Select(r => r.MaskAp.ToString("F1", CultureInfo.InvariantCulture)))} |");
        }
        if (results.Count > 0)
            s.AppendLine(CultureInfo.InvariantCulture, $"(overlapping same-class subset: {results[0].OverlapImages} of {results[0].ValImages} validation images)");
        return s.ToString();
    }

    private static string Arg(string[] args, string name)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : throw new ArgumentException($"instance-ablation: {name} DIR is required");
    }
}
