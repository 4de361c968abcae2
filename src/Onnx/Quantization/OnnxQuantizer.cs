using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MLNetSeg.Onnx.Imaging;
using MLNetSeg.Onnx.Runtime;
using MLNetSeg.Vision.Imaging;
using Onnx;

namespace MLNetSeg.Onnx.Quantization;

/// <summary>What a quantisation wrote.</summary>
/// <param name="Path">The quantized .onnx file.</param>
/// <param name="QuantizedNodes">Conv and Gemm nodes given int8 weights.</param>
/// <param name="QuantizedActivations">Activations given a QuantizeLinear → DequantizeLinear pair.</param>
/// <param name="CalibrationImages">Images the ranges were measured on.</param>
/// <param name="Bytes">The quantized file's size.</param>
/// <param name="FloatBytes">The float file's size.</param>
/// <param name="CalibrationTime">Time spent running the float graph on the calibration images.</param>
public sealed record OnnxQuantizationReport(string Path, int QuantizedNodes, int QuantizedActivations, int CalibrationImages, long Bytes, long FloatBytes,
    TimeSpan CalibrationTime);

/// <summary>
/// Static int8 quantisation of an exported model (<see cref="Export.OnnxExporter"/>): the float graph is run on
/// calibration images with the activations of its convolutions exposed, their ranges set each activation's
/// scale and zero point, and the graph is rewritten in QDQ form (QuantizeLinear / DequantizeLinear pairs around
/// int8 per-channel weights), which ONNX Runtime's CPU provider runs as integer kernels (QLinearConv, QGemm)
/// when graph optimisation is on (<see cref="OnnxPredictorOptions.OptimizationLevel"/>, all by default). The
/// post-processing part of the graph — pre-processing, box decoding, NMS, RoIAlign, top-k and the predictor
/// layers — stays float. The result has the same inputs, outputs and metadata and runs in
/// <see cref="OnnxSegmentationPredictor"/> like the float file.
/// </summary>
public static class OnnxQuantizer
{
    /// <summary>Metadata key of quantized files: how they were quantized.</summary>
    public const string MetadataKey = "mlnetseg.quantization";

    /// <summary>Quantizes <paramref name="inputOnnx"/> into <paramref name="outputOnnx"/> (written atomically), calibrated on image
    /// files (decoded with SkiaSharp, one at a time).</summary>
    /// <param name="inputOnnx">A float graph written by <see cref="Export.OnnxExporter"/>.</param>
    /// <param name="outputOnnx">Where the quantized graph goes.</param>
    /// <param name="calibrationImages">Image files like those the model will see (a few dozen training images).</param>
    /// <param name="options">Activation type, calibration method, layers left in float.</param>
    /// <exception cref="FileNotFoundException">There is no <paramref name="inputOnnx"/>.</exception>
    /// <exception cref="OnnxModelException">The file is not an ONNX graph with the exporter's inputs, or has nothing to quantize.</exception>
    /// <exception cref="InvalidImageException">A calibration file is missing or not an image.</exception>
    /// <exception cref="ArgumentException">No calibration images, or the images left an activation unseen.</exception>
    public static OnnxQuantizationReport Quantize(string inputOnnx, string outputOnnx, IEnumerable<string> calibrationImages, OnnxQuantizationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(calibrationImages);
        return Quantize(inputOnnx, outputOnnx, calibrationImages.Select(SkiaImageDecoder.Read), options);
    }

    /// <summary>Quantizes <paramref name="inputOnnx"/> into <paramref name="outputOnnx"/> (written atomically), calibrated on <paramref name="calibrationImages"/>.</summary>
    /// <param name="inputOnnx">A float graph written by <see cref="Export.OnnxExporter"/>.</param>
    /// <param name="outputOnnx">Where the quantized graph goes.</param>
    /// <param name="calibrationImages">Images like those the model will see (a few dozen training images); each runs through the float graph once.</param>
    /// <param name="options">Activation type, calibration method, layers left in float.</param>
    /// <exception cref="FileNotFoundException">There is no <paramref name="inputOnnx"/>.</exception>
    /// <exception cref="OnnxModelException">The file is not an ONNX graph with the exporter's inputs, or has nothing to quantize.</exception>
    /// <exception cref="ArgumentException">No calibration images, or the images left an activation unseen (a head that detected nothing on every image).</exception>
    public static OnnxQuantizationReport Quantize(string inputOnnx, string outputOnnx, IEnumerable<Image> calibrationImages, OnnxQuantizationOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(inputOnnx);
        ArgumentException.ThrowIfNullOrEmpty(outputOnnx);
        ArgumentNullException.ThrowIfNull(calibrationImages);
        options ??= new OnnxQuantizationOptions();
        options.Validate();
        if (!File.Exists(inputOnnx)) throw new FileNotFoundException($"ONNX model not found: {inputOnnx}", inputOnnx);
        var bytes = File.ReadAllBytes(inputOnnx);
        ModelProto model;
        try { model = ModelProto.Parser.ParseFrom(bytes); }
        catch (InvalidProtocolBufferException e) { throw new OnnxModelException(inputOnnx, $"not an ONNX model ({e.Message})", e); }
        var inputs = model.Graph.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        if (!inputs.Contains(OnnxContract.Images) || !inputs.Contains(OnnxContract.ImageSizes))
            throw new OnnxModelException(inputOnnx, $"the graph lacks the inputs \"{OnnxContract.Images}\" and \"{OnnxContract.ImageSizes}\" the calibration feeds (inputs: {string.Join(", ", inputs)})");

        var plan = QdqTransform.Plan(model, options);
        if (plan.Nodes.Count == 0) throw new OnnxModelException(inputOnnx, "the graph has no Conv or Gemm layer to quantize");

        var clock = Stopwatch.StartNew();
        var (ranges, images) = Calibrate(QdqTransform.WithOutputs(model, plan.Calibrated).ToByteArray(), plan.Calibrated, calibrationImages, options, inputOnnx);
        var calibrationTime = clock.Elapsed;
        double? percentile = options.Calibration == QuantizationCalibration.Percentile ? options.Percentile : null;
        var parameters = new Dictionary<string, QuantParams>(StringComparer.Ordinal);
        foreach (var t in plan.Calibrated)
        {
            var range = ranges[t];
            if (range.Count == 0)
                throw new ArgumentException($"activation '{t}' had no values on any of the {images} calibration images " +
                                            "(a head that detected nothing?); calibrate on images where the model finds objects", nameof(calibrationImages));
            var (lo, hi) = range.Range(percentile);
            parameters[t] = QuantizationMath.Activation(lo, hi, options.SignedActivations);
        }

        var quantized = QdqTransform.Apply(model, plan, parameters, options);
        string description = string.Create(CultureInfo.InvariantCulture,
            $"QDQ: {plan.Nodes.Count} Conv/Gemm nodes with int8 per-channel weights, {(options.SignedActivations ? "int8" : "uint8")} activations, " +
            $"{(percentile is double p ? $"percentile {p}" : "min/max")} calibration on {images} images{(options.ReduceRange ? ", 7-bit weights" : "")}");
        var existing = quantized.MetadataProps.FirstOrDefault(m => m.Key == MetadataKey);
        if (existing is not null) quantized.MetadataProps.Remove(existing);
        quantized.MetadataProps.Add(new StringStringEntryProto { Key = MetadataKey, Value = description });
        var output = quantized.ToByteArray();
        var full = Path.GetFullPath(outputOnnx);
        MLNetSeg.Torch.IO.AtomicFile.WriteAllBytes(full, output, createDirectory: true);
        return new OnnxQuantizationReport(full, plan.Nodes.Count, plan.Activations.Count(), images, output.LongLength, bytes.LongLength, calibrationTime);
    }

    /// <summary>Runs the graph with the activations as extra outputs on every image; their ranges.</summary>
    private static (Dictionary<string, ActivationRange> Ranges, int Images) Calibrate(byte[] augmented, IReadOnlyList<string> tensors,
        IEnumerable<Image> calibrationImages, OnnxQuantizationOptions options, string path)
    {
        bool histogram = options.Calibration == QuantizationCalibration.Percentile;
        var ranges = tensors.ToDictionary(t => t, _ => new ActivationRange(histogram), StringComparer.Ordinal);
        using var sessionOptions = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        if (options.IntraOpThreads > 0) sessionOptions.IntraOpNumThreads = options.IntraOpThreads;
        InferenceSession session;
        try { session = new InferenceSession(augmented, sessionOptions); }
        catch (OnnxRuntimeException e) { throw new OnnxModelException(path, $"ONNX Runtime cannot load the calibration graph ({e.Message.Split('\n')[0]})", e); }
        using var _ = session;
        using var runOptions = new RunOptions();
        var inputNames = new[] { OnnxContract.Images, OnnxContract.ImageSizes };
        int count = 0;
        foreach (var original in calibrationImages)
        {
            var image = original ?? throw new ArgumentNullException(nameof(calibrationImages), $"calibration image {count} is null");
            var rgb = image.Channels == 3 ? image : image.ToRgb();
            var pixels = new float[3 * rgb.Height * rgb.Width];
            OnnxSegmentationPredictor.WritePlanes(rgb, pixels);
            using var pixelValue = OrtValue.CreateTensorValueFromMemory(pixels, new long[] { 1, pixels.Length });
            using var sizeValue = OrtValue.CreateTensorValueFromMemory(new long[] { rgb.Height, rgb.Width }, new long[] { 1, 2 });
            var clock = Stopwatch.StartNew();
            IDisposableReadOnlyCollection<OrtValue> outputs;
            try { outputs = session.Run(runOptions, inputNames, new[] { pixelValue, sizeValue }, tensors); }
            catch (OnnxRuntimeException e)
            {
                throw new InvalidOperationException($"{path}: ONNX Runtime failed on calibration image {count}: {e.Message.Split('\n')[0]}", e);
            }
            using (outputs)
            {
                Parallel.For(0, tensors.Count, i =>
                {
                    try { ranges[tensors[i]].Add(outputs[i].GetTensorDataAsSpan<float>()); }
                    catch (ArgumentException e)
                    {
                        throw new InvalidOperationException($"{path}: activation '{tensors[i]}' on calibration image {count}: {e.Message}", e);
                    }
                });
            }
            count++;
            options.Log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"calibration image {count}: {clock.Elapsed.TotalSeconds:F2} s"));
        }
        if (count == 0) throw new ArgumentException("no calibration images were given", nameof(calibrationImages));
        return (ranges, count);
    }
}
