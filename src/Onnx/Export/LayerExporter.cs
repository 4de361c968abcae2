using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Onnx.Graph;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Onnx.Export;

/// <summary>
/// Writes the layers our models are made of (torch.nn's and the backbone's blocks) as ONNX nodes,
/// the way torch.onnx's symbolic functions do for torch modules. A BatchNorm (frozen or in eval mode)
/// right after a convolution is folded into it with the formula the libtorch model uses when it
/// prepares for inference, so both run the same weights. A module type it does not know is an
/// error naming the type and where it sits: a family exporter must handle it.
/// </summary>
internal sealed class LayerExporter
{
    private readonly OnnxGraphBuilder g;

    public LayerExporter(OnnxGraphBuilder graph) => g = graph;

    /// <summary>Emits <paramref name="module"/> applied to <paramref name="x"/>; <paramref name="path"/> names it in errors and value names.</summary>
    public string Emit(Module module, string x, string path)
    {
        switch (module)
        {
            case Sequential seq:
                for (int i = 0; i < seq.Count; i++)
                {
                    if (seq[i] is Conv2d conv && i + 1 < seq.Count && IsNorm(seq[i + 1]))
                    {
                        x = EmitConv(conv, x, $"{path}.{i}", seq[i + 1]);
                        i++;
                    }
                    else x = Emit(seq[i], x, $"{path}.{i}");
                }
                return x;
            case Conv2d conv:
                return EmitConv(conv, x, path, norm: null);
            case ConvTranspose2d deconv:
                return EmitConvTranspose(deconv, x, path);
            case Linear linear:
                return g.Gemm(x, g.Weight(path + ".weight", Floats(linear.Weight), linear.Weight.Shape),
                    linear.Bias is null ? null : g.Weight(path + ".bias", Floats(linear.Bias), linear.Bias.Shape));
            case ReLU:
                return g.Relu(x);
            case MaxPool2d pool:
                if (pool.Dilation.H != 1 || pool.Dilation.W != 1)
                    throw new NotSupportedException($"ONNX export: {path} is a dilated MaxPool2d, which ONNX's MaxPool-17 supports but this exporter does not write");
                return g.Op("MaxPool", new[] { x }, "maxpool",
                    ("kernel_shape", new[] { pool.KernelSize.H, pool.KernelSize.W }),
                    ("strides", new[] { pool.Stride.H, pool.Stride.W }),
                    ("pads", new[] { pool.Padding.H, pool.Padding.W, pool.Padding.H, pool.Padding.W }),
                    ("ceil_mode", pool.CeilMode ? 1L : 0L));
            case FrozenBatchNorm2d or BatchNorm2d:
                var (scale, shift) = NormScaleShift(module, path);
                return g.Add(g.Mul(x, g.Weight(path + ".scale", scale, new long[] { 1, scale.Length, 1, 1 })),
                    g.Weight(path + ".shift", shift, new long[] { 1, shift.Length, 1, 1 }));
            case BasicBlock basic:
                return EmitResidual(basic, x, path, new[] { (basic.Conv1, basic.Bn1), (basic.Conv2, basic.Bn2) });
            case Bottleneck bottleneck:
                return EmitResidual(bottleneck, x, path,
                    new[] { (bottleneck.Conv1, bottleneck.Bn1), (bottleneck.Conv2, bottleneck.Bn2), (bottleneck.Conv3, bottleneck.Bn3) });
            case TwoMlpHead mlp:
                x = g.Flatten(x, 1);
                x = g.Relu(Emit(mlp.Fc6, x, path + ".fc6"));
                return g.Relu(Emit(mlp.Fc7, x, path + ".fc7"));
            case FastRcnnConvFcHead convFc:
                // Children in torchvision's order: conv blocks, (Flatten), Linear layers each followed by ReLU.
                bool flattened = false;
                foreach (var (name, child) in convFc.NamedChildren())
                {
                    if (child is Linear fc)
                    {
                        if (!flattened) { x = g.Flatten(x, 1); flattened = true; }
                        x = g.Relu(Emit(fc, x, $"{path}.{name}"));
                    }
                    else x = Emit(child, x, $"{path}.{name}");
                }
                return x;
            case MaskRcnnHeads maskHeads:
                foreach (var (name, child) in maskHeads.NamedChildren()) x = Emit(child, x, $"{path}.{name}");
                return x;
            case KeypointRcnnHeads keypointHeads:
                foreach (var (name, child) in keypointHeads.NamedChildren()) x = g.Relu(Emit(child, x, $"{path}.{name}"));
                return x;
            case MaskRcnnPredictor maskPredictor:
                x = g.Relu(Emit(maskPredictor.Conv5Mask, x, path + ".conv5_mask"));
                return Emit(maskPredictor.MaskFcnLogits, x, path + ".mask_fcn_logits");
            case KeypointRcnnPredictor keypointPredictor:
                x = Emit(keypointPredictor.KpsScoreLowres, x, path + ".kps_score_lowres");
                // interpolate(scale_factor=2, bilinear, align_corners=False, recompute_scale_factor=False).
                float up = KeypointRcnnPredictor.UpScale;
                return g.ResizeBy(x, new[] { 1f, 1f, up, up }, "linear", "pytorch_half_pixel");
            default:
                throw new NotSupportedException($"ONNX export: no ONNX form for {module.GetType().Name} at '{path}'");
        }
    }

    private static bool IsNorm(Module m) => m is FrozenBatchNorm2d or BatchNorm2d;

    private string EmitResidual(ResidualBlock block, string x, string path, (Conv2d Conv, Module<Tensor, Tensor> Norm)[] branch)
    {
        var h = x;
        for (int i = 0; i < branch.Length; i++)
        {
            h = EmitConv(branch[i].Conv, h, $"{path}.conv{i + 1}", branch[i].Norm);
            if (i < branch.Length - 1) h = g.Relu(h);
        }
        var identity = block.Downsample is { } down ? Emit(down, x, path + ".downsample") : x;
        return g.Relu(g.Add(h, identity));
    }

    /// <summary>A convolution, with the norm that follows it folded in (weight·scale, bias·scale + shift).</summary>
    /// <summary>A convolution, with <paramref name="norm"/> (when given) folded in.</summary>
    public string EmitConv(Conv2d conv, string x, string path, Module? norm)
    {
        float[] weight, bias;
        if (norm is null)
        {
            weight = Floats(conv.Weight);
            bias = conv.Bias is null ? Array.Empty<float>() : Floats(conv.Bias);
        }
        else
        {
            (weight, bias) = FoldNorm(conv, norm, path);
        }
        var w = g.Weight(path + ".weight", weight, conv.Weight.Shape);
        string? b = bias.Length == 0 ? null : g.Weight(path + ".bias", bias, new long[] { bias.Length });
        return g.Conv(x, w, b, new[] { conv.KernelSize.H, conv.KernelSize.W }, new[] { conv.Stride.H, conv.Stride.W },
            new[] { conv.Padding.H, conv.Padding.W, conv.Padding.H, conv.Padding.W },
            new[] { conv.Dilation.H, conv.Dilation.W }, conv.Groups);
    }

    private string EmitConvTranspose(ConvTranspose2d deconv, string x, string path)
    {
        var w = g.Weight(path + ".weight", Floats(deconv.Weight), deconv.Weight.Shape);
        var inputs = deconv.Bias is null ? new[] { x, w } : new[] { x, w, g.Weight(path + ".bias", Floats(deconv.Bias), deconv.Bias.Shape) };
        return g.Op("ConvTranspose", inputs, "deconv",
            ("kernel_shape", new[] { deconv.KernelSize.H, deconv.KernelSize.W }),
            ("strides", new[] { deconv.Stride.H, deconv.Stride.W }),
            ("pads", new[] { deconv.Padding.H, deconv.Padding.W, deconv.Padding.H, deconv.Padding.W }),
            ("output_padding", new[] { deconv.OutputPadding.H, deconv.OutputPadding.W }),
            ("dilations", new[] { deconv.Dilation.H, deconv.Dilation.W }),
            ("group", deconv.Groups));
    }

    /// <summary>Conv weights with the norm folded in, computed as the libtorch model folds them
    /// (scale = w · rsqrt(var + eps), shift = b − mean · scale; weight · scale, bias · scale + shift).</summary>
    private static (float[] Weight, float[] Bias) FoldNorm(Conv2d conv, Module norm, string path)
    {
        using var scope = DisposeScope.Enter();
        using var noGrad = NoGradScope.Enter();
        var (scale, shift) = NormTensors(norm, path);
        var weight = conv.Weight * scale.Reshape(-1, 1, 1, 1);
        var bias = conv.Bias is null ? shift : conv.Bias * scale + shift;
        return (Floats(weight), Floats(bias));
    }

    private static (float[] Scale, float[] Shift) NormScaleShift(Module norm, string path)
    {
        using var scope = DisposeScope.Enter();
        using var noGrad = NoGradScope.Enter();
        var (scale, shift) = NormTensors(norm, path);
        return (Floats(scale), Floats(shift));
    }

    private static (Tensor Scale, Tensor Shift) NormTensors(Module norm, string path)
    {
        switch (norm)
        {
            case FrozenBatchNorm2d f:
            {
                var scale = f.Weight * (f.RunningVar + f.Eps).Rsqrt();
                return (scale, f.Bias - f.RunningMean * scale);
            }
            case BatchNorm2d b:
            {
                if (b.RunningMean is null || b.RunningVar is null)
                    throw new NotSupportedException($"ONNX export: the BatchNorm2d at '{path}' keeps no running statistics, so its eval-mode output depends on the batch");
                var scale = (b.RunningVar + b.Eps).Rsqrt();
                if (b.Weight is not null) scale = scale * b.Weight;
                var shift = -b.RunningMean * scale;
                if (b.Bias is not null) shift = shift + b.Bias;
                return (scale, shift);
            }
            default:
                throw new NotSupportedException($"ONNX export: cannot fold {norm.GetType().Name} at '{path}' into a convolution");
        }
    }

    /// <summary>A tensor's values as float32, row-major.</summary>
    public static float[] Floats(Tensor t)
    {
        using var scope = DisposeScope.Enter();
        return t.Detach().To(DType.Float32, Device.Cpu).Contiguous().ToArray<float>();
    }
}
