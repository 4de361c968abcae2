using System.Globalization;
using Google.Protobuf;
using MLNetSeg.Models;
using MLNetSeg.Onnx.Export.MaskLab;
using MLNetSeg.Onnx.Export.Panoptic;
using MLNetSeg.Onnx.Export.Rcnn;
using MLNetSeg.Onnx.Export.TensorMask;
using MLNetSeg.Models.TensorMask;
using MLNetSeg.Onnx.Graph;
using MLNetSeg.Torch;
using MLNetSeg.Torch.IO;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MLNetSeg.Onnx.Export;

/// <summary>What an export wrote.</summary>
/// <param name="Path">The .onnx file.</param>
/// <param name="Family">The model family's name.</param>
/// <param name="Opset">The ONNX opset of the graph.</param>
/// <param name="Bytes">The file's size.</param>
/// <param name="Nodes">Nodes in the main graph (Loop bodies not counted).</param>
/// <param name="Outputs">The graph's output names.</param>
public sealed record OnnxExportReport(string Path, string Family, int Opset, long Bytes, int Nodes, IReadOnlyList<string> Outputs);

/// <summary>
/// Exports a model to ONNX (opset 17): the network with its pre- and post-processing inside the
/// graph, inputs and outputs as <see cref="OnnxContract"/> describes, the class names and keypoint
/// schema in the file's metadata so MLNetSeg.Onnx.Runtime.OnnxSegmentationPredictor (package MLNetSeg.Onnx) and the ML.NET
/// post-processing give the same results as the model. Supports Mask R-CNN, Keypoint R-CNN, MaskLab (without the deformable box pooler), the panoptic family and TensorMask.
/// </summary>
public static class OnnxExporter
{
    /// <summary>The opset of exported graphs (RoiAlign's coordinate mode needs 16; 17 is ONNX Runtime's long-supported choice).</summary>
    public const int Opset = 17;

    private static readonly Dictionary<string, IOnnxFamilyExporter> Exporters = Register(new RcnnOnnxExporter(), new MaskLabOnnxExporter(), new PanopticOnnxExporter(),
        new TensorMaskOnnxExporter());

    private static Dictionary<string, IOnnxFamilyExporter> Register(params IOnnxFamilyExporter[] exporters) =>
        exporters.SelectMany(e => e.Families.Select(f => (f, e))).ToDictionary(p => p.f, p => p.e, StringComparer.Ordinal);

    /// <summary>Whether models of <paramref name="family"/> can be exported.</summary>
    public static bool Supports(ModelFamily family) => Exporters.ContainsKey(family?.Name ?? "");

    /// <summary>The names of the families that can be exported.</summary>
    public static IReadOnlyList<string> SupportedFamilies => Exporters.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();

    /// <summary>Exports a model file (.mlseg) to <paramref name="onnxPath"/>.</summary>
    /// <exception cref="NotSupportedException">The model's family has no ONNX exporter.</exception>
    public static OnnxExportReport Export(string modelPath, string onnxPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        var (model, info) = ModelFile.Load(modelPath);
        using (model) return Export(model, info, onnxPath);
    }

    /// <summary>
    /// Exports <paramref name="model"/> (in eval mode) with the labels of <paramref name="info"/> to <paramref name="onnxPath"/>,
    /// written atomically (<see cref="AtomicFile"/>: a temporary file renamed into place).
    /// </summary>
    /// <exception cref="IOException">The file could not be written (e.g. the disk is full): the message names it; an
    /// earlier file at <paramref name="onnxPath"/> is untouched.</exception>
    /// <exception cref="NotSupportedException">The model's family, or a layer in it, has no ONNX form.</exception>
    /// <exception cref="ArgumentException">The labels do not suit the model.</exception>
    public static OnnxExportReport Export(ISegmentationModel model, ModelFileInfo info, string onnxPath)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(info);
        ArgumentException.ThrowIfNullOrEmpty(onnxPath);
        var proto = BuildModel(model, info);
        var bytes = proto.ToByteArray();
        var full = Path.GetFullPath(onnxPath);
        AtomicFile.WriteAllBytes(full, bytes, createDirectory: true);
        return new OnnxExportReport(full, model.Family.Name, Opset, bytes.LongLength, proto.Graph.Node.Count,
            proto.Graph.Output.Select(o => o.Name).ToArray());
    }

    /// <summary>The ONNX model of <paramref name="model"/> in memory.</summary>
    internal static ModelProto BuildModel(ISegmentationModel model, ModelFileInfo info)
    {
        if (!Exporters.TryGetValue(model.Family.Name, out var exporter))
            throw new NotSupportedException($"ONNX export: the {model.Family.DisplayName} family has no ONNX exporter " +
                                            $"(exportable: {string.Join(", ", SupportedFamilies)})");
        if (model.Module.Training)
            throw new InvalidOperationException("ONNX export: the model is in training mode; call Eval() (exports are inference graphs)");
        if (info.ClassNames is null || info.ClassNames.Count != model.NumClasses)
            throw new ArgumentException($"ONNX export: {info.ClassNames?.Count ?? 0} class names for a model of {model.NumClasses} classes", nameof(info));

        var g = new OnnxGraphBuilder($"mlnetseg_{model.Family.Name}");
        var inputs = new OnnxGraphInputs(
            g.Input(OnnxContract.Images, DataType.Float, new long?[] { null, null }, new[] { "batch", "pixels" }),
            g.Input(OnnxContract.ImageSizes, DataType.Int64, new long?[] { null, 2 }, new[] { "batch", null }));
        var outputs = new OnnxGraphOutputs();
        exporter.Write(model, g, inputs, outputs);

        string?[] detections = { "detections" };
        void Out(string? value, string name, DataType type, long?[] dims, string?[] names)
        {
            if (value is not null) g.Output(value, name, type, dims, names);
        }
        Out(outputs.Boxes ?? throw new InvalidOperationException("ONNX export: the family exporter set no boxes"),
            OnnxContract.Boxes, DataType.Float, new long?[] { null, 4 }, new[] { "detections", null });
        Out(outputs.Scores, OnnxContract.Scores, DataType.Float, new long?[] { null }, detections);
        Out(outputs.Labels, OnnxContract.Labels, DataType.Int64, new long?[] { null }, detections);
        Out(outputs.BatchIndices, OnnxContract.BatchIndices, DataType.Int64, new long?[] { null }, detections);
        Out(outputs.ResizedSizes, OnnxContract.ResizedSizes, DataType.Int64, new long?[] { null, 2 }, new[] { "batch", null });
        Out(outputs.Masks, OnnxContract.Masks, DataType.Float, new long?[] { null, 1, outputs.MaskSize, outputs.MaskSize }, new[] { "detections", null, null, null });
        Out(outputs.MaskBoxes, OnnxContract.MaskBoxes, DataType.Float, new long?[] { null, 4 }, new[] { "detections", null });
        Out(outputs.MaskSides, OnnxContract.MaskSides, DataType.Int64, new long?[] { null }, detections);
        Out(outputs.KeypointHeatmaps, OnnxContract.KeypointHeatmaps, DataType.Float,
            new long?[] { null, outputs.NumKeypoints, outputs.HeatmapSize, outputs.HeatmapSize }, new[] { "detections", null, null, null });
        Out(outputs.NetworkBoxes, OnnxContract.NetworkBoxes, DataType.Float, new long?[] { null, 4 }, new[] { "detections", null });
        Out(outputs.SemanticScores, OnnxContract.SemanticScores, DataType.Float, new long?[] { null, outputs.SemanticChannels, null, null },
            new[] { "batch", null, "semantic_height", "semantic_width" });

        var proto = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "MLNetSeg",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            DocString = $"{model.Family.DisplayName} exported by MLNetSeg; inputs and outputs: MLNetSeg.Onnx.OnnxContract",
            Graph = g.Graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        void Meta(string key, string value) => proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        Meta(OnnxContract.FamilyKey, model.Family.Name);
        bool windowMasks = outputs.MaskBoxes is not null;
        Meta(OnnxContract.ContractVersionKey, (windowMasks ? 2 : 1).ToString(CultureInfo.InvariantCulture));
        if (windowMasks) Meta(OnnxContract.MaskPasteKey, "detectron2");
        Meta(OnnxContract.ModelInfoKey, ModelFileConfig.Write(model, info with { Family = model.Family.Name }, DType.Float32));
        double? maskThreshold = model switch
        {
            Models.Rcnn.GeneralizedRcnn rcnn => rcnn.Options.MaskThreshold,
            TensorMaskModel tensorMask => tensorMask.Options.MaskThreshold,
            _ => null,
        };
        if (maskThreshold is { } threshold) Meta(OnnxContract.MaskThresholdKey, threshold.ToString("R", CultureInfo.InvariantCulture));
        return proto;
    }
}
