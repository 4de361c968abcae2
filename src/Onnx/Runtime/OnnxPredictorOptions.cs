using Microsoft.ML.OnnxRuntime;

namespace MLNetSeg.Onnx.Runtime;

/// <summary>Where ONNX Runtime runs the graph.</summary>
public enum OnnxExecutionProvider
{
    /// <summary>ONNX Runtime's CPU provider (always available).</summary>
    Cpu,
    /// <summary>ONNX Runtime's CUDA provider (needs an NVIDIA GPU and the CUDA and cuDNN libraries ONNX Runtime 1.32 was built against).</summary>
    Cuda,
}

/// <summary>Settings of an <see cref="OnnxSegmentationPredictor"/>.</summary>
public sealed record OnnxPredictorOptions
{
    /// <summary>The provider to run on; <see cref="OnnxExecutionProvider.Cpu"/> by default.</summary>
    public OnnxExecutionProvider Provider { get; init; } = OnnxExecutionProvider.Cpu;

    /// <summary>The CUDA device when <see cref="Provider"/> is CUDA.</summary>
    public int CudaDeviceId { get; init; }

    /// <summary>When CUDA cannot start (no GPU, no CUDA libraries): run on the CPU and say so through
    /// <see cref="Log"/> (true, the default), or throw (false).</summary>
    public bool FallbackToCpu { get; init; } = true;

    /// <summary>Threads inside one operator (0: ONNX Runtime's default, one per physical core).</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>ONNX Runtime's graph optimisation level; all optimisations by default (measured fastest here: docs/benchmarks.md).</summary>
    public GraphOptimizationLevel OptimizationLevel { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>Overrides the exported mask threshold (probability above which a pixel is foreground); null keeps the model's.</summary>
    public double? MaskThreshold { get; init; }

    /// <summary>Where notes go (the CPU fallback); standard error when null.</summary>
    public Action<string>? Log { get; init; }
}
