using System.Diagnostics;
using System.Globalization;
using MLNetSeg.Data.Loading;
using MLNetSeg.Data.Synthetic;
using MLNetSeg.Models;
using MLNetSeg.Torch;
using MLNetSeg.Training;

namespace MLNetSeg.Benchmarks;

/// <summary>bfloat16 autocast for CPU inference: speed and COCO AP against float32, same model, same images, same run.</summary>
internal static class MixedPrecisionBenchmarks
{
    /// <summary>
    /// Predicts a synthetic validation split with a trained model in float32 and under bfloat16 autocast
    /// (<see cref="AutocastScope"/>), alternating <c>repeats</c> times (batch 1, the decode on one worker),
    /// and scores each pass with the COCO evaluator. Prints seconds per image (median over the passes) and
    /// box/mask AP of both. Args: model.mlseg dataDir [repeats=3] [threads=2].
    /// </summary>
    public static string Run(string[] args)
    {
        string modelPath = args[0], dataDir = args[1];
        int repeats = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
        TorchRuntime.Threads = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 2;
        var dataset = DetectionDataset.Load(SyntheticDatasetGenerator.InstancesJsonPath(dataDir, "val"), SyntheticDatasetGenerator.ImageDirectory(dataDir, "val"));
        var (model, info) = ModelFile.Load(modelPath);
        using var _ = model;
        model.Module.Eval();
        var tasks = model.Tasks;
        var seconds = new Dictionary<string, List<double>> { ["float32"] = new(), ["bfloat16"] = new() };
        var ap = new Dictionary<string, SegmentationEvaluationSummary>();
        for (int r = 0; r < repeats; r++)
        {
            foreach (var precision in new[] { "float32", "bfloat16" })
            {
                var clock = Stopwatch.StartNew();
                IReadOnlyList<MLNetSeg.Vision.Structures.SegmentationResult> results;
                IReadOnlyList<long> ids;
                using (precision == "bfloat16" ? AutocastScope.Enter(Device.Cpu) : default)
                    (results, ids) = DatasetInference.Predict(model, dataset, batchSize: 1, workers: 1);
                seconds[precision].Add(clock.Elapsed.TotalSeconds / dataset.Count);
                if (r == 0)
                {
                    var evaluation = ModelEvaluation.Score(dataset, results, ids, info, tasks);
                    ap[precision] = new(evaluation.Metrics.GetValueOrDefault("bbox/AP", double.NaN), evaluation.Metrics.GetValueOrDefault("segm/AP", double.NaN));
                }
            }
        }
        double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"benchmark\":\"mixed_precision\",\"model\":\"{Path.GetFileName(modelPath)}\",\"images\":{dataset.Count},\"threads\":{TorchRuntime.Threads},\"repeats\":{repeats}," +
            $"\"float32_s_per_image\":{Median(seconds["float32"]):F4},\"bfloat16_s_per_image\":{Median(seconds["bfloat16"]):F4}," +
            $"\"float32_bbox_AP\":{ap["float32"].Box:F4},\"bfloat16_bbox_AP\":{ap["bfloat16"].Box:F4}," +
            $"\"float32_segm_AP\":{ap["float32"].Mask:F4},\"bfloat16_segm_AP\":{ap["bfloat16"].Mask:F4}}}");
    }

    private sealed record SegmentationEvaluationSummary(double Box, double Mask);
}
