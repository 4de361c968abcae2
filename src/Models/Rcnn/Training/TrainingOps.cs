using MLNetSeg.Torch;

namespace MLNetSeg.Models.Rcnn;

/// <summary>
/// The few integer-exact tensor calls the training code needs: integer scalars must reach the
/// dispatcher as ints, or an int64 tensor would be promoted to float (clamp) or filled through a
/// double.
/// </summary>
internal static class TrainingOps
{
    private static readonly Op ClampMinOp = new("clamp_min"), MaskedFillOp = new("masked_fill_", "Scalar");

    /// <summary>t.clamp(min=value) for an integer tensor, staying integer.</summary>
    public static Tensor ClampMin(Tensor t, long value) => ClampMinOp.Invoke(t, value);

    /// <summary>t[mask] = value in place (masked_fill_ with an integer scalar for integer tensors).</summary>
    public static void Fill_(Tensor t, Tensor mask, long value) => MaskedFillOp.InvokeVoid(t, mask, value);

    /// <summary>t[mask] = value in place for floating tensors.</summary>
    public static void Fill_(Tensor t, Tensor mask, double value) => MaskedFillOp.InvokeVoid(t, mask, value);

    /// <summary>torch.where(condition)[0] of a 1-d condition: the indices where it holds, int64.</summary>
    public static Tensor Indices(Tensor condition) => condition.NonzeroAsTuple()[0];
}
