namespace MLNetSeg.Onnx.Quantization;

/// <summary>How the range of each quantized activation is taken from the calibration images.</summary>
public enum QuantizationCalibration
{
    /// <summary>The smallest and largest value seen.</summary>
    MinMax,
    /// <summary>The <see cref="OnnxQuantizationOptions.Percentile"/>-th percentile at the top and its mirror at the
    /// bottom, over every value seen (a histogram merged over the images); outliers are clipped.</summary>
    Percentile,
}

/// <summary>Settings of <see cref="OnnxQuantizer"/>.</summary>
public sealed record OnnxQuantizationOptions
{
    /// <summary>The layers of the R-CNN graphs left in float by default: the RoI heads' predictors, whose outputs
    /// are the final class scores, box codes, mask logits and keypoint heatmaps. (The RPN's 1×1 objectness and box
    /// layers are quantized: on the quickstart model that cost no AP and saved ~9 % of the int8 graph's time at 800 px,
    /// docs/benchmarks.md.)</summary>
    public static IReadOnlyList<string> PredictorLayers { get; } = new[]
    {
        "roi_heads.box_predictor.", "roi_heads.mask_predictor.", "roi_heads.keypoint_predictor.",
    };

    /// <summary>int8 activations (true) or uint8 (false, the default: ONNX Runtime's fastest CPU kernels take
    /// uint8 activations with int8 weights).</summary>
    public bool SignedActivations { get; init; }

    /// <summary>How activation ranges are calibrated; <see cref="QuantizationCalibration.MinMax"/> by default.</summary>
    public QuantizationCalibration Calibration { get; init; } = QuantizationCalibration.MinMax;

    /// <summary>The percentile for <see cref="QuantizationCalibration.Percentile"/>, in (50, 100]; 99.999 by default.</summary>
    public double Percentile { get; init; } = 99.999;

    /// <summary>Quantize Gemm (fully connected) layers too, not only convolutions; true by default.</summary>
    public bool QuantizeGemm { get; init; } = true;

    /// <summary>7-bit weights (±64 instead of ±127): avoids the saturation of u8·s8 pair sums on x86 CPUs without
    /// VNNI, at some precision; false by default.</summary>
    public bool ReduceRange { get; init; }

    /// <summary>Weight-name prefixes of the layers to leave in float (the initializer names carry the layer's
    /// path, e.g. "roi_heads.box_predictor.cls_score.weight"); <see cref="PredictorLayers"/> by default.</summary>
    public IReadOnlyList<string> ExcludedLayers { get; init; } = PredictorLayers;

    /// <summary>ONNX Runtime threads for the calibration runs (0: its default).</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Where progress notes go (one per calibration image); none when null.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (!(Percentile > 50 && Percentile <= 100))
            throw new ArgumentException($"{nameof(OnnxQuantizationOptions)}.{nameof(Percentile)} must be in (50, 100], got {Percentile}", nameof(Percentile));
        if (IntraOpThreads < 0)
            throw new ArgumentException($"{nameof(OnnxQuantizationOptions)}.{nameof(IntraOpThreads)} must be ≥ 0, got {IntraOpThreads}", nameof(IntraOpThreads));
        if (ExcludedLayers is null)
            throw new ArgumentException($"{nameof(OnnxQuantizationOptions)}.{nameof(ExcludedLayers)} must not be null", nameof(ExcludedLayers));
        if (!Enum.IsDefined(Calibration))
            throw new ArgumentException($"{nameof(OnnxQuantizationOptions)}.{nameof(Calibration)} {(int)Calibration} is not a calibration method", nameof(Calibration));
    }
}
