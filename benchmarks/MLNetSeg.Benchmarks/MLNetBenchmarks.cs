using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Data.Synthetic;
using MLNetSeg.Models;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Training;
using MLNetSeg.Transforms;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Benchmarks;

/// <summary>
/// The ML.NET path against the typed predictor on the same images and model (docs/benchmarks.md,
/// "ML.NET components"): time per image of (a) <c>TrainedModel.Predict</c> on decoded images plus
/// the RLE → string encoding a caller needs anyway, (b) our transformer over an image-path column,
/// (c) <c>LoadImages</c> → our transformer over MLImage; rounds alternate, medians are reported. And
/// the process's resident memory while one cursor reads N rows through the ML.NET path.
/// </summary>
internal static class MLNetBenchmarks
{
    private sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
    }

    /// <summary>Args: [model.mlseg|compact] [images=100] [rounds=5] [memoryRows=10000] [dataDir].</summary>
    public static string Run(string[] args)
    {
        string modelArg = args.Length > 0 ? args[0] : "compact";
        int count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100;
        int rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
        int memoryRows = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 10_000;
        string dataDir = args.Length > 4 ? args[4] : TrainingBenchmarks.DefaultDataDirectory;
        if (!File.Exists(SyntheticDatasetGenerator.InstancesJsonPath(dataDir, "val"))) SyntheticDatasetGenerator.Generate(SyntheticOptions.Small, dataDir);
        var folder = SyntheticDatasetGenerator.ImageDirectory(dataDir, "val");
        var paths = Directory.GetFiles(folder, "*.png").OrderBy(p => p, StringComparer.Ordinal).Take(count).ToArray();

        using var model = modelArg == "compact" ? CompactUntrained(dataDir) : TrainedModel.Load(modelArg);
        var ml = new MLContext(seed: 1);
        var pathView = ml.Data.LoadFromEnumerable(paths.Select(p => new PathRow { ImagePath = p }).ToArray());
        using var byPath = ml.Transforms.ApplySegmentationModel(model, SegmentationColumns.ImagePath).Fit(pathView);
        var imageView = ml.Transforms.LoadImages("Image", null, "ImagePath").Fit(pathView).Transform(pathView);
        using var byImage = ml.Transforms.ApplySegmentationModel(model).Fit(imageView);

        double Typed()
        {
            var clock = Stopwatch.StartNew();
            long detections = 0;
            foreach (var path in paths)
            {
                var found = model.Predict(ImageIO.Read(path)).Instances!;
                detections += found.Masks!.Select(MaskEncoding.Encode).Count();
            }
            return Check(clock, detections);
        }
        double Pipeline(IDataView scored)
        {
            var clock = Stopwatch.StartNew();
            long detections = ReadAll(scored);
            return Check(clock, detections);
        }
        double Check(Stopwatch clock, long detections)
        {
            if (detections == 0) throw new InvalidOperationException("no detections: the comparison would be empty");
            return clock.Elapsed.TotalSeconds / paths.Length;
        }

        Typed(); Pipeline(byPath.Transform(pathView)); Pipeline(byImage.Transform(imageView));   // warm-up
        var typed = new List<double>(); var path = new List<double>(); var image = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            typed.Add(Typed());
            path.Add(Pipeline(byPath.Transform(pathView)));
            image.Add(Pipeline(byImage.Transform(imageView)));
        }
        double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
        var ratiosPath = typed.Zip(path, (t, p) => p / t).ToList();
        var ratiosImage = typed.Zip(image, (t, p) => p / t).ToList();

        // Resident memory over memoryRows rows of one cursor (the images repeated).
        var rss = new List<(int Rows, double Mb)>();
        if (memoryRows > 0)
        {
            var many = ml.Data.LoadFromEnumerable(Enumerable.Range(0, memoryRows).Select(i => new PathRow { ImagePath = paths[i % paths.Length] }));
            var scored = byPath.Transform(many);
            var columns = scored.Schema.Where(c => c.Name.StartsWith("Predicted", StringComparison.Ordinal) || c.Name == "Score").ToArray();
            using var cursor = scored.GetRowCursor(columns);
            var getMasks = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(scored.Schema[SegmentationColumns.PredictedMasks]);
            var getBoxes = cursor.GetGetter<VBuffer<float>>(scored.Schema[SegmentationColumns.PredictedBoundingBoxes]);
            VBuffer<ReadOnlyMemory<char>> masks = default; VBuffer<float> boxes = default;
            int row = 0;
            while (cursor.MoveNext())
            {
                getMasks(ref masks); getBoxes(ref boxes);
                if (++row % Math.Max(1, memoryRows / 20) == 0)
                {
                    using var self = Process.GetCurrentProcess();
                    rss.Add((row, self.WorkingSet64 / 1e6));
                }
            }
        }
        return JsonSerializer.Serialize(new
        {
            benchmark = "mlnet",
            model = modelArg,
            images = paths.Length,
            rounds,
            threads = TorchRuntime.Threads,
            typed_s_per_image = Median(typed),
            path_column_s_per_image = Median(path),
            mlimage_column_s_per_image = Median(image),
            ratio_path_median = Median(ratiosPath),
            ratio_mlimage_median = Median(ratiosImage),
            ratios_path = ratiosPath,
            ratios_mlimage = ratiosImage,
            rss_mb = rss.Select(r => new { rows = r.Rows, mb = Math.Round(r.Mb, 1) }),
        });
    }

    private static long ReadAll(IDataView scored)
    {
        var columns = scored.Schema.Where(c => c.Name.StartsWith("Predicted", StringComparison.Ordinal) || c.Name == "Score").ToArray();
        using var cursor = scored.GetRowCursor(columns);
        var getMasks = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(scored.Schema[SegmentationColumns.PredictedMasks]);
        var getLabels = cursor.GetGetter<VBuffer<uint>>(scored.Schema[SegmentationColumns.PredictedLabel]);
        VBuffer<ReadOnlyMemory<char>> masks = default; VBuffer<uint> labels = default;
        long n = 0;
        while (cursor.MoveNext())
        {
            getMasks(ref masks); getLabels(ref labels);
            n += masks.Length;
        }
        return n;
    }

    /// <summary>The quickstart's architecture, seeded and untrained (same for both paths; scores ~1/(C+1) pass the 0.05 cut, so every image has detections with masks).</summary>
    private static TrainedModel CompactUntrained(string dataDir)
    {
        TorchRuntime.ManualSeed(1);
        var options = new MaskRcnnOptions
        {
            Backbone = ResNetDepth.ResNet18, Norm = BackboneNorm.BatchNorm, Widths = DetectorWidths.Compact,
            Settings = new RcnnOptions { MinSize = 192, MaxSize = 256, RpnPreNmsTopNTest = 500, RpnPostNmsTopNTest = 300, BoxDetectionsPerImage = 30 },
        };
        var info = TrainedModel.InfoFor(MLNetSeg.Data.Loading.DetectionDataset.Load(SyntheticDatasetGenerator.InstancesJsonPath(dataDir, "val"), SyntheticDatasetGenerator.ImageDirectory(dataDir, "val")));
        var model = ModelRegistry.Get(options.Family).Create(options, info);
        model.PrepareForInference();
        return new TrainedModel(model, info);
    }
}
