using System.Globalization;
using MLNetSeg.Models;
using MLNetSeg.Models.Panoptic;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Onnx.Runtime;

/// <summary>
/// What an exported graph's metadata says (<see cref="OnnxContract"/>): the family, the classes and
/// keypoint schema of the model file it came from, the mask threshold, and which outputs it has.
/// </summary>
public sealed record OnnxModelInfo
{
    /// <summary>The model family's name ("maskrcnn").</summary>
    public required string Family { get; init; }

    /// <summary>Class names, category ids and keypoint schema, as the model file had them.</summary>
    public required ModelFileInfo Labels { get; init; }

    /// <summary>Mask probabilities above this are foreground.</summary>
    public double MaskThreshold { get; init; } = 0.5;

    /// <summary>The semantic classes, switches and panoptic thresholds of a panoptic-family model; null for other families.</summary>
    public PanopticOptions? Panoptic { get; init; }

    /// <summary>The padded batch's sizes are multiples of this (the 1/4-scale semantic scores are a quarter of them).</summary>
    public int SizeDivisible { get; init; } = 32;

    /// <summary>Whether masks come with their own boxes and sides (<see cref="OnnxContract.MaskBoxes"/>, <see cref="OnnxContract.MaskSides"/>)
    /// and are pasted as detectron2 pastes (TensorMask).</summary>
    public bool WindowMasks { get; init; }

    /// <summary>What the graph outputs.</summary>
    public required SegmentationTasks Tasks { get; init; }

    /// <summary>Reads the metadata of an export; <paramref name="path"/> names the file in errors.</summary>
    /// <exception cref="OnnxModelException">The metadata is missing (not an MLNetSeg export), from a newer exporter, or unreadable.</exception>
    public static OnnxModelInfo FromMetadata(IReadOnlyDictionary<string, string> metadata, IEnumerable<string> outputNames, string path)
    {
        if (!metadata.TryGetValue(OnnxContract.FamilyKey, out var family))
            throw new OnnxModelException(path, $"not an MLNetSeg export: the ONNX metadata has no \"{OnnxContract.FamilyKey}\" entry " +
                                               "(export models with OnnxExporter or `mlnetseg export`)");
        if (!metadata.TryGetValue(OnnxContract.ContractVersionKey, out var versionText)
            || !int.TryParse(versionText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var version))
            throw new OnnxModelException(path, $"the ONNX metadata has no valid \"{OnnxContract.ContractVersionKey}\" entry");
        if (version > OnnxContract.ContractVersion)
            throw new OnnxModelException(path, $"exported for ONNX interface version {version}; this build of MLNetSeg reads version {OnnxContract.ContractVersion} (update MLNetSeg)");
        if (!metadata.TryGetValue(OnnxContract.ModelInfoKey, out var json))
            throw new OnnxModelException(path, $"the ONNX metadata has no \"{OnnxContract.ModelInfoKey}\" entry (class names)");
        ModelFileInfo labels;
        PanopticOptions? panoptic = null;
        int sizeDivisible = 32;
        try
        {
            var (info, _, section) = ModelFileConfig.Read(json, path);
            labels = info;
            if (family == PanopticFamily.Instance.Name)
            {
                panoptic = PanopticConfig.Read(section.Get(PanopticConfig.SectionName));
                sizeDivisible = section.Get("preprocessing").Get("size_divisible").Int();
            }
        }
        catch (ModelFileException e) { throw new OnnxModelException(path, $"the class metadata is unreadable: {e.Message}", e); }
        double threshold = 0.5;
        if (metadata.TryGetValue(OnnxContract.MaskThresholdKey, out var t)
            && !double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out threshold))
            throw new OnnxModelException(path, $"the \"{OnnxContract.MaskThresholdKey}\" metadata '{t}' is not a number");

        var outputs = outputNames.ToHashSet(StringComparer.Ordinal);
        foreach (var required in new[] { OnnxContract.Boxes, OnnxContract.Scores, OnnxContract.Labels, OnnxContract.BatchIndices, OnnxContract.ResizedSizes })
            if (!outputs.Contains(required))
                throw new OnnxModelException(path, $"the graph has no output \"{required}\" (outputs: {string.Join(", ", outputs)})");
        var tasks = SegmentationTasks.Boxes;
        if (outputs.Contains(OnnxContract.Masks)) tasks |= SegmentationTasks.Masks;
        if (outputs.Contains(OnnxContract.KeypointHeatmaps))
        {
            if (!outputs.Contains(OnnxContract.NetworkBoxes))
                throw new OnnxModelException(path, $"the graph has keypoint heatmaps but no \"{OnnxContract.NetworkBoxes}\" output");
            tasks |= SegmentationTasks.Keypoints;
        }
        if (outputs.Contains(OnnxContract.SemanticScores))
        {
            if (panoptic is null) throw new OnnxModelException(path, $"the graph has \"{OnnxContract.SemanticScores}\" but no semantic classes in its metadata");
            tasks |= SegmentationTasks.Semantic;
            if (panoptic.Instances) tasks |= SegmentationTasks.Panoptic;
            else tasks &= ~SegmentationTasks.Boxes;
        }
        bool windowMasks = outputs.Contains(OnnxContract.MaskBoxes);
        if (windowMasks != outputs.Contains(OnnxContract.MaskSides) || (windowMasks && !outputs.Contains(OnnxContract.Masks)))
            throw new OnnxModelException(path, $"the graph needs \"{OnnxContract.Masks}\", \"{OnnxContract.MaskBoxes}\" and \"{OnnxContract.MaskSides}\" together");
        metadata.TryGetValue(OnnxContract.MaskPasteKey, out var paste);
        if (windowMasks != (paste == "detectron2"))
            throw new OnnxModelException(path, $"the graph's \"{OnnxContract.MaskPasteKey}\" metadata ({paste ?? "absent"}) does not suit its outputs " +
                                               $"(\"detectron2\" goes with \"{OnnxContract.MaskBoxes}\")");
        return new OnnxModelInfo
        {
            Family = family, Labels = labels, MaskThreshold = threshold, Tasks = tasks, Panoptic = panoptic, SizeDivisible = sizeDivisible,
            WindowMasks = windowMasks,
        };
    }
}
