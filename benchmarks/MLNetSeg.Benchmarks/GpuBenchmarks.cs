using System.Diagnostics;
using System.Globalization;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Models.Tests;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Optim;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Benchmarks;

/// <summary>
/// The CUDA path (issue 18; docs/benchmarks.md "GPU"): Mask R-CNN R50-FPN inference at 800 px and
/// training throughput on a GPU, run by benchmarks/gpu/run_device.sh on a GPU host against
/// torchvision on the same GPU in the same run (benchmarks/reference/gpu.py builds the identical
/// inputs). The shim there is built against the host's PyTorch wheel (its CUDA libtorch).
/// </summary>
internal static class GpuBenchmarks
{
    private const int Warmup = 5;

    /// <summary>maskrcnn_resnet50_fpn, name-seeded weights identical to the reference's, one 3×480×640 image
    /// (resized to 800×1067). Two clocks per run: <c>model</c> = the network plus torchvision's post-processing
    /// and mask pasting on the GPU, ending with the scores read on the host (the figure detectron2 and
    /// torchvision report); <c>predict</c> = <see cref="GeneralizedRcnn.Predict(Tensor)"/>, i.e. that plus the
    /// masks copied to the host and run-length encoded. Args: [runs=50] [device=cuda] [precision=fp32|bf16|fp16 (autocast)].</summary>
    public static string MaskRcnn(string[] args)
    {
        int runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 50;
        var device = RequireDevice(args.Length > 1 ? args[1] : "cuda");
        string precision = args.Length > 2 ? args[2] : "fp32";
        using var autocast = Autocast(precision, device);
        using var model = DeterministicWeights.Apply(Models.Rcnn.MaskRcnn.ResNet50Fpn());
        model.Eval();
        model.To(device);
        using var image = DeterministicWeights.Uniform("bench.image", new long[] { 3, 480, 640 });
        using var input = image.To(DType.Float32, device);

        int detections = 0;
        double TimeModel()
        {
            using var scope = DisposeScope.Enter();
            var sw = Stopwatch.StartNew();
            var result = model.Detect(new[] { input })[0];
            detections = result.Scores.To(DType.Float32, Device.Cpu).ToArray<float>().Length;  // waits for the GPU
            return sw.Elapsed.TotalMilliseconds;
        }
        double TimePredict()
        {
            var sw = Stopwatch.StartNew();
            detections = model.Predict(input).Count;
            return sw.Elapsed.TotalMilliseconds;
        }
        var modelMs = Measure(TimeModel, runs);
        var predictMs = Measure(TimePredict, runs);
        return $"{{\"benchmark\":\"maskrcnn800_gpu\",\"impl\":\"csharp\",\"device\":\"{device}\",\"runs\":{runs},\"precision\":\"{precision}\"," +
               $"\"model_ms\":{modelMs:F2},\"predict_ms\":{predictMs:F2},\"detections\":{detections},\"engine\":\"{TorchRuntime.Version}\"," +
               $"\"vision_ops\":{VisionOps()}}}";
    }

    /// <summary>Mask R-CNN R50-FPN training steps (forward, the four/five losses, backward, SGD with momentum) on
    /// <c>batch</c> in-memory 3×480×640 images (resized to 800×1067) with <see cref="SyntheticTarget"/>'s
    /// objects, from the name-seeded weights; images per second over <c>iterations</c> timed steps after
    /// five untimed ones, the clock stopped after reading the loss on the host. Data loading is left out
    /// on purpose (it is measured on the CPU in the training benchmark); the reference does the same.
    /// Args: [iterations=30] [batch=2] [device=cuda] [precision=fp32|bf16|fp16]: bf16/fp16 run the forward pass
    /// under autocast, fp16 with <see cref="GradScaler"/>, as the training loop does.</summary>
    public static string Training(string[] args)
    {
        int iterations = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 30;
        int batch = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
        var device = RequireDevice(args.Length > 2 ? args[2] : "cuda");
        string precision = args.Length > 3 ? args[3] : "fp32";
        var scaler = precision == "fp16" ? new GradScaler() : null;
        using var model = DeterministicWeights.Apply(Models.Rcnn.MaskRcnn.ResNet50Fpn());
        model.To(device);
        model.Train();
        var parameters = model.Parameters().Where(p => p.RequiresGrad).ToArray();
        using var sgd = new Sgd(parameters, learningRate: 0.002, momentum: 0.9, weightDecay: 1e-4);
        var images = Enumerable.Range(0, batch)
            .Select(i => DeterministicWeights.Uniform($"bench.train.{i}", new long[] { 3, 480, 640 }).To(DType.Float32, device)).ToArray();
        var targets = Enumerable.Range(0, batch).Select(i => SyntheticTarget(i, 480, 640, device)).ToArray();

        double lastLoss = 0;
        void Step()
        {
            using var scope = DisposeScope.Enter();
            Tensor total;
            using (Autocast(precision, device)) total = model.ComputeLosses(images, targets).Total();
            sgd.ZeroGrad();
            if (scaler is null)
            {
                total.Backward();
                sgd.Step();
            }
            else
            {
                scaler.ScaleLoss(total).Backward();
                scaler.Step(sgd);
            }
            lastLoss = total.ItemDouble();  // waits for the GPU
        }
        for (int i = 0; i < Warmup; i++) Step();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < iterations; i++) Step();
        double seconds = sw.Elapsed.TotalSeconds;
        foreach (var t in images) t.Dispose();
        return $"{{\"benchmark\":\"maskrcnn800_train_gpu\",\"impl\":\"csharp\",\"device\":\"{device}\",\"batch\":{batch},\"iterations\":{iterations},\"precision\":\"{precision}\"," +
               $"\"images_per_s\":{batch * iterations / seconds:F2},\"ms_per_iteration\":{1000 * seconds / iterations:F1},\"last_loss\":{lastLoss:F4}," +
               $"\"skipped_steps\":{scaler?.SkippedSteps ?? 0},\"loss_scale\":{scaler?.Scale ?? 1}," +
               $"\"vision_ops\":{VisionOps()}}}";
    }

    private static AutocastScope Autocast(string precision, Device device) => precision switch
    {
        "fp32" => default,
        "bf16" => AutocastScope.Enter(device, DType.BFloat16),
        "fp16" => AutocastScope.Enter(device, DType.Float16),
        _ => throw new ArgumentException($"precision must be fp32, bf16 or fp16, got '{precision}'"),
    };

    /// <summary>Image <paramref name="index"/>'s objects: five boxes on a fixed diagonal (labels 1–5), each
    /// mask the filled box; benchmarks/reference/gpu.py builds the same.</summary>
    private static RcnnTarget SyntheticTarget(int index, int height, int width, Device device)
    {
        const int objects = 5;
        var boxes = new float[objects * 4];
        var masks = new byte[objects * height * width];
        for (int k = 0; k < objects; k++)
        {
            int x1 = 20 + 90 * k + 10 * index, y1 = 15 + 70 * k, x2 = x1 + 120, y2 = y1 + 100;
            boxes[4 * k] = x1; boxes[4 * k + 1] = y1; boxes[4 * k + 2] = x2; boxes[4 * k + 3] = y2;
            for (int y = y1; y < y2; y++)
                Array.Fill(masks, (byte)1, (k * height + y) * width + x1, x2 - x1);
        }
        var labels = Enumerable.Range(1, objects).Select(l => (long)l).ToArray();
        return new RcnnTarget(Tensor.FromArray(boxes, new long[] { objects, 4 }, device),
            Tensor.FromArray(labels, new long[] { objects }, device),
            Tensor.FromArray(masks, new long[] { objects, height, width }, device));
    }

    /// <summary>Which RoIAlign/NMS ran: torchvision's kernels, or the composed ones and why.</summary>
    private static string VisionOps() =>
        System.Text.Json.JsonSerializer.Serialize(TorchvisionNative.IsAvailable ? "torchvision" : $"composed ({TorchvisionNative.Unavailable})");

    private static Device RequireDevice(string name)
    {
        var device = Device.Parse(name);
        if (device.Type == DeviceType.Cuda && !TorchRuntime.CudaAvailable)
            throw new InvalidOperationException($"no CUDA device: {TorchRuntime.Version} (build the shim against a CUDA libtorch, see benchmarks/gpu/run_device.sh)");
        return device;
    }

    /// <summary>Median milliseconds of <paramref name="runs"/> calls after <see cref="Warmup"/> untimed ones.</summary>
    private static double Measure(Func<double> run, int runs)
    {
        for (int i = 0; i < Warmup; i++) run();
        var times = Enumerable.Range(0, runs).Select(_ => run()).Order().ToArray();
        return times[runs / 2];
    }
}
