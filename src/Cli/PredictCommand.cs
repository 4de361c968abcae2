using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MLNetSeg.Data.Coco;
using MLNetSeg.Evaluation;
using MLNetSeg.Models;
using MLNetSeg.Torch;
using MLNetSeg.Training;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Cli;

/// <summary>
/// <c>mlnetseg predict --model M.mlseg --images DIR|FILE... --out DIR [--score 0.5] [--json results.json] [--device cpu|cuda]</c>:
/// runs a saved model on each image (JPEG/PNG files, or every one in a folder), writes an overlay
/// PNG per image (masks, boxes, keypoints, class names from the model file) and optionally the
/// detections as a COCO results json, printing a line per image.
/// </summary>
internal static class PredictCommand
{
    private static readonly string[] ImageExtensions = { ".jpg", ".jpeg", ".png" };

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<string>("--model") { Description = "model file (.mlseg) written by training or ModelFile.Save", Required = true };
        var images = new Option<string[]>("--images")
        {
            Description = "image files and/or folders (every .jpg/.jpeg/.png in a folder, sorted by name)",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var output = new Option<string>("--out") { Description = "folder for the overlay PNGs (created if missing)", Required = true };
        var score = new Option<double>("--score")
        {
            Description = "keep detections scoring at least this, in the overlays and the json (use 0 for COCO evaluation)",
            DefaultValueFactory = _ => 0.5,
        };
        var json = new Option<string?>("--json")
        {
            Description = "also write the detections as a COCO results json; image_id is the file name's number when every " +
                          "name is a number (COCO's 000000397133.jpg), else the image's 1-based position",
        };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };

        var command = new Command("predict", "run a saved model on images: overlay PNGs and optional COCO results json")
        {
            model, images, output, score, json, device,
        };
        command.SetAction(parse => Run(new Arguments(
            parse.GetRequiredValue(model), parse.GetRequiredValue(images), parse.GetRequiredValue(output), parse.GetValue(score),
            parse.GetValue(json), parse.GetValue(device) ?? "cpu"), stdout, stderr));
        return command;
    }

    private sealed record Arguments(string Model, string[] Images, string Output, double Score, string? Json, string Device);

    private static int Run(Arguments args, TextWriter stdout, TextWriter stderr)
    {
        int Fail(string message)
        {
            stderr.WriteLine($"mlnetseg predict: error: {message}");
            return CliApp.InputError;
        }

        if (args.Score is < 0 or > 1 || double.IsNaN(args.Score)) return Fail($"--score {args.Score.ToString(CultureInfo.InvariantCulture)} is not in [0, 1]");
        Device device;
        try { device = Device.Parse(args.Device); }
        catch (FormatException e) { return Fail(e.Message); }
        if (device.Type == DeviceType.Cuda && !TorchRuntime.CudaAvailable) return Fail($"--device {args.Device}: no CUDA device is available");

        List<string> files;
        try { files = ListImages(args.Images); }
        catch (ArgumentException e) { return Fail(e.Message); }
        if (!File.Exists(args.Model)) return Fail($"model file not found: {args.Model}");
        var outputNames = files.Select(f => Path.GetFileNameWithoutExtension(f) + ".png").ToList();
        var clash = outputNames.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null)
            return Fail($"two inputs would both write {clash.Key}: {string.Join(", ", files.Where((_, i) => outputNames[i] == clash.Key))}");
        var imageIds = ImageIds(files);

        TrainedModel model;
        try { model = TrainedModel.Load(args.Model, device); }
        catch (Exception e) when (e is ModelFileException or FileNotFoundException) { return Fail(e.Message); }
        using var _ = model;
        var info = model.Info;
        stdout.WriteLine($"model: {args.Model} ({model.Family.DisplayName}, {info.NumClasses - 1} classes) on {device}");

        try { Directory.CreateDirectory(args.Output); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return Fail($"cannot create --out {args.Output}: {e.Message}"); }

        var visualizer = new VisualizerOptions { KeypointSchema = info.Keypoints };
        var predictions = new List<Instances>(files.Count);
        var total = Stopwatch.StartNew();
        for (int i = 0; i < files.Count; i++)
        {
            var clock = Stopwatch.StartNew();
            Image image;
            try { image = ImageIO.Read(files[i]); }
            catch (IOException e) { return Fail(e.Message); }  // missing, unreadable or not a JPEG/PNG (InvalidImageException)
            var result = model.Predict(image);
            // Semantic-only families have no instances: their overlay is the image as is, their COCO results empty.
            var prediction = result.Instances?.WithMinimumScore((float)args.Score) ?? Instances.Empty(image.Height, image.Width);
            predictions.Add(prediction);
            string overlay = Path.Combine(args.Output, outputNames[i]);
            ImageIO.WritePng(Visualizer.Draw(image, prediction, info.ClassNames, visualizer), overlay);
            string semanticNote = "";
            if (result.Semantic is { } semantic)
            {
                // A model with a semantic head also gets its label map drawn, classes named by the model when it has its own list.
                string semanticOverlay = Path.ChangeExtension(overlay, ".semantic.png");
                var names = model.Model is ISemanticLabelSpace space ? space.SemanticClasses : info.ClassNames;
                ImageIO.WritePng(Visualizer.DrawSemantic(image, semantic, names), semanticOverlay);
                semanticNote = $" and {semanticOverlay}";
            }
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{i + 1}/{files.Count}] {files[i]} (image_id {imageIds[i]}, {image.Height}x{image.Width}): {prediction.Count} instance(s), " +
                $"{clock.Elapsed.TotalSeconds:F2} s -> {overlay}{semanticNote}"));
        }

        if (args.Json is { } jsonPath)
        {
            var results = CocoResultsWriter.ToCocoResults(predictions, imageIds, info.LabelToCategoryId);
            try { results.Save(jsonPath); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return Fail($"cannot write --json {jsonPath}: {e.Message}"); }
            stdout.WriteLine($"wrote {results.Items.Count} detection(s) to {jsonPath}");
        }
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"done: {files.Count} image(s) in {total.Elapsed.TotalSeconds:F1} s"));
        return 0;
    }

    /// <summary>The image files named by <paramref name="inputs"/> (files as given, folders expanded
    /// to their JPEG/PNG files sorted by name); a missing path or an empty folder is an error.</summary>
    private static List<string> ListImages(IReadOnlyList<string> inputs)
    {
        if (inputs.Count == 0) throw new ArgumentException("--images names no file or folder");
        var files = new List<string>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
            {
                var found = Directory.EnumerateFiles(input)
                    .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                    .Order(StringComparer.Ordinal).ToList();
                if (found.Count == 0) throw new ArgumentException($"folder {input} has no .jpg, .jpeg or .png images");
                files.AddRange(found);
            }
            else if (File.Exists(input))
            {
                files.Add(input);
            }
            else
            {
                throw new ArgumentException($"image file or folder not found: {input}");
            }
        }
        return files;
    }

    /// <summary>COCO image ids: the file names' numbers when every name is one, else positions 1, 2, ...</summary>
    private static long[] ImageIds(IReadOnlyList<string> files)
    {
        var numbers = files.Select(f => long.TryParse(Path.GetFileNameWithoutExtension(f), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : (long?)null).ToList();
        return numbers.All(n => n is not null) && numbers.Distinct().Count() == numbers.Count
            ? numbers.Select(n => n!.Value).ToArray()
            : Enumerable.Range(1, files.Count).Select(i => (long)i).ToArray();
    }
}
