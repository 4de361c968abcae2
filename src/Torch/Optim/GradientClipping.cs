namespace MLNetSeg.Torch.Optim;

/// <summary>Gradient clipping (torch.nn.utils.clip_grad_norm_).</summary>
public static class GradientClipping
{
    private static readonly Op NormOp = new("norm", "ScalarOpt_dim"), StackOp = new("stack"), AbsOp = new("abs"),
        MaxOp = new("max"), ClampOp = new("clamp"), MulInplaceT = new("mul_", "Tensor"), AddS = new("add", "Scalar"),
        ReciprocalOp = new("reciprocal");

    /// <summary>
    /// Scales all gradients in place so that their joint p-norm (as if concatenated) is at most
    /// <paramref name="maxNorm"/>, and returns the norm before clipping. normType may be
    /// <see cref="double.PositiveInfinity"/> for the max-norm. Same arithmetic as PyTorch:
    /// coefficient = maxNorm / (norm + 1e-6), clamped to 1.
    /// </summary>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2, bool errorIfNonfinite = false)
    {
        using var scope = DisposeScope.Enter();
        using var noGrad = NoGradScope.Enter();
        var grads = parameters.Select(p => p.Grad).Where(g => g is not null).Select(g => g!.Detach()).ToArray();
        if (grads.Length == 0) return 0;
        var device = grads[0].Device;
        Tensor total;
        if (double.IsPositiveInfinity(normType))
        {
            var norms = grads.Select(g => MaxOp.Invoke(AbsOp.Invoke(g)).To(device)).ToArray();
            total = norms.Length == 1 ? norms[0] : MaxOp.Invoke(StackOp.Invoke(norms));
        }
        else
        {
            var norms = grads.Select(g => NormOp.Invoke(g, normType, Enumerable.Range(0, g.Dim).Select(i => (long)i).ToArray(), false).To(device)).ToArray();
            total = NormOp.Invoke(StackOp.Invoke(norms), normType, new long[] { 0 }, false);
        }
        double value = total.ItemDouble();
        if (errorIfNonfinite && !double.IsFinite(value))
            throw new InvalidOperationException($"the total norm of order {normType} of the gradients is non-finite ({value}), so it cannot be clipped");
        // max_norm / (total + 1e-6) as a tensor op, like PyTorch, so the coefficient is rounded in the grads' dtype.
        var coefficient = ClampOp.Invoke(ReciprocalOp.Invoke(AddS.Invoke(total, 1e-6, 1)).Mul(maxNorm), OpArg.None, 1.0);
        foreach (var g in grads) MulInplaceT.InvokeVoid(g, coefficient.To(g.Device));
        return value;
    }
}
