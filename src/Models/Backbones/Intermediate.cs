using MLNetSeg.Torch;

namespace MLNetSeg.Models.Backbones;

/// <summary>
/// Frees intermediate activations as soon as the next layer has consumed them, so a forward
/// pass inside one dispose scope does not hold every feature map of the network at once.
/// Safe under autograd: disposing drops only this handle; tensors autograd saved stay alive.
/// </summary>
internal static class Intermediate
{
    /// <summary>Applies <paramref name="next"/> to <paramref name="value"/>, then frees
    /// <paramref name="value"/> unless <paramref name="next"/> returned it (an in-place op).</summary>
    public static Tensor Then(Tensor value, Func<Tensor, Tensor> next)
    {
        var result = next(value);
        if (!ReferenceEquals(result, value)) value.Dispose();
        return result;
    }

    /// <summary>max(x, 0) in place (torchvision's ReLU(inplace=True)); returns <paramref name="x"/>.</summary>
    public static Tensor Relu_(Tensor x) => Functional.Relu(x, inplace: true);
}
