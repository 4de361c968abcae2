namespace MLNetSeg.Torch;

// Losses, each with torch.nn.functional's (or torchvision.ops') semantics and defaults.
public static partial class Functional
{
    private static readonly Op BceWithLogitsOp = new("binary_cross_entropy_with_logits"), CrossEntropyOp = new("cross_entropy_loss"),
        SmoothL1Op = new("smooth_l1_loss"), L1Op = new("l1_loss"), MseOp = new("mse_loss"),
        BroadcastTensorsOp = new("broadcast_tensors"), SumOp = new("sum"), MeanOp = new("mean"), RsubOp = new("rsub", "Scalar"),
        PowOp = new("pow", "Tensor_Scalar");

    /// <summary>
    /// Binary cross-entropy on logits (F.binary_cross_entropy_with_logits): target has the
    /// input's shape; <paramref name="weight"/> rescales each element, <paramref name="posWeight"/>
    /// the positive term per class (broadcast along the last dimension).
    /// </summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Tensor? weight = null, Tensor? posWeight = null,
        Reduction reduction = Reduction.Mean)
    {
        RequireSameShape(input, target, nameof(BinaryCrossEntropyWithLogits));
        return BceWithLogitsOp.Invoke(input, target, weight, posWeight, (long)reduction);
    }

    /// <summary>
    /// Cross-entropy over class logits (F.cross_entropy): input (N, C) or (N, C, d1, ...) and class
    /// indices (N) / (N, d1, ...) as int64, or class probabilities of the input's shape. Targets equal to
    /// <paramref name="ignoreIndex"/> contribute nothing; Mean divides by the summed weights of the
    /// others.
    /// </summary>
    public static Tensor CrossEntropy(Tensor input, Tensor target, Tensor? weight = null, long ignoreIndex = -100,
        Reduction reduction = Reduction.Mean, double labelSmoothing = 0)
    {
        if (labelSmoothing < 0 || labelSmoothing > 1)
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "label smoothing must be in [0, 1]");
        return CrossEntropyOp.Invoke(input, target, weight, (long)reduction, ignoreIndex, labelSmoothing);
    }

    /// <summary>
    /// Smooth L1 (F.smooth_l1_loss): 0.5·d²/beta where |d| &lt; beta, |d| − 0.5·beta elsewhere;
    /// beta 0 is plain L1. Input and target broadcast.
    /// </summary>
    public static Tensor SmoothL1(Tensor input, Tensor target, double beta = 1.0, Reduction reduction = Reduction.Mean)
    {
        if (beta < 0) throw new ArgumentOutOfRangeException(nameof(beta), beta, "smooth L1 beta must be non-negative");
        var (a, b) = Broadcast(input, target);
        return SmoothL1Op.Invoke(a, b, (long)reduction, beta);
    }

    /// <summary>Mean (or summed) absolute error (F.l1_loss); input and target broadcast.</summary>
    public static Tensor L1(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        var (a, b) = Broadcast(input, target);
        return L1Op.Invoke(a, b, (long)reduction);
    }

    /// <summary>Mean (or summed) squared error (F.mse_loss); input and target broadcast.</summary>
    public static Tensor Mse(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        var (a, b) = Broadcast(input, target);
        return MseOp.Invoke(a, b, (long)reduction);
    }

    /// <summary>
    /// RetinaNet's focal loss (torchvision.ops.sigmoid_focal_loss): BCE-with-logits scaled by
    /// (1 − p_t)^gamma and, when alpha ≥ 0, by alpha_t = alpha·t + (1 − alpha)·(1 − t).
    /// Default reduction None, as in torchvision.
    /// </summary>
    public static Tensor SigmoidFocalLoss(Tensor inputs, Tensor targets, double alpha = 0.25, double gamma = 2,
        Reduction reduction = Reduction.None)
    {
        var p = Sigmoid(inputs);
        var ce = BinaryCrossEntropyWithLogits(inputs, targets, reduction: Reduction.None);
        // The same sequence of ops as torchvision, so rounding (and gradients) agree.
        var pT = p * targets + RsubOp.Invoke(p, 1.0, 1) * RsubOp.Invoke(targets, 1.0, 1);
        var loss = ce * PowOp.Invoke(RsubOp.Invoke(pT, 1.0, 1), gamma);
        if (alpha >= 0)
        {
            var alphaT = targets * alpha + RsubOp.Invoke(targets, 1.0, 1) * (1 - alpha);
            loss = alphaT * loss;
        }
        return reduction switch
        {
            Reduction.None => loss,
            Reduction.Mean => MeanOp.Invoke(loss),
            Reduction.Sum => SumOp.Invoke(loss),
            _ => throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "unknown reduction"),
        };
    }

    /// <summary>
    /// The focal loss FL* (Lin et al. 2017, appendix; fvcore's sigmoid_focal_loss_star, TensorMask's classification loss):
    /// −log σ(γ·x·(2t − 1)) / γ, scaled by alpha_t = alpha·t + (1 − alpha)·(1 − t) when alpha ≥ 0.
    /// </summary>
    public static Tensor SigmoidFocalLossStar(Tensor inputs, Tensor targets, double alpha = -1, double gamma = 1,
        Reduction reduction = Reduction.None)
    {
        if (!(gamma > 0)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "FL* needs gamma > 0");
        var shifted = inputs * (targets * 2.0 - 1.0) * gamma;
        // −log σ(z) is BCE-with-logits of z against 1 (computed stably by libtorch).
        var loss = BinaryCrossEntropyWithLogits(shifted, Tensor.OnesLike(shifted), reduction: Reduction.None) * (1.0 / gamma);
        if (alpha >= 0) loss = (targets * alpha + RsubOp.Invoke(targets, 1.0, 1) * (1 - alpha)) * loss;
        return reduction switch
        {
            Reduction.None => loss,
            Reduction.Mean => MeanOp.Invoke(loss),
            Reduction.Sum => SumOp.Invoke(loss),
            _ => throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "unknown reduction"),
        };
    }

    private static (Tensor, Tensor) Broadcast(Tensor a, Tensor b)
    {
        if (a.Shape.SequenceEqual(b.Shape)) return (a, b);
        var both = BroadcastTensorsOp.InvokeList(new Tensor?[] { a, b });
        return (both[0], both[1]);
    }

    private static void RequireSameShape(Tensor input, Tensor target, string what)
    {
        var i = input.Shape;
        var t = target.Shape;
        if (!i.SequenceEqual(t))
            throw new ArgumentException($"{what}: target shape [{string.Join(", ", t)}] must equal input shape [{string.Join(", ", i)}]");
    }
}
