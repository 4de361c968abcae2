using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Torch.Optim;

namespace MLNetSeg.Torch.Tests.Nn;

/// <summary>End to end: layers, losses, autograd, optimizer and schedule learn a small task.</summary>
[TestClass]
public class TrainingTests
{
    /// <summary>Conv-BN-ReLU ×2, global average pooling, Linear.</summary>
    private sealed class SmallCnn : Module<Tensor, Tensor>
    {
        private readonly Sequential features;
        private readonly Linear classifier;

        public SmallCnn()
        {
            features = RegisterModule("features", new Sequential(
                new Conv2d(1, 8, 3, padding: 1, bias: false), new BatchNorm2d(8), new ReLU(),
                new Conv2d(8, 16, 3, stride: 2, padding: 1, bias: false), new BatchNorm2d(16), new ReLU()));
            classifier = RegisterModule("classifier", new Linear(16, 2));
        }

        public override Tensor Forward(Tensor input) =>
            classifier.Forward(Functional.AdaptiveAvgPool2d(features.Forward(input), 1).Flatten(1));
    }

    /// <summary>12×12 images with one horizontal (class 0) or vertical (class 1) bar of length 6 at a
    /// random place, plus noise: a task convolution solves and average pooling keeps solvable.</summary>
    private static (Tensor Images, Tensor Labels) Bars(int count, int seed)
    {
        const int size = 12;
        var rng = new Random(seed);
        var pixels = new float[count * size * size];
        var labels = new long[count];
        for (int n = 0; n < count; n++)
        {
            labels[n] = rng.Next(2);
            int fixedAt = rng.Next(size), start = rng.Next(size - 6);
            for (int i = 0; i < size * size; i++) pixels[n * size * size + i] = (float)(rng.NextDouble() * 0.3);
            for (int k = start; k < start + 6; k++)
            {
                int y = labels[n] == 0 ? fixedAt : k, x = labels[n] == 0 ? k : fixedAt;
                pixels[n * size * size + y * size + x] = 1;
            }
        }
        return (Tensor.FromArray(pixels, count, 1, size, size), Tensor.FromArray(labels, count));
    }

    [TestMethod]
    public void SmallCnnLossFallsTenfold()
    {
        // Tensors this small gain nothing from intra-op threads, and on a loaded 2-core machine
        // OpenMP's spinning makes a threaded run 3-10× slower (0.9 s single-threaded).
        int threads = TorchRuntime.Threads;
        TorchRuntime.Threads = 1;
        try { TrainAndCheck(); }
        finally { TorchRuntime.Threads = threads; }
    }

    private static void TrainAndCheck()
    {
        TorchRuntime.ManualSeed(3);
        using var model = new SmallCnn();
        using var data = DisposeScope.Enter();
        var (images, labels) = Bars(256, seed: 5);
        using var optimizer = new Sgd(model.Parameters(), learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4);
        var schedule = new WarmupMultiStepLr(optimizer, milestones: new long[] { 160 }, warmupFactor: 0.1, warmupIters: 20);
        const int batch = 32, steps = 200;
        var losses = new List<double>();
        var order = Tensor.Randperm(256);
        for (int step = 0; step < steps; step++)
        {
            using var scope = DisposeScope.Enter();
            int first = step * batch % 256;
            var index = order.Slice(0, first, first + batch);
            var loss = Functional.CrossEntropy(model.Forward(images.IndexSelect(0, index)), labels.IndexSelect(0, index));
            optimizer.ZeroGrad();
            loss.Backward();
            GradientClipping.ClipGradNorm(model.Parameters(), maxNorm: 5);
            optimizer.Step();
            schedule.Step();
            losses.Add(loss.ItemDouble());
        }
        double initial = losses.Take(5).Average(), final = losses.TakeLast(10).Average();
        Console.WriteLine($"mean loss of the first 5 steps {initial:F4}, of the last 10 {final:F4}");
        Assert.IsTrue(final * 10 <= initial, $"loss fell from {initial:F4} to {final:F4}, less than tenfold");

        // The held-out set confirms it learned the task rather than the batches.
        model.Eval();
        using var test = DisposeScope.Enter();
        var (testImages, testLabels) = Bars(128, seed: 6);
        using (NoGradScope.Enter())
        {
            var predicted = model.Forward(testImages).Argmax(1);
            double accuracy = predicted.Eq(testLabels).Double().Mean().ItemDouble();
            Console.WriteLine($"held-out accuracy {accuracy:P1}");
            Assert.IsTrue(accuracy >= 0.95, $"held-out accuracy {accuracy:P1}");
        }
    }
}
