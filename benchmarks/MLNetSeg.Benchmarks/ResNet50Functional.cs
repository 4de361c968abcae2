using MLNetSeg.Torch;

namespace MLNetSeg.Benchmarks;

/// <summary>
/// torchvision's resnet50 (Bottleneck [3, 4, 6, 3], BatchNorm in training mode, fc 1000)
/// written directly on dispatcher ops, so the benchmark measures the engine rather than a
/// model library. Same FLOPs and op sequence as torchvision.models.resnet50().
/// </summary>
internal sealed class ResNet50Functional : IDisposable
{
    private static readonly Op Conv = new("conv2d"), BatchNorm = new("batch_norm"), Relu = new("relu"),
        MaxPool = new("max_pool2d"), AdaptiveAvg = new("adaptive_avg_pool2d"), Linear = new("linear"),
        Flatten = new("flatten", "using_ints"), Sum = new("sum");

    private readonly List<Tensor> parameters = new();
    private readonly List<(Tensor W, Tensor G, Tensor B, Tensor Mean, Tensor Var, long Stride, long Pad)> convs = new();
    private readonly Tensor fcW, fcB;
    private readonly List<(int C1, int C2, int C3, int Down)> blocks = new();

    public ResNet50Functional()
    {
        TorchRuntime.ManualSeed(0);
        AddConv(3, 64, 7, 2, 3);
        int inC = 64;
        int[] layers = { 3, 4, 6, 3 }, widths = { 64, 128, 256, 512 };
        for (int l = 0; l < 4; l++)
            for (int b = 0; b < layers[l]; b++)
            {
                int w = widths[l], stride = (b == 0 && l > 0) ? 2 : 1;
                int c1 = AddConv(inC, w, 1, 1, 0), c2 = AddConv(w, w, 3, stride, 1), c3 = AddConv(w, w * 4, 1, 1, 0);
                int down = b == 0 ? AddConv(inC, w * 4, 1, stride, 0) : -1;
                blocks.Add((c1, c2, c3, down));
                inC = w * 4;
            }
        fcW = Param(Tensor.Randn(new long[] { 1000, 2048 }) * 0.01);
        fcB = Param(Tensor.Zeros(new long[] { 1000 }));
    }

    private Tensor Param(Tensor t)
    {
        t.DetachFromDisposeScope().RequiresGrad_();
        parameters.Add(t);
        return t;
    }

    private int AddConv(int inC, int outC, int k, long stride, long pad)
    {
        var w = Param(Tensor.Randn(new long[] { outC, inC, k, k }) * Math.Sqrt(2.0 / (inC * k * k)));
        var g = Param(Tensor.Ones(new long[] { outC }));
        var b = Param(Tensor.Zeros(new long[] { outC }));
        var mean = Tensor.Zeros(new long[] { outC }).DetachFromDisposeScope();
        var var = Tensor.Ones(new long[] { outC }).DetachFromDisposeScope();
        convs.Add((w, g, b, mean, var, stride, pad));
        return convs.Count - 1;
    }

    private Tensor ConvBn(Tensor x, int i, bool relu)
    {
        var c = convs[i];
        var y = Conv.Invoke(x, c.W, OpArg.None, new[] { c.Stride, c.Stride }, new[] { c.Pad, c.Pad }, new long[] { 1, 1 }, 1);
        y = BatchNorm.Invoke(y, c.G, c.B, c.Mean, c.Var, true, 0.1, 1e-5, false);
        return relu ? Relu.Invoke(y) : y;
    }

    public Tensor Forward(Tensor x)
    {
        x = ConvBn(x, 0, true);
        x = MaxPool.Invoke(x, new long[] { 3, 3 }, new long[] { 2, 2 }, new long[] { 1, 1 });
        foreach (var (c1, c2, c3, down) in blocks)
        {
            var identity = down >= 0 ? ConvBn(x, down, false) : x;
            var y = ConvBn(ConvBn(ConvBn(x, c1, true), c2, true), c3, false);
            x = Relu.Invoke(y + identity);
        }
        x = Flatten.Invoke(AdaptiveAvg.Invoke(x, new long[] { 1, 1 }), 1, -1);
        return Linear.Invoke(x, fcW, fcB);
    }

    /// <summary>One forward + backward of sum(logits); gradients are cleared first.</summary>
    public void Step(Tensor input)
    {
        using var scope = DisposeScope.Enter();
        foreach (var p in parameters) p.Grad = null;
        Sum.Invoke(Forward(input)).Backward();
    }

    public void Dispose()
    {
        foreach (var p in parameters) p.Dispose();
        foreach (var c in convs) { c.Mean.Dispose(); c.Var.Dispose(); }
    }
}
