using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MLNetSeg.Data.Coco;
using MLNetSeg.Data.Synthetic;
using MLNetSeg.Evaluation.Coco;
using MLNetSeg.Models;
using MLNetSeg.Models.Rcnn;
using Microsoft.ML.OnnxRuntime;
using MLNetSeg.Onnx;
using MLNetSeg.Onnx.Export;
using MLNetSeg.Onnx.Quantization;
using MLNetSeg.Onnx.Runtime;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Benchmarks;

/// <summary>
/// The ONNX Runtime path against torchvision (docs/benchmarks.md, "ONNX Runtime"); the driver is
/// tools/bench/onnx_speed.py, which alternates this process's worker with tools/bench/torchvision_worker.py.
/// </summary>
internal static class OnnxBenchmarks
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    /// <summary>
    /// onnx-prepare WEIGHTS.pth OUTDIR: the benchmark's inputs in OUTDIR — scene.png (a synthetic 640×480
    /// scene), calibration/ (32 synthetic training scenes of the same kind) and maskrcnn_r50.onnx, the
    /// export of torchvision's Mask R-CNN R50-FPN (COCO_V1 layout, its settings) with the .pth loaded.
    /// </summary>
    public static string Prepare(string[] args)
    {
        if (args.Length < 2) throw new ArgumentException("usage: onnx-prepare WEIGHTS.pth OUTDIR");
        string weights = args[0], outDir = Path.GetFullPath(args[1]);
        Directory.CreateDirectory(outDir);
        var scenes = Path.Combine(outDir, "synthetic");
        if (!File.Exists(SyntheticDatasetGenerator.InstancesJsonPath(scenes, "val")))
            SyntheticDatasetGenerator.Generate(SceneOptions, scenes);
        var scene = Directory.GetFiles(SyntheticDatasetGenerator.ImageDirectory(scenes, "val"), "*.png").Order(StringComparer.Ordinal).First();
        File.Copy(scene, Path.Combine(outDir, "scene.png"), overwrite: true);

        var clock = Stopwatch.StartNew();
        using var model = TorchvisionWeights.MaskRcnnResNet50FpnCocoV1.Load(weights);
        double loadS = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var onnx = Path.Combine(outDir, "maskrcnn_r50.onnx");
        var report = OnnxExporter.Export(model, new ModelFileInfo { ClassNames = TorchvisionWeights.CocoCategories }, onnx);
        return JsonSerializer.Serialize(new
        {
            benchmark = "onnx_prepare", onnx, scene = Path.Combine(outDir, "scene.png"), bytes = report.Bytes, nodes = report.Nodes,
            load_s = Math.Round(loadS, 2), export_s = Math.Round(clock.Elapsed.TotalSeconds, 2),
        }, Json);
    }

    /// <summary>
    /// onnx-quantize FLOAT.onnx OUT.onnx CALIBRATION_DIR [images=32] [key=value...]: <see cref="OnnxQuantizer"/> calibrated on the
    /// first N PNGs of the directory (sorted by name). Keys: signed=true|false, calibration=minmax|percentile,
    /// percentile=99.999, gemm=true|false, reduce=true|false, threads=N, exclude=prefix,prefix (added to the predictors),
    /// only-exclude=prefix,prefix (instead of the predictors).
    /// </summary>
    public static string Quantize(string[] args)
    {
        if (args.Length < 3) throw new ArgumentException("usage: onnx-quantize FLOAT.onnx OUT.onnx CALIBRATION_DIR [images=32] [key=value...]");
        int count = args.Length > 3 && !args[3].Contains('=') ? int.Parse(args[3], CultureInfo.InvariantCulture) : 32;
        var options = QuantizationOptions(args.Skip(3).Where(a => a.Contains('=')));
        var images = Directory.GetFiles(args[2], "*.png").Order(StringComparer.Ordinal).Take(count).ToArray();
        var clock = Stopwatch.StartNew();
        var report = OnnxQuantizer.Quantize(args[0], args[1], images.Select(ImageIO.Read), options with { Log = m => Console.Error.WriteLine(m) });
        return JsonSerializer.Serialize(new
        {
            benchmark = "onnx_quantize", output = report.Path, nodes = report.QuantizedNodes, activations = report.QuantizedActivations,
            images = report.CalibrationImages, bytes = report.Bytes, float_bytes = report.FloatBytes,
            calibration_s = Math.Round(report.CalibrationTime.TotalSeconds, 1), total_s = Math.Round(clock.Elapsed.TotalSeconds, 1),
            options = Describe(options),
        }, Json);
    }

    internal static OnnxQuantizationOptions QuantizationOptions(IEnumerable<string> pairs)
    {
        var options = new OnnxQuantizationOptions();
        foreach (var pair in pairs)
        {
            var (key, value) = (pair[..pair.IndexOf('=')], pair[(pair.IndexOf('=') + 1)..]);
            options = key switch
            {
                "signed" => options with { SignedActivations = bool.Parse(value) },
                "calibration" => options with { Calibration = Enum.Parse<QuantizationCalibration>(value, ignoreCase: true) },
                "percentile" => options with { Percentile = double.Parse(value, CultureInfo.InvariantCulture) },
                "gemm" => options with { QuantizeGemm = bool.Parse(value) },
                "reduce" => options with { ReduceRange = bool.Parse(value) },
                "threads" => options with { IntraOpThreads = int.Parse(value, CultureInfo.InvariantCulture) },
                "exclude" => options with { ExcludedLayers = OnnxQuantizationOptions.PredictorLayers.Concat(value.Split(',', StringSplitOptions.RemoveEmptyEntries)).ToArray() },
                "only-exclude" => options with { ExcludedLayers = value.Split(',', StringSplitOptions.RemoveEmptyEntries) },
                _ => throw new ArgumentException($"unknown quantization option '{key}'"),
            };
        }
        return options;
    }

    internal static string Describe(OnnxQuantizationOptions o) => string.Create(CultureInfo.InvariantCulture,
        $"{(o.SignedActivations ? "s8" : "u8")} act, {o.Calibration}{(o.Calibration == QuantizationCalibration.Percentile ? $" {o.Percentile}" : "")}, " +
        $"gemm={o.QuantizeGemm}, reduce={o.ReduceRange}, excluded={string.Join("|", o.ExcludedLayers)}");

    /// <summary>
    /// onnx-worker IMAGE.png NAME=MODEL.onnx:LEVEL:THREADS ...: one predictor per configuration (LEVEL basic|extended|all|disable),
    /// then one JSON line per stdin command, for tools/bench/onnx_speed.py:
    /// <c>run NAME</c> — the predictor's steps timed apart: graph (pixels → flat rows, <see cref="OnnxSegmentationPredictor.Run"/>)
    /// and paste (<see cref="OnnxDetections.ToInstances"/>: masks pasted and RLE-encoded; null while the C# paste is missing);
    /// <c>predict NAME</c> — <see cref="OnnxSegmentationPredictor.Predict(Image)"/> in one call;
    /// <c>dump NAME PATH</c> — the raw detections as json; <c>quit</c>.
    /// </summary>
    public static string Worker(string[] args)
    {
        if (args.Length < 2) throw new ArgumentException("usage: onnx-worker IMAGE.png NAME=MODEL.onnx:LEVEL:THREADS ...");
        var image = ImageIO.Read(args[0]);
        var predictors = new Dictionary<string, OnnxSegmentationPredictor>(StringComparer.Ordinal);
        foreach (var spec in args.Skip(1))
        {
            var name = spec[..spec.IndexOf('=')];
            var parts = spec[(name.Length + 1)..].Split(':');
            predictors[name] = new OnnxSegmentationPredictor(parts[0], new OnnxPredictorOptions
            {
                OptimizationLevel = Level(parts[1]),
                IntraOpThreads = int.Parse(parts[2], CultureInfo.InvariantCulture),
            });
        }
        Console.WriteLine(JsonSerializer.Serialize(new { ready = true, impl = "onnxruntime", configs = predictors.Keys, image = new[] { image.Height, image.Width } }, Json));
        var pixels = new float[3 * image.Height * image.Width];
        var sizes = new long[] { image.Height, image.Width };
        string? line;
        while ((line = Console.ReadLine()) is not null)
        {
            var command = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (command.Length == 0) continue;
            if (command[0] == "quit") break;
            if (command.Length < 2 || !predictors.TryGetValue(command[1], out var predictor))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { error = $"bad command '{line}'" }, Json));
                continue;
            }
            if (command[0] == "predict")
            {
                var clock = Stopwatch.StartNew();
                int found = predictor.Predict(image).Count;
                Console.WriteLine(JsonSerializer.Serialize(new { s = clock.Elapsed.TotalSeconds, detections = found }, Json));
                continue;
            }
            var watch = Stopwatch.StartNew();
            OnnxSegmentationPredictor.WritePlanes(image, pixels);
            var detections = predictor.Run(pixels, sizes);
            double graph = watch.Elapsed.TotalSeconds;
            watch.Restart();
            detections.ToInstances(0, image.Height, image.Width, predictor.Info.MaskThreshold);
            double paste = watch.Elapsed.TotalSeconds;
            if (command[0] == "dump" && command.Length > 2) File.WriteAllText(command[2], JsonSerializer.Serialize(new
            {
                boxes = Rows(detections.Boxes, 4), scores = detections.Scores, labels = detections.Labels,
                mask_areas = detections.Masks is { } m ? MaskCells(m, detections.MaskSize, predictor.Info.MaskThreshold) : null,
            }, Json));
            Console.WriteLine(JsonSerializer.Serialize(new { s_graph = graph, s_paste = paste, detections = detections.Scores.Length }, Json));
        }
        foreach (var p in predictors.Values) p.Dispose();
        return JsonSerializer.Serialize(new { done = true }, Json);
    }

    private static float[][] Rows(float[] flat, int width) => Enumerable.Range(0, flat.Length / width).Select(i => flat.AsSpan(i * width, width).ToArray()).ToArray();

    /// <summary>Cells above the threshold of each 28×28 mask (a coarse check; the pasted areas need the C# paste).</summary>
    private static int[] MaskCells(float[] masks, int size, double threshold) =>
        Enumerable.Range(0, masks.Length / (size * size)).Select(i => masks.AsSpan(i * size * size, size * size).ToArray().Count(v => v > threshold)).ToArray();

    internal static GraphOptimizationLevel Level(string name) => name.ToLowerInvariant() switch
    {
        "disable" => GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic" => GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended" => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all" => GraphOptimizationLevel.ORT_ENABLE_ALL,
        _ => throw new ArgumentException($"unknown optimisation level '{name}' (disable, basic, extended, all)"),
    };

    /// <summary>
    /// onnx-profile MODEL.onnx IMAGE.png [level=all] [threads=2] [runs=3]: ONNX Runtime's profiler over the runs after one
    /// warm-up; the time per operator type and the slowest nodes (milliseconds per run).
    /// </summary>
    public static string Profile(string[] args)
    {
        if (args.Length < 2) throw new ArgumentException("usage: onnx-profile MODEL.onnx IMAGE.png [level] [threads] [runs]");
        var level = args.Length > 2 ? args[2] : "all";
        int threads = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 2;
        int runs = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 3;
        var image = ImageIO.Read(args[1]);
        var pixels = new float[3 * image.Height * image.Width];
        OnnxSegmentationPredictor.WritePlanes(image, pixels);
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = Level(level), IntraOpNumThreads = threads, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        options.EnableProfiling = true;
        options.ProfileOutputPathPrefix = Path.Combine(Path.GetTempPath(), $"mlnetseg_onnx_profile_{level}_");
        using var session = new InferenceSession(args[0], options);
        using var pixelValue = OrtValue.CreateTensorValueFromMemory(pixels, new long[] { 1, pixels.Length });
        using var sizeValue = OrtValue.CreateTensorValueFromMemory(new long[] { image.Height, image.Width }, new long[] { 1, 2 });
        using var runOptions = new RunOptions();
        var inputNames = new[] { OnnxContract.Images, OnnxContract.ImageSizes };
        var outputNames = session.OutputMetadata.Keys.ToArray();
        var times = new List<double>();
        for (int r = 0; r <= runs; r++)
        {
            var clock = Stopwatch.StartNew();
            using var outputs = session.Run(runOptions, inputNames, new[] { pixelValue, sizeValue }, outputNames);
            if (r > 0) times.Add(clock.Elapsed.TotalSeconds);
        }
        var file = session.EndProfiling();
        using var json = JsonDocument.Parse(File.ReadAllText(file));
        // Node events carry the op type in args.op_name; the first model_run's events are the warm-up.
        var events = json.RootElement.EnumerateArray().ToArray();
        var runEnds = events.Where(e => e.GetProperty("cat").GetString() == "Session" && e.GetProperty("name").GetString() == "model_run")
            .Select(e => e.GetProperty("ts").GetInt64() + e.GetProperty("dur").GetInt64()).OrderBy(t => t).ToArray();
        long warmEnd = runEnds.Length > 0 ? runEnds[0] : 0;
        var byOp = new Dictionary<string, double>(StringComparer.Ordinal);
        var byNode = new Dictionary<string, (string Op, double Us)>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            if (e.GetProperty("cat").GetString() != "Node" || e.GetProperty("ts").GetInt64() < warmEnd) continue;
            var name = e.GetProperty("name").GetString()!;
            if (!name.EndsWith("_kernel_time", StringComparison.Ordinal)) continue;
            var op = e.TryGetProperty("args", out var a) && a.TryGetProperty("op_name", out var o) ? o.GetString()! : "?";
            double us = e.GetProperty("dur").GetInt64();
            byOp[op] = byOp.GetValueOrDefault(op) + us;
            var node = name[..^"_kernel_time".Length];
            byNode[node] = (op, byNode.GetValueOrDefault(node).Us + us);
        }
        times.Sort();
        double total = byOp.Values.Sum();
        return JsonSerializer.Serialize(new
        {
            benchmark = "onnx_profile", model = Path.GetFileName(args[0]), level, threads, runs, median_s = Math.Round(times[times.Count / 2], 3),
            profile = file, kernel_ms_per_run = Math.Round(total / 1000 / runs, 1),
            ops = byOp.OrderByDescending(p => p.Value).Take(15).Select(p => new { op = p.Key, ms = Math.Round(p.Value / 1000 / runs, 1), share = Math.Round(p.Value / total, 3) }),
            nodes = byNode.OrderByDescending(p => p.Value.Us).Take(15).Select(p => new { node = p.Key, op = p.Value.Op, ms = Math.Round(p.Value.Us / 1000 / runs, 1) }),
        }, Json);
    }

    /// <summary>
    /// onnx-eval MODEL.mlseg DATADIR OUTDIR [images=32] [threads=2] [float] [key=value...]: box and mask AP on the synthetic "small"
    /// validation split (generated into DATADIR when missing, as the quickstart generates it) of the libtorch model, its
    /// float ONNX export and the int8 QDQ model calibrated on the first N training images (quantization keys as
    /// onnx-quantize; several int8 variants: separate them with "--"; "float" among the positional arguments skips int8). Any exportable
    /// family (TensorMask included). One JSON line per model.
    /// </summary>
    public static string Evaluate(string[] args)
    {
        if (args.Length < 3) throw new ArgumentException("usage: onnx-eval MODEL.mlseg DATADIR OUTDIR [images=32] [threads=2] [float] [key=value ... [-- key=value ...]]");
        string modelPath = args[0], dataDir = Path.GetFullPath(args[1]), outDir = Path.GetFullPath(args[2]);
        var positional = args.Skip(3).TakeWhile(a => !a.Contains('=') && a != "--").ToArray();
        bool floatOnly = positional.Contains("float");
        int skipped = positional.Length;
        positional = positional.Where(a => a != "float").ToArray();
        int count = positional.Length > 0 ? int.Parse(positional[0], CultureInfo.InvariantCulture) : 32;
        int threads = positional.Length > 1 ? int.Parse(positional[1], CultureInfo.InvariantCulture) : 2;
        var variants = new List<List<string>> { new() };
        foreach (var a in args.Skip(3 + skipped))
        {
            if (a == "--") variants.Add(new List<string>());
            else variants[^1].Add(a);
        }
        TorchRuntime.Threads = threads;
        Directory.CreateDirectory(outDir);
        if (!File.Exists(SyntheticDatasetGenerator.InstancesJsonPath(dataDir, "val"))) SyntheticDatasetGenerator.Generate(SyntheticOptions.Small, dataDir);
        var gt = CocoDataset.Load(SyntheticDatasetGenerator.InstancesJsonPath(dataDir, "val"));
        var valDir = SyntheticDatasetGenerator.ImageDirectory(dataDir, "val");
        var images = gt.Images.OrderBy(i => i.Id).ToArray();
        var decoded = images.Select(i => ImageIO.Read(Path.Combine(valDir, i.FileName!))).ToArray();
        var ids = images.Select(i => i.Id).ToArray();
        var calibration = Directory.GetFiles(SyntheticDatasetGenerator.ImageDirectory(dataDir, "train"), "*.png")
            .Order(StringComparer.Ordinal).Take(count).ToArray();

        if (floatOnly) variants.Clear();
        var (loaded, info) = ModelFile.Load(modelPath);
        using var model = loaded;
        model.Module.Eval();
        Instances PredictTorch(Image image)
        {
            using var scope = DisposeScope.Enter();
            return model.Predict(new[] { ModelInput.FromImage(image) })[0].Instances!;
        }
        var lines = new List<string>();
        string Line(string impl, IReadOnlyList<Instances> predictions, double seconds, object? extra = null)
        {
            var box = CocoEvaluator.Evaluate(gt, predictions, ids, info.LabelToCategoryId, CocoIouType.Bbox);
            var mask = CocoEvaluator.Evaluate(gt, predictions, ids, info.LabelToCategoryId, CocoIouType.Segm);
            var line = JsonSerializer.Serialize(new
            {
                benchmark = "onnx_int8_ap", impl, images = predictions.Count, detections = predictions.Sum(p => p.Count),
                box_ap = Math.Round(100 * box.Stats[0], 2), box_ap50 = Math.Round(100 * box.Stats[1], 2),
                mask_ap = Math.Round(100 * mask.Stats[0], 2), mask_ap50 = Math.Round(100 * mask.Stats[1], 2),
                s_per_image = Math.Round(seconds / predictions.Count, 4), extra,
            }, Json);
            Console.Error.WriteLine(line);
            lines.Add(line);
            return line;
        }

        var clock = Stopwatch.StartNew();
        var torch = decoded.Select(PredictTorch).ToArray();
        Line("libtorch", torch, clock.Elapsed.TotalSeconds);

        var floatOnnx = Path.Combine(outDir, $"{model.Family.Name}_float.onnx");
        OnnxExporter.Export(model, info, floatOnnx);
        var (floatPredictions, floatSeconds) = PredictOnnx(floatOnnx, decoded, threads);
        Line("onnx_float", floatPredictions, floatSeconds);

        for (int v = 0; v < variants.Count; v++)
        {
            var options = QuantizationOptions(variants[v]) with { IntraOpThreads = threads };
            var int8Onnx = Path.Combine(outDir, $"{model.Family.Name}_int8_{v}.onnx");
            var report = OnnxQuantizer.Quantize(floatOnnx, int8Onnx, calibration.Select(ImageIO.Read), options);
            var (int8Predictions, int8Seconds) = PredictOnnx(int8Onnx, decoded, threads);
            Line("onnx_int8", int8Predictions, int8Seconds, new
            {
                options = Describe(options), nodes = report.QuantizedNodes, activations = report.QuantizedActivations, calibration_images = report.CalibrationImages,
                file = int8Onnx,
            });
        }
        return string.Join("\n", lines);
    }

    /// <summary>Predictions of an ONNX file on decoded images, one graph run per image (masks pasted by the C# post-processing).</summary>
    private static (Instances[] Predictions, double Seconds) PredictOnnx(string path, Image[] images, int threads)
    {
        using var predictor = new OnnxSegmentationPredictor(path, new OnnxPredictorOptions { IntraOpThreads = threads });
        var clock = Stopwatch.StartNew();
        var result = images.Select(predictor.Predict).ToArray();
        return (result, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// onnx-deconv-as-conv IN.onnx OUT.onnx: an experiment for the exporter (docs/benchmarks.md, "ONNX Runtime"): every
    /// ConvTranspose whose stride equals its kernel (no overlap, no padding, one group) rewritten as the equivalent 1×1 Conv
    /// to k²·O channels followed by DepthToSpace (CRD), W'[o·k² + a·k + b, c] = W[c, o, a, b].
    /// </summary>
    public static string DeconvAsConv(string[] args)
    {
        if (args.Length < 2) throw new ArgumentException("usage: onnx-deconv-as-conv IN.onnx OUT.onnx");
        var model = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(args[0]));
        var graph = model.Graph;
        var inits = graph.Initializer.ToDictionary(t => t.Name);
        int rewritten = 0;
        for (int n = 0; n < graph.Node.Count; n++)
        {
            var node = graph.Node[n];
            if (node.OpType != "ConvTranspose") continue;
            long[] Ints(string name) => node.Attribute.FirstOrDefault(a => a.Name == name)?.Ints.ToArray() ?? Array.Empty<long>();
            long group = node.Attribute.FirstOrDefault(a => a.Name == "group")?.I ?? 1;
            var kernel = Ints("kernel_shape");
            if (kernel.Length != 2 || kernel[0] != kernel[1] || !Ints("strides").SequenceEqual(kernel) || Ints("pads").Any(v => v != 0)
                || Ints("output_padding").Any(v => v != 0) || Ints("dilations").Any(v => v != 1) || group != 1) continue;
            var w = inits[node.Input[1]];
            var values = Floats(w);
            long c = w.Dims[0], o = w.Dims[1], k = kernel[0];
            var converted = new float[values.Length];
            for (long ci = 0; ci < c; ci++)
                for (long oi = 0; oi < o; oi++)
                    for (long a = 0; a < k; a++)
                        for (long b = 0; b < k; b++)
                            converted[((oi * k + a) * k + b) * c + ci] = values[((ci * o + oi) * k + a) * k + b];
            var w2 = new global::Onnx.TensorProto { Name = w.Name + "_as_conv", DataType = w.DataType };
            w2.Dims.AddRange(new[] { o * k * k, c, 1, 1 });
            w2.RawData = Google.Protobuf.ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(converted.AsSpan()));
            graph.Initializer.Add(w2);
            var conv = new global::Onnx.NodeProto { OpType = "Conv", Name = node.Name + "_as_conv" };
            conv.Input.Add(node.Input[0]);
            conv.Input.Add(w2.Name);
            if (node.Input.Count > 2 && node.Input[2].Length > 0)
            {
                var bias = Floats(inits[node.Input[2]]);
                var b2 = new global::Onnx.TensorProto { Name = node.Input[2] + "_as_conv", DataType = w.DataType };
                b2.Dims.Add(o * k * k);
                b2.FloatData.AddRange(Enumerable.Range(0, (int)(o * k * k)).Select(i => bias[i / (int)(k * k)]));
                graph.Initializer.Add(b2);
                conv.Input.Add(b2.Name);
            }
            conv.Output.Add(node.Output[0] + "_expanded");
            conv.Attribute.Add(new global::Onnx.AttributeProto { Name = "kernel_shape", Type = global::Onnx.AttributeProto.Types.AttributeType.Ints, Ints = { 1L, 1L } });
            var shuffle = new global::Onnx.NodeProto { OpType = "DepthToSpace", Name = node.Name + "_depth_to_space" };
            shuffle.Input.Add(conv.Output[0]);
            shuffle.Output.Add(node.Output[0]);
            shuffle.Attribute.Add(new global::Onnx.AttributeProto { Name = "blocksize", Type = global::Onnx.AttributeProto.Types.AttributeType.Int, I = k });
            shuffle.Attribute.Add(new global::Onnx.AttributeProto { Name = "mode", Type = global::Onnx.AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8("CRD") });
            graph.Node[n] = conv;
            graph.Node.Insert(n + 1, shuffle);
            rewritten++;
        }
        File.WriteAllBytes(args[1], Google.Protobuf.MessageExtensions.ToByteArray(model));
        return JsonSerializer.Serialize(new { benchmark = "onnx_deconv_as_conv", output = args[1], rewritten }, Json);
    }

    private static float[] Floats(global::Onnx.TensorProto t) => t.FloatData.Count > 0 ? t.FloatData.ToArray()
        : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();

    /// <summary>The synthetic scenes of the benchmark: the "full" preset's crowded scenes at 640×480.</summary>
    internal static SyntheticOptions SceneOptions => SyntheticOptions.Full with
    {
        Name = "onnxbench", TrainImages = 32, ValImages = 1, Width = 640, Height = 480, Seed = 1,
    };
}
