using System.Runtime.CompilerServices;

// The benchmark harness measures the quantizer's speed and accuracy (docs/benchmarks.md, "ONNX Runtime").
[assembly: InternalsVisibleTo("MLNetSeg.Benchmarks")]
