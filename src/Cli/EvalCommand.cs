using System.CommandLine;
using System.Text;
using System.Text.Json;
using MLNetSeg.Data.Coco;
using MLNetSeg.Evaluation.Coco;

namespace MLNetSeg.Cli;

/// <summary>
/// <c>mlnetseg eval --gt GT.json --dt RESULTS.json --iou-type bbox|segm|keypoints [--keypoint-sigmas S,S,...] [--json]</c>:
/// COCO evaluation with pycocotools' numbers, printed as its summary table or as json.
/// </summary>
internal static class EvalCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var gt = new Option<string>("--gt") { Description = "COCO ground-truth dataset json", Required = true };
        var dt = new Option<string>("--dt") { Description = "COCO results json (list of detections)", Required = true };
        var iouType = new Option<string>("--iou-type") { Description = "bbox, segm or keypoints", Required = true };
        iouType.AcceptOnlyFromAmong("bbox", "segm", "keypoints");
        var json = new Option<bool>("--json") { Description = "print a json object with \"stats\" and \"per_category_ap\" instead of the table" };
        var sigmas = new Option<string?>("--keypoint-sigmas")
        {
            Description = "OKS sigmas, comma-separated, one per keypoint in the ground truth's order, for keypoint sets other than COCO's 17 " +
                          "person keypoints (pycocotools' kpt_oks_sigmas values, e.g. 0.026 for the COCO nose)",
        };

        var command = new Command("eval", "COCO evaluation (pycocotools-exact) of a results file against a ground-truth file")
        {
            gt, dt, iouType, sigmas, json,
        };
        command.SetAction(parse => Run(
            parse.GetRequiredValue(gt), parse.GetRequiredValue(dt), parse.GetRequiredValue(iouType), parse.GetValue(sigmas), parse.GetValue(json), stdout, stderr));
        return command;
    }

    private static int Run(string gtPath, string dtPath, string iouTypeName, string? sigmaText, bool asJson, TextWriter stdout, TextWriter stderr)
    {
        CocoEvalResult result;
        try
        {
            var options = new CocoEvalOptions { KeypointSigmas = sigmaText is null ? null : ParseSigmas(sigmaText) };
            var type = iouTypeName switch
            {
                "bbox" => CocoIouType.Bbox,
                "segm" => CocoIouType.Segm,
                _ => CocoIouType.Keypoints,
            };
            var groundTruth = CocoDataset.Load(gtPath);
            var results = CocoResults.Load(dtPath);
            result = CocoEvaluator.Evaluate(groundTruth, results, type, options);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or CocoFormatException or ArgumentException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"mlnetseg eval: error: {e.Message}");
            return CliApp.InputError;
        }

        foreach (var warning in result.Warnings) stderr.WriteLine($"mlnetseg eval: warning: {warning}");
        if (asJson)
        {
            stdout.WriteLine(ToJson(result));
        }
        else
        {
            stdout.Write(result.SummaryText);
            stdout.WriteLine();
            stdout.WriteLine("Per-category AP (IoU=0.50:0.95, area=all, maxDets=" + result.Params.MaxDetections[^1] + "; -1 = no ground truth):");
            foreach (var c in result.PerCategoryAp)
                stdout.WriteLine($"  {c.CategoryId,6}  {c.Name,-24} {c.Ap.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)}");
        }
        return 0;
    }

    /// <summary>"0.05,0.03,..." → the sigmas; names the value that is not a positive number.</summary>
    private static double[] ParseSigmas(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out values[i])
                || !(values[i] > 0) || double.IsInfinity(values[i]))
                throw new ArgumentException($"--keypoint-sigmas: '{parts[i]}' (value {i + 1}) is not a positive number");
        return values;
    }

    /// <summary>{"iou_type", "stats" (pycocotools order), "stat_names", "per_category_ap": [{category_id, name, ap}], "warnings"}.</summary>
    internal static string ToJson(CocoEvalResult result)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("iou_type", result.IouType.ToString().ToLowerInvariant());
            w.WriteStartArray("stats");
            foreach (var s in result.Stats) w.WriteNumberValue(s);
            w.WriteEndArray();
            w.WriteStartArray("stat_names");
            foreach (var s in result.StatNames) w.WriteStringValue(s);
            w.WriteEndArray();
            w.WriteStartArray("per_category_ap");
            foreach (var c in result.PerCategoryAp)
            {
                w.WriteStartObject();
                w.WriteNumber("category_id", c.CategoryId);
                w.WriteString("name", c.Name);
                w.WriteNumber("ap", c.Ap);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("warnings");
            foreach (var s in result.Warnings) w.WriteStringValue(s);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
