using System.Collections.Concurrent;
using System.ComponentModel;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using MLNetSeg.Onnx;
using MLNetSeg.Onnx.Imaging;
using MLNetSeg.Onnx.Runtime;
using MLNetSeg.Transforms.Persistence;
using MLNetSeg.Transforms.Scoring;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Transforms;

/// <summary>
/// How the ONNX route's two transformers go into model.zip, as the libtorch transformer does
/// (<c>PersistedScoring</c>): chains of ML.NET's own savable transformers around CustomMappings whose
/// factories live here. The input step is stateless; the decoding step keeps its settings (class
/// names, keypoint schema, mask threshold, output sizes, column names, score threshold) as a MapValue's
/// text. ApplyOnnxModel saves itself, with the ONNX bytes.
/// </summary>
internal static class OnnxRoutePersistence
{
    public const string InputImageContract = "MLNetSeg.OnnxInputImage";
    public const string InputPathContract = "MLNetSeg.OnnxInputPath";
    public const string DecodeMasksContract = "MLNetSeg.DecodeOnnxMasks";
    public const string DecodeKeypointsContract = "MLNetSeg.DecodeOnnxKeypoints";
    public const string DecodeWindowMasksContract = "MLNetSeg.DecodeOnnxWindowMasks";
    private const string Magic = "mlnetseg.onnx-decoding/1";

    public static ITransformer InputChain(DataViewSchema inputSchema, string imageColumn)
    {
        var kind = ImageInputs.Check(inputSchema, imageColumn);
        var chain = new SavedChain(inputSchema);
        chain.Add(chain.ML.Transforms.CopyColumns(PersistedColumns.Image, imageColumn));
        if (kind == ImageColumnKind.MLImage) chain.Add(chain.ML.Transforms.CustomMapping(new OnnxInputImageFactory().GetMapping(), InputImageContract));
        else chain.Add(chain.ML.Transforms.CustomMapping(new OnnxInputPathFactory().GetMapping(), InputPathContract));
        return chain.Build();
    }

    public static ITransformer DecodingChain(SegmentationOnnxOutputTransformer decoder, DataViewSchema inputSchema)
    {
        var chain = new SavedChain(inputSchema);
        chain.Add(chain.ML.Transforms.CustomMapping(new ModelKeyFactory().GetMapping(), PersistedScoring.ModelKeyContract));
        chain.Add(chain.ML.Transforms.Conversion.MapValue(PersistedColumns.State,
            new[] { new KeyValuePair<string, string>(PersistedScoring.ModelKey, Write(decoder)) }, PersistedColumns.ModelKey));
        if (decoder.Info.Tasks.HasFlag(SegmentationTasks.Semantic))
            throw new NotSupportedException("saving the ONNX route's decoding of a semantic (panoptic-family) model is not supported yet: " +
                                            "save the libtorch transformer (Trainers.Panoptic) or rebuild the ONNX route after loading");
        if (decoder.Info.Tasks.HasFlag(SegmentationTasks.Keypoints))
            chain.Add(chain.ML.Transforms.CustomMapping(new DecodeOnnxKeypointsFactory().GetMapping(), DecodeKeypointsContract));
        else if (decoder.Info.WindowMasks)
            chain.Add(chain.ML.Transforms.CustomMapping(new DecodeOnnxWindowMasksFactory().GetMapping(), DecodeWindowMasksContract));
        else if (decoder.Info.Tasks.HasFlag(SegmentationTasks.Masks))
            chain.Add(chain.ML.Transforms.CustomMapping(new DecodeOnnxMasksFactory().GetMapping(), DecodeMasksContract));
        else throw new NotSupportedException($"saving the decoding of a model with outputs {decoder.Info.Tasks} is not supported");
        chain.AddScoredOutputs(decoder.Settings.Columns.For(decoder.Info.Tasks), decoder.Info.Labels.ClassNames.Skip(1).ToArray());
        return chain.Build();
    }

    private sealed record StoredDecoder(string ModelInfo, string Family, double MaskThreshold, int MaskSize, int NumKeypoints, int HeatmapSize, float ScoreThreshold,
        bool WindowMasks = false);

    private static string Write(SegmentationOnnxOutputTransformer decoder) =>
        Magic + "\n" + JsonSerializer.Serialize(new StoredDecoder(decoder.ModelInfoJson, decoder.Info.Family, decoder.Info.MaskThreshold,
            decoder.MaskSize, decoder.NumKeypoints, decoder.HeatmapSize, decoder.Settings.ScoreThreshold, decoder.Info.WindowMasks));

    private static readonly ConcurrentDictionary<string, (SegmentationOnnxOutputTransformer Decoder, string[] LabelNames)> Parsed = new(StringComparer.Ordinal);

    /// <summary>The decoder a saved state stands for, parsed once per distinct state.</summary>
    public static (SegmentationOnnxOutputTransformer Decoder, string[] LabelNames) Read(ReadOnlyMemory<char> state) =>
        Parsed.GetOrAdd(state.ToString(), text =>
        {
            int newline = text.IndexOf('\n');
            if (newline < 0 || text[..newline] != Magic)
                throw new InvalidDataException($"the saved ONNX decoding state does not start with '{Magic}': the zip was not written by this version of MLNetSeg, or it is damaged");
            StoredDecoder stored;
            try { stored = JsonSerializer.Deserialize<StoredDecoder>(text[(newline + 1)..]) ?? throw new JsonException("null"); }
            catch (JsonException e) { throw new InvalidDataException($"the saved ONNX decoding state is not valid: {e.Message}", e); }
            var metadata = new Dictionary<string, string>
            {
                [OnnxContract.FamilyKey] = stored.Family,
                [OnnxContract.ContractVersionKey] = OnnxContract.ContractVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
                [OnnxContract.ModelInfoKey] = stored.ModelInfo,
                [OnnxContract.MaskThresholdKey] = stored.MaskThreshold.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            };
            var outputs = new List<string> { OnnxContract.Boxes, OnnxContract.Scores, OnnxContract.Labels, OnnxContract.BatchIndices, OnnxContract.ResizedSizes };
            if (stored.MaskSize > 0) outputs.Add(OnnxContract.Masks);
            if (stored.WindowMasks)
            {
                outputs.AddRange(new[] { OnnxContract.MaskBoxes, OnnxContract.MaskSides });
                metadata[OnnxContract.MaskPasteKey] = "detectron2";
            }
            if (stored.NumKeypoints > 0) outputs.AddRange(new[] { OnnxContract.KeypointHeatmaps, OnnxContract.NetworkBoxes });
            var info = OnnxModelInfo.FromMetadata(metadata, outputs, "(model.zip)");
            var decoder = new SegmentationOnnxOutputTransformer(info, stored.ModelInfo, stored.MaskSize, stored.NumKeypoints, stored.HeatmapSize,
                new SegmentationScoringSettings { ScoreThreshold = stored.ScoreThreshold });
            return (decoder, info.Labels.ClassNames.Skip(1).ToArray());
        });

    /// <summary>Decodes one row of ONNX outputs into the fixed-name scored columns.</summary>
    internal static void Decode(ReadOnlyMemory<char> state, float[] boxes, float[] scores, long[] labels, long[] resizedSizes, long[] imageSizes,
        float[]? masks, float[]? heatmaps, float[]? networkBoxes, ScoredRowColumns output, float[]? maskBoxes = null, long[]? maskSides = null)
    {
        var (decoder, names) = Read(state);
        output.Fill(decoder.Decode(boxes, scores, labels, resizedSizes, imageSizes, masks, heatmaps, networkBoxes, maskBoxes: maskBoxes, maskSides: maskSides), names);
    }
}

/// <summary>Internal to MLNetSeg's model.zip format.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class OnnxImageRow
{
    /// <summary>The image.</summary>
    [ColumnName(PersistedColumns.Image)] public MLImage? Image;
}

/// <summary>Internal to MLNetSeg's model.zip format.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class OnnxPathRow
{
    /// <summary>The image file's path.</summary>
    [ColumnName(PersistedColumns.Image)] public string Image = "";
}

/// <summary>Internal to MLNetSeg's model.zip format: the graph's inputs.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class OnnxInputColumns
{
    /// <summary>RGB planes, 0–255.</summary>
    [ColumnName(OnnxContract.Images)] [VectorType] public float[] Images = Array.Empty<float>();
    /// <summary>Height and width.</summary>
    [ColumnName(OnnxContract.ImageSizes)] [VectorType(2)] public long[] ImageSizes = new long[2];

    internal void Fill(Vision.Imaging.Image image)
    {
        var rgb = image.Channels == 3 ? image : image.ToRgb();
        Images = new float[3 * rgb.Height * rgb.Width];
        OnnxSegmentationPredictor.WritePlanes(rgb, Images);
        ImageSizes = new long[] { rgb.Height, rgb.Width };
    }
}

/// <summary>Internal to MLNetSeg's model.zip format: the graph's inputs from an MLImage.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(OnnxRoutePersistence.InputImageContract)]
public sealed class OnnxInputImageFactory : CustomMappingFactory<OnnxImageRow, OnnxInputColumns>
{
    /// <inheritdoc/>
    public override Action<OnnxImageRow, OnnxInputColumns> GetMapping() => (input, output) =>
        output.Fill(ImageInputs.FromMLImage(input.Image ?? throw new InvalidDataException("the image column holds no image")));
}

/// <summary>Internal to MLNetSeg's model.zip format: the graph's inputs from an image file.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(OnnxRoutePersistence.InputPathContract)]
public sealed class OnnxInputPathFactory : CustomMappingFactory<OnnxPathRow, OnnxInputColumns>
{
    /// <inheritdoc/>
    public override Action<OnnxPathRow, OnnxInputColumns> GetMapping() => (input, output) => output.Fill(SkiaImageDecoder.Read(input.Image));
}

/// <summary>Internal to MLNetSeg's model.zip format: a mask model's ONNX outputs with the decoding state.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public class OnnxMaskOutputRow
{
    /// <summary>Boxes.</summary>
    [ColumnName(OnnxContract.Boxes)] [VectorType] public float[] Boxes = Array.Empty<float>();
    /// <summary>Scores.</summary>
    [ColumnName(OnnxContract.Scores)] [VectorType] public float[] Scores = Array.Empty<float>();
    /// <summary>Labels.</summary>
    [ColumnName(OnnxContract.Labels)] [VectorType] public long[] Labels = Array.Empty<long>();
    /// <summary>Resized sizes.</summary>
    [ColumnName(OnnxContract.ResizedSizes)] [VectorType] public long[] ResizedSizes = Array.Empty<long>();
    /// <summary>Image sizes.</summary>
    [ColumnName(OnnxContract.ImageSizes)] [VectorType(2)] public long[] ImageSizes = new long[2];
    /// <summary>Masks.</summary>
    [ColumnName(OnnxContract.Masks)] [VectorType] public float[] Masks = Array.Empty<float>();
    /// <summary>The decoding state.</summary>
    [ColumnName(PersistedColumns.State)] public ReadOnlyMemory<char> State;
}

/// <summary>Internal to MLNetSeg's model.zip format: the ONNX outputs of a model whose masks are pasted into their windows (TensorMask).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class OnnxWindowMaskOutputRow : OnnxMaskOutputRow
{
    /// <summary>The windows the masks are pasted into.</summary>
    [ColumnName(OnnxContract.MaskBoxes)] [VectorType] public float[] MaskBoxes = Array.Empty<float>();
    /// <summary>Each mask's side.</summary>
    [ColumnName(OnnxContract.MaskSides)] [VectorType] public long[] MaskSides = Array.Empty<long>();
}

/// <summary>Internal to MLNetSeg's model.zip format: a keypoint model's ONNX outputs with the decoding state.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class OnnxKeypointOutputRow
{
    /// <summary>Boxes.</summary>
    [ColumnName(OnnxContract.Boxes)] [VectorType] public float[] Boxes = Array.Empty<float>();
    /// <summary>Scores.</summary>
    [ColumnName(OnnxContract.Scores)] [VectorType] public float[] Scores = Array.Empty<float>();
    /// <summary>Labels.</summary>
    [ColumnName(OnnxContract.Labels)] [VectorType] public long[] Labels = Array.Empty<long>();
    /// <summary>Resized sizes.</summary>
    [ColumnName(OnnxContract.ResizedSizes)] [VectorType] public long[] ResizedSizes = Array.Empty<long>();
    /// <summary>Image sizes.</summary>
    [ColumnName(OnnxContract.ImageSizes)] [VectorType(2)] public long[] ImageSizes = new long[2];
    /// <summary>Heatmaps.</summary>
    [ColumnName(OnnxContract.KeypointHeatmaps)] [VectorType] public float[] Heatmaps = Array.Empty<float>();
    /// <summary>Network boxes.</summary>
    [ColumnName(OnnxContract.NetworkBoxes)] [VectorType] public float[] NetworkBoxes = Array.Empty<float>();
    /// <summary>The decoding state.</summary>
    [ColumnName(PersistedColumns.State)] public ReadOnlyMemory<char> State;
}

/// <summary>Internal to MLNetSeg's model.zip format: decodes a mask model's outputs.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(OnnxRoutePersistence.DecodeMasksContract)]
public sealed class DecodeOnnxMasksFactory : CustomMappingFactory<OnnxMaskOutputRow, ScoredRowColumns>
{
    /// <inheritdoc/>
    public override Action<OnnxMaskOutputRow, ScoredRowColumns> GetMapping() => (input, output) =>
        OnnxRoutePersistence.Decode(input.State, input.Boxes, input.Scores, input.Labels, input.ResizedSizes, input.ImageSizes, input.Masks, null, null, output);
}

/// <summary>Internal to MLNetSeg's model.zip format: decodes a keypoint model's outputs.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(OnnxRoutePersistence.DecodeKeypointsContract)]
public sealed class DecodeOnnxKeypointsFactory : CustomMappingFactory<OnnxKeypointOutputRow, ScoredRowColumns>
{
    /// <inheritdoc/>
    public override Action<OnnxKeypointOutputRow, ScoredRowColumns> GetMapping() => (input, output) =>
        OnnxRoutePersistence.Decode(input.State, input.Boxes, input.Scores, input.Labels, input.ResizedSizes, input.ImageSizes, null, input.Heatmaps, input.NetworkBoxes, output);
}

/// <summary>Internal to MLNetSeg's model.zip format: decodes the outputs of a model whose masks are pasted into their windows.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(OnnxRoutePersistence.DecodeWindowMasksContract)]
public sealed class DecodeOnnxWindowMasksFactory : CustomMappingFactory<OnnxWindowMaskOutputRow, ScoredRowColumns>
{
    /// <inheritdoc/>
    public override Action<OnnxWindowMaskOutputRow, ScoredRowColumns> GetMapping() => (input, output) =>
        OnnxRoutePersistence.Decode(input.State, input.Boxes, input.Scores, input.Labels, input.ResizedSizes, input.ImageSizes, input.Masks, null, null, output,
            input.MaskBoxes, input.MaskSides);
}
