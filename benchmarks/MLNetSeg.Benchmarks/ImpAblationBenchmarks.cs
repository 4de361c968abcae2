using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MLNetSeg.Data.Loading;
using MLNetSeg.Data.Synthetic;
using MLNetSeg.Models;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Panoptic;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Training;
using MLNetSeg.Vision.Ops;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Benchmarks;

/// <summary>
/// Scores the runs of the IMP ablation (benchmarks/imp_ablation.sh writes OUT/&lt;row&gt;/seed&lt;k&gt;/model_final.mlseg) on the
/// synthetic validation split with its label maps: box and mask AP (rows with instances), mIoU and mAcc over the 10 semantic classes,
/// mIoU over the thing and the stuff classes, PQ, and mIoU by distance to the nearest ground-truth boundary (the paper's Fig. 5; here
/// chessboard distance in pixels of the 256×192 images, bins [0,2) [2,4) [4,8) [8,16) [16,∞)), and mIoU of the thing classes by the
/// size of the ground-truth instance a pixel belongs to (the paper's "small objects": COCO's small/medium/large areas, the ranges the
/// AP's APs/APm/APl use). Both breakdowns are region-restricted: the IoU of each class counted over the pixels of that region only.
/// Appends one JSON line per run to
/// OUT/results.jsonl (runs already there are not scored again) and prints a table of the per-row means over the seeds.
/// Args: --data DIR --out DIR.
/// </summary>
internal static class ImpAblationBenchmarks
{
    private static readonly int[] DistanceEdges = { 0, 2, 4, 8, 16 };

    private sealed record RunResult(string Row, int Seed, double? BoxAp, double? MaskAp, double? MIou, double? MAcc, double? ThingMIou, double? StuffMIou,
        double? Pq, double[]? MIouByDistance, double InferMsPerImage, double[]? MIouBySize = null);

    public static string Evaluate(string[] args)
    {
        string data = Arg(args, "--data"), output = Arg(args, "--out");
        string valJson = SyntheticDatasetGenerator.InstancesJsonPath(data, "val");
        if (!File.Exists(valJson)) throw new FileNotFoundException($"imp-ablation: {valJson} is missing (generate the dataset first)", valJson);
        var val = DetectionDataset.Load(valJson, Path.Combine(data, "val"),
            new DetectionDatasetOptions { SemanticDirectory = SyntheticDatasetGenerator.SemanticDirectory(data, "val") });
        var truths = Enumerable.Range(0, val.Count).Select(i => val.GetTarget(i).Semantic!).ToArray();
        var distances = truths.Select(BoundaryDistance).ToArray();
        var sizes = Enumerable.Range(0, val.Count).Select(i => InstanceSize(val.GetTarget(i))).ToArray();
        var results = AblationRuns.ScoreNew(output, r => (r.Row, r.Seed), (row, seed, model) => Score(row, seed, model, val, truths, distances, sizes), "stage1");
        return Table(results);
    }

    private static RunResult Score(string row, int seed, string modelPath, DetectionDataset val, SemanticLabelMap[] truths, int[][] distances, int[][] sizes)
    {
        using var model = TrainedModel.Load(modelPath);
        var (predictions, ids, ms) = AblationRuns.PredictTimed(model, val);
        var evaluation = ModelEvaluation.Score(val, predictions, ids, model.Info, model.Model);
        if (model.Model is not ISemanticLabelSpace space)  // the Mask R-CNN row: instances only
            return new RunResult(row, seed, 100 * evaluation.Bbox!.Stats[0], 100 * evaluation.Segm!.Stats[0], null, null, null, null, null, null, ms);
        var semantic = evaluation.Semantic!;
        var thing = space.ThingSemanticLabels.ToHashSet();
        double Mean(Func<int, bool> which) =>
            Enumerable.Range(0, semantic.ClassIou.Count).Where(which).Select(c => semantic.ClassIou[c]).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();
        var predicted = predictions.Select(p => p.Semantic!).ToArray();
        int classes = space.SemanticClasses.Count;
        var byDistance = Enumerable.Range(0, DistanceEdges.Length).Select(bin =>
        {
            int low = DistanceEdges[bin], high = bin + 1 < DistanceEdges.Length ? DistanceEdges[bin + 1] : int.MaxValue;
            return RegionMeanIou(truths, predicted, classes, (i, q) => distances[i][q] >= low && distances[i][q] < high);
        }).ToArray();
        var bySize = Enum.GetValues<AreaRange>().Select(range => RegionMeanIou(truths, predicted, classes, (i, q) => sizes[i][q] == (int)range)).ToArray();
        return new RunResult(row, seed, evaluation.Bbox is { } b ? 100 * b.Stats[0] : null, evaluation.Segm is { } s ? 100 * s.Stats[0] : null,
            100 * semantic.MeanIou, 100 * semantic.MeanAccuracy, 100 * Mean(thing.Contains), 100 * Mean(c => !thing.Contains(c)),
            evaluation.Panoptic is { } pq ? 100 * pq.All.Pq : null, byDistance, ms, bySize);
    }

    /// <summary>Mean over the classes present in the region of the IoU counted over the region's pixels only (pixel q of image i is
    /// in the region when <paramref name="inRegion"/> says so; ignore-labelled truth pixels never are).</summary>
    private static double RegionMeanIou(SemanticLabelMap[] truths, SemanticLabelMap[] predicted, int classes, Func<int, int, bool> inRegion)
    {
        long[] tp = new long[classes], gt = new long[classes], pred = new long[classes];
        for (int i = 0; i < truths.Length; i++)
        {
            var t = truths[i].Labels;
            var p = predicted[i].Labels;
            for (int q = 0; q < t.Length; q++)
            {
                if (t[q] == SemanticLabelMap.IgnoreLabel || !inRegion(i, q)) continue;
                gt[t[q]]++;
                if (p[q] == SemanticLabelMap.IgnoreLabel) continue;  // unlabelled (Mask R-CNN-IMP off its canvas): a miss
                pred[p[q]]++;
                if (p[q] == t[q]) tp[t[q]]++;
            }
        }
        return 100 * Enumerable.Range(0, classes).Where(c => gt[c] > 0).Select(c => (double)tp[c] / (gt[c] + pred[c] - tp[c])).DefaultIfEmpty(double.NaN).Average();
    }

    /// <summary>Per pixel, the COCO size range (<see cref="AreaRange"/> as int) of the ground-truth thing instance it shows, or −1.
    /// A pixel belongs to an instance when it lies in the instance's mask and its semantic label is the instance's class; where several
    /// such instances overlap, the smallest wins (the one drawn on top in the synthetic scenes is never larger than what it covers).</summary>
    private static int[] InstanceSize(DetectionTarget target)
    {
        var labels = target.Semantic!.Labels;
        var size = new int[labels.Length];
        Array.Fill(size, -1);
        var area = new float[labels.Length];
        for (int k = 0; k < target.Count; k++)
        {
            if (target.IsCrowd[k] || AreaRanges.Classify(target.Areas[k]) is not { } range) continue;
            var mask = target.Masks![k].Pixels;
            if (mask.Length != labels.Length) throw new InvalidDataException($"imp-ablation: instance mask {k} is not the size of the label map");
            for (int q = 0; q < labels.Length; q++)
                if (mask[q] != 0 && labels[q] == target.Labels[k] - 1 && (size[q] < 0 || target.Areas[k] < area[q]))
                {
                    size[q] = (int)range;
                    area[q] = target.Areas[k];
                }
        }
        return size;
    }

    /// <summary>Chessboard distance of every pixel to the nearest boundary pixel of the label map (a pixel whose right or lower
    /// neighbour has another label, and that neighbour), by breadth-first search.</summary>
    private static int[] BoundaryDistance(SemanticLabelMap map)
    {
        int h = map.Height, w = map.Width;
        var labels = map.Labels;
        var distance = new int[h * w];
        Array.Fill(distance, int.MaxValue);
        var queue = new Queue<int>();
        void Seed(int p)
        {
            if (distance[p] == 0) return;
            distance[p] = 0;
            queue.Enqueue(p);
        }
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int p = y * w + x;
                if (x + 1 < w && labels[p] != labels[p + 1]) { Seed(p); Seed(p + 1); }
                if (y + 1 < h && labels[p] != labels[p + w]) { Seed(p); Seed(p + w); }
            }
        while (queue.Count > 0)
        {
            int p = queue.Dequeue(), y = p / w, x = p % w;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                {
                    int ny = y + dy, nx = x + dx;
                    if (ny < 0 || ny >= h || nx < 0 || nx >= w) continue;
                    int n = ny * w + nx;
                    if (distance[n] != int.MaxValue) continue;
                    distance[n] = distance[p] + 1;
                    queue.Enqueue(n);
                }
        }
        return distance;
    }

    private static string Table(IReadOnlyList<RunResult> results)
    {
        string[] order = { "maskrcnn", "mrcnn_imp", "semantic_p2", "panoptic_p2", "panoptic_p2_imp", "semantic_fpn", "panoptic_fpn", "panoptic_fpn_imp" };
        var s = new StringBuilder();
        s.AppendLine("| row | seeds | box AP | mask AP | mIoU | mAcc | things mIoU | stuff mIoU | PQ | mIoU at boundary distance " +
                     string.Join(" / ", DistanceEdges.Select((e, i) => i + 1 < DistanceEdges.Length ? $"[{e},{DistanceEdges[i + 1]})" : $"≥{e}")) +
                     " | things mIoU by instance size S / M / L | ms / image | mIoU (mask AP without) per seed |");
        s.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var g in results.GroupBy(r => r.Row).OrderBy(g => Array.IndexOf(order, g.Key) is var k && k < 0 ? 99 : k))
        {
            string F(Func<RunResult, double?> f) => g.Select(f).All(v => v is null) ? "—" : g.Average(r => f(r) ?? double.NaN).ToString("F1", CultureInfo.InvariantCulture);
            string Bins(Func<RunResult, double[]?> f) => g.Any(r => f(r) is null) ? "—" : string.Join(" / ", Enumerable.Range(0, f(g.First())!.Length)
                .Select(b => g.Average(r => f(r)![b]).ToString("F1", CultureInfo.InvariantCulture)));
            s.AppendLine(CultureInfo.InvariantCulture,
                $"| {g.Key} | {g.Count()} | {F(r => r.BoxAp)} | {F(r => r.MaskAp)} | {F(r => r.MIou)} | {F(r => r.MAcc)} | {F(r => r.ThingMIou)} | {F(r => r.StuffMIou)} | " +
                $"{F(r => r.Pq)} | {Bins(r => r.MIouByDistance)} | {Bins(r => r.MIouBySize)} | {F(r => r.InferMsPerImage)} | {string.Join(" / ", g.OrderBy(r => r.Seed).Select(r => (r.MIou ?? r.MaskAp)?.ToString("F1", CultureInfo.InvariantCulture)))} |");
        }
        return s.ToString();
    }

    /// <summary>
    /// IMP's share of Panoptic-FPN-IMP inference (the issue's goal: ≤ 2%): the median time of a Predict of the whole model (ResNet-18
    /// FPN compact at 192×256, or ResNet-50 FPN at torchvision's widths at 800×1333 with "coco"), and the median time of the
    /// projection alone for the same number of 28×28 masks on the same canvas. Args: [small|coco] [detections=30] [rounds=7].
    /// </summary>
    public static string Overhead(string[] args)
    {
        bool coco = args.Length > 0 && args[0] == "coco";
        int detections = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : coco ? 100 : 30;
        int rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 7;
        var classes = new[] { "person", "circle", "square", "triangle", "star", "ellipse", "sky", "grass", "water", "sand" };
        var labels = ModelFileInfo.ForCategories(Enumerable.Range(1, 6).Select(i => (i, classes[i - 1])));
        var settings = coco
            ? new RcnnOptions { BoxScoreThresh = 0, BoxDetectionsPerImage = detections }
            : new RcnnOptions { MinSize = 192, MaxSize = 256, BoxScoreThresh = 0, BoxDetectionsPerImage = detections };
        var options = new PanopticOptions
        {
            Backbone = coco ? ResNetDepth.ResNet50 : ResNetDepth.ResNet18, Norm = BackboneNorm.BatchNorm,
            Widths = coco ? DetectorWidths.Torchvision : DetectorWidths.Compact, Settings = settings, SemanticClasses = classes,
        };
        TorchRuntime.ManualSeed(1);
        using var model = (PanopticModel)PanopticFamily.Instance.Create(options, labels);
        model.PrepareForInference();
        var (h, w) = coco ? (800, 1333) : (192, 256);
        using var scope = DisposeScope.Enter();
        var image = Tensor.Rand(new long[] { 3, h, w });
        ISegmentationModel contract = model;
        var whole = new List<double>();
        int found = 0;
        for (int r = -1; r < rounds; r++)
        {
            using var s = DisposeScope.Enter();
            var sw = Stopwatch.StartNew();
            found = contract.Predict(new[] { image })[0].Instances!.Count;
            if (r >= 0) whole.Add(sw.Elapsed.TotalMilliseconds);
        }
        // The projection of `found` masks on the model's canvas: P2 of the padded input, stride 4.
        int ch = (int)Math.Ceiling(h / 32.0) * 8, cw = (int)Math.Ceiling(w / 32.0) * 8;
        var random = new Random(3);
        var boxes = new float[4 * found];
        for (int i = 0; i < found; i++)
        {
            float bw = 8 + random.Next(w / 3), bh = 8 + random.Next(h / 3), x = random.Next(w - (int)bw), y = random.Next(h - (int)bh);
            (boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]) = (x, y, x + bw, y + bh);
        }
        var masks = Tensor.Rand(new long[] { found, 28, 28 });
        var scores = Tensor.Rand(new long[] { found });
        var classOf = Tensor.FromArray(Enumerable.Range(0, found).Select(_ => (long)random.Next(0, 6)).ToArray(), new long[] { found });
        var boxTensor = Tensor.FromArray(boxes, new long[] { found, 4 });
        var imageIndex = Tensor.Zeros(new long[] { found }, DType.Int64);
        var projection = new List<double>();
        using (NoGradScope.Enter())
            for (int r = -1; r < 3 * rounds; r++)
            {
                using var s = DisposeScope.Enter();
                var sw = Stopwatch.StartNew();
                VisionOps.InstanceMaskProjection(masks, scores, classOf, boxTensor, imageIndex, 1, 6, ch, cw, 4);
                if (r >= 0) projection.Add(sw.Elapsed.TotalMilliseconds);
            }
        double Median(List<double> v) { v.Sort(); return v[v.Count / 2]; }
        double total = Median(whole), imp = Median(projection);
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"benchmark\":\"imp_overhead\",\"input\":\"3x{h}x{w}\",\"backbone\":\"{(coco ? "resnet50_fpn" : "resnet18_fpn_compact")}\",\"detections\":{found}," +
            $"\"canvas\":\"6x{ch}x{cw}\",\"threads\":{TorchRuntime.Threads},\"panoptic_fpn_imp_ms\":{total:F1},\"imp_ms\":{imp:F2},\"imp_share\":{imp / total:F4}}}");
    }

    /// <summary>
    /// The README's picture: for validation images of the synthetic set, the image, its ground-truth label map and a model's
    /// predicted label map (overlays with a legend), side by side, one row per image. Args: --data DIR --model M.mlseg --out F.png
    /// [--images 3,17] (validation indices).
    /// </summary>
    public static string Figure(string[] args)
    {
        string data = Arg(args, "--data"), modelPath = Arg(args, "--model"), output = Arg(args, "--out");
        int at = Array.IndexOf(args, "--images");
        var indices = at >= 0 && at + 1 < args.Length ? args[at + 1].Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray() : new[] { 0 };
        var val = DetectionDataset.Load(SyntheticDatasetGenerator.InstancesJsonPath(data, "val"), Path.Combine(data, "val"),
            new DetectionDatasetOptions { SemanticDirectory = SyntheticDatasetGenerator.SemanticDirectory(data, "val") });
        using var model = TrainedModel.Load(modelPath);
        var classes = (model.Model as ISemanticLabelSpace ?? throw new ArgumentException($"{modelPath} has no semantic classes")).SemanticClasses;
        var rows = new List<Image[]>();
        foreach (int i in indices)
        {
            var image = ImageIO.Read(val.ImagePath(i));
            var predicted = model.Predict(image).Semantic!;
            rows.Add(new[] { image, Visualizer.DrawSemantic(image, val.GetTarget(i).Semantic!, classes, 0.6),
                             Visualizer.DrawSemantic(image, predicted, classes, 0.6) });
        }
        const int gap = 4;
        int h = rows[0][0].Height, w = rows[0][0].Width;
        var sheet = Image.Filled(rows.Count * (h + gap) - gap, 3 * (w + gap) - gap, Rgb.White);
        for (int r = 0; r < rows.Count; r++)
            for (int c = 0; c < 3; c++)
            {
                var tile = rows[r][c];
                if (tile.Height != h || tile.Width != w) throw new ArgumentException("the figure's images must share one size");
                for (int y = 0; y < h; y++)
                    tile.PixelArray.AsSpan(y * w * 3, w * 3).CopyTo(sheet.PixelArray.AsSpan(((r * (h + gap) + y) * sheet.Width + c * (w + gap)) * 3, w * 3));
            }
        ImageIO.WritePng(sheet, output);
        return $"wrote {output}: {rows.Count} row(s) of image | ground truth | {Path.GetFileName(modelPath)} ({string.Join(", ", indices)})";
    }

    private static string Arg(string[] args, string name)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : throw new ArgumentException($"imp-ablation: {name} DIR is required");
    }
}
