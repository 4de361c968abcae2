using System.Diagnostics;
using MLNetSeg.Benchmarks;

// Timing harness for docs/benchmarks.md. Each benchmark prints one JSON line so that
// benchmarks/run.sh can take medians and compare with the Python reference measured in
// the same run. Usage: dotnet run -c Release --project benchmarks/MLNetSeg.Benchmarks -- <name> [args]
var name = args.Length > 0 ? args[0] : "";
var rest = args.Skip(1).ToArray();
var benchmarks = new Dictionary<string, Func<string[], string>>
{
    ["overhead"] = EngineBenchmarks.Overhead,
    ["resnet50"] = EngineBenchmarks.ResNet50,
    ["memory"] = EngineBenchmarks.Memory,
    ["cocoeval"] = VisionBenchmarks.CocoEval,
    ["nms10k"] = VisionBenchmarks.Nms10k,
    ["rle"] = VisionBenchmarks.RleEncode,
    ["maskrcnn"] = ModelBenchmarks.MaskRcnn,
    ["masks_to_rle"] = ModelBenchmarks.MasksToRle,
    ["masklab-speed"] = MaskLabBenchmarks.Speed,
    ["tensormask-speed"] = TensorMaskBenchmarks.Speed,
    ["swap-align2nat"] = TensorMaskBenchmarks.SwapAlign2Nat,
    ["tensormask-step"] = TensorMaskBenchmarks.Step,
    ["imp"] = ImpBenchmarks.Run,
    ["instance-ablation"] = InstanceAblationBenchmarks.Evaluate,
    ["imp-ablation"] = ImpAblationBenchmarks.Evaluate,
    ["imp-overhead"] = ImpAblationBenchmarks.Overhead,
    ["imp-figure"] = ImpAblationBenchmarks.Figure,
    ["training"] = TrainingBenchmarks.Training,
    ["allreduce"] = DistributedBenchmarks.AllReduce,
    ["mixed-precision"] = MixedPrecisionBenchmarks.Run,
    ["gpu-maskrcnn"] = GpuBenchmarks.MaskRcnn,
    ["gpu-training"] = GpuBenchmarks.Training,
    ["mlnet"] = MLNetBenchmarks.Run,
    ["onnx-prepare"] = OnnxBenchmarks.Prepare,
    ["onnx-quantize"] = OnnxBenchmarks.Quantize,
    ["onnx-worker"] = OnnxBenchmarks.Worker,
    ["onnx-profile"] = OnnxBenchmarks.Profile,
    ["onnx-eval"] = OnnxBenchmarks.Evaluate,
    ["onnx-deconv-as-conv"] = OnnxBenchmarks.DeconvAsConv,
};
if (!benchmarks.TryGetValue(name, out var run))
{
    Console.Error.WriteLine($"usage: MLNetSeg.Benchmarks <{string.Join("|", benchmarks.Keys)}> [args]");
    return 2;
}
Console.WriteLine(run(rest));
return 0;
