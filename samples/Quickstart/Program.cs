// MLNetSeg quickstart (engine stage): trains a small fully-convolutional segmentation
// network from C# on synthetic shapes, reports the loss curve and held-out mask IoU, saves
// the weights as safetensors and writes overlay PNGs. Everything runs on the native libtorch
// engine; no Python. The Mask R-CNN quickstart replaces this once the training issue lands.
using System.Diagnostics;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Torch.Optim;
using MLNetSeg.Torch.Serialization;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

var outDir = args.Length > 0 ? args[0] : Path.Combine("out", "quickstart");
Directory.CreateDirectory(outDir);
TorchRuntime.ManualSeed(1);
Console.WriteLine($"engine: {TorchRuntime.Version}, {TorchRuntime.BlasInfo.Split(' ')[0]}, {TorchRuntime.Threads} threads");

const int size = 32, trainCount = 512, testCount = 64, batch = 32, iterations = 300;
var train = ShapesDataset.Generate(trainCount, size, seed: 1);
var test = ShapesDataset.Generate(testCount, size, seed: 2);

using var model = new TinySegNet();
var optimizer = new AdamW(model.Parameters(), learningRate: 3e-3, weightDecay: 1e-4);
var schedule = new WarmupCosineLr(optimizer, iterations, warmupIters: 20);
var clock = Stopwatch.StartNew();
var rng = new Random(3);
double firstLoss = 0, lastLoss = 0;
for (int it = 0; it < iterations; it++)
{
    using var scope = DisposeScope.Enter();
    var (images, masks) = train.Batch(Enumerable.Range(0, batch).Select(_ => rng.Next(trainCount)).ToArray());
    var loss = Functional.BinaryCrossEntropyWithLogits(model.Forward(images), masks);
    optimizer.ZeroGrad();
    loss.Backward();
    optimizer.Step();
    schedule.Step();
    double value = loss.ItemDouble();
    if (double.IsNaN(value)) throw new InvalidOperationException($"loss became NaN at iteration {it}");
    if (it == 0) firstLoss = value;
    lastLoss = value;
    if (it % 50 == 0 || it == iterations - 1)
        Console.WriteLine($"iter {it,4}  loss {value:F4}  lr {optimizer.Groups.First().LearningRate:F5}  {clock.Elapsed.TotalSeconds,5:F1}s");
}

// Held-out evaluation: IoU of thresholded predictions with the ground-truth masks.
model.Eval();
double iou;
using (NoGradScope.Enter())
using (var scope = DisposeScope.Enter())
{
    var (images, masks) = test.Batch(Enumerable.Range(0, testCount).ToArray());
    var predicted = model.Forward(images).Gt(0);
    var truth = masks.Gt(0.5);
    double intersection = predicted.LogicalAnd(truth).Sum().ItemDouble();
    double union = predicted.LogicalOr(truth).Sum().ItemDouble();
    iou = intersection / union;
    for (int i = 0; i < 4; i++) WriteOverlay(test, i, predicted[i, 0], Path.Combine(outDir, $"prediction_{i}.png"));
}
var weights = Path.Combine(outDir, "tinysegnet.safetensors");
SafeTensors.Save(weights, model);
Console.WriteLine($"loss {firstLoss:F3} -> {lastLoss:F3}; held-out mask IoU {iou:F3}; {clock.Elapsed.TotalSeconds:F1}s");
Console.WriteLine($"wrote {weights} and {outDir}/prediction_*.png");
return iou > 0.8 ? 0 : 1;

static void WriteOverlay(ShapesDataset data, int index, Tensor predictedMask, string path)
{
    const int zoom = 4;  // 32 px is too small to read a label on
    var small = data.ToImage(index);
    var image = small.Resize(small.Height * zoom, small.Width * zoom, Interpolation.Nearest);
    var bits = predictedMask.To(DType.UInt8).ToArray<byte>();
    var mask = new BitMask(image.Height, image.Width);
    for (int y = 0; y < image.Height; y++)
        for (int x = 0; x < image.Width; x++)
            mask[y, x] = bits[(y / zoom) * small.Width + x / zoom] != 0;
    var instances = new Instances(image.Height, image.Width, new Boxes(mask.ToBox()), new[] { 0 }, new[] { 1f },
        new[] { Rle.Encode(mask) });
    ImageIO.WritePng(Visualizer.Draw(image, instances, new[] { "shape" }), path);
}

/// <summary>Encoder-decoder: two stride-2 conv stages, then transposed convs back to full size.</summary>
internal sealed class TinySegNet : Module<Tensor, Tensor>
{
    private readonly Sequential net;

    public TinySegNet()
    {
        net = RegisterModule("net", new Sequential(
            new Conv2d(3, 16, 3, padding: 1, bias: false), new BatchNorm2d(16), new ReLU(),
            new Conv2d(16, 32, 3, stride: 2, padding: 1, bias: false), new BatchNorm2d(32), new ReLU(),
            new Conv2d(32, 32, 3, stride: 2, padding: 1, bias: false), new BatchNorm2d(32), new ReLU(),
            new ConvTranspose2d(32, 16, 2, stride: 2), new ReLU(),
            new ConvTranspose2d(16, 16, 2, stride: 2), new ReLU(),
            new Conv2d(16, 1, 1)));
    }

    public override Tensor Forward(Tensor input) => net.Forward(input);
}

/// <summary>Random discs and rectangles in random colours on a noisy background, with their masks.</summary>
internal sealed class ShapesDataset
{
    private readonly float[] images;  // N×3×S×S in [0, 1]
    private readonly float[] masks;   // N×1×S×S in {0, 1}
    private readonly int size;

    private ShapesDataset(float[] images, float[] masks, int size) { this.images = images; this.masks = masks; this.size = size; }

    public static ShapesDataset Generate(int count, int size, int seed)
    {
        var rng = new Random(seed);
        int plane = size * size;
        var images = new float[count * 3 * plane];
        var masks = new float[count * plane];
        for (int n = 0; n < count; n++)
        {
            // Bright objects on darker noise: learnable by a few convolutions in seconds.
            var colour = new[] { 0.5f + 0.5f * (float)rng.NextDouble(), 0.5f + 0.5f * (float)rng.NextDouble(), 0.5f + 0.5f * (float)rng.NextDouble() };
            int cx = rng.Next(6, size - 6), cy = rng.Next(6, size - 6), r = rng.Next(3, 9);
            bool disc = rng.Next(2) == 0;
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                {
                    bool inside = disc ? (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r
                                       : Math.Abs(x - cx) <= r && Math.Abs(y - cy) <= r / 2 + 1;
                    masks[n * plane + y * size + x] = inside ? 1 : 0;
                    for (int c = 0; c < 3; c++)
                        images[(n * 3 + c) * plane + y * size + x] = inside ? colour[c] : (float)(rng.NextDouble() * 0.5);
                }
        }
        return new ShapesDataset(images, masks, size);
    }

    public (Tensor Images, Tensor Masks) Batch(int[] indices)
    {
        int plane = size * size;
        var img = new float[indices.Length * 3 * plane];
        var msk = new float[indices.Length * plane];
        for (int i = 0; i < indices.Length; i++)
        {
            Array.Copy(images, indices[i] * 3 * plane, img, i * 3 * plane, 3 * plane);
            Array.Copy(masks, indices[i] * plane, msk, i * plane, plane);
        }
        return (Tensor.FromArray(img, indices.Length, 3, size, size), Tensor.FromArray(msk, indices.Length, 1, size, size));
    }

    public Image ToImage(int index)
    {
        int plane = size * size;
        var pixels = new byte[plane * 3];
        for (int p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++)
                pixels[p * 3 + c] = (byte)Math.Round(images[(index * 3 + c) * plane + p] * 255);
        return new Image(size, size, 3, pixels);
    }
}
