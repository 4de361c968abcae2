using System.CommandLine;
using System.Globalization;
using MLNetSeg.Models;
using MLNetSeg.Onnx.Export;

namespace MLNetSeg.Cli;

/// <summary>
/// <c>mlnetseg export --model M.mlseg --out M.onnx</c>: writes the model as an ONNX graph (opset 17) with
/// its pre- and post-processing inside (MLNetSeg.Onnx.OnnxContract), for ONNX Runtime, ML.NET's
/// ApplyOnnxModel or any other ONNX consumer.
/// </summary>
internal static class ExportCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<string>("--model") { Description = "model file (.mlseg) written by training or ModelFile.Save", Required = true };
        var output = new Option<string>("--out") { Description = "the .onnx file to write (replaced atomically when it exists)", Required = true };
        var command = new Command("export", "export a saved model to ONNX (network, NMS, RoIAlign and heads in one graph)") { model, output };
        command.SetAction(parse =>
        {
            string modelPath = parse.GetRequiredValue(model), outPath = parse.GetRequiredValue(output);
            int Fail(string message)
            {
                stderr.WriteLine($"mlnetseg export: error: {message}");
                return CliApp.InputError;
            }
            if (!File.Exists(modelPath)) return Fail($"model file not found: {modelPath}");
            try
            {
                var report = OnnxExporter.Export(modelPath, outPath);
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"exported {modelPath} ({report.Family}) to {report.Path}: opset {report.Opset}, {report.Bytes / 1e6:F1} MB, {report.Nodes} nodes; " +
                    $"outputs {string.Join(", ", report.Outputs)}"));
                return 0;
            }
            catch (Exception e) when (e is ModelFileException or NotSupportedException or IOException or UnauthorizedAccessException)
            {
                return Fail(e.Message);
            }
        });
        return command;
    }
}
