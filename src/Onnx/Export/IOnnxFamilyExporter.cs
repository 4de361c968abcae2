using MLNetSeg.Models;
using MLNetSeg.Onnx.Graph;

namespace MLNetSeg.Onnx.Export;

/// <summary>
/// How one or more model families become an ONNX graph between the <see cref="OnnxContract"/> inputs and
/// outputs. <see cref="OnnxExporter"/> finds the exporter by the model's family name; a family that
/// is added registers its own here (as it registers its <see cref="ModelFamily"/>).
/// </summary>
internal interface IOnnxFamilyExporter
{
    /// <summary>The family names (<see cref="ModelFamily.Name"/>) this exporter writes.</summary>
    IReadOnlyList<string> Families { get; }

    /// <summary>Writes the model's graph from <paramref name="inputs"/>, setting the values of <paramref name="outputs"/>
    /// the model produces (boxes, scores, labels and batch indices always).</summary>
    void Write(ISegmentationModel model, OnnxGraphBuilder graph, OnnxGraphInputs inputs, OnnxGraphOutputs outputs);
}

/// <summary>The graph inputs (value names) of <see cref="OnnxContract"/>.</summary>
internal sealed record OnnxGraphInputs(string Images, string ImageSizes);

/// <summary>The values a family exporter produces for the <see cref="OnnxContract"/> outputs; null = the model has no such output.</summary>
internal sealed class OnnxGraphOutputs
{
    public string? Boxes { get; set; }
    public string? Scores { get; set; }
    public string? Labels { get; set; }
    public string? BatchIndices { get; set; }
    public string? ResizedSizes { get; set; }
    public string? Masks { get; set; }
    public int MaskSize { get; set; }
    /// <summary>Where masks are pasted when not into the detection boxes (TensorMask: its windows), with detectron2's paste.</summary>
    public string? MaskBoxes { get; set; }
    /// <summary>Each mask's side when masks differ in size (zero-padded to <see cref="MaskSize"/>).</summary>
    public string? MaskSides { get; set; }
    public string? KeypointHeatmaps { get; set; }
    public string? NetworkBoxes { get; set; }
    public int NumKeypoints { get; set; }
    public int HeatmapSize { get; set; }
    public string? SemanticScores { get; set; }
    public int SemanticChannels { get; set; }
}
